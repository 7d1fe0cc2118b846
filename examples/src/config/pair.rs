//! The file's configuration as a fleet pair stores it (`pairs add`): what `run` would do for
//! the pair, as data.

use std::collections::BTreeMap;

use sync_core::fleet::{
    BrowseIds, ConsentPairSettings, ObjectCadence, PairConfig, QadSettings, RetentionSettings,
};
use sync_core::ObjectKind;

use super::{BrowseIdValue, FileConfig};

impl FileConfig {
    /// The flows `run` schedules for this file: customers; items when a store is configured;
    /// orders with an `[orders]` section and a store; sales orders when enabled with a store.
    #[must_use]
    pub fn scheduled_objects(&self) -> Vec<ObjectKind> {
        let store = self.sync.store.is_some();
        let mut objects = vec![ObjectKind::Customers];
        if store {
            objects.push(ObjectKind::Items);
        }
        if store && self.orders.is_some() {
            objects.push(ObjectKind::Orders);
        }
        if store && self.sales_orders.enabled {
            objects.push(ObjectKind::SalesOrders);
        }
        objects
    }

    /// The pair configuration running `objects` on their `[schedule]` cadences, with the
    /// file's `[sync]`, `[qad]` settings, `[mailchimp] max_concurrency`, `[orders]`,
    /// `[sales_orders]`, `[retention]` and `[consent]`.
    ///
    /// # Errors
    ///
    /// A sentence naming the setting the fleet cannot take, or what the pair's validation
    /// refused.
    pub fn pair_config(&self, objects: &[ObjectKind]) -> Result<PairConfig, String> {
        let schedule = &self.schedule;
        let mut config = PairConfig::new(self.sync.clone());
        for object in objects {
            let every = match object {
                ObjectKind::Customers => schedule.customers.0,
                ObjectKind::Items => schedule.items.0,
                ObjectKind::Orders => schedule.orders.0,
                ObjectKind::SalesOrders => schedule.sales_orders.0,
                other => return Err(format!("{other} is not a flow workers run")),
            };
            config = config.with_object(ObjectCadence::new(*object, every));
        }
        config.qad = self.qad_settings()?;
        config.mailchimp_max_concurrency = self.mailchimp.max_concurrency;
        config.orders.clone_from(&self.orders);
        config.sales_orders = self.sales_orders.clone();
        if let Some(consent) = &self.consent {
            config.consent = ConsentPairSettings {
                enabled: consent.enabled,
                entity_path: consent
                    .entity_path
                    .as_ref()
                    .map(|p| p.0.as_str().to_owned()),
                key_param: consent.key_param.clone(),
                statuses: consent.statuses.clone(),
            };
        }
        config.retention = RetentionSettings {
            audit_secs: self.retention.audit.0.as_secs(),
            runs_secs: self.retention.runs.0.as_secs(),
        };
        config.validate().map_err(|e| e.to_string())?;
        Ok(config)
    }

    fn qad_settings(&self) -> Result<QadSettings, String> {
        let q = &self.qad;
        // Checked the way `run` takes them; only the settings the file names are stored, so
        // the others follow qad-client's defaults.
        q.behaviour()?;
        let mut behaviour = BTreeMap::new();
        for (group, settings) in &q.behaviour {
            if let toml::Value::Table(settings) = settings {
                for (name, value) in settings {
                    let value = match value {
                        toml::Value::String(text) => text.clone(),
                        other => other.to_string(),
                    };
                    behaviour.insert(format!("{group}.{name}"), value);
                }
            }
        }
        let id = |b: &Option<BrowseIdValue>| b.as_ref().map(|b| b.0.as_str().to_owned());
        Ok(QadSettings {
            browses: BrowseIds {
                customers: id(&q.browses.customers),
                items: id(&q.browses.items),
                sales_orders: id(&q.browses.sales_orders),
                sales_order_lines: id(&q.browses.sales_order_lines),
            },
            attribution_path: q.attribution_path.as_ref().map(|p| p.0.as_str().to_owned()),
            max_concurrency: q.max_concurrency,
            timeout_secs: q.timeout.as_ref().map(|t| t.0.as_secs().max(1)),
            behaviour,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::Path;

    use sync_core::ObjectKind;

    use super::super::load::parse;

    const FULL: &str = r#"
[mailchimp]
max_concurrency = 4

[qad]
tenant_url = "https://acme.qad.com/clouderp"
username = "api"
domain = "10USA"
attribution_path = "api/bdoc/acme/crm/Attribution"
max_concurrency = 3
timeout = "20s"

[qad.browses]
customers = "urn:browse:acme:customers"

[qad.behaviour]
paging.mode = "cursor"
paging.page_size_cap = 200

[sync]
list_id = "a1b2c3"

[sync.store]
id = "s1"
name = "Shop"
currency_code = "EUR"

[orders]
page_size = 50

[sales_orders]
enabled = true

[retention]
audit = "30days"

[consent]
enabled = true
entity_path = "api/bdoc/acme/crm/Consent"
statuses = ["unsubscribed", "cleaned"]

[schedule]
customers = "10m"
orders = "2m"
"#;

    #[test]
    fn the_pair_stores_what_run_would_do_with_the_file() {
        let file = parse(Path::new("conf.toml"), FULL).unwrap();
        let objects = file.scheduled_objects();
        assert_eq!(
            objects,
            [
                ObjectKind::Customers,
                ObjectKind::Items,
                ObjectKind::Orders,
                ObjectKind::SalesOrders
            ]
        );
        let pair = file.pair_config(&objects).unwrap();
        let every = |o: ObjectKind| {
            pair.objects
                .iter()
                .find(|c| c.object == o)
                .map(|c| c.every_secs)
        };
        assert_eq!(every(ObjectKind::Customers), Some(600));
        assert_eq!(every(ObjectKind::Orders), Some(120));
        assert_eq!(every(ObjectKind::SalesOrders), Some(3600));
        assert_eq!(
            pair.qad.browses.customers.as_deref(),
            Some("urn:browse:acme:customers")
        );
        assert_eq!(pair.qad.browses.items, None);
        assert_eq!(
            pair.qad.attribution_path.as_deref(),
            Some("api/bdoc/acme/crm/Attribution")
        );
        assert_eq!(
            (pair.qad.max_concurrency, pair.qad.timeout_secs),
            (Some(3), Some(20))
        );
        assert_eq!(
            pair.qad.behaviour.len(),
            2,
            "only the settings the file names"
        );
        assert_eq!(pair.qad.behaviour["paging.mode"], "cursor");
        assert_eq!(pair.qad.behaviour["paging.page_size_cap"], "200");
        assert_eq!(pair.qad.behaviour().unwrap(), file.qad.behaviour().unwrap());
        assert_eq!(pair.mailchimp_max_concurrency, Some(4));
        assert_eq!(pair.orders.as_ref().unwrap().page_size, 50);
        assert!(pair.sales_orders.enabled);
        assert_eq!(pair.retention.audit_secs, 30 * 86_400);
        assert_eq!(pair.retention.runs_secs, 90 * 86_400);
        assert!(pair.consent.enabled);
        assert_eq!(
            pair.consent.qad_config().unwrap().entity().as_str(),
            "api/bdoc/acme/crm/Consent"
        );
        assert_eq!(pair.consent.settings().statuses.len(), 2);
    }

    #[test]
    fn a_flow_without_its_section_is_refused() {
        let file = parse(
            Path::new("conf.toml"),
            &FULL.replace("[orders]\npage_size = 50\n", ""),
        )
        .unwrap();
        assert!(!file.scheduled_objects().contains(&ObjectKind::Orders));
        let err = file
            .pair_config(&[ObjectKind::Customers, ObjectKind::Orders])
            .unwrap_err();
        assert!(err.contains("[orders]"), "{err}");
        let err = file.pair_config(&[ObjectKind::Members]).unwrap_err();
        assert!(err.contains("members"), "{err}");
    }
}
