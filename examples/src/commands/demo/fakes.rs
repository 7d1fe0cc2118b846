//! The demo's world: both fakes on loopback, a temporary folder holding a configuration file,
//! a key file, a vault and the state database, as `init` would leave them.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sync_core::mapping::check_email;
use sync_core::normalize_email;
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
    /// What the world holds that a real audience and tenant would too.
    pub quirks: Quirks,
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

        let quirks = seed_quirks(&mailchimp, &qad);
        let dir = tempfile::tempdir().map_err(|source| AppError::Io {
            context: "cannot create a temporary folder".into(),
            source,
        })?;
        let setup = write_files(dir.path().to_path_buf(), &mailchimp, &qad)?;
        Ok(Self {
            mailchimp,
            qad,
            quirks,
            setup,
            _dir: dir,
        })
    }

    /// Whether the demo set customer `code` aside as one of its [`Quirks`] (the QAD edits leave
    /// it alone, so each quirk shows in one place).
    #[must_use]
    pub fn is_quirk(&self, code: &str) -> bool {
        self.quirks.codes.contains(code)
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
        sales_orders: true,
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

/// Customers the demo gives what real ones have: an address that bounced long ago, a disposable
/// address Mailchimp refuses as fake-looking, an address under Mailchimp's signup throttling.
#[derive(Debug, Default)]
pub struct Quirks {
    /// Members seeded as cleaned in Mailchimp (every 40th customer).
    pub cleaned: u64,
    /// Customers whose QAD address was moved to a disposable-mail domain: Mailchimp refuses them
    /// as "fake or invalid" (rejected, with its reason).
    pub fake_looking: u64,
    /// Addresses Mailchimp throttles ("signed up to a lot of lists very recently"): deferred and
    /// retried on later runs.
    pub throttled: u64,
    /// The customers concerned.
    codes: std::collections::HashSet<String>,
}

/// How many customers get each of the rarer quirks.
const RARE_QUIRKS: u64 = 2;

/// Gives every 40th customer with a valid, unshared address a quirk, in turn: cleaned in
/// Mailchimp (all of them), then a fake-looking and a throttled address (two each).
fn seed_quirks(mailchimp: &FakeMailchimp, qad: &FakeQad) -> Quirks {
    let customers = qad.customers();
    let mut uses: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for c in &customers {
        if let Some(email) = &c.email {
            *uses.entry(normalize_email(email)).or_default() += 1;
        }
    }
    let list = mailchimp.list_id().to_owned();
    let mut quirks = Quirks::default();
    for (i, customer) in customers.iter().enumerate() {
        let Some(email) = customer.email.as_deref() else {
            continue;
        };
        if check_email(email).is_err() || uses.get(&normalize_email(email)) != Some(&1) {
            continue;
        }
        let code = customer.customer_code.clone();
        let applied = match i % 40 {
            0 => {
                let ok = mailchimp.seed_member(&list, email, "cleaned").is_ok();
                quirks.cleaned += u64::from(ok);
                ok
            }
            10 if quirks.fake_looking < RARE_QUIRKS => {
                let local = email.split('@').next().unwrap_or("buyer");
                let disposable = format!("{local}@mailinator.com");
                let ok = qad.update_customer(&code, |c| c.email = Some(disposable.clone()));
                quirks.fake_looking += u64::from(ok);
                ok
            }
            20 if quirks.throttled < RARE_QUIRKS => {
                let ok = mailchimp.throttle_signups(&list, email, true).is_ok();
                quirks.throttled += u64::from(ok);
                ok
            }
            _ => false,
        };
        if applied {
            quirks.codes.insert(code);
        }
    }
    quirks
}
