//! [`FakeQadBuilder`]: the tenant's settings, checked when it starts.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;

use super::quirks::{QuirkError, Quirks};
use super::records::DateStyle;
use super::respond;
use super::router::{router, RESERVED};
use super::seed::{SeedError, Seeding};
use super::state::{BrowseIds, Envelope, Shared, Tenant};
use super::FakeQad;
use crate::faults::Faults;
use crate::server::FakeServer;
use crate::stats::Stats;

/// Why a [`FakeQad`] could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The context root or a configured path is not a plain relative path.
    #[error("invalid {what} `{path}`: segments must be non-empty [A-Za-z0-9._-] other than `.` and `..`")]
    InvalidPath {
        /// Which setting: `context root`, `attribution entity path` or `forbidden path`.
        what: &'static str,
        /// The value given.
        path: String,
    },
    /// The attribution entity path is one the fake serves itself.
    #[error("attribution entity path `{0}` collides with a built-in route")]
    ReservedPath(String),
    /// The attribution key field is empty.
    #[error("attribution key field must not be empty")]
    EmptyKeyField,
    /// The seeding is impossible.
    #[error("cannot seed the fake QAD tenant")]
    Seed(#[from] SeedError),
    /// A `quirk` name or value the fake does not know.
    #[error(transparent)]
    Quirk(#[from] QuirkError),
    /// The loopback listener could not be bound.
    #[error("cannot bind the fake QAD tenant on loopback")]
    Bind(#[source] std::io::Error),
}

/// Configures and starts a [`FakeQad`]. Every setting has a default.
///
/// ```no_run
/// use std::time::Duration;
/// use testkit::qad::{Envelope, FakeQad, Seeding};
///
/// # async fn run() -> Result<(), testkit::qad::Error> {
/// let qad = FakeQad::builder()
///     .context_root("/qad-central")
///     .credentials("planner", "s3cret")
///     .token_lifetime(Duration::from_secs(60))
///     .envelope(Envelope::Bare)
///     .seeding(Seeding::new(7).customers(1_000))
///     .forbid_path("api/erp/items")
///     .start()
///     .await?;
/// assert!(qad.base_url().ends_with("/qad-central"));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct FakeQadBuilder {
    context_root: String,
    username: String,
    password: String,
    client_id: String,
    token_lifetime: Duration,
    basic_auth: bool,
    form_login: bool,
    domain: String,
    browse_ids: BrowseIds,
    attribution_path: String,
    attribution_key: String,
    forbidden_paths: Vec<String>,
    forbidden_browses: Vec<String>,
    max_page_size: Option<usize>,
    seeding: Seeding,
    envelope: Envelope,
    dates: DateStyle,
    today: Option<NaiveDate>,
    faults: Option<Faults>,
    quirks: Quirks,
    quirk_pairs: Vec<(String, String)>,
}

impl fmt::Debug for FakeQadBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeQadBuilder")
            .field("context_root", &self.context_root)
            .field("username", &self.username)
            .field("password", &"** redacted **")
            .field("client_id", &self.client_id)
            .field("token_lifetime", &self.token_lifetime)
            .field("basic_auth", &self.basic_auth)
            .field("form_login", &self.form_login)
            .field("attribution_path", &self.attribution_path)
            .field("seeding", &self.seeding)
            .field("quirks", &self.quirks)
            .finish_non_exhaustive()
    }
}

impl Default for FakeQadBuilder {
    fn default() -> Self {
        Self {
            context_root: "/clouderp".to_owned(),
            username: DEFAULT_USERNAME.to_owned(),
            password: DEFAULT_PASSWORD.to_owned(),
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            token_lifetime: Duration::from_secs(3600),
            basic_auth: true,
            form_login: true,
            domain: "10USA".to_owned(),
            browse_ids: BrowseIds::default(),
            attribution_path: DEFAULT_ATTRIBUTION_PATH.to_owned(),
            attribution_key: "orderId".to_owned(),
            forbidden_paths: Vec::new(),
            forbidden_browses: Vec::new(),
            max_page_size: None,
            seeding: Seeding::default(),
            envelope: Envelope::Data,
            dates: DateStyle::IsoMidnight,
            today: None,
            faults: None,
            quirks: Quirks::default(),
            quirk_pairs: Vec::new(),
        }
    }
}

/// The default user name.
pub const DEFAULT_USERNAME: &str = "mlconnector";
/// The default password.
pub const DEFAULT_PASSWORD: &str = "fake-qad-password";
/// The default OAuth2 `client_id`.
pub const DEFAULT_CLIENT_ID: &str = "ml-connector";
/// The default attribution entity path, under the context root.
pub const DEFAULT_ATTRIBUTION_PATH: &str = "api/bdoc/mlconnector/attribution/OrderAttribution";

/// Trims slashes and checks each segment; `""` is the empty path.
fn relative_path(what: &'static str, raw: &str) -> Result<String, Error> {
    let trimmed = raw.trim_matches('/');
    let valid = trimmed.is_empty()
        || trimmed.split('/').all(|segment| {
            !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        });
    if valid {
        Ok(trimmed.to_owned())
    } else {
        Err(Error::InvalidPath {
            what,
            path: raw.to_owned(),
        })
    }
}

impl FakeQadBuilder {
    /// The context root, e.g. `/clouderp` (default) or `/qad-central`; `""` serves at the host root.
    #[must_use]
    pub fn context_root(mut self, root: impl Into<String>) -> Self {
        self.context_root = root.into();
        self
    }

    /// The user name and password accepted by every login method.
    #[must_use]
    pub fn credentials(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.username = username.into();
        self.password = password.into();
        self
    }

    /// The OAuth2 `client_id` the token endpoint requires (default [`DEFAULT_CLIENT_ID`]).
    #[must_use]
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = client_id.into();
        self
    }

    /// How long bearer tokens and form-login sessions live (default one hour),
    /// measured on tokio's clock so paused-time tests can expire them.
    #[must_use]
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = lifetime;
        self
    }

    /// Whether HTTP Basic is accepted on API calls (default on).
    #[must_use]
    pub fn basic_auth(mut self, enabled: bool) -> Self {
        self.basic_auth = enabled;
        self
    }

    /// Whether the on-prem form login (`j_spring_security_check`) exists (default on).
    #[must_use]
    pub fn form_login(mut self, enabled: bool) -> Self {
        self.form_login = enabled;
        self
    }

    /// The tenant's domain code (default `10USA`), echoed as `domainCode`.
    #[must_use]
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = domain.into();
        self
    }

    /// The browse ids the tenant answers to.
    #[must_use]
    pub fn browse_ids(mut self, ids: BrowseIds) -> Self {
        self.browse_ids = ids;
        self
    }

    /// The attribution entity's path under the context root
    /// (default [`DEFAULT_ATTRIBUTION_PATH`]).
    #[must_use]
    pub fn attribution_entity(mut self, path: impl Into<String>) -> Self {
        self.attribution_path = path.into();
        self
    }

    /// The field identifying an attribution record (default `orderId`).
    #[must_use]
    pub fn attribution_key(mut self, field: impl Into<String>) -> Self {
        self.attribution_key = field.into();
        self
    }

    /// Answers `403` with bare `errors` ("Access is denied") for this path
    /// under the context root, e.g. `api/erp/items`. Repeatable.
    #[must_use]
    pub fn forbid_path(mut self, path: impl Into<String>) -> Self {
        self.forbidden_paths.push(path.into());
        self
    }

    /// Answers `403` for browse requests naming this browse id. Repeatable.
    #[must_use]
    pub fn forbid_browse(mut self, browse_id: impl Into<String>) -> Self {
        self.forbidden_browses.push(browse_id.into());
        self
    }

    /// Silently caps `pageSize` at `max` (no cap by default), so a client must
    /// rely on `HasMoreParams` rather than on a short page.
    #[must_use]
    pub fn max_page_size(mut self, max: usize) -> Self {
        self.max_page_size = Some(max.max(1));
        self
    }

    /// What data to seed the tenant with (default [`Seeding::default`]).
    #[must_use]
    pub fn seeding(mut self, seeding: Seeding) -> Self {
        self.seeding = seeding;
        self
    }

    /// The business-document envelope to start with (default [`Envelope::Data`]).
    #[must_use]
    pub fn envelope(mut self, envelope: Envelope) -> Self {
        self.envelope = envelope;
        self
    }

    /// How dates are written (default [`DateStyle::IsoMidnight`]).
    #[must_use]
    pub fn date_style(mut self, style: DateStyle) -> Self {
        self.dates = style;
        self
    }

    /// The date the clock starts at, stamped on mutations (default: today, UTC).
    #[must_use]
    pub fn today(mut self, today: NaiveDate) -> Self {
        self.today = Some(today);
        self
    }

    /// Fault injection to apply (default none). Injected `429`/`500`/`503`
    /// answers carry QAD's bare `errors` body; per-route overrides use the
    /// route patterns of [`FakeQad::route`].
    #[must_use]
    pub fn faults(mut self, faults: Faults) -> Self {
        self.faults = Some(faults);
        self
    }

    /// Departs from today's guess for every inferred behaviour at once
    /// (default: [`Quirks::default`], every guess).
    #[must_use]
    pub fn quirks(mut self, quirks: Quirks) -> Self {
        self.quirks = quirks;
        self
    }

    /// Departs from today's guess for one behaviour, by the names
    /// `ml-fakes --qad-quirk NAME=VALUE` takes (see [`Quirks::set`]); an
    /// unknown name or value fails [`start`](Self::start). Repeatable.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), testkit::qad::Error> {
    /// let qad = testkit::qad::FakeQad::builder()
    ///     .quirk("paging.mode", "cursor")
    ///     .quirk("scope.domain", "header")
    ///     .start()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn quirk(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.quirk_pairs.push((name.into(), value.into()));
        self
    }

    /// Seeds the data and serves the tenant on `127.0.0.1` with an OS-assigned port.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPath`] or [`Error::ReservedPath`] for a bad context root
    /// or path, [`Error::EmptyKeyField`], [`Error::Quirk`] for an unknown quirk, [`Error::Seed`] for an impossible
    /// seeding, [`Error::Bind`] if no loopback port can be bound.
    pub async fn start(self) -> Result<FakeQad, Error> {
        let root = relative_path("context root", &self.context_root)?;
        let root = if root.is_empty() {
            root
        } else {
            format!("/{root}")
        };
        let attribution_path = relative_path("attribution entity path", &self.attribution_path)?;
        if RESERVED.contains(&attribution_path.as_str()) {
            return Err(Error::ReservedPath(attribution_path));
        }
        if self.attribution_key.is_empty() {
            return Err(Error::EmptyKeyField);
        }
        let forbidden_paths = self
            .forbidden_paths
            .iter()
            .map(|p| relative_path("forbidden path", p))
            .collect::<Result<HashSet<_>, _>>()?;
        let mut quirks = self.quirks;
        for (name, value) in &self.quirk_pairs {
            quirks.set(name, value)?;
        }
        let initial = super::state::Records::new(&self.seeding)?;
        let tenant = Tenant {
            root,
            username: self.username,
            password: self.password,
            client_id: self.client_id,
            token_lifetime: self.token_lifetime,
            basic_auth: self.basic_auth,
            form_login: self.form_login,
            domain: self.domain,
            browse_ids: self.browse_ids,
            attribution_path,
            attribution_key: self.attribution_key,
            forbidden_paths,
            forbidden_browses: self.forbidden_browses.into_iter().collect(),
            max_page_size: self.max_page_size,
            quirks,
            seeding: self.seeding,
            envelope: self.envelope,
            dates: self.dates,
            today: self
                .today
                .unwrap_or_else(|| chrono::Utc::now().date_naive()),
        };
        let shared = Arc::new(Shared::new(tenant, initial.clone()));
        let faults = self
            .faults
            .unwrap_or_default()
            .with_responder(respond::injected_fault);
        let stats = Stats::new();
        let app = stats.wrap(faults.wrap(router(shared.clone())));
        let server = FakeServer::start(app).await.map_err(Error::Bind)?;
        Ok(FakeQad {
            shared,
            initial,
            server,
            faults,
            stats,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_checked_segment_by_segment() {
        assert_eq!(relative_path("x", "/clouderp/").unwrap(), "clouderp");
        assert_eq!(
            relative_path("x", "api/bdoc/a.b/c-d/E_f").unwrap(),
            "api/bdoc/a.b/c-d/E_f"
        );
        assert_eq!(relative_path("x", "").unwrap(), "");
        for bad in [
            "a/../b", "a//b", "a/./b", "a b", "a/%2e%2e", "{id}", "a/*rest",
        ] {
            assert!(
                matches!(relative_path("x", bad), Err(Error::InvalidPath { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_redacts_the_password() {
        let builder = FakeQadBuilder::default().credentials("u", "hunter2");
        let shown = format!("{builder:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("redacted"));
    }
}
