//! The tenant's configuration (fixed at start) and its live state (data,
//! sessions, attribution records, clock), shared by every handler.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::NaiveDate;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use tokio::time::Instant;

use super::browse::BrowseKind;
use super::customers::Customers;
use super::quirks::Quirks;
use super::records::DateStyle;
use super::records::{Item, SalesOrder};
use super::seed::{SeedError, Seeding};

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
    pub(crate) quirks: Quirks,
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

/// Server-side cursors kept at most (`paging.mode = cursor`).
pub(crate) const MAX_CURSORS: usize = 256;

/// First second of a day's mutations: stamps then count up one second each.
const FIRST_TICK: u32 = 8 * 3600;
const LAST_TICK: u32 = 86_399;

/// The tenant's business data now: customers generated from the seed as they are read (see
/// [`Customers`]), items and sales orders held (there are few).
#[derive(Clone, Debug)]
pub(crate) struct Records {
    /// Shared with the browse reads in flight; a change copies only what was changed.
    pub(crate) customers: Arc<Customers>,
    pub(crate) items: Vec<Item>,
    pub(crate) sales_orders: Vec<SalesOrder>,
}

impl Records {
    pub(crate) fn new(seeding: &Seeding) -> Result<Self, SeedError> {
        let plan = seeding.plan()?;
        let (items, sales_orders) = seeding.generate_rest(&plan);
        Ok(Self {
            customers: Arc::new(Customers::new(plan)),
            items,
            sales_orders,
        })
    }

    /// The customers, for a change.
    pub(crate) fn customers_mut(&mut self) -> &mut Customers {
        Arc::make_mut(&mut self.customers)
    }
}

/// The rows of one browse for one state of the data: held (items, sales orders and their
/// lines, few) or customers rendered one at a time as a page needs them.
#[derive(Clone, Debug)]
pub(crate) enum BrowseRows {
    Held(Arc<Vec<Value>>),
    Customers {
        customers: Arc<Customers>,
        dates: DateStyle,
        /// The tenant's domain when rows carry `*.domainCode` (see [`Live::browse_rows`]).
        domain: Option<String>,
    },
}

impl BrowseRows {
    /// How many rows.
    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Held(rows) => rows.len(),
            Self::Customers {
                customers, domain, ..
            } => {
                let base = customers.len();
                base + domain.as_ref().map_or(0, |_| base.min(OTHER_DOMAIN_ROWS))
            }
        }
    }

    /// Calls `with` on the row at a position.
    pub(crate) fn visit<R>(&self, at: usize, with: impl FnOnce(&Value) -> R) -> Option<R> {
        match self {
            Self::Held(rows) => rows.get(at).map(with),
            Self::Customers {
                customers,
                dates,
                domain,
            } => {
                let (base, twin) = match domain {
                    None => (at, false),
                    Some(_) => {
                        let twins = customers.len().min(OTHER_DOMAIN_ROWS);
                        if at < 2 * twins {
                            (at / 2, at % 2 == 1)
                        } else {
                            (at - twins, false)
                        }
                    }
                };
                let row = customers.at(base)?.to_browse_row(*dates);
                let row = match domain {
                    Some(domain) => with_domain(row, domain, twin),
                    None => row,
                };
                Some(with(&row))
            }
        }
    }
}

/// Matching row positions cached per browse request, at most this many requests.
const MAX_CACHED_MATCHES: usize = 16;

/// What changes while the fake runs.
pub(crate) struct Live {
    data: Records,
    pub(crate) envelope: Envelope,
    dates: DateStyle,
    /// Rendered browse rows of the held records, dropped whenever the data or the date style
    /// changes, so paging through a large browse renders each row once, not once per page.
    browse_rows: HashMap<(BrowseKind, bool), Arc<Vec<Value>>>,
    /// The positions of the rows a browse request (browse, scope and filters) matched, for the
    /// current data: a walk through a million customers filters them once, not once a page.
    matches: HashMap<String, Arc<Vec<u32>>>,
    /// Bumped by every change of the data or the date style.
    generation: u64,
    domain: String,
    today: NaiveDate,
    tick: u32,
    /// Bearer token → expiry.
    pub(crate) tokens: HashMap<String, Instant>,
    /// `JSESSIONID` → expiry.
    pub(crate) sessions: HashMap<String, Instant>,
    /// Attribution records in creation order, without `dataOperation`.
    pub(crate) attributions: Vec<(String, Value)>,
    /// Consent records in creation order, without `dataOperation`.
    pub(crate) consents: Vec<(String, Value)>,
    pub(crate) logins: LoginCounts,
    /// `paging.mode = cursor`: (callId, browseId) → last page served.
    /// Bounded: at most [`MAX_CURSORS`] are kept, the oldest dropped first.
    pub(crate) cursors: VecDeque<((String, String), usize)>,
    /// Failed logins in a row, for `auth.lockout`.
    pub(crate) failed_in_row: u32,
    /// Whether `auth.lockout` has locked the user.
    pub(crate) locked: bool,
    secrets: StdRng,
    issued: u64,
}

impl Live {
    pub(crate) fn new(tenant: &Tenant, data: Records) -> Self {
        Self {
            data,
            envelope: tenant.envelope,
            dates: tenant.dates,
            browse_rows: HashMap::new(),
            matches: HashMap::new(),
            generation: 0,
            domain: tenant.domain.clone(),
            today: tenant.today,
            tick: FIRST_TICK,
            tokens: HashMap::new(),
            sessions: HashMap::new(),
            attributions: Vec::new(),
            consents: Vec::new(),
            logins: LoginCounts::default(),
            cursors: VecDeque::new(),
            failed_in_row: 0,
            locked: false,
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

    pub(crate) fn data(&self) -> &Records {
        &self.data
    }

    /// The data, for a change: the rendered browse rows and cached matches are dropped.
    pub(crate) fn data_mut(&mut self) -> &mut Records {
        self.forget_rendered();
        &mut self.data
    }

    fn forget_rendered(&mut self) {
        self.browse_rows.clear();
        self.matches.clear();
        self.generation += 1;
    }

    /// A key for the matches of a request: the request's own key plus the data's state.
    pub(crate) fn matches_key(&self, request: &str) -> String {
        format!("{}\u{1f}{request}", self.generation)
    }

    pub(crate) fn cached_matches(&self, key: &str) -> Option<Arc<Vec<u32>>> {
        self.matches.get(key).cloned()
    }

    pub(crate) fn cache_matches(&mut self, key: String, matches: Arc<Vec<u32>>) {
        if self.matches.len() >= MAX_CACHED_MATCHES {
            self.matches.clear();
        }
        self.matches.insert(key, matches);
    }

    pub(crate) fn dates(&self) -> DateStyle {
        self.dates
    }

    pub(crate) fn set_dates(&mut self, dates: DateStyle) {
        self.forget_rendered();
        self.dates = dates;
    }

    /// Every row of a browse, in key order, rendered once per state of the data.
    ///
    /// With `domains`, as a tenant whose scope is not the `domainCode`
    /// parameter serves them: every row carries `<prefix>.domainCode`, and
    /// the first [`OTHER_DOMAIN_ROWS`] rows each have a twin of another
    /// domain (same key, `[<domain>]` after its name) right after them.
    pub(crate) fn browse_rows(&mut self, kind: BrowseKind, domains: bool) -> BrowseRows {
        let (data, dates, domain) = (&self.data, self.dates, &self.domain);
        if kind == BrowseKind::Customers {
            return BrowseRows::Customers {
                customers: data.customers.clone(),
                dates,
                domain: domains.then(|| domain.clone()),
            };
        }
        BrowseRows::Held(
            self.browse_rows
                .entry((kind, domains))
                .or_insert_with(|| {
                    let rows = kind.render(data, dates);
                    Arc::new(if domains {
                        with_domains(rows, domain)
                    } else {
                        rows
                    })
                })
                .clone(),
        )
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

    /// The page a `next` request of this call gets, moving its cursor; a
    /// `first` request (`next == false`) resets it to page 1.
    pub(crate) fn cursor_page(&mut self, call: (String, String), next: bool) -> usize {
        let at = self.cursors.iter().position(|(k, _)| *k == call);
        let page = match (at, next) {
            (Some(at), true) => self.cursors[at].1 + 1,
            _ => 1,
        };
        if let Some(at) = at {
            self.cursors.remove(at);
        }
        if self.cursors.len() >= MAX_CURSORS {
            self.cursors.pop_front();
        }
        self.cursors.push_back((call, page));
        page
    }

    /// Counts a failed login; locks the user after `limit` in a row.
    pub(crate) fn login_failed(&mut self, limit: Option<u32>) {
        self.logins.rejected += 1;
        self.failed_in_row += 1;
        if limit.is_some_and(|limit| self.failed_in_row >= limit) {
            self.locked = true;
        }
    }

    pub(crate) fn attribution_index(&self, id: &str) -> Option<usize> {
        self.attributions.iter().position(|(key, _)| key == id)
    }
}

/// Rows of the first browse rows that get a twin in another domain.
pub(crate) const OTHER_DOMAIN_ROWS: usize = 3;

/// The other domain's code: never the tenant's own.
pub(crate) fn other_domain(tenant: &str) -> &'static str {
    if tenant == "90OTHER" {
        "91OTHER"
    } else {
        "90OTHER"
    }
}

fn with_domains(rows: Vec<Value>, domain: &str) -> Vec<Value> {
    let mut out = Vec::with_capacity(rows.len() + OTHER_DOMAIN_ROWS);
    for (at, row) in rows.into_iter().enumerate() {
        if !row.is_object() {
            continue;
        }
        let twin = (at < OTHER_DOMAIN_ROWS).then(|| with_domain(row.clone(), domain, true));
        out.push(with_domain(row, domain, false));
        out.extend(twin);
    }
    out
}

/// A row with its `<prefix>.domainCode`: the tenant's, or for a `twin` the other domain's,
/// with `[<domain>]` after its name or description.
fn with_domain(mut row: Value, domain: &str, twin: bool) -> Value {
    let Value::Object(map) = &mut row else {
        return row;
    };
    let prefix = map
        .keys()
        .next()
        .and_then(|k| k.split_once('.'))
        .map_or_else(String::new, |(p, _)| p.to_owned());
    let field = format!("{prefix}.domainCode");
    if !twin {
        map.insert(field, Value::from(domain));
        return row;
    }
    let other = other_domain(domain);
    map.insert(field, Value::from(other));
    for (key, value) in map.iter_mut() {
        if key.ends_with(".addressName") || key.ends_with(".description") {
            if let Value::String(text) = value {
                text.push_str(&format!(" [{other}]"));
            }
        }
    }
    row
}

/// Configuration plus live state, behind one lock.
pub(crate) struct Shared {
    pub(crate) tenant: Tenant,
    live: Mutex<Live>,
}

impl Shared {
    pub(crate) fn new(tenant: Tenant, data: Records) -> Self {
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
    pub(crate) fn reset(&self, data: Records) {
        *self.live() = Live::new(&self.tenant, data);
    }
}
