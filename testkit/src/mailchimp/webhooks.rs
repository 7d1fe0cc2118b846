//! The audience webhook registry, and delivering events the way Mailchimp does.

use super::lists::{list_mut, list_ref};
use axum::{
    extract::{Path, Query, State},
    routing::get,
    Router,
};
use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use sha2::Sha256;

use super::{
    problem::Problem,
    request::{self, merge, no_content, ok, required_str, ObjectBody, Page, Reply},
    state::{ListData, WebhookData},
    App,
};

/// Event types an audience webhook can subscribe to.
const EVENTS: [&str; 6] = [
    "subscribe",
    "unsubscribe",
    "profile",
    "cleaned",
    "upemail",
    "campaign",
];
/// Sources an audience webhook can listen to.
const SOURCES: [&str; 3] = ["user", "admin", "api"];

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route(
            "/3.0/lists/{list_id}/webhooks",
            get(list_webhooks).post(post_webhook),
        )
        .route(
            "/3.0/lists/{list_id}/webhooks/{webhook_id}",
            get(get_webhook).patch(patch_webhook).delete(delete_webhook),
        )
}

/// Reads `events` or `sources`: an object of booleans over known keys, missing keys taking `default`.
fn flags(
    body: &Map<String, Value>,
    field: &str,
    keys: &[&str],
    default: impl Fn(&str) -> bool,
) -> Result<Value, Problem> {
    let given = match body.get(field) {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(_) => {
            return Err(Problem::invalid(
                field,
                format!("{field} must be an object of booleans."),
            ))
        }
    };
    let mut out = Map::new();
    for key in keys {
        let value = match given.get(*key) {
            None => default(key),
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(Problem::invalid(
                    &format!("{field}.{key}"),
                    "This value should be a boolean.",
                ))
            }
        };
        out.insert((*key).to_owned(), Value::Bool(value));
    }
    Ok(Value::Object(out))
}

/// Checks the URL's form and, when the fake is so configured, that it answers the validator's `GET`
/// with 200.
async fn check_url(app: &App, url: &str) -> Result<(), Problem> {
    match url::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() => {}
        _ => return Err(Problem::invalid("url", "This value should be a valid URL.")),
    }
    if !app.validate_webhook_urls {
        return Ok(());
    }
    let answer = app
        .http
        .get(url)
        .header(
            reqwest::header::USER_AGENT,
            "MailChimp.com WebHook Validator",
        )
        .send()
        .await;
    match answer {
        Ok(response) if response.status().as_u16() == 200 => Ok(()),
        _ => Err(Problem::invalid(
            "url",
            "The URL you have provided does not return a 200 status code for GET requests.",
        )),
    }
}

async fn post_webhook(
    State(app): State<App>,
    Path(list_id): Path<String>,
    Query(query): Query<request::Query>,
    ObjectBody(body): ObjectBody,
) -> Reply {
    let url = required_str(&body, "url")?.to_owned();
    check_url(&app, &url).await?;
    let events = flags(&body, "events", &EVENTS, |_| true)?;
    let sources = flags(&body, "sources", &SOURCES, |s| s != "api")?;
    let mut state = app.lock();
    let n = state.next_id();
    let list = list_mut(&mut state, &list_id)?;
    if list
        .webhooks
        .values()
        .any(|w| w.webhook["url"] == url.as_str())
    {
        return Err(Problem::bad_request(format!(
            "The URL {url} is already registered as a webhook for this list."
        )));
    }
    let id = format!("{:010x}", 0xb0_0000_0000_u64 + n);
    let secret = hex::encode(<Sha256 as sha2::Digest>::digest(
        format!("testkit webhook secret {list_id} {id}").as_bytes(),
    ));
    let webhook = json!({
        "id": id,
        "url": url,
        "events": events,
        "sources": sources,
        "list_id": list_id,
        "signing_enabled": true,
        "_links": [],
    });
    list.webhooks.insert(
        id,
        WebhookData {
            webhook: webhook.clone(),
            signing_secret: Some(secret.clone()),
        },
    );
    drop(state);
    let mut created = webhook;
    // Shown once, in the create response only.
    created["signing_secret"] = json!(secret);
    ok(&query, created)
}

async fn list_webhooks(
    State(app): State<App>,
    Path(list_id): Path<String>,
    Query(query): Query<request::Query>,
) -> Reply {
    let page = Page::from_query(&query)?;
    let state = app.lock();
    let list = list_ref(&state, &list_id)?;
    let (webhooks, total) = page.slice(list.webhooks.values());
    let webhooks: Vec<Value> = webhooks.into_iter().map(|w| w.webhook.clone()).collect();
    drop(state);
    ok(
        &query,
        json!({ "webhooks": webhooks, "list_id": list_id, "total_items": total, "_links": [] }),
    )
}

async fn get_webhook(
    State(app): State<App>,
    Path((list_id, id)): Path<(String, String)>,
    Query(query): Query<request::Query>,
) -> Reply {
    let webhook = list_ref(&app.lock(), &list_id)?
        .webhooks
        .get(&id)
        .map(|w| w.webhook.clone())
        .ok_or_else(Problem::not_found)?;
    ok(&query, webhook)
}

async fn patch_webhook(
    State(app): State<App>,
    Path((list_id, id)): Path<(String, String)>,
    Query(query): Query<request::Query>,
    ObjectBody(body): ObjectBody,
) -> Reply {
    let new_url = request::str_field(&body, "url")?.map(str::to_owned);
    if let Some(url) = &new_url {
        check_url(&app, url).await?;
    }
    let mut state = app.lock();
    let webhook = list_mut(&mut state, &list_id)?
        .webhooks
        .get_mut(&id)
        .ok_or_else(Problem::not_found)?;
    let mut patch = Map::new();
    if let Some(url) = new_url {
        patch.insert("url".to_owned(), json!(url));
    }
    for (field, keys) in [("events", &EVENTS[..]), ("sources", &SOURCES[..])] {
        if body.contains_key(field) {
            let current = webhook.webhook[field].clone();
            let value = flags(&body, field, keys, |k| current[k] == true)?;
            patch.insert(field.to_owned(), value);
        }
    }
    if let Some(target) = webhook.webhook.as_object_mut() {
        merge(target, &patch);
    }
    let value = webhook.webhook.clone();
    drop(state);
    ok(&query, value)
}

async fn delete_webhook(
    State(app): State<App>,
    Path((list_id, id)): Path<(String, String)>,
) -> Reply {
    list_mut(&mut app.lock(), &list_id)?
        .webhooks
        .remove(&id)
        .ok_or_else(Problem::not_found)?;
    no_content()
}

/// The webhooks of `list` subscribed to the event's type: `(id, url, signing secret)`.
pub(crate) fn targets(
    list: &ListData,
    event: &WebhookEvent,
) -> Vec<(String, String, Option<String>)> {
    list.webhooks
        .iter()
        .filter(|(_, w)| w.webhook["events"][event.kind.as_str()] == true)
        .filter(|(_, w)| {
            event
                .source
                .as_ref()
                .is_none_or(|source| w.webhook["sources"][source.as_str()] == true)
        })
        .map(|(id, w)| {
            (
                id.to_owned(),
                w.webhook["url"].as_str().unwrap_or_default().to_owned(),
                w.signing_secret.clone(),
            )
        })
        .collect()
}

/// An audience event as Mailchimp posts it: `type`, `fired_at` and bracketed `data[...]` fields,
/// form-encoded.
///
/// ```
/// use testkit::mailchimp::WebhookEvent;
///
/// let event = WebhookEvent::unsubscribe("a1b2c3d4e5", "gone@northwind-mfg.com", "manual")
///     .fired_at("2024-05-01 12:00:00");
/// let body = event.form_body();
/// assert!(body.starts_with("type=unsubscribe&fired_at=2024-05-01+12%3A00%3A00&"));
/// assert!(body.contains("data%5Bemail%5D=gone%40northwind-mfg.com"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    kind: String,
    fired_at: String,
    data: Vec<(String, String)>,
    source: Option<String>,
}

impl WebhookEvent {
    /// An event of any type with the given `data[...]` fields (keys without the `data[` `]` wrapper;
    /// nested keys as `merges][FNAME`).
    pub fn new(kind: impl Into<String>, data: Vec<(String, String)>) -> Self {
        Self {
            kind: kind.into(),
            fired_at: chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string(),
            data,
            source: None,
        }
    }

    /// Overrides `fired_at` (Mailchimp's format: `YYYY-MM-DD HH:MM:SS`).
    pub fn fired_at(mut self, fired_at: impl Into<String>) -> Self {
        self.fired_at = fired_at.into();
        self
    }

    /// Says who caused the event (`user`, `admin` or `api`): only webhooks listening to that source get
    /// it from [`FakeMailchimp::fire_webhook_event`](super::FakeMailchimp::fire_webhook_event). Without
    /// a source, every webhook subscribed to the type gets it. The body does not carry it, as Mailchimp's
    /// does not.
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Adds a `data[key]` field.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.data.push((key.into(), value.into()));
        self
    }

    fn member(kind: &str, list_id: &str, email: &str) -> Self {
        Self::new(
            kind,
            vec![
                (
                    "id".to_owned(),
                    super::subscriber_hash(email)[..10].to_owned(),
                ),
                ("email".to_owned(), email.to_owned()),
                ("email_type".to_owned(), "html".to_owned()),
                ("list_id".to_owned(), list_id.to_owned()),
                ("ip_opt".to_owned(), "127.0.0.1".to_owned()),
                ("web_id".to_owned(), "1".to_owned()),
            ],
        )
    }

    /// A `subscribe` event.
    pub fn subscribe(list_id: &str, email: &str) -> Self {
        Self::member("subscribe", list_id, email)
    }

    /// An `unsubscribe` event (`action=unsub`) with a reason such as `manual` or `abuse`.
    pub fn unsubscribe(list_id: &str, email: &str, reason: &str) -> Self {
        Self::member("unsubscribe", list_id, email)
            .with("action", "unsub")
            .with("reason", reason)
            .with("campaign_id", "")
    }

    /// A `profile` update event with merge fields.
    pub fn profile(list_id: &str, email: &str, merges: &[(&str, &str)]) -> Self {
        merges.iter().fold(
            Self::member("profile", list_id, email),
            |event, (tag, value)| event.with(format!("merges][{tag}"), *value),
        )
    }

    /// A `cleaned` event with a reason (`hard` or `abuse`).
    pub fn cleaned(list_id: &str, email: &str, reason: &str) -> Self {
        Self::new(
            "cleaned",
            vec![
                ("list_id".to_owned(), list_id.to_owned()),
                ("campaign_id".to_owned(), String::new()),
                ("reason".to_owned(), reason.to_owned()),
                ("email".to_owned(), email.to_owned()),
            ],
        )
    }

    /// An `upemail` (email changed) event.
    pub fn upemail(list_id: &str, old_email: &str, new_email: &str) -> Self {
        Self::new(
            "upemail",
            vec![
                ("list_id".to_owned(), list_id.to_owned()),
                (
                    "new_id".to_owned(),
                    super::subscriber_hash(new_email)[..10].to_owned(),
                ),
                ("new_email".to_owned(), new_email.to_owned()),
                ("old_email".to_owned(), old_email.to_owned()),
            ],
        )
    }

    /// The event type (`subscribe`, `unsubscribe`, …).
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The `application/x-www-form-urlencoded` body, fields in order: `type`, `fired_at`, then `data[...]`.
    pub fn form_body(&self) -> String {
        let mut pairs = vec![
            ("type".to_owned(), self.kind.clone()),
            ("fired_at".to_owned(), self.fired_at.clone()),
        ];
        pairs.extend(
            self.data
                .iter()
                .map(|(k, v)| (format!("data[{k}]"), v.clone())),
        );
        // Encoding strings to a string cannot fail.
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    }
}

/// The `X-Mailchimp-Signature` value for `body` at unix time `timestamp`:
/// `t=<timestamp>,v1=<hex HMAC-SHA256 of "{timestamp}.{body}" keyed with the secret>`.
///
/// ```
/// let header = testkit::mailchimp::signature_header("secret", 1_700_000_000, "type=subscribe");
/// assert!(header.starts_with("t=1700000000,v1="));
/// assert_eq!(header.len(), "t=1700000000,v1=".len() + 64);
/// ```
pub fn signature_header(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        // HMAC accepts keys of any length.
        Err(_) => return String::new(),
    };
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// The outcome of delivering an event to one webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    /// The webhook's id.
    pub webhook_id: String,
    /// Where it was posted.
    pub url: String,
    /// The receiver's status code, if it answered.
    pub status: Option<u16>,
    /// The transport error, if it did not.
    pub error: Option<String>,
}

/// Posts `event` to `url` as Mailchimp does (form-encoded, `User-Agent: MailChimp`), signed with
/// `signing_secret` when given (`X-Mailchimp-Signature: t=…,v1=…`), unsigned otherwise. Returns the
/// receiver's status code.
///
/// # Errors
///
/// The transport error if the receiver could not be reached.
pub async fn deliver_webhook(
    http: &reqwest::Client,
    url: &str,
    event: &WebhookEvent,
    signing_secret: Option<&str>,
) -> Result<u16, reqwest::Error> {
    let body = event.form_body();
    let mut request = http
        .post(url)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(reqwest::header::USER_AGENT, "MailChimp");
    if let Some(secret) = signing_secret {
        let signature = signature_header(secret, chrono::Utc::now().timestamp(), &body);
        request = request.header("X-Mailchimp-Signature", signature);
    }
    let response = request.body(body).send().await?;
    Ok(response.status().as_u16())
}
