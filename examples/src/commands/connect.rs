//! `connect`: check both systems and say precisely what is off.

use mailchimp_client::ecommerce::StoreId;
use mailchimp_client::ListId;
use secrecy::ExposeSecret;
use serde::Serialize;
use sync_core::vault::{Credentials, MailchimpAuth};

use crate::cli::{Cli, ConnectArgs};
use crate::connection::{mailchimp_client, qad_client, Setup};
use crate::error::{chain, AppError, AppResult};
use crate::output::print_json;

/// What `connect` found.
#[derive(Debug, Default, Serialize)]
pub struct ConnectReport {
    /// Mailchimp's side.
    pub mailchimp: MailchimpCheck,
    /// QAD's side.
    pub qad: QadCheck,
    /// Everything that is wrong, one sentence each.
    pub problems: Vec<String>,
}

/// Mailchimp as `connect` saw it.
#[derive(Debug, Default, Serialize)]
pub struct MailchimpCheck {
    /// The API root requests go to.
    pub api_root: Option<String>,
    /// The data center, when known (from the key, or the OAuth metadata).
    pub data_center: Option<String>,
    /// The account's name.
    pub account: Option<String>,
    /// The audience.
    pub audience: Option<AudienceInfo>,
    /// The audience's merge-field tags, when members are synced and the mapping fits them.
    pub merge_fields: Vec<String>,
    /// The store; `None` when it does not exist yet.
    pub store: Option<StoreInfo>,
}

/// The configured audience as Mailchimp has it.
#[derive(Debug, Serialize)]
pub struct AudienceInfo {
    /// The audience (list) id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its members (Mailchimp's count).
    pub member_count: u64,
}

/// The configured store as Mailchimp has it.
#[derive(Debug, Serialize)]
pub struct StoreInfo {
    /// The store id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its currency (ISO 4217).
    pub currency_code: String,
    /// The audience it is linked to.
    pub list_id: String,
}

/// How QAD answered for one configured browse or entity path.
#[derive(Debug, Serialize)]
pub struct TargetCheck {
    /// The browse or entity, e.g. `browse urn:browse:…customers`.
    pub target: String,
    /// `ok`, or what is wrong.
    pub status: String,
}

/// QAD as `connect` saw it.
#[derive(Debug, Default, Serialize)]
pub struct QadCheck {
    /// The tenant URL.
    pub tenant_url: Option<String>,
    /// Why the tenant did not answer at all, when it did not (then nothing else was tried).
    pub unreachable: Option<crate::reachability::Unreachable>,
    /// Whether the login worked.
    pub logged_in: bool,
    /// Each configured browse and entity path, and how the tenant answered.
    pub targets: Vec<TargetCheck>,
}

/// Runs `connect`.
///
/// # Errors
///
/// [`AppError::Check`] when anything is off (each problem printed), or the configuration or
/// vault cannot be read. With `--probe`, see [`super::probe::run`].
pub async fn run(cli: &Cli, args: &ConnectArgs) -> AppResult<()> {
    let json = args.json;
    let setup = Setup::load(cli)?;
    let (_, creds) = setup.credentials()?;
    // A person checked the login: a scheduler that stopped logging in may try again.
    crate::lockout::record_connect(&setup);
    if args.probe {
        return super::probe::run(&setup, &creds, args).await;
    }
    let report = check(&setup, &creds).await;
    if json {
        print_json(&report)?;
    } else {
        print_text(&report);
    }
    match report.problems.len() {
        0 => Ok(()),
        // The text report listed each problem already: say each once.
        n if !json => Err(AppError::Check(format!("connect found {n} problem(s)"))),
        n => Err(AppError::Check(format!(
            "connect found {n} problem(s): {}",
            report.problems.join("; ")
        ))),
    }
}

/// Checks both systems with `setup` and `creds`; every problem found is in the report.
pub async fn check(setup: &Setup, creds: &Credentials) -> ConnectReport {
    let mut report = ConnectReport::default();
    check_mailchimp(setup, creds, &mut report).await;
    check_qad(setup, creds, &mut report).await;
    report
}

async fn check_mailchimp(setup: &Setup, creds: &Credentials, report: &mut ConnectReport) {
    let problems = &mut report.problems;
    let check = &mut report.mailchimp;
    let client = match mailchimp_client(setup, creds).await {
        Ok(client) => client,
        Err(err) => return problems.push(chain(&err)),
    };
    check.api_root = Some(client.base_url().to_string());
    check.data_center = data_center(creds, client.base_url());
    if let Err(err) = client.ping().await {
        let problem = if err.is_unauthorized() {
            format!(
                "Mailchimp refused the credentials in the vault: {}",
                chain(&err)
            )
        } else {
            format!("Mailchimp is not reachable: {}", chain(&err))
        };
        return problems.push(problem);
    }
    if let Ok(account) = client.account().await {
        check.account = Some(account.account_name);
    }
    let config = &setup.config.sync;
    let list_id = ListId::from(config.list_id.as_str());
    match client.list(&list_id).get().send().await {
        Ok(audience) => {
            check.audience = Some(AudienceInfo {
                id: config.list_id.clone(),
                name: audience.name,
                member_count: audience.stats.member_count,
            });
        }
        Err(err) if err.status() == Some(404) => problems.push(format!(
            "the audience {} (sync.list_id) does not exist in this Mailchimp account",
            config.list_id
        )),
        Err(err) => problems.push(format!("cannot read the audience: {}", chain(&err))),
    }
    if check.audience.is_some() && config.members {
        // What a run checks before its first write: every mapped tag exists in the audience.
        match sync_core::forward::audience_merge_fields(
            &client,
            &config.list_id,
            &config.mapping.customer,
        )
        .await
        {
            Ok(fields) => check.merge_fields = fields.into_iter().map(|f| f.tag).collect(),
            Err(err @ sync_core::SyncError::UnknownMergeTags { .. }) => {
                problems.push(err.to_string());
            }
            Err(err) => problems.push(format!(
                "cannot read the audience's merge fields: {}",
                chain(&err)
            )),
        }
    }
    let Some(store) = &config.store else { return };
    match client
        .ecommerce()
        .store(&StoreId::from(store.id.as_str()))
        .get()
        .send()
        .await
    {
        Ok(found) => {
            if found.list_id.as_str() != config.list_id {
                problems.push(format!(
                    "the store {} is linked to audience {}, not to sync.list_id {}; a store's \
                     audience cannot be changed, so configure another sync.store.id",
                    store.id,
                    found.list_id.as_str(),
                    config.list_id
                ));
            }
            check.store = Some(StoreInfo {
                id: store.id.clone(),
                name: found.name,
                currency_code: found.currency_code,
                list_id: found.list_id.as_str().to_owned(),
            });
        }
        // Not an error: the first sync creates it (store first).
        Err(err) if err.status() == Some(404) => {}
        Err(err) => problems.push(format!(
            "cannot read the store {}: {}",
            store.id,
            chain(&err)
        )),
    }
}

/// The data center: the API key's suffix, or the first label of a Mailchimp API host.
fn data_center(creds: &Credentials, api_root: &url::Url) -> Option<String> {
    if let Some(MailchimpAuth::ApiKey(key)) = creds.mailchimp.as_ref().map(|m| &m.auth) {
        if let Ok(dc) = mailchimp_client::DataCenter::from_api_key(key.expose_secret()) {
            return Some(dc.as_str().to_owned());
        }
    }
    let host = api_root.host_str()?;
    host.strip_suffix(".api.mailchimp.com").map(str::to_owned)
}

async fn check_qad(setup: &Setup, creds: &Credentials, report: &mut ConnectReport) {
    let problems = &mut report.problems;
    let check = &mut report.qad;
    let client = match qad_client(setup, creds) {
        Ok(client) => client,
        Err(err) => return problems.push(chain(&err)),
    };
    check.tenant_url = Some(client.tenant_url().to_string());
    // Said once, within the timeout, instead of a login attempt and one retried failure per
    // browse.
    let timeout = setup.config.qad.request_timeout();
    if let Err(unreachable) =
        crate::reachability::check(setup.config.qad.tenant_url.0.as_url(), timeout).await
    {
        problems.push(format!(
            "QAD is not reachable at {}: {}",
            client.tenant_url(),
            unreachable.describe(timeout)
        ));
        check.unreachable = Some(unreachable);
        return;
    }
    // The consent entity only when the write-back is on: a tenant without it is fine otherwise.
    let consent = setup
        .config
        .consent_enabled()
        .map(crate::config::ConsentSection::qad_config);
    let mut targets = client.configured_targets();
    if let Some(consent) = &consent {
        targets.push(qad_client::Target::Entity(consent.entity().clone()));
    }
    let validations = match client.validate_entities(targets).await {
        Ok(v) => v,
        Err(err) => {
            return problems.push(format!(
                "cannot log in to QAD at {}: {}",
                client.tenant_url(),
                chain(&err)
            ))
        }
    };
    check.logged_in = true;
    for v in validations {
        let status = match &v.status {
            qad_client::EntityStatus::Ok => "ok".to_owned(),
            qad_client::EntityStatus::NotFound => "not found (404)".to_owned(),
            qad_client::EntityStatus::Forbidden => "access denied (403)".to_owned(),
            qad_client::EntityStatus::Other(Some(status), message) => {
                format!("HTTP {status}: {message}")
            }
            qad_client::EntityStatus::Other(None, message) => message.clone(),
            qad_client::EntityStatus::Unchecked => {
                "not checked (validate.entity = \"none\")".to_owned()
            }
            other => format!("{other:?}"),
        };
        if !matches!(
            v.status,
            qad_client::EntityStatus::Ok | qad_client::EntityStatus::Unchecked
        ) {
            problems.push(format!(
                "QAD {}: {status}; check {}",
                v.target,
                setting_of(&v.target, consent.as_ref())
            ));
        }
        check.targets.push(TargetCheck {
            target: v.target.to_string(),
            status,
        });
    }
}

/// The configuration key that names `target`.
fn setting_of(
    target: &qad_client::Target,
    consent: Option<&qad_client::ConsentConfig>,
) -> &'static str {
    let text = target.to_string();
    if let (qad_client::Target::Entity(path), Some(consent)) = (target, consent) {
        if path == consent.entity() {
            return "consent.entity_path";
        }
    }
    if matches!(target, qad_client::Target::Entity(_)) {
        "qad.attribution_path"
    } else if text.contains("salesOrderLines") {
        "qad.browses.sales_order_lines"
    } else if text.contains("salesOrders") {
        "qad.browses.sales_orders"
    } else if text.contains("items") {
        "qad.browses.items"
    } else {
        "qad.browses (customers, items, sales_orders or sales_order_lines)"
    }
}

fn print_text(report: &ConnectReport) {
    let m = &report.mailchimp;
    println!("Mailchimp");
    if let Some(root) = &m.api_root {
        println!(
            "  API root     {root} (data center {})",
            m.data_center.as_deref().unwrap_or("unknown")
        );
    }
    if let Some(account) = &m.account {
        println!("  account      {account}");
    }
    if let Some(a) = &m.audience {
        println!(
            "  audience     {} \"{}\", {} members",
            a.id, a.name, a.member_count
        );
    }
    if !m.merge_fields.is_empty() {
        println!("  merge fields {}", m.merge_fields.join(", "));
    }
    match &m.store {
        Some(s) => {
            println!(
                "  store        {} \"{}\" ({}), linked to audience {}",
                s.id, s.name, s.currency_code, s.list_id
            );
        }
        None if m.audience.is_some() => {
            println!("  store        not created yet: the first sync creates it");
        }
        None => {}
    }
    let q = &report.qad;
    println!("QAD");
    if let Some(url) = &q.tenant_url {
        println!("  tenant       {url}");
    }
    let login = if q.logged_in {
        "ok"
    } else if q.unreachable.is_some() {
        "not tried: the tenant is not reachable"
    } else {
        "failed"
    };
    println!("  login        {login}");
    for t in &q.targets {
        println!("  {}: {}", t.target, t.status);
    }
    if report.problems.is_empty() {
        println!("everything is in order");
    } else {
        for problem in &report.problems {
            eprintln!("problem: {problem}");
        }
    }
}
