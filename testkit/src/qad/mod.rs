//! A stateful fake of one QAD tenant (Adaptive/Cloud ERP or on-prem Web UI),
//! served on `127.0.0.1` under a context root.
//!
//! QAD's REST reference is not public; the shapes here follow what public
//! code shows of real tenants (the workspace's `qad-facts.md`). Where the fake
//! had to choose, it says so below, so that a client built against it knows
//! which behaviour is observed and which is the fake's own.
//!
//! # Quick start
//!
//! ```no_run
//! use testkit::qad::FakeQad;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let qad = FakeQad::start().await?; // 50 customers, 20 items, 30 orders from seed 42
//! let http = reqwest::Client::new();
//! let token: serde_json::Value = http
//!     .post(format!("{}/oauth/token", qad.base_url()))
//!     .form(&[
//!         ("client_id", qad.client_id()),
//!         ("grant_type", "password"),
//!         ("username", qad.username()),
//!         ("password", qad.password()),
//!     ])
//!     .send()
//!     .await?
//!     .json()
//!     .await?;
//! let page: serde_json::Value = http
//!     .get(format!("{}/api/qracore/browses", qad.base_url()))
//!     .bearer_auth(token["access_token"].as_str().unwrap_or_default())
//!     .query(&[
//!         ("browseId", qad.browse_ids().customers.as_str()),
//!         ("page", "1"),
//!         ("pageSize", "10"),
//!         ("pageAction", "first"),
//!     ])
//!     .send()
//!     .await?
//!     .json()
//!     .await?;
//! assert_eq!(page["auxillaryData"]["HasMoreParams"], "true");
//! # Ok(())
//! # }
//! ```
//!
//! # Base URL
//!
//! [`FakeQad::base_url`] is `http://127.0.0.1:<port><root>`, root `/clouderp`
//! by default ([`FakeQadBuilder::context_root`]). Every path below hangs off it.
//!
//! # Authentication
//!
//! Every route except the login routes requires one of:
//!
//! - **OAuth2 password grant.** `POST {root}/oauth/token`, fields `client_id`,
//!   `grant_type=password`, `username`, `password`, form-encoded or in the query
//!   → `200 {"access_token":"…","token_type":"bearer","expires_in":<secs>}`;
//!   then `Authorization: Bearer <token>`. Errors are Spring's:
//!   `400 {"error":"unsupported_grant_type"|"invalid_grant", "error_description":…}`,
//!   `401 {"error":"invalid_client",…}` for a wrong `client_id`.
//! - **Form login** (on-prem; [`FakeQadBuilder::form_login`]).
//!   `POST {root}/j_spring_security_check` with `j_username`/`j_password` in the
//!   query or a form body. Success: `302`, `Location: {root}/`,
//!   `Set-Cookie: JSESSIONID=<id>; Path={root}/; HttpOnly`. Failure: `302`,
//!   `Location: {root}/login?error`, no cookie. Both targets answer `200` HTML,
//!   so a client should not follow this redirect: success is the cookie.
//! - **HTTP Basic** with the same user and password ([`FakeQadBuilder::basic_auth`]).
//!
//! Tokens and sessions live [`FakeQadBuilder::token_lifetime`] (one hour by
//! default, on tokio's clock). Without valid credentials the answer is `401`
//! `{"error":"unauthorized"|"invalid_token","error_description":…}` with a
//! `WWW-Authenticate: Bearer …` header; an expired token says
//! `"Access token expired"`, an unknown one `"Invalid access token"`.
//! [`FakeQad::expire_sessions`] expires every token and session at once;
//! [`FakeQad::logins`] counts logins.
//!
//! # Browse API
//!
//! `GET {root}/api/qracore/browses?browseId=<id>&page=<n>&pageSize=<k>&pageAction=first|next&filter=…`
//! → `{"data":[{…}],"auxillaryData":{"HasMoreParams":"true"|"false"}}` (QAD's
//! spelling). Pages count from 1; the fake serves page `n` for either action.
//! Without `page` or `pageAction` it answers `200` with zero rows and
//! `HasMoreParams` `"false"`, as QAD does. `pageSize` defaults to 20;
//! [`FakeQadBuilder::max_page_size`] caps it (offsetting by the served size
//! and saying `HasMoreParams`). A bad `page`,
//! `pageSize`, `pageAction` or `filter` is a `400` with bare `errors`; an
//! unknown browse id a `404`. Rows come in key order.
//!
//! `filter=<field>,<op>,<value>,literal` repeats (all must hold); `op` is one
//! of `eq sw ew cn gt ge lt le`, and a range is `<field>,rg,<from>,literal,<to>,literal`
//! (inclusive). `<field>` is the full row key (`customer.lastModifiedDate`) or
//! the part after the prefix (`lastModifiedDate`). Values compare as dates when
//! both sides start `YYYY-MM-DD` (**by day**: `ge,2025-03-04T15:00:00Z` matches
//! a record changed at any time on 2025-03-04, as with QAD's date-only fields),
//! as numbers against numeric fields, otherwise as case-insensitive text.
//!
//! Browse ids ([`BrowseIds`], configurable) and their row keys:
//!
//! | browse | default id | row keys |
//! |---|---|---|
//! | customers | `urn:browse:bebrowse:com.qad.erp.base.customers` | `customer.<customerV2 field>` |
//! | items | `urn:browse:bebrowse:com.qad.erp.base.items` | `item.<item field>` |
//! | sales orders | `urn:browse:bebrowse:com.qad.erp.sales.salesOrders` | `salesOrder.<header field>` |
//! | order lines | `urn:browse:bebrowse:com.qad.erp.sales.salesOrderLines` | `salesOrderLine.salesOrderNumber` + `salesOrderLine.<line field>` |
//!
//! In browse rows every field is present: a missing value is `""`. Browse rows
//! carry no `uri`, `domainCode` or nested lines.
//!
//! # Quirks: the alternatives to each guess
//!
//! Where no public source settles how QAD behaves, the fake serves today's
//! guess by default and every alternative on request
//! ([`FakeQadBuilder::quirk`], [`Quirks`]; `ml-fakes --qad-quirk NAME=VALUE`),
//! named as `qad_client::Behaviour`'s settings:
//!
//! | quirk | default | alternatives |
//! |---|---|---|
//! | `paging.mode` | `page-number` | `cursor` (`next` moves a cursor per `callId` and browse; `page` ignored; `first` resets), `first-only` (every request gets page 1) |
//! | `paging.page_size_cap` | `reported` | `<n>`: at most `n` rows a page, pages offset by the *requested* size |
//! | `scope.domain` | `query` (`domainCode`; rows carry no domain) | `filter` (`filter=<prefix>.domainCode,eq,<d>,literal`), `header` (`x-qad-workspace-id: <d>[_<entity>]`), `rows` (nothing scopes). Outside `query`, rows carry `<prefix>.domainCode` and the first 3 rows have a twin in domain `90OTHER`, served when the request is not scoped the tenant's way. A domain filter is ignored except under `filter`. |
//! | `filter.date` | `date` | `date-time` (a value without time is a `400`), `rejected`/`none` (`400`), `ignored` (filter dropped), `empty` (zero rows); on fields ending `lastModifiedDate` |
//! | `order.key` | `key` | `any`: descending key order |
//! | `attribution.duplicate` | `rejected` (code `2041`) | `creates` (a second record), `server-error` (`500`, Progress-style text) |
//! | `validate.entity` | `get` | `none`: `GET {entity}` without the key parameter is a `405` |
//! | `count.endpoint` | `bare`: `GET api/qracore/browses/totalCount/` (trailing slash optional) answers the rows the browse would serve for the same `browseId`, filters and domain scope as a bare integer | `object` (`{"data":{"totalCount":n}}`), `absent` (`404`) |
//! | `auth.lockout` | `off` | `<n>`: after `n` failed logins in a row even the right password is refused ([`FakeQad::locked`], [`FakeQad::unlock`]); Basic failures do not count |
//!
//! # Business documents
//!
//! `GET {root}/api/erp/customerV2s?customerCode=…`, `…/items?itemCode=…`,
//! `…/salesOrders?salesOrderNumber=…` → `{"data":{"customerV2s":[…]}}`
//! (likewise `items`, `salesOrders`), or bare `{"customerV2s":[…]}` after
//! [`FakeQad::set_envelope`]`(`[`Envelope::Bare`]`)`. A missing or empty key
//! parameter returns every record; an unknown key an empty array; a
//! `domainCode`/`domainContext` naming another domain an empty array. Other
//! parameters (`viewUri`, `sharedSetCode`, …) are ignored. In documents a
//! missing value is an **absent key**.
//!
//! Fields emitted (dates per [`DateStyle`], `YYYY-MM-DDT00:00:00.000Z` by default;
//! money as JSON numbers such as `12.5`):
//!
//! - **customerV2s**: `customerCode`, `sharedSetCode`, `businessRelationCode`,
//!   `addressName`, `addressSearchName`, `street1`, `street2`, `street3`,
//!   `city`, `zipCode`, `stateCode`, `countryCode`, `EMail`, `telephone`,
//!   `fax`, `webSite`, `currencyCode`, `customerCurrencyCode`, `languageCode`,
//!   `creditTermsCode`, `customerTypeCode`, `isActive` (bool),
//!   `lastModifiedDate`, `lastModifiedTime` (int, seconds since midnight),
//!   `lastModifiedUser`, custom fields (seeded: `customShort1`), `uri`
//!   (`urn:be:com.qad.base.customer.ICustomerV2:<sharedSet>.<code>`; documents only).
//! - **items**: `itemCode`, `description`, `description2`, `unitOfMeasure`,
//!   `productLine`, `itemStatus`, `price`, `lastModifiedDate`; documents add
//!   `domainCode` and `uri`.
//! - **salesOrders**: `salesOrderNumber`, `soldToCustomerCode`,
//!   `billToCustomerCode`, `shipToCustomerCode`, `siteCode`, `currencyCode`,
//!   `orderDate`, `dueDate`, `customerPO` (`""` when none), `status`, `lastModifiedDate`,
//!   `lastModifiedTime`; documents add `domainCode`, `uri` and
//!   `salesOrderLines: [{salesOrderLine (int), itemCode, siteCode,
//!   quantityOrdered (int), unitOfMeasure, listPrice, discount (percent, int),
//!   netPrice, dueDate}]`.
//!
//! # Attribution entity
//!
//! At [`FakeQadBuilder::attribution_entity`] (default
//! `{root}/api/bdoc/mlconnector/attribution/OrderAttribution`), records keyed by
//! [`FakeQadBuilder::attribution_key`] (default `orderId`; a string or number):
//!
//! - `POST` a JSON array of objects. A record without `dataOperation` (or with
//!   `""`/`"C"`) creates; **`"dataOperation":"U"` replaces** an existing record
//!   whole (the fake's choice, after QAD's business-document convention).
//!   The batch is all or nothing. Success: `201` if it created anything,
//!   else `200`, body `{"submitResult":{"success":true,"errors":[]},"data":[stored records]}`.
//!   Rejection: **`200`** with `{"submitResult":{"success":false,"errors":[…]}}`,
//!   each error `{"fieldName","message","code","severity":1,"value"}`:
//!   a duplicate create is code `"2041"`, message `"<Entity> with orderId <id> already exists"`
//!   (as QAD reports duplicates); the fake's own codes are `"1001"` "Field is
//!   mandatory" (no key), `"1002"` "… does not exist" (update of an unknown
//!   record) and `"1003"` for an unknown `dataOperation`. A body that is not
//!   an array of objects is a `400` with bare `errors`.
//! - `GET` → `{"data":[records]}` in creation order, `?orderId=<id>` to select one.
//!
//! # Errors outside the entities
//!
//! Unknown paths → `404`; paths given to [`FakeQadBuilder::forbid_path`] (and
//! browse ids given to [`FakeQadBuilder::forbid_browse`]) → `403`; both after
//! authentication, with QAD's bare body
//! `{"errors":[{"severity":1,"code":"403","message":"Access is denied","fieldName":""}]}`.
//!
//! # Seeding, mutations, faults, counters
//!
//! [`Seeding`] generates the data deterministically. Customers are generated
//! as they are read (customer `i` is a pure function of the seed and `i`, see
//! [`Seeding::customer`]) and only those changed since start are held, so a
//! tenant of a million customers costs a few MiB. Tests change the data with
//! [`FakeQad::update_customer`] and friends, which stamp `lastModifiedDate`
//! with the fake's clock ([`FakeQad::set_today`]) and `lastModifiedTime` with
//! one second more than the previous change. [`FakeQad::faults`] and
//! [`FakeQad::stats`] are the shared [`Faults`] and
//! [`Stats`], keyed by route patterns from
//! [`FakeQad::route`]. [`FakeQad::reset`] restores the state after start.

mod attribution;
mod auth;
mod browse;
mod builder;
mod customers;
mod documents;
mod filter;
mod quirks;
mod records;
mod respond;
mod router;
mod seed;
mod state;

use std::fmt;
use std::sync::Arc;

use chrono::NaiveDate;
use serde_json::Value;
use tokio::time::Instant;

pub use builder::{
    Error, FakeQadBuilder, DEFAULT_ATTRIBUTION_PATH, DEFAULT_CLIENT_ID, DEFAULT_PASSWORD,
    DEFAULT_USERNAME,
};
pub use quirks::{
    CapQuirk, CountQuirk, DateQuirk, DomainQuirk, DuplicateQuirk, EntityQuirk, OrderQuirk,
    PagingQuirk, QuirkError, Quirks,
};
pub use records::{Customer, DateStyle, Item, SalesOrder, SalesOrderLine};
pub use seed::{Dataset, SeedError, Seeding};
pub use state::{BrowseIds, Envelope, LoginCounts};

use crate::faults::Faults;
use crate::server::FakeServer;
use crate::stats::Stats;
use state::{Live, Records, Shared};

/// A running fake QAD tenant. Stops when dropped.
pub struct FakeQad {
    shared: Arc<Shared>,
    initial: Records,
    server: FakeServer,
    faults: Faults,
    stats: Stats,
}

impl fmt::Debug for FakeQad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeQad")
            .field("base_url", &self.base_url())
            .field("username", &self.shared.tenant.username)
            .field("password", &"** redacted **")
            .field("faults", &self.faults)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl FakeQad {
    /// A builder with every default.
    #[must_use]
    pub fn builder() -> FakeQadBuilder {
        FakeQadBuilder::default()
    }

    /// Starts a tenant with every default.
    ///
    /// # Errors
    ///
    /// As [`FakeQadBuilder::start`].
    pub async fn start() -> Result<Self, Error> {
        Self::builder().start().await
    }

    /// `http://127.0.0.1:<port><root>`, e.g. `http://127.0.0.1:40123/clouderp`.
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("{}{}", self.server.base_url(), self.shared.tenant.root)
    }

    /// The context root: `/clouderp`-style, or `""`.
    #[must_use]
    pub fn context_root(&self) -> &str {
        &self.shared.tenant.root
    }

    /// The user name every login method accepts.
    #[must_use]
    pub fn username(&self) -> &str {
        &self.shared.tenant.username
    }

    /// The password every login method accepts.
    #[must_use]
    pub fn password(&self) -> &str {
        &self.shared.tenant.password
    }

    /// The OAuth2 `client_id` the token endpoint requires.
    #[must_use]
    pub fn client_id(&self) -> &str {
        &self.shared.tenant.client_id
    }

    /// The domain code.
    #[must_use]
    pub fn domain(&self) -> &str {
        &self.shared.tenant.domain
    }

    /// The browse ids served.
    #[must_use]
    pub fn browse_ids(&self) -> &BrowseIds {
        &self.shared.tenant.browse_ids
    }

    /// The attribution entity's path under the context root.
    #[must_use]
    pub fn attribution_path(&self) -> &str {
        &self.shared.tenant.attribution_path
    }

    /// The route pattern of a path under the context root, as
    /// [`Faults::set_route`](crate::faults::Faults::set_route) and
    /// [`Stats::requests`](crate::stats::Stats::requests) expect it.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use axum::http::Method;
    /// use testkit::{faults::FaultConfig, qad::FakeQad};
    ///
    /// let qad = FakeQad::start().await?;
    /// let browses = qad.route("api/qracore/browses"); // "/clouderp/api/qracore/browses"
    /// qad.faults().set_route(Method::GET, &browses, FaultConfig::none().service_unavailable(1.0))?;
    /// assert_eq!(qad.stats().requests("GET", &browses), 0);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn route(&self, path: &str) -> String {
        format!(
            "{}/{}",
            self.shared.tenant.root,
            path.trim_start_matches('/')
        )
    }

    /// The fault injection applied to every route; change it while running.
    #[must_use]
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The request counters.
    #[must_use]
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    fn live(&self) -> std::sync::MutexGuard<'_, Live> {
        self.shared.live()
    }

    /// Successful and rejected logins so far.
    #[must_use]
    pub fn logins(&self) -> LoginCounts {
        self.live().logins
    }

    /// Expires every bearer token and form-login session: the next API call
    /// with one gets `401`, as after a real expiry.
    pub fn expire_sessions(&self) {
        let now = Instant::now();
        let mut live = self.live();
        live.tokens.values_mut().for_each(|at| *at = now);
        live.sessions.values_mut().for_each(|at| *at = now);
    }

    /// Whether `auth.lockout` has locked the user.
    #[must_use]
    pub fn locked(&self) -> bool {
        self.live().locked
    }

    /// Unlocks the user, as an administrator would after `auth.lockout`.
    pub fn unlock(&self) {
        let mut live = self.live();
        live.locked = false;
        live.failed_in_row = 0;
    }

    /// Switches the business-document envelope.
    pub fn set_envelope(&self, envelope: Envelope) {
        self.live().envelope = envelope;
    }

    /// Switches how dates are written.
    pub fn set_date_style(&self, style: DateStyle) {
        self.live().set_dates(style);
    }

    /// The clock's date, stamped on mutations.
    #[must_use]
    pub fn today(&self) -> NaiveDate {
        self.live().today()
    }

    /// Moves the clock to `today`; later mutations are stamped with it.
    pub fn set_today(&self, today: NaiveDate) {
        self.live().set_today(today);
    }

    /// The customers now, in key order.
    #[must_use]
    pub fn customers(&self) -> Vec<Customer> {
        let customers = self.live().data().customers.clone();
        customers.iter().collect()
    }

    /// How many customers there are now (without generating them).
    #[must_use]
    pub fn customer_count(&self) -> usize {
        self.live().data().customers.len()
    }

    /// One customer.
    #[must_use]
    pub fn customer(&self, code: &str) -> Option<Customer> {
        self.live().data().customers.get(code)
    }

    /// The items now, in key order.
    #[must_use]
    pub fn items(&self) -> Vec<Item> {
        self.live().data().items.clone()
    }

    /// The sales orders now, in key order.
    #[must_use]
    pub fn sales_orders(&self) -> Vec<SalesOrder> {
        self.live().data().sales_orders.clone()
    }

    /// Changes a customer as a QAD user would, then stamps it modified now.
    /// Returns whether the customer exists.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), testkit::qad::Error> {
    /// let qad = testkit::qad::FakeQad::start().await?;
    /// let changed = qad.update_customer("C0000001", |c| c.city = Some("Lyon".into()));
    /// assert!(changed);
    /// assert_eq!(qad.customer("C0000001").map(|c| c.last_modified_date), Some(qad.today()));
    /// # Ok(())
    /// # }
    /// ```
    pub fn update_customer(&self, code: &str, change: impl FnOnce(&mut Customer)) -> bool {
        let mut live = self.live();
        if live.data().customers.get(code).is_none() {
            return false;
        }
        let (date, time) = live.stamp();
        live.data_mut().customers_mut().update(code, |customer| {
            change(customer);
            customer.last_modified_date = date;
            customer.last_modified_time = time;
        })
    }

    /// Adds a customer, or replaces the one with its code, stamped modified now.
    pub fn upsert_customer(&self, mut customer: Customer) {
        let mut live = self.live();
        (customer.last_modified_date, customer.last_modified_time) = live.stamp();
        live.data_mut().customers_mut().upsert(customer);
    }

    /// Deletes a customer, as a QAD user deleting the record (or a purge) would: it is gone
    /// from every browse and document read. Returns whether it existed.
    ///
    /// How QAD marks a customer *inactive*, *blocked* or *anonymised* instead has no public
    /// evidence; the fake serves each through fields a tenant may use (`isActive`, a custom
    /// field such as `customShort1`, a blanked `EMail` and masked `addressName`), set with
    /// [`update_customer`](Self::update_customer).
    pub fn remove_customer(&self, code: &str) -> bool {
        let mut live = self.live();
        if live.data().customers.get(code).is_none() {
            return false;
        }
        live.data_mut().customers_mut().remove(code)
    }

    /// Deletes an item: it is gone from every browse. Returns whether it existed.
    pub fn remove_item(&self, code: &str) -> bool {
        let mut live = self.live();
        let list = &mut live.data_mut().items;
        let before = list.len();
        list.retain(|i| i.item_code != code);
        list.len() != before
    }

    /// Changes an item, then stamps its `lastModifiedDate` with today.
    /// Returns whether the item exists.
    pub fn update_item(&self, code: &str, change: impl FnOnce(&mut Item)) -> bool {
        let mut live = self.live();
        let (date, _) = live.stamp();
        let Some(item) = live
            .data_mut()
            .items
            .iter_mut()
            .find(|i| i.item_code == code)
        else {
            return false;
        };
        change(item);
        item.last_modified_date = date;
        true
    }

    /// Adds an item, or replaces the one with its code, stamped modified today.
    pub fn upsert_item(&self, mut item: Item) {
        let mut live = self.live();
        item.last_modified_date = live.stamp().0;
        let list = &mut live.data_mut().items;
        match list.binary_search_by(|i| i.item_code.cmp(&item.item_code)) {
            Ok(at) => list[at] = item,
            Err(at) => list.insert(at, item),
        }
    }

    /// Changes a sales order (header or lines), then stamps it modified now.
    /// Returns whether the order exists.
    pub fn update_sales_order(&self, number: &str, change: impl FnOnce(&mut SalesOrder)) -> bool {
        let mut live = self.live();
        let (date, time) = live.stamp();
        let Some(order) = live
            .data_mut()
            .sales_orders
            .iter_mut()
            .find(|o| o.sales_order_number == number)
        else {
            return false;
        };
        change(order);
        order.last_modified_date = date;
        order.last_modified_time = time;
        true
    }

    /// Adds a sales order, or replaces the one with its number, stamped modified now.
    pub fn upsert_sales_order(&self, mut order: SalesOrder) {
        let mut live = self.live();
        (order.last_modified_date, order.last_modified_time) = live.stamp();
        let list = &mut live.data_mut().sales_orders;
        match list.binary_search_by(|o| o.sales_order_number.cmp(&order.sales_order_number)) {
            Ok(at) => list[at] = order,
            Err(at) => list.insert(at, order),
        }
    }

    /// The attribution records stored, in creation order (updates replace in place).
    #[must_use]
    pub fn attributions(&self) -> Vec<Value> {
        self.live()
            .attributions
            .iter()
            .map(|(_, record)| record.clone())
            .collect()
    }

    /// The consent records stored (`{root}/api/bdoc/mlconnector/consent/MarketingConsent`,
    /// keyed by `customerCode`, the same write rules as attribution), in creation order
    /// (updates replace in place).
    #[must_use]
    pub fn consents(&self) -> Vec<Value> {
        self.live()
            .consents
            .iter()
            .map(|(_, record)| record.clone())
            .collect()
    }

    /// One attribution record by its key.
    #[must_use]
    pub fn attribution(&self, key: &str) -> Option<Value> {
        let live = self.live();
        live.attribution_index(key)
            .map(|at| live.attributions[at].1.clone())
    }

    /// Restores the state right after start: the seeded data, no tokens or
    /// sessions, no attribution records, zero login counts, the starting clock,
    /// envelope and date style; zeroes [`stats`](Self::stats) and reseeds
    /// [`faults`](Self::faults) (keeping their configuration).
    pub fn reset(&self) {
        self.shared.reset(self.initial.clone());
        self.stats.reset();
        self.faults.reset();
    }

    /// Stops the server and waits for it to end.
    ///
    /// # Errors
    ///
    /// The I/O error the server ended with.
    pub async fn shutdown(self) -> std::io::Result<()> {
        self.server.shutdown().await
    }
}
