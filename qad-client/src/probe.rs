//! [`Client::probe`]: read-only experiments on the customer browse (and,
//! when allowed, two marked attribution writes) that find out how this
//! tenant behaves where QAD documents nothing, one [`Assumption`] per
//! [`Behaviour`] setting.

use std::collections::BTreeSet;

use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{json, Value};

use crate::attribution::AttributionRecord;
use crate::behaviour::{
    Behaviour, CountEndpoint, DateFilter, DomainScope, DuplicatePost, EntityCheck, KeyOrder,
    PageSizeCap, PagingMode,
};
use crate::browse::{decode_envelope, Filter, FilterOp, Row, BROWSE_PATH};
use crate::client::{Call, Client};
use crate::count::{parse_count, COUNT_PATH};
use crate::customers::Customer;
use crate::error::{Error, Result};
use crate::read::{decode, ReadConfig};
use crate::Record;

/// A domain code no tenant has: rows scoped to it prove the scope holds.
pub const PROBE_DOMAIN: &str = "ZZPROBE";
/// The order id prefix of the attribution records `--probe-writes` leaves.
pub const PROBE_ORDER_PREFIX: &str = "ml-connector-probe-";
/// Rows asked for when looking for a page-size cap.
const BIG_PAGE: u32 = 1000;

/// What an experiment found about one assumption.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Verdict {
    /// The tenant does what the configured value says.
    Verified,
    /// The tenant does something else: `value` says what.
    Contradicted,
    /// The experiment could not tell; `why` says why.
    Unknown,
}

/// One assumption's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Assumption {
    /// The setting, e.g. `paging.mode`.
    pub name: &'static str,
    /// What the experiment found.
    pub verdict: Verdict,
    /// The value the tenant showed (the configured one when verified).
    pub value: Option<String>,
    /// What was seen: keys, row counts, statuses.
    pub evidence: Value,
    /// Why the verdict is unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

/// Every assumption's result, in [`Behaviour::NAMES`] order. Serialises as
/// `{"assumptions":[{"name":…,"verdict":…,"value":…,"evidence":…}]}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeReport {
    /// One per setting.
    pub assumptions: Vec<Assumption>,
}

impl ProbeReport {
    /// `base` with every contradicted setting set to the value found.
    ///
    /// ```
    /// use qad_client::{Behaviour, ProbeReport};
    /// let report = ProbeReport { assumptions: vec![] };
    /// assert_eq!(report.detected(Behaviour::default()), Behaviour::default());
    /// ```
    pub fn detected(&self, base: Behaviour) -> Behaviour {
        let mut behaviour = base;
        for a in &self.assumptions {
            if let (Verdict::Contradicted, Some(value)) = (a.verdict, &a.value) {
                // Values come from the settings' own names; a failure would
                // leave the configured value, which is the safe side.
                let _ = behaviour.set(a.name, value);
            }
        }
        behaviour
    }
}

/// A finding before it is compared with the configured value.
enum Found {
    Value(String, Value),
    Unknown(String, Value),
}

fn judge(name: &'static str, configured: Option<String>, found: Found) -> Assumption {
    match found {
        Found::Value(value, evidence) => Assumption {
            name,
            verdict: if Some(&value) == configured.as_ref() {
                Verdict::Verified
            } else {
                Verdict::Contradicted
            },
            value: Some(value),
            evidence,
            why: None,
        },
        Found::Unknown(why, evidence) => Assumption {
            name,
            verdict: Verdict::Unknown,
            value: None,
            evidence,
            why: Some(why),
        },
    }
}

/// How one experiment scopes its request.
#[derive(Clone, Copy)]
enum Scope<'a> {
    /// No scope at all.
    None,
    /// One mechanism, with this domain.
    By(DomainScope, &'a str),
}

/// One page as the tenant answered it.
struct Answer {
    rows: Vec<Row>,
    more: Option<bool>,
}

struct Lab<'c> {
    client: &'c Client,
    config: ReadConfig,
    domain: Option<String>,
    /// The scope found by the domain experiment (else the configured one).
    scope: DomainScope,
}

impl Lab<'_> {
    fn scope(&self) -> Scope<'_> {
        match &self.domain {
            Some(domain) => Scope::By(self.scope, domain),
            None => Scope::None,
        }
    }

    async fn page(
        &self,
        page: u64,
        size: u32,
        call_id: &str,
        scope: Scope<'_>,
        filters: &[Filter],
    ) -> Result<Answer> {
        let action = if page == 1 {
            "first"
        } else {
            self.client.settings().later_page_action.as_str()
        };
        let mut call = Call::get(BROWSE_PATH)
            .query("browseId", self.config.browse_id().as_str())
            .query("page", page.to_string())
            .query("pageSize", size.to_string())
            .query("pageAction", action)
            .query("callId", call_id);
        call.unscoped = true;
        for filter in filters {
            call = call.query("filter", filter.to_param()?);
        }
        let (call, drop_others) = self.scoped(call, scope)?;
        let reply = self.client.call(&call).await?;
        let context = format!("probe of browse {}", self.config.browse_id());
        let (mut rows, more) = decode_envelope(reply.json(&context)?, &context)?;
        if let Some(domain) = drop_others {
            rows.retain(|row| {
                self.domain_of(row)
                    .is_none_or(|d| d.eq_ignore_ascii_case(domain))
            });
        }
        Ok(Answer { rows, more })
    }

    /// `call` limited to the domain by `scope`'s mechanism; with `rows`,
    /// the domain whose rows the caller keeps.
    fn scoped<'s>(&self, mut call: Call, scope: Scope<'s>) -> Result<(Call, Option<&'s str>)> {
        let mut drop_others = None;
        if let Scope::By(how, domain) = scope {
            match how {
                DomainScope::Query => call = call.query("domainCode", domain),
                DomainScope::Filter => {
                    let field = self.config.fields().source_of("domainCode");
                    call = call.query("filter", Filter::eq(field, domain).to_param()?);
                }
                DomainScope::Header => call
                    .headers
                    .push(("x-qad-workspace-id".into(), domain.into())),
                _ => drop_others = Some(domain),
            }
        }
        Ok((call, drop_others))
    }

    fn keys(&self, rows: &[Row]) -> Vec<String> {
        rows.iter()
            .map(|row| {
                decode::<Customer>(self.config.fields(), row.clone())
                    .map(|c| c.key())
                    .unwrap_or_default()
            })
            .collect()
    }

    fn field<'r>(&self, row: &'r Row, field: &str) -> Option<&'r str> {
        let source = self.config.fields().source_of(field);
        let suffix = format!(".{field}");
        row.get(&source)
            .or_else(|| {
                row.iter()
                    .find(|(k, _)| k.ends_with(&suffix))
                    .map(|(_, v)| v)
            })
            .or_else(|| row.get(field))
            .and_then(Value::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    fn domain_of<'r>(&self, row: &'r Row) -> Option<&'r str> {
        self.field(row, "domainCode")
    }

    fn date_of(&self, row: &Row) -> Option<String> {
        self.field(row, self.config.modified_field())
            .and_then(|d| d.get(..10))
            .map(str::to_owned)
    }
}

fn call_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Client {
    /// Runs the experiments behind `ml-connector connect --probe` and
    /// reports, per [`Behaviour`] setting, whether the tenant does what is
    /// configured (see `docs/qad-api.md`, "Probing a tenant"):
    ///
    /// - `scope.domain`: rows of page 1 scoped to [`PROBE_DOMAIN`] by each
    ///   mechanism (`domainCode`, a `domainCode` filter, the workspace
    ///   header): the mechanism that answers none honours the scope; if none
    ///   does, rows carrying another domain mean `rows`.
    /// - `paging.page_size_cap`: a page of 1000; a short page saying more
    ///   follow is a cap, and page 2 at the big size tells whether the tenant
    ///   offsets by the served (`reported`) or requested size (the cap).
    /// - `paging.mode`: page 1 and then `page=3&pageAction=next` of one
    ///   `callId`, compared with a reference read of page 1 at three times
    ///   the size: page 3 (`page-number`), page 2 (`cursor`) or page 1
    ///   again (`first-only`).
    /// - `filter.date`: `ge` the newest modification date of page 1, as a
    ///   date and as a date-time, and the day after: rows older than asked
    ///   mean the filter is ignored, none that it answers empty, a 400 that
    ///   the form is refused.
    /// - `order.key`: whether page 1's keys ascend.
    /// - `attribution.duplicate`: only with `writes`, posts one marked
    ///   record (order id starting [`PROBE_ORDER_PREFIX`]) twice and reads
    ///   the second answer; the record stays, and the evidence names it.
    /// - `validate.entity`: the entity's `GET ?page=1&pageSize=1`.
    /// - `count.endpoint`: the customer browse's count; a 404/405 or an
    ///   answer without a count means `none`; on fewer than 1000 rows the
    ///   count is compared with the rows of one page, and a wrong count
    ///   means `none` as well.
    ///
    /// # Errors
    ///
    /// [`Error::Auth`] when the client cannot log in, and errors of the
    /// first, unscoped page (the browse itself unreachable); any later
    /// failure becomes an `unknown` verdict naming it.
    pub async fn probe(&self, writes: bool) -> Result<ProbeReport> {
        let configured = *self.behaviour();
        let mut lab = Lab {
            client: self,
            config: self.settings().customers.clone(),
            domain: self.domain().map(|d| d.to_string()),
            scope: configured.domain_scope,
        };
        // Fails early (login, browse id) before any verdict is made.
        lab.page(1, 1, &call_id(), Scope::None, &[]).await?;
        let mut out = Vec::new();

        let scope = domain_scope(&lab).await;
        if let Found::Value(value, _) = &scope {
            if let Ok(found) = value.parse() {
                lab.scope = found;
            }
        }
        let cap = page_size_cap(&lab).await;
        let cap_size = match &cap {
            Found::Value(value, _) => value.parse::<u32>().ok(),
            Found::Unknown(..) => None,
        };
        let paging = paging_mode(&lab, cap_size).await;
        let dates = date_filter(&lab).await;
        let order = key_order(&lab).await;
        let entity = entity_check(self).await;
        let count = count_endpoint(&lab).await;
        let duplicate = if writes {
            duplicate_post(self).await
        } else {
            Found::Unknown(
                "the experiment writes a record; run with --probe-writes".into(),
                Value::Null,
            )
        };
        let entity = match (entity, &duplicate) {
            // A 404 on a path that took a write means GET is not supported.
            (Found::Unknown(_, evidence), Found::Value(..)) if evidence["status"] == 404 => {
                Found::Value(EntityCheck::None.to_string(), evidence)
            }
            (entity, _) => entity,
        };
        let setting = |name| configured.get(name);
        out.push(judge(
            PagingMode::SETTING,
            setting(PagingMode::SETTING),
            paging,
        ));
        out.push(judge(
            PageSizeCap::SETTING,
            setting(PageSizeCap::SETTING),
            cap,
        ));
        out.push(judge(
            DomainScope::SETTING,
            setting(DomainScope::SETTING),
            scope,
        ));
        out.push(judge(
            DateFilter::SETTING,
            setting(DateFilter::SETTING),
            dates,
        ));
        out.push(judge(KeyOrder::SETTING, setting(KeyOrder::SETTING), order));
        out.push(judge(
            DuplicatePost::SETTING,
            setting(DuplicatePost::SETTING),
            duplicate,
        ));
        out.push(judge(
            EntityCheck::SETTING,
            setting(EntityCheck::SETTING),
            entity,
        ));
        out.push(judge(
            CountEndpoint::SETTING,
            setting(CountEndpoint::SETTING),
            count,
        ));
        Ok(ProbeReport { assumptions: out })
    }
}

fn failed(what: &str, error: &Error, evidence: Value) -> Found {
    Found::Unknown(format!("{what} failed: {error}"), evidence)
}

async fn domain_scope(lab: &Lab<'_>) -> Found {
    let Some(domain) = lab.domain.as_deref() else {
        return Found::Unknown("no domain is configured".into(), Value::Null);
    };
    let mut evidence = serde_json::Map::new();
    let mut honoured = None;
    let mut carries_other = false;
    for how in [DomainScope::Query, DomainScope::Filter, DomainScope::Header] {
        let count = |scope| async move {
            lab.page(1, BIG_PAGE, &call_id(), scope, &[])
                .await
                .map(|a| a.rows)
        };
        let (own, probe) = (
            count(Scope::By(how, domain)).await,
            count(Scope::By(how, PROBE_DOMAIN)).await,
        );
        let shown = |r: &Result<Vec<Row>>| match r {
            Ok(rows) => json!(rows.len()),
            Err(e) => json!(e.to_string()),
        };
        evidence.insert(
            how.to_string(),
            json!({"rows_with_own_domain": shown(&own), "rows_with_probe_domain": shown(&probe)}),
        );
        if let Ok(rows) = &own {
            carries_other |= rows.iter().any(|r| {
                lab.domain_of(r)
                    .is_some_and(|d| !d.eq_ignore_ascii_case(domain))
            });
        }
        if let (Ok(own), Ok(probe)) = (&own, &probe) {
            if honoured.is_none() && !own.is_empty() && probe.is_empty() {
                honoured = Some(how);
            }
        }
    }
    let evidence = Value::Object(evidence);
    match honoured {
        Some(how) => Found::Value(how.to_string(), evidence),
        None if carries_other => Found::Value(DomainScope::Rows.to_string(), evidence),
        None => Found::Unknown(
            "no mechanism scoped the rows, and no row names another domain".into(),
            evidence,
        ),
    }
}

async fn page_size_cap(lab: &Lab<'_>) -> Found {
    let scope = lab.scope();
    let id = call_id();
    let first = match lab.page(1, BIG_PAGE, &id, scope, &[]).await {
        Ok(a) => a,
        Err(e) => return failed("page 1", &e, Value::Null),
    };
    let served = first.rows.len();
    let mut evidence = json!({"asked": BIG_PAGE, "served": served, "has_more": first.more});
    if served >= BIG_PAGE as usize || first.more != Some(true) {
        evidence["note"] = json!("no cap below the page asked for");
        return Found::Value(PageSizeCap::Reported.to_string(), evidence);
    }
    let cap = served as u32;
    let big = lab.page(2, BIG_PAGE, &id, scope, &[]).await;
    let reference = async {
        let id = call_id();
        lab.page(1, cap, &id, scope, &[]).await?;
        lab.page(2, cap, &id, scope, &[]).await
    }
    .await;
    let (big, reference) = match (big, reference) {
        (Ok(big), Ok(reference)) => (lab.keys(&big.rows), lab.keys(&reference.rows)),
        (Err(e), _) | (_, Err(e)) => return failed("page 2", &e, evidence),
    };
    evidence["page_2_at_1000"] = json!(big.iter().take(5).collect::<Vec<_>>());
    evidence["page_2_at_cap"] = json!(reference.iter().take(5).collect::<Vec<_>>());
    if reference.is_empty() {
        Found::Unknown("fewer rows than two capped pages".into(), evidence)
    } else if big.first() == reference.first() {
        Found::Value(PageSizeCap::Reported.to_string(), evidence)
    } else {
        Found::Value(cap.to_string(), evidence)
    }
}

async fn paging_mode(lab: &Lab<'_>, cap: Option<u32>) -> Found {
    let scope = lab.scope();
    let all = match lab
        .page(
            1,
            cap.unwrap_or(BIG_PAGE).min(BIG_PAGE),
            &call_id(),
            scope,
            &[],
        )
        .await
    {
        Ok(a) => lab.keys(&a.rows),
        Err(e) => return failed("the reference page", &e, Value::Null),
    };
    let size = (all.len() / 3).min(50);
    if size == 0 {
        return Found::Unknown(
            "fewer than 3 rows: pages cannot be compared".into(),
            json!({"rows": all.len()}),
        );
    }
    let size32 = size as u32;
    let id = call_id();
    let pages = async {
        let one = lab.page(1, size32, &id, scope, &[]).await?;
        let three = lab.page(3, size32, &id, scope, &[]).await?;
        Ok::<_, Error>((lab.keys(&one.rows), lab.keys(&three.rows)))
    }
    .await;
    let (one, three) = match pages {
        Ok(p) => p,
        Err(e) => return failed("reading pages 1 and 3", &e, Value::Null),
    };
    let evidence = json!({
        "page_size": size,
        "page_1": one,
        "page_3_after_page_1": three,
        "reference_rows_1_to_3_pages": all.iter().take(3 * size).collect::<Vec<_>>(),
    });
    let slice = |n: usize| all.get(n * size..(n + 1) * size).map(<[String]>::to_vec);
    let mode = if Some(&three) == slice(2).as_ref() {
        PagingMode::PageNumber
    } else if Some(&three) == slice(1).as_ref() {
        PagingMode::Cursor
    } else if Some(&three) == slice(0).as_ref() {
        PagingMode::FirstOnly
    } else {
        return Found::Unknown("page 3 matches no reading".into(), evidence);
    };
    Found::Value(mode.to_string(), evidence)
}

async fn date_filter(lab: &Lab<'_>) -> Found {
    let scope = lab.scope();
    let rows = match lab.page(1, BIG_PAGE, &call_id(), scope, &[]).await {
        Ok(a) => a.rows,
        Err(e) => return failed("page 1", &e, Value::Null),
    };
    let dates: BTreeSet<String> = rows.iter().filter_map(|r| lab.date_of(r)).collect();
    let (Some(newest), Some(oldest)) = (dates.last(), dates.first()) else {
        return Found::Unknown(
            format!("no row of page 1 has a {}", lab.config.modified_field()),
            Value::Null,
        );
    };
    let Ok(day) = chrono::NaiveDate::parse_from_str(newest, "%Y-%m-%d") else {
        return Found::Unknown(format!("{newest} is not a date"), Value::Null);
    };
    let next = day.succ_opt().unwrap_or(day);
    let field = lab.config.fields().source_of(lab.config.modified_field());
    let mut evidence = json!({"newest": newest, "oldest": oldest, "rows": rows.len()});
    let mut works = Vec::new();
    for (form, format) in [
        (DateFilter::Date, "%Y-%m-%d"),
        (DateFilter::DateTime, "%Y-%m-%dT00:00:00.000Z"),
    ] {
        let mut answers = Vec::new();
        let mut ok = true;
        for from in [day, next] {
            let filter = Filter::new(field.clone(), FilterOp::Ge, from.format(format).to_string());
            let since = from.format("%Y-%m-%d").to_string();
            match lab.page(1, BIG_PAGE, &call_id(), scope, &[filter]).await {
                Ok(a) => {
                    let older = a
                        .rows
                        .iter()
                        .filter(|r| lab.date_of(r).is_some_and(|d| d < since))
                        .count();
                    ok &= older == 0 && (from != day || !a.rows.is_empty());
                    answers.push(json!({"ge": since, "rows": a.rows.len(), "older_rows": older}));
                }
                Err(e) => {
                    ok = false;
                    answers
                        .push(json!({"ge": since, "error": e.to_string(), "status": e.status()}));
                }
            }
        }
        evidence[form.as_str()] = json!(answers);
        if ok {
            works.push(form);
        }
    }
    let value = works.first().copied().unwrap_or(DateFilter::None);
    Found::Value(value.to_string(), evidence)
}

async fn key_order(lab: &Lab<'_>) -> Found {
    let rows = match lab.page(1, BIG_PAGE, &call_id(), lab.scope(), &[]).await {
        Ok(a) => a.rows,
        Err(e) => return failed("page 1", &e, Value::Null),
    };
    let keys = lab.keys(&rows);
    if keys.len() < 2 {
        return Found::Unknown("fewer than 2 rows".into(), json!({"rows": keys.len()}));
    }
    let ascending = keys.windows(2).all(|w| w[0] < w[1]);
    let evidence =
        json!({"first_keys": keys.iter().take(5).collect::<Vec<_>>(), "rows": keys.len()});
    let order = if ascending {
        KeyOrder::Key
    } else {
        KeyOrder::Any
    };
    Found::Value(order.to_string(), evidence)
}

async fn count_endpoint(lab: &Lab<'_>) -> Found {
    let none = CountEndpoint::None.to_string();
    let scope = lab.scope();
    let mut call = Call::get(COUNT_PATH).query("browseId", lab.config.browse_id().as_str());
    call.unscoped = true;
    let answer = match lab.scoped(call, scope) {
        Ok((_, Some(_))) => {
            return Found::Unknown(
                "nothing scopes a count to the domain (scope.domain = rows)".into(),
                Value::Null,
            )
        }
        Ok((call, None)) => lab.client.call(&call).await,
        Err(e) => return failed("the count", &e, Value::Null),
    };
    let body = match answer.and_then(|reply| reply.json("probe of the browse count")) {
        Ok(body) => body,
        Err(e) => {
            let evidence = json!({"status": e.status(), "error": e.to_string()});
            return match e.status() {
                Some(404 | 405) => Found::Value(none, evidence),
                _ => failed("the count", &e, evidence),
            };
        }
    };
    let Some(count) = parse_count(&body) else {
        let mut shown = body.to_string();
        shown.truncate(200);
        return Found::Value(
            none,
            json!({"answer": shown, "note": "no count in the answer"}),
        );
    };
    let mut evidence = json!({"count": count});
    // Cheap to check on a small browse: every row fits on one page.
    if count < u64::from(BIG_PAGE) {
        match lab.page(1, BIG_PAGE, &call_id(), scope, &[]).await {
            Ok(page) if page.more != Some(true) => {
                evidence["rows"] = json!(page.rows.len());
                if page.rows.len() as u64 != count {
                    evidence["note"] = json!("the count disagrees with the rows served");
                    return Found::Value(none, evidence);
                }
            }
            Ok(_) => evidence["note"] = json!("more rows than counted: not compared"),
            Err(e) => return failed("page 1", &e, evidence),
        }
    } else {
        evidence["note"] = json!("too many rows to compare; the shape is known");
    }
    Found::Value(CountEndpoint::TotalCount.to_string(), evidence)
}

async fn entity_check(client: &Client) -> Found {
    let entity = client.settings().attribution.entity().clone();
    let call = Call::get(entity.as_str())
        .query("page", "1")
        .query("pageSize", "1");
    match client.call(&call).await {
        Ok(_) => Found::Value(EntityCheck::Get.to_string(), json!({"status": 200})),
        Err(e) => {
            let evidence = json!({"status": e.status(), "error": e.to_string()});
            match e.status() {
                Some(405) => Found::Value(EntityCheck::None.to_string(), evidence),
                _ => Found::Unknown(
                    "the entity GET failed: a wrong path, or no GET (--probe-writes can tell)"
                        .into(),
                    evidence,
                ),
            }
        }
    }
}

async fn duplicate_post(client: &Client) -> Found {
    let order_id = format!("{PROBE_ORDER_PREFIX}{}", uuid::Uuid::new_v4());
    let record = AttributionRecord {
        order_id: order_id.clone(),
        customer_code: "ML-PROBE".into(),
        sales_order_number: None,
        order_total: Decimal::ZERO,
        currency_code: "USD".into(),
        financial_status: "probe".into(),
        processed_date: chrono::Utc::now(),
        store_id: "ml-connector-probe".into(),
        campaign_id: None,
        lines: Vec::new(),
    };
    let body = match serde_json::to_value(&record) {
        Ok(body) => Value::Array(vec![body]),
        Err(e) => return Found::Unknown(e.to_string(), Value::Null),
    };
    let entity = client.settings().attribution.entity().clone();
    let post = Call::post(entity.as_str(), body);
    let mut evidence = json!({"probe_record": order_id});
    if let Err(e) = client.call(&post).await {
        return failed("the first probe post", &e, evidence);
    }
    let second = client.call(&post).await;
    evidence["second_post"] = match &second {
        Ok(reply) => json!({"status": reply.status.as_u16()}),
        Err(e) => json!({"status": e.status(), "error": e.to_string()}),
    };
    let value = match second {
        Err(Error::Duplicate { .. } | Error::Api { status: 409, .. }) => DuplicatePost::Rejected,
        Err(Error::Api {
            status: 500,
            message,
        }) if message.to_lowercase().contains("already exists") => DuplicatePost::ServerError,
        Ok(_) => DuplicatePost::Creates,
        Err(e) => return failed("the second probe post", &e, evidence),
    };
    Found::Value(value.to_string(), evidence)
}
