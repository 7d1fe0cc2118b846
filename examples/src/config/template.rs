//! The commented configuration file `init` (and the demo) writes.

use std::fmt::Write as _;

use sync_core::orders::SalesOrderMatch;

use super::QadAuth;

/// What goes into a new configuration file.
#[derive(Debug, Clone)]
pub struct TemplateValues {
    /// The Mailchimp audience.
    pub list_id: String,
    /// The e-commerce store: id, name, currency.
    pub store: Option<(String, String, String)>,
    /// A Mailchimp API root override.
    pub mailchimp_base_url: Option<String>,
    /// The QAD tenant URL.
    pub qad_url: String,
    /// How to sign in to QAD.
    pub qad_auth: QadAuth,
    /// The QAD user.
    pub qad_user: String,
    /// The QAD OAuth client id.
    pub qad_client_id: Option<String>,
    /// The QAD domain.
    pub qad_domain: String,
    /// The attribution entity path, when not qad-client's default.
    pub qad_attribution_path: Option<String>,
    /// How orders find their sales order.
    pub sales_order_match: SalesOrderMatch,
    /// Whether QAD sales history is written to Mailchimp (`[sales_orders] enabled`).
    pub sales_orders: bool,
    /// The state database path.
    pub state: String,
    /// The vault path.
    pub vault: String,
    /// The vault key file, when the key is not taken from the environment.
    pub key_file: Option<String>,
}

/// A TOML string literal.
fn quoted(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// Renders the file: every setting explained, optional ones shown commented out.
#[must_use]
pub fn render(v: &TemplateValues) -> String {
    let mut out = String::new();
    let auth = v.qad_auth.as_str();
    let opt = |key: &str, value: &Option<String>, example: &str| match value {
        Some(value) => format!("{key} = {}\n", quoted(value)),
        None => format!("# {key} = {}\n", quoted(example)),
    };
    out.push_str(
        "# ml-connector configuration. Secrets are not here: they are in the encrypted vault\n\
         # (`ml-connector init` stores them). Relative paths are taken from this file's folder.\n\
         # Unknown keys are errors. Durations read like \"90s\", \"15m\" or \"1h 30m\".\n\n\
         [paths]\n\
         # The SQLite state: id map, content hashes, cursors, audit trail, replay queue.\n",
    );
    let _ = writeln!(out, "state = {}", quoted(&v.state));
    out.push_str("# The credentials vault, encrypted with ChaCha20-Poly1305.\n");
    let _ = writeln!(out, "vault = {}", quoted(&v.vault));
    out.push_str(
        "# The vault key: a file readable by its owner only, or else ML_CONNECTOR_VAULT_KEY.\n",
    );
    out.push_str(&opt("key_file", &v.key_file, "ml-connector.key"));
    out.push_str(
        "\n[mailchimp]\n\
         # The data center comes from the API key's suffix (or the OAuth metadata).\n\
         # An API root override, for proxies and tests only:\n",
    );
    out.push_str(&opt(
        "base_url",
        &v.mailchimp_base_url,
        "https://us6.api.mailchimp.com/3.0",
    ));
    out.push_str(
        "# Most requests in flight at once. Mailchimp allows 10 per user, shared by every key and\n\
         # integration of the account; a 429 halves the client's limit, successes grow it back.\n\
         max_concurrency = 10\n",
    );

    out.push_str("\n[qad]\n# The tenant URL with its context root.\n");
    let _ = writeln!(out, "tenant_url = {}", quoted(&v.qad_url));
    let _ = writeln!(
        out,
        "# oauth_password (OAuth2 password grant) or form_login (on-premises)."
    );
    let _ = writeln!(out, "auth = {}", quoted(auth));
    let _ = writeln!(out, "username = {}", quoted(&v.qad_user));
    out.push_str(&opt("client_id", &v.qad_client_id, "qad-oauth-client"));
    let _ = writeln!(out, "domain = {}", quoted(&v.qad_domain));
    out.push_str("# entity = \"10USACO\"\n");
    out.push_str("# How long one request may take; connect reports QAD unreachable after it.\n");
    out.push_str("# timeout = \"60s\"\n");
    out.push_str("# Where attribution records for Mailchimp orders are posted.\n");
    out.push_str(&opt(
        "attribution_path",
        &v.qad_attribution_path,
        "api/bdoc/mlconnector/attribution/OrderAttribution",
    ));
    out.push_str(
        "\n# Browse ids, when the tenant's differ from qad-client's defaults.\n\
         [qad.browses]\n\
         # customers = \"urn:browse:bebrowse:com.qad.erp.base.customers\"\n\
         # items = \"urn:browse:bebrowse:com.qad.erp.base.items\"\n\
         # sales_orders = \"urn:browse:bebrowse:com.qad.erp.sales.salesOrders\"\n\
         # sales_order_lines = \"urn:browse:bebrowse:com.qad.erp.sales.salesOrderLines\"\n",
    );
    out.push_str(
        "\n# How the tenant behaves where QAD documents nothing (docs/qad-api.md); the values\n\
         # below are the defaults. `ml-connector connect --probe --write-config` finds yours.\n\
         [qad.behaviour]\n\
         # paging.mode = \"page-number\"        # or cursor, first-only\n\
         # paging.page_size_cap = \"reported\"  # or the silent cap, e.g. 200\n\
         # scope.domain = \"query\"             # or filter, header, rows\n\
         # filter.date = \"date\"               # or date-time, none\n\
         # order.key = \"key\"                  # or any\n\
         # attribution.duplicate = \"rejected\" # or creates, server-error\n\
         # validate.entity = \"get\"            # or none\n\
         # count.endpoint = \"total-count\"     # or none (no total in the progress display)\n",
    );

    out.push_str("\n[sync]\n# The Mailchimp audience members go to, and the store is linked to.\n");
    let _ = writeln!(out, "list_id = {}", quoted(&v.list_id));
    out.push_str(
        "# QAD records per page (one page is one state transaction).\n\
         page_size = 500\n\
         # From this many new members in a page on, use batch subscribe (500 a call).\n\
         member_batch_threshold = 20\n",
    );
    match &v.store {
        Some((id, name, currency)) => {
            out.push_str(
                "\n# The e-commerce store: created if missing, linked to list_id (immutable).\n\
                 [sync.store]\n",
            );
            let _ = writeln!(out, "id = {}", quoted(id));
            let _ = writeln!(out, "name = {}", quoted(name));
            let _ = writeln!(out, "currency_code = {}", quoted(currency));
        }
        None => out.push_str(
            "\n# Without a store no e-commerce customers, products or orders are synced.\n\
             # [sync.store]\n# id = \"qad\"\n# name = \"ACME\"\n# currency_code = \"USD\"\n",
        ),
    }
    out.push_str(
        "\n# How QAD fields become Mailchimp fields (see sync-core's MappingConfig).\n\
         [sync.mapping.customer]\n\
         # subscribed, pending or transactional, for members new to the audience.\n\
         status_if_new = \"subscribed\"\n",
    );
    out.push_str(
        "\n# Customers and items that leave QAD (gone from the browse, or inactive, blocked or\n\
         # anonymised) removed from Mailchimp by a full key scan: `ml-connector lifecycle` now\n\
         # (--dry-run lists), `run` when due. Off until uncommented; the values are the defaults.\n\
         # [sync.lifecycle]\n\
         # members = \"archive\"              # or leave, delete_permanent (GDPR erasure, irreversible)\n\
         # ecommerce_customers = \"keep\"     # or delete\n\
         # products = \"hide\"                # or delete (needs item.inactive = \"skip\")\n\
         # scan_interval_hours = 24\n\
         # A scan removing more than this share of the mapped records removes nothing and fails\n\
         # (`ml-connector lifecycle --allow-mass-removal` allows it once).\n\
         # max_removal_percent = 20\n\
         # How QAD marks customers (docs/qad-api.md); blocked and anonymised mark nothing by default.\n\
         # [sync.lifecycle.customer_states]\n\
         # inactive = [{ field = \"isActive\", values = [\"false\", \"no\"] }]\n\
         # Who owns a member several customers share: lowest_key, flag, oldest, newest, type_priority.\n\
         # [sync.lifecycle.shared_email_owner]\n\
         # rule = \"lowest_key\"\n",
    );

    let orders = format!(
        "[orders]\n# How an order finds its QAD sales order: none, sales_order_number or customer_po.\n\
         sales_order_match = {}\n",
        quoted(v.sales_order_match.as_str())
    );
    if v.store.is_some() {
        out.push_str("\n# Mailchimp orders back to QAD as attribution records.\n");
        out.push_str(&orders);
    } else {
        out.push_str("\n# Mailchimp orders back to QAD (needs [sync.store]).\n");
        for line in orders.lines() {
            let _ = writeln!(out, "# {}", line.trim_start_matches("# "));
        }
    }

    let _ = write!(
        out,
        "\n# QAD sales history into Mailchimp as e-commerce orders (needs [sync.store]), for\n\
         # segments on what customers bought. The first run backfills orders dated within\n\
         # `lookback_months` with the store marked syncing (no order notifications).\n\
         [sales_orders]\n\
         enabled = {}\n\
         lookback_months = 24\n\
         # QAD order states sent, and how (these are the defaults; unnamed states are not sent):\n\
         # [sales_orders.statuses]\n\
         # confirmed = {{ financial = \"pending\" }}\n\
         # shipped = {{ financial = \"pending\", fulfillment = \"shipped\" }}\n\
         # invoiced = {{ financial = \"paid\", fulfillment = \"shipped\" }}\n\
         # refunded = {{ financial = \"refunded\" }}\n\
         # cancelled = {{ financial = \"cancelled\" }}\n",
        v.sales_orders && v.store.is_some()
    );
    out.push_str(
        "\n# How often `ml-connector run` syncs each object, plus up to `jitter` of random delay.\n\
         [schedule]\n\
         customers = \"15m\"\n\
         items = \"1h\"\n\
         orders = \"5m\"\n\
         sales_orders = \"1h\"\n\
         jitter = \"30s\"\n\
         \n\
         # How long the state database keeps its history; `run` prunes older rows hourly.\n\
         # Failed, deferred and dead audit rows stay until they are resolved.\n\
         [retention]\n\
         audit = \"90days\"\n\
         runs = \"90days\"\n\
         \n\
         # `ml-connector run` serves /healthz and /metrics (Prometheus) here, loopback by default;\n\
         # an object is reported stalled after `stall_after` cadences without a completed run.\n\
         # [ops]\n\
         # listen = \"127.0.0.1:9464\"\n\
         # stall_after = 3\n\
         \n\
         # The audience webhook receiver started by `ml-connector run`.\n\
         # [webhook]\n\
         # listen = \"0.0.0.0:8080\"\n\
         # The public base URL Mailchimp reaches the receiver at: `run` registers the webhook\n\
         # once and keeps its signing secret in the vault.\n\
         # public_url = \"https://sync.example.com\"\n\
         # allow_unsigned = false\n\
         # How old a signed delivery may be: Mailchimp's retries may keep their first timestamp,\n\
         # and repeats are applied once anyway. Shorter narrows the window for a captured one.\n\
         # signature_tolerance = \"24h\"\n\
         # Limits of the public endpoint: requests a second and burst per source address (429\n\
         # beyond; 0 a second turns it off), requests at once (503 beyond), body size (413).\n\
         # rate_limit_per_second = 100\n\
         # rate_limit_burst = 1000\n\
         # max_concurrent_requests = 64\n\
         # max_body_bytes = 65536\n\
         \n\
         # Members' marketing status (subscribed, unsubscribed, cleaned, with its date) written\n\
         # back to a QAD entity after each customers run of `sync` and `run`; `connect` checks\n\
         # the entity. Off until enabled; the values are the defaults.\n\
         # [consent]\n\
         # enabled = true\n\
         # entity_path = \"api/bdoc/mlconnector/consent/MarketingConsent\"\n\
         # key_param = \"customerCode\"\n\
         # statuses = [\"subscribed\", \"unsubscribed\", \"cleaned\"]\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> TemplateValues {
        TemplateValues {
            list_id: "a1b2c3".into(),
            store: Some(("s1".into(), "Shop \"One\"".into(), "EUR".into())),
            mailchimp_base_url: None,
            qad_url: "https://acme.qad.com/clouderp".into(),
            qad_auth: QadAuth::OAuthPassword,
            qad_user: "api".into(),
            qad_client_id: Some("client".into()),
            qad_domain: "10USA".into(),
            qad_attribution_path: None,
            sales_order_match: SalesOrderMatch::CustomerPo,
            sales_orders: true,
            state: "ml-connector.db".into(),
            vault: "ml-connector.vault".into(),
            key_file: Some("ml-connector.key".into()),
        }
    }

    #[test]
    fn the_template_loads_as_written() {
        let text = render(&values());
        let config = super::super::load::parse(std::path::Path::new("t.toml"), &text).unwrap();
        assert_eq!(config.sync.list_id, "a1b2c3");
        assert_eq!(config.sync.store.unwrap().name, "Shop \"One\"");
        assert_eq!(
            config.orders.unwrap().sales_order_match,
            SalesOrderMatch::CustomerPo
        );
        assert_eq!(config.qad.client_id.as_deref(), Some("client"));
        assert!(config.webhook.is_none());
        assert_eq!(
            config.retention.policy(),
            sync_core::state::Retention::default()
        );
    }

    #[test]
    fn the_webhook_section_uncommented_loads_with_its_tolerance() {
        let text = render(&values());
        let start = text.find("# [webhook]").unwrap();
        let (head, tail) = text.split_at(start);
        let uncommented: String = tail
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest) if rest.starts_with('[') || rest.contains(" = ") => rest,
                _ => l,
            })
            .collect::<Vec<_>>()
            .join("\n");
        let config = super::super::load::parse(
            std::path::Path::new("t.toml"),
            &format!("{head}{uncommented}\n"),
        )
        .unwrap();
        let webhook = config.webhook.unwrap();
        assert_eq!(
            webhook.signature_tolerance.as_ref().unwrap().0,
            std::time::Duration::from_secs(24 * 60 * 60)
        );
        assert!(!webhook.allow_unsigned);
        assert_eq!(webhook.rate_limit_per_second, Some(100));
        assert_eq!(webhook.rate_limit_burst, Some(1000));
        assert_eq!(webhook.max_concurrent_requests, Some(64));
        assert_eq!(webhook.max_body_bytes, Some(65536));
        // The template's values are the receiver's defaults.
        let defaults = receiver_config();
        let configured = webhook.limits(defaults.clone());
        assert_eq!(
            configured.per_source_rate_limit(),
            defaults.per_source_rate_limit()
        );
        assert_eq!(configured.concurrency_limit(), defaults.concurrency_limit());
    }

    fn receiver_config() -> sync_core::webhook_receiver::ReceiverConfig {
        use sync_core::webhook_receiver::{generate_path_token, ReceiverConfig};
        ReceiverConfig::signed(generate_path_token(), "whsec_test_only").unwrap()
    }

    #[test]
    fn a_zero_rate_turns_the_per_source_limit_off() {
        let text =
            "listen = \"127.0.0.1:0\"\nrate_limit_per_second = 0\nmax_concurrent_requests = 3\n";
        let webhook: super::super::WebhookSection = toml::from_str(text).unwrap();
        let config = webhook.limits(receiver_config());
        assert_eq!(config.per_source_rate_limit(), None);
        assert_eq!(config.concurrency_limit(), 3);
    }

    #[test]
    fn the_ops_section_uncommented_loads() {
        let text = render(&values())
            .replace("# [ops]\n# listen", "[ops]\nlisten")
            .replace("# stall_after = 3", "stall_after = 4");
        let config = super::super::load::parse(std::path::Path::new("t.toml"), &text).unwrap();
        let ops = config.ops.unwrap();
        assert_eq!(ops.listen.to_string(), "127.0.0.1:9464");
        assert_eq!(ops.stall_after, 4);
    }

    /// Uncomments every `# key = value` and `# [table]` line from `marker` to the next blank line.
    fn uncomment(text: &str, marker: &str) -> String {
        let start = text.find(marker).unwrap();
        let end = text[start..].find("\n\n").map_or(text.len(), |e| start + e);
        let section: String = text[start..end]
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest) if rest.starts_with('[') || rest.contains(" = ") => rest,
                _ => l,
            })
            .collect::<Vec<_>>()
            .join("\n");
        format!("{}{section}{}", &text[..start], &text[end..])
    }

    #[test]
    fn the_lifecycle_and_consent_sections_uncommented_are_the_defaults() {
        let text = render(&values());
        let config = super::super::load::parse(std::path::Path::new("t.toml"), &text).unwrap();
        assert!(config.sync.lifecycle.is_none() && config.consent.is_none());
        let text = uncomment(&uncomment(&text, "# [sync.lifecycle]"), "# [consent]");
        let config = super::super::load::parse(std::path::Path::new("t.toml"), &text).unwrap();
        assert_eq!(
            config.sync.lifecycle,
            Some(sync_core::lifecycle::LifecycleConfig::default())
        );
        let consent = config.consent_enabled().unwrap();
        assert_eq!(consent.qad_config(), qad_client::ConsentConfig::default());
        assert_eq!(
            consent.settings(),
            sync_core::consent::ConsentSettings::default()
        );
    }

    #[test]
    fn without_a_store_orders_are_off() {
        let text = render(&TemplateValues {
            store: None,
            ..values()
        });
        let config = super::super::load::parse(std::path::Path::new("t.toml"), &text).unwrap();
        assert!(config.orders.is_none());
        assert!(!config.sales_orders.enabled, "sales history needs a store");
    }

    #[test]
    fn sales_orders_are_off_unless_asked_for() {
        let text = render(&values());
        let config = super::super::load::parse(std::path::Path::new("t.toml"), &text).unwrap();
        assert!(config.sales_orders.enabled);
        assert_eq!(config.sales_orders.lookback_months, 24);
        let text = render(&TemplateValues {
            sales_orders: false,
            ..values()
        });
        let config = super::super::load::parse(std::path::Path::new("t.toml"), &text).unwrap();
        assert!(!config.sales_orders.enabled);
        // The commented states are the defaults, so uncommenting them changes nothing.
        let text = text.replace("# [sales_orders.statuses]", "[sales_orders.statuses]");
        let text = text
            .lines()
            .map(|l| {
                ["confirmed", "shipped", "invoiced", "refunded", "cancelled"]
                    .iter()
                    .find(|s| l.starts_with(&format!("# {s} = ")))
                    .map_or_else(|| l.to_owned(), |_| l.trim_start_matches("# ").to_owned())
            })
            .collect::<Vec<_>>()
            .join("\n");
        let config = super::super::load::parse(std::path::Path::new("t.toml"), &text).unwrap();
        assert_eq!(
            config.sales_orders.statuses,
            Some(sync_core::sales_orders::SalesOrdersConfig::default_statuses())
        );
    }
}
