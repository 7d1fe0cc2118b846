//! The tenant's configuration (fixed at start) and its live state (data,
//! sessions, attribution records, clock), shared by every handler.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::NaiveDate;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use tokio::time::Instant;

use super::browse::BrowseKind;
use super::records::DateStyle;
use super::seed::{Dataset, Seeding};

/// Which envelope business-document reads answer in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Envelope {
    /// `{"data":{"customerV2s":[…]}}`, the usual shape.
    #[default]
    Data,
    /// `{"customerV2s":[…]}`, which some tenants answer with.
    Bare,
}

/// How many logins the tenant has seen, so tests can assert "exactly one re-login".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoginCounts {
    /// Successful OAuth2 password grants (`POST {root}/oauth/token`).
    pub token_grants: u64,
    /// Successful form logins (`POST {root}/j_spring_security_check`).
    pub form_logins: u64,
    /// Rejected login attempts of either kind.
    pub rejected: u64,
}

/// The browse ids the tenant answers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrowseIds {
    /// Customers (rows keyed `customer.*`).
    pub customers: String,
    /// Items (rows keyed `item.*`).
    pub items: String,
    /// Sales order headers (rows keyed `salesOrder.*`).
    pub sales_orders: String,
    /// Sales order lines (rows keyed `salesOrderLine.*`, with `salesOrderLine.salesOrderNumber`).
    pub sales_order_lines: String,
}

impl Default for BrowseIds {
    /// The `bebrowse` ids seen on Adaptive/Cloud ERP tenants (the lines id is assumed).
    fn default() -> Self {
        Self {
            customers: "urn:browse:bebrowse:com.qad.erp.base.customers".to_owned(),
            items: "urn:browse:bebrowse:com.qad.erp.base.items".to_owned(),
            sales_orders: "urn:browse:bebrowse:com.qad.erp.sales.salesOrders".to_owned(),
            sales_order_lines: "urn:browse:bebrowse:com.qad.erp.sales.salesOrderLines".to_owned(),
        }
    }
}

/// Settings fixed when the fake starts.
#[derive(Clone)]
pub(crate) struct Tenant {
    /// `""` or `/clouderp`-style: leading slash, no trailing slash.
    pub(crate) root: String,
    pub(crate) username: String,
    pub(crate) password: String,
    pub(crate) client_id: String,
    pub(crate) token_lifetime: Duration,
    pub(crate) basic_auth: bool,
    pub(crate) form_login: bool,
    pub(crate) domain: String,
    pub(crate) browse_ids: BrowseIds,
    /// Relative to the root, e.g. `api/bdoc/mlconnector/attribution/OrderAttribution`.
    pub(crate) attribution_path: String,
    pub(crate) attribution_key: String,
    pub(crate) forbidden_paths: HashSet<String>,
    pub(crate) forbidden_browses: HashSet<String>,
    pub(crate) max_page_size: Option<usize>,
    pub(crate) seeding: Seeding,
    pub(crate) envelope: Envelope,
    pub(crate) dates: DateStyle,
    pub(crate) today: NaiveDate,
}

impl Tenant {
    /// The last segment of the attribution path: the entity's name.
    pub(crate) fn attribution_entity(&self) -> &str {
        self.attribution_path
            .rsplit('/')
            .next()
            .unwrap_or(&self.attribution_path)
    }
}

/// First second of a day's mutations: stamps then count up one second each.
const FIRST_TICK: u32 = 8 * 3600;
const LAST_TICK: u32 = 86_399;

/// What changes while the fake runs.
pub(crate) struct Live {
    data: Dataset,
    pub(crate) envelope: Envelope,
    dates: DateStyle,
    /// Rendered browse rows, dropped whenever the data or the date style changes,
    /// so paging through a large browse renders each row once, not once per page.
    browse_rows: HashMap<BrowseKind, Arc<Vec<Value>>>,
    today: NaiveDate,
    tick: u32,
    /// Bearer token → expiry.
    pub(crate) tokens: HashMap<String, Instant>,
    /// `JSESSIONID` → expiry.
    pub(crate) sessions: HashMap<String, Instant>,
    /// Attribution records in creation order, without `dataOperation`.
    pub(crate) attributions: Vec<(String, Value)>,
    pub(crate) logins: LoginCounts,
    secrets: StdRng,
    issued: u64,
}

impl Live {
    pub(crate) fn new(tenant: &Tenant, data: Dataset) -> Self {
        Self {
            data,
            envelope: tenant.envelope,
            dates: tenant.dates,
            browse_rows: HashMap::new(),
            today: tenant.today,
            tick: FIRST_TICK,
            tokens: HashMap::new(),
            sessions: HashMap::new(),
            attributions: Vec::new(),
            logins: LoginCounts::default(),
            // Tokens only need to be unique and unguessable-looking; a seeded
            // generator keeps whole test runs reproducible.
            secrets: StdRng::seed_from_u64(tenant.seeding.seed_value() ^ 0x9e37_79b9_7f4a_7c15),
            issued: 0,
        }
    }

    /// A fresh opaque token or session id.
    pub(crate) fn new_secret(&mut self) -> String {
        self.issued += 1;
        format!("{:016x}{:08x}", self.secrets.random::<u64>(), self.issued)
    }

    pub(crate) fn data(&self) -> &Dataset {
        &self.data
    }

    /// The data, for a change: the rendered browse rows are dropped.
    pub(crate) fn data_mut(&mut self) -> &mut Dataset {
        self.browse_rows.clear();
        &mut self.data
    }

    pub(crate) fn dates(&self) -> DateStyle {
        self.dates
    }

    pub(crate) fn set_dates(&mut self, dates: DateStyle) {
        self.browse_rows.clear();
        self.dates = dates;
    }

    /// Every row of a browse, in key order, rendered once per state of the data.
    pub(crate) fn browse_rows(&mut self, kind: BrowseKind) -> Arc<Vec<Value>> {
        let (data, dates) = (&self.data, self.dates);
        self.browse_rows
            .entry(kind)
            .or_insert_with(|| Arc::new(kind.render(data, dates)))
            .clone()
    }

    pub(crate) fn today(&self) -> NaiveDate {
        self.today
    }

    pub(crate) fn set_today(&mut self, today: NaiveDate) {
        if today != self.today {
            self.today = today;
            self.tick = FIRST_TICK;
        }
    }

    /// The modification stamp for the next change: today, one second after the
    /// previous change, so stamps strictly increase within a day.
    pub(crate) fn stamp(&mut self) -> (NaiveDate, u32) {
        let stamp = (self.today, self.tick);
        self.tick = (self.tick + 1).min(LAST_TICK);
        stamp
    }

    pub(crate) fn attribution_index(&self, id: &str) -> Option<usize> {
        self.attributions.iter().position(|(key, _)| key == id)
    }
}

/// Configuration plus live state, behind one lock.
pub(crate) struct Shared {
    pub(crate) tenant: Tenant,
    live: Mutex<Live>,
}

impl Shared {
    pub(crate) fn new(tenant: Tenant, data: Dataset) -> Self {
        let live = Live::new(&tenant, data);
        Self {
            tenant,
            live: Mutex::new(live),
        }
    }

    pub(crate) fn live(&self) -> MutexGuard<'_, Live> {
        // The state is plain data: a panic elsewhere leaves it usable.
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Back to the state right after start: the seeded data, no sessions,
    /// no attribution records, zero login counts, the starting clock and envelope.
    pub(crate) fn reset(&self, data: Dataset) {
        *self.live() = Live::new(&self.tenant, data);
    }
}
