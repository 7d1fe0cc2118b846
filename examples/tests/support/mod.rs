//! Shared setup of the command tests: both fakes in this process, a configuration file, a key
//! file and a vault pointing at them, and the binary run as a child process.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Output;

use secrecy::ExposeSecret;
use sync_core::vault::{
    Credentials, MailchimpCredentials, QadAuthKind, QadCredentials, Vault, VaultKey,
};
use testkit::mailchimp::FakeMailchimp;
use testkit::qad::{FakeQad, Seeding};

pub const STORE: &str = "test-shop";

pub struct Fakes {
    pub mailchimp: FakeMailchimp,
    pub qad: FakeQad,
}

impl Fakes {
    pub async fn start(customers: usize, items: usize) -> Self {
        Self::with_quirks(customers, items, &[]).await
    }

    /// Both fakes, the QAD one departing from today's guesses by `quirks` (`NAME`, `VALUE`).
    pub async fn with_quirks(customers: usize, items: usize, quirks: &[(&str, &str)]) -> Self {
        let mailchimp = FakeMailchimp::start().await.unwrap();
        let mut qad = FakeQad::builder();
        for (name, value) in quirks {
            qad = qad.quirk(*name, *value);
        }
        let qad = qad
            .seeding(
                Seeding::new(7)
                    .customers(customers)
                    .items(items)
                    .sales_orders(3),
            )
            .start()
            .await
            .unwrap();
        Self { mailchimp, qad }
    }
}

/// A configuration file as a person would write it, pointing at the fakes.
pub fn config_text(fakes: &Fakes) -> String {
    format!(
        r#"
[paths]
state = "state.db"
vault = "creds.vault"
key_file = "vault.key"

[mailchimp]
base_url = "{mc}"

[qad]
tenant_url = "{qad}"
username = "{user}"
client_id = "{client}"
domain = "{domain}"
attribution_path = "{attribution}"

[sync]
list_id = "{list}"
page_size = 50

[sync.store]
id = "{STORE}"
name = "Test shop"
currency_code = "USD"

[orders]
sales_order_match = "customer_po"
"#,
        mc = fakes.mailchimp.api_url(),
        qad = fakes.qad.base_url(),
        user = fakes.qad.username(),
        client = fakes.qad.client_id(),
        domain = fakes.qad.domain(),
        attribution = fakes.qad.attribution_path(),
        list = fakes.mailchimp.list_id(),
    )
}

/// Writes a private key file.
pub fn write_key(path: &Path, key: &VaultKey) {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).unwrap();
    file.write_all(key.to_hex().expose_secret().as_bytes())
        .unwrap();
}

/// Writes the configuration, a key and a vault holding `api_key` into `dir`; returns the
/// configuration file's path.
pub fn write_setup(dir: &Path, fakes: &Fakes, api_key: &str) -> PathBuf {
    let config = dir.join("ml-connector.toml");
    std::fs::write(&config, config_text(fakes)).unwrap();
    let key = VaultKey::generate();
    write_key(&dir.join("vault.key"), &key);
    let creds = Credentials {
        mailchimp: Some(
            MailchimpCredentials::api_key(api_key)
                .with_base_url(fakes.mailchimp.api_url().parse().unwrap()),
        ),
        qad: Some(
            QadCredentials::new(
                fakes.qad.base_url().parse().unwrap(),
                QadAuthKind::OAuthPassword,
                fakes.qad.username(),
                fakes.qad.password(),
                fakes.qad.domain(),
            )
            .with_client_id(fakes.qad.client_id()),
        ),
        webhook: None,
    };
    Vault::new(dir.join("creds.vault"), key)
        .save(&creds)
        .unwrap();
    config
}

/// Runs the binary with `args` and extra environment variables, off the async runtime so the
/// fakes keep serving.
pub async fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_ml-connector"))
            .args(&args)
            .envs(env)
            .env_remove("ML_CONNECTOR_VAULT_KEY")
            .env_remove("RUST_LOG")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
