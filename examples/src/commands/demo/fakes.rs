//! The demo's world: both fakes on loopback, a temporary folder holding a configuration file,
//! a key file, a vault and the state database, as `init` would leave them.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sync_core::mapping::check_email;
use sync_core::orders::SalesOrderMatch;
use sync_core::vault::{
    Credentials, MailchimpCredentials, QadAuthKind, QadCredentials, Vault, VaultKey, WebhookSecrets,
};
use sync_core::webhook_receiver::generate_path_token;
use testkit::faults::{FaultConfig, Faults};
use testkit::mailchimp::FakeMailchimp;
use testkit::qad::{FakeQad, Seeding};

use crate::cli::DemoArgs;
use crate::commands::init::write_private;
use crate::config::{self, TemplateValues};
use crate::connection::{Overrides, Setup};
use crate::error::{AppError, AppResult};

/// The demo store's id.
pub const STORE_ID: &str = "demo-shop";
/// The store's currency (and the orders').
pub const CURRENCY: &str = "USD";

/// Both fakes and the files pointing at them.
#[derive(Debug)]
pub struct World {
    /// The fake Mailchimp.
    pub mailchimp: FakeMailchimp,
    /// The fake QAD tenant.
    pub qad: FakeQad,
    /// Members seeded as cleaned before the first run.
    pub cleaned: u64,
    /// The configuration, vault and state, ready to use.
    pub setup: Setup,
    /// Holds the temporary folder until the demo ends.
    _dir: tempfile::TempDir,
}

fn fake_err<E: std::error::Error + Send + Sync + 'static>(
    context: &str,
) -> impl FnOnce(E) -> AppError + '_ {
    move |source| AppError::Fake {
        context: context.to_owned(),
        source: Box::new(source),
    }
}

impl World {
    /// Starts the fakes, seeds them, and writes configuration, key and vault.
    ///
    /// # Errors
    ///
    /// [`AppError`] when a fake cannot start or a file cannot be written.
    pub async fn start(args: &DemoArgs) -> AppResult<Self> {
        let latency = FaultConfig::none().latency(Duration::from_millis(args.latency_ms));
        let mailchimp = FakeMailchimp::builder()
            .seed(args.seed)
            .faults(latency.clone())
            .start()
            .await
            .map_err(fake_err("cannot start the fake Mailchimp"))?;
        let seeding = Seeding::new(args.seed)
            .customers(args.customers)
            .items(args.items)
            .sales_orders((args.orders / 2).max(1));
        let faults = Faults::new(args.seed, latency).map_err(|e| {
            AppError::Usage(format!(
                "--latency-ms {} is not usable: {e}",
                args.latency_ms
            ))
        })?;
        let qad = FakeQad::builder()
            .seeding(seeding)
            .faults(faults)
            .start()
            .await
            .map_err(fake_err("cannot start the fake QAD tenant"))?;

        // Some customers' addresses bounced long ago: Mailchimp has them as cleaned.
        let mut cleaned = 0;
        for customer in qad.customers().iter().step_by(40) {
            let Some(email) = customer.email.as_deref() else {
                continue;
            };
            if check_email(email).is_ok()
                && mailchimp
                    .seed_member(mailchimp.list_id(), email, "cleaned")
                    .is_ok()
            {
                cleaned += 1;
            }
        }

        let dir = tempfile::tempdir().map_err(|source| AppError::Io {
            context: "cannot create a temporary folder".into(),
            source,
        })?;
        let setup = write_files(dir.path().to_path_buf(), &mailchimp, &qad)?;
        Ok(Self {
            mailchimp,
            qad,
            cleaned,
            setup,
            _dir: dir,
        })
    }

    /// Attribution records QAD has received.
    #[must_use]
    pub fn attribution_posts(&self) -> u64 {
        let route = self.qad.route(self.qad.attribution_path());
        self.qad.stats().requests("POST", &route)
    }
}

/// Writes what `init` would: the configuration file, a key file and the vault.
fn write_files(dir: PathBuf, mailchimp: &FakeMailchimp, qad: &FakeQad) -> AppResult<Setup> {
    let config_path = dir.join("ml-connector.toml");
    let text = config::render(&TemplateValues {
        list_id: mailchimp.list_id().to_owned(),
        store: Some((STORE_ID.into(), "Demo shop".into(), CURRENCY.into())),
        mailchimp_base_url: Some(mailchimp.api_url()),
        qad_url: qad.base_url(),
        qad_auth: config::QadAuth::OAuthPassword,
        qad_user: qad.username().to_owned(),
        qad_client_id: Some(qad.client_id().to_owned()),
        qad_domain: qad.domain().to_owned(),
        qad_attribution_path: Some(qad.attribution_path().to_owned()),
        sales_order_match: SalesOrderMatch::CustomerPo,
        state: "ml-connector.db".into(),
        vault: "ml-connector.vault".into(),
        key_file: Some("ml-connector.key".into()),
    });
    let io = |what: &str| {
        let context = format!("cannot write the demo's {what}");
        move |source| AppError::Io { context, source }
    };
    std::fs::write(&config_path, text).map_err(io("configuration"))?;
    let key = VaultKey::generate();
    write_private(
        &dir.join("ml-connector.key"),
        key.to_hex().expose_secret().as_bytes(),
    )
    .map_err(io("key file"))?;

    let api_url = url::Url::parse(&mailchimp.api_url())
        .map_err(|e| AppError::Usage(format!("the fake Mailchimp's URL is not a URL: {e}")))?;
    let tenant = url::Url::parse(&qad.base_url())
        .map_err(|e| AppError::Usage(format!("the fake QAD's URL is not a URL: {e}")))?;
    let creds = Credentials {
        mailchimp: Some(MailchimpCredentials::api_key(mailchimp.api_key()).with_base_url(api_url)),
        qad: Some(
            QadCredentials::new(
                tenant,
                QadAuthKind::OAuthPassword,
                qad.username(),
                qad.password(),
                qad.domain(),
            )
            .with_client_id(qad.client_id()),
        ),
        webhook: Some(WebhookSecrets {
            path_token: generate_path_token(),
            signing_secret: None::<SecretString>,
        }),
    };
    let setup = Setup::new(
        &config_path,
        config::load(&config_path)?,
        &Overrides::default(),
    );
    Vault::new(&setup.paths.vault, key)
        .save(&creds)
        .map_err(|source| AppError::Vault {
            path: setup.paths.vault.clone(),
            source,
        })?;
    Ok(setup)
}
