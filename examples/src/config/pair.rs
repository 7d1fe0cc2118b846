//! The file's configuration as a fleet pair stores it (`pairs add`): what `run` would do for
//! the pair, as data.

use std::collections::BTreeMap;

use sync_core::fleet::{BrowseIds, ObjectCadence, PairConfig, QadSettings, RetentionSettings};
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
    /// `[sales_orders]` and `[retention]`.
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
