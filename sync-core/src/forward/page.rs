//! One page of source records: map, compare hashes, write what changed, and say what happened.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use chrono::Utc;

use super::audience::Audience;
use super::owner::Contest;
use super::read::SourcePage;
use super::rows::{refused_key, Pending, Row};
use super::turn::Turn;
use crate::config::SyncConfig;
use crate::error::Result;
use crate::hash::content_hash;
use crate::mapping::{
    check_member_merge_fields, current_customer_id, map_ecommerce_customer, map_member,
    map_product, Issue, MappedMember, MemberRecord,
};
use crate::model::{
    normalize_email, ContentHash, IdMapping, MemberStatus, MemberStatusRecord, ObjectKind, Outcome,
};
use crate::operation::{Executor, OpResult, Operation};
use crate::state::StateStore;

/// What a page handler needs. Cheap to clone and owned, so a page's e-commerce writes can run
/// on their own task while the next page's members are planned and written.
#[derive(Clone)]
pub(crate) struct PageContext {
    pub config: Arc<SyncConfig>,
    pub state: Arc<dyn StateStore>,
    pub executor: Executor,
    pub dry_run: bool,
    /// Emails claimed by a customer earlier in this run, kept only in dry runs (a real run
    /// finds them in the id map, where each page's member side is committed before the next
    /// page's is planned).
    pub dry_claims: Arc<std::sync::Mutex<HashMap<String, String>>>,
    /// The audience's members as read once in this run, when needed.
    pub audience: Arc<tokio::sync::Mutex<Audience>>,
    /// The audience's merge fields, read once before the run's first member write.
    pub merge_fields: Arc<[mailchimp_client::MergeField]>,
    /// QAD, for the owners of shared addresses that are not on the page ([`Contest`]).
    pub qad: qad_client::Client,
}

impl PageContext {
    /// A context with nothing claimed and the audience not yet read.
    pub(crate) fn new(
        config: Arc<SyncConfig>,
        state: Arc<dyn StateStore>,
        executor: Executor,
        dry_run: bool,
        merge_fields: Vec<mailchimp_client::MergeField>,
        qad: qad_client::Client,
    ) -> Self {
        Self {
            config,
            state,
            executor,
            dry_run,
            dry_claims: Arc::default(),
            audience: Arc::default(),
            merge_fields: merge_fields.into(),
            qad,
        }
    }

    /// The customer that claimed `email` earlier in this dry run.
    pub(super) fn dry_claimant(&self, email: &str) -> Option<String> {
        if !self.dry_run {
            return None;
        }
        let claims = self
            .dry_claims
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        claims.get(email).cloned()
    }

    fn dry_claim(&self, email: &str, key: &str) {
        if self.dry_run {
            let mut claims = self
                .dry_claims
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            claims.insert(email.to_owned(), key.to_owned());
        }
    }
}

fn issue_row(target: ObjectKind, key: &str, issue: Issue) -> Row {
    match issue {
        Issue::Rejected(reason) => Row::decided(target, key, Outcome::Rejected, Some(reason)),
        Issue::Skipped(reason) => Row::decided(target, key, Outcome::Skipped, Some(reason)),
    }
}

/// How a group of pending writes is sent.
enum Sending {
    /// Batch subscribe (of `SubscribeMember` operations) to this audience, with the current
    /// statuses of those of them known to be members.
    Batch(String, HashMap<String, MemberStatus>),
    /// One call each, `concurrency` at a time, dispatched in its page's [`Turn`].
    Each(Turn),
}

/// Sends `pending` (or plans it, in a dry run) and turns the results into rows.
async fn execute(ctx: &PageContext, pending: Vec<Pending>, how: Sending) -> Vec<Row> {
    if ctx.dry_run {
        return pending.into_iter().map(Pending::planned).collect();
    }
    let started = Utc::now();
    let results: Vec<OpResult> = match how {
        Sending::Batch(list_id, current) => {
            let members: Vec<&MemberRecord> = pending
                .iter()
                .filter_map(|p| match &p.op {
                    Operation::SubscribeMember { member, .. } => Some(member),
                    _ => None,
                })
                .collect();
            ctx.executor
                .subscribe_batch_known(&list_id, &members, &current)
                .await
        }
        Sending::Each(mut turn) => {
            let ops: Vec<Operation> = pending.iter().map(|p| p.op.clone()).collect();
            turn.wait().await;
            ctx.executor
                .execute_owned(ops, ctx.config.concurrency, move || turn.pass())
                .await
        }
    };
    pending
        .into_iter()
        .zip(results)
        .map(|(p, result)| p.finished(result, started))
        .collect()
}

/// Customers → members (with their tags) and e-commerce customers, one side after the other.
pub(crate) async fn customers(ctx: &PageContext, page: &SourcePage) -> Result<Vec<Row>> {
    let mut rows = member_side(ctx, page).await?;
    let related = Related::of(&rows);
    rows.extend(ecommerce_side(ctx, page, &related, Turn::free()).await?);
    Ok(rows)
}

/// The member side of a customers page: members and their tags (nothing when members are not
/// synced).
pub(crate) async fn member_side(ctx: &PageContext, page: &SourcePage) -> Result<Vec<Row>> {
    if ctx.config.members {
        members(ctx, page).await
    } else {
        Ok(Vec::new())
    }
}

/// The e-commerce side of a customers page, after its member side (`related`): the store's
/// customers (nothing without a store or with e-commerce customers off), their `PUT`s sent in
/// the page's `turn`.
pub(crate) async fn ecommerce_side(
    ctx: &PageContext,
    page: &SourcePage,
    related: &Related,
    turn: Turn,
) -> Result<Vec<Row>> {
    match &ctx.config.store {
        Some(store) if ctx.config.ecommerce_customers => {
            ecommerce_customers(ctx, page, &store.id, related, turn).await
        }
        _ => Ok(Vec::new()),
    }
}

/// Customers whose member's email change was not made: their e-commerce customer keeps the old
/// address too (its `email_address` links it to a member), until the change goes through.
fn unmoved(rows: &[Row]) -> BTreeSet<String> {
    rows.iter()
        .filter(|r| !r.tags && !r.outcome.is_success())
        .filter(|r| matches!(r.op, Some(Operation::ChangeMemberEmail { .. })))
        .map(|r| r.source_key.clone())
        .collect()
}

/// Whose member is not written, in one pass over the member rows: the customers whose member
/// write did not succeed in this run (failed, or itself deferred), and the addresses concerned,
/// with those of duplicates whose owner's write failed on an earlier page or run. Their
/// e-commerce customers wait, and so does a store customer of another QAD customer sharing one of
/// those addresses (the member is the owner's): Mailchimp would create the missing member as
/// transactional (or keep an outdated one linked) behind the connector's back.
fn memberless(rows: &[Row]) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut customers = BTreeSet::new();
    let mut addresses = BTreeSet::new();
    for row in rows
        .iter()
        .filter(|r| !r.tags && r.target == ObjectKind::Members)
    {
        if matches!(row.outcome, Outcome::Failed | Outcome::Deferred) {
            customers.insert(row.source_key.clone());
            addresses.extend(row.email.clone());
        }
        addresses.extend(row.unwritten_owner_address.clone());
    }
    (customers, addresses)
}

/// Customers whose member was rejected in this run (a merge field that does not fit the
/// audience, an address Mailchimp refuses): their e-commerce customer is not sent either, since
/// Mailchimp would add the address as a transactional member without the fields the member
/// lacks.
fn rejected_members(rows: &[Row]) -> BTreeSet<String> {
    rows.iter()
        .filter(|r| !r.tags && r.target == ObjectKind::Members && r.outcome == Outcome::Rejected)
        .map(|r| r.source_key.clone())
        .collect()
}

/// The members' statuses as this run's member writes reported them, by address.
fn reported_statuses(rows: &[Row]) -> HashMap<String, MemberStatus> {
    rows.iter()
        .filter(|r| !r.tags && r.target == ObjectKind::Members && r.outcome.is_success())
        .filter_map(|r| Some((r.email.clone()?, r.reported?)))
        .collect()
}

async fn members(ctx: &PageContext, page: &SourcePage) -> Result<Vec<Row>> {
    let kind = ObjectKind::Members;
    let list_id = ctx.config.list_id.clone();
    let mut mapped = page
        .records
        .iter()
        .map(|r| {
            let mapped = match crate::lifecycle::forward_skip(&ctx.config, &r.fields) {
                Some(skip) => Err(skip),
                None => map_member(&r.fields, &ctx.config.mapping.customer),
            };
            let member = match mapped {
                Ok(m) => Ok((content_hash(&m.record)?, m)),
                Err(issue) => Err(issue),
            };
            Ok((r.key.clone(), member))
        })
        .collect::<Result<Vec<Mapped>>>()?;
    let emails: Vec<String> = mapped
        .iter()
        .filter_map(|(_, m)| m.as_ref().ok().map(|(_, m)| m.record.key()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // Hashes of the written members and of content Mailchimp refused, in one read.
    let keys: Vec<String> = emails
        .iter()
        .cloned()
        .chain(emails.iter().map(|e| refused_key(e)))
        .collect();
    let hashes = ctx.state.hashes(kind, &keys).await?;
    let known = Known::read(ctx, &mapped, &hashes).await?;
    let statuses = &known.statuses;
    // Shared addresses go to the owner rule's customer (lifecycle settings), in page order too.
    let mut contest = Contest::read(ctx, page, &mapped, &known.owners).await?;
    contest.order(&mut mapped);

    let mut rows = Vec::new();
    let mut claimed: HashMap<String, String> = HashMap::new();
    let mut pending = Vec::new();
    let mut tagged = Vec::new();
    for (key, member) in mapped {
        let (hash, member) = match member.and_then(|(hash, m)| {
            check_member_merge_fields(&m.record, &ctx.merge_fields)
                .map(|()| (hash, m))
                .map_err(|issue| Issue::Rejected(issue.to_string()))
        }) {
            Ok(member) => member,
            Err(issue) => {
                rows.push(issue_row(kind, &key, issue));
                continue;
            }
        };
        let email = member.record.key();
        if let Some(known) = statuses.get(&email).filter(|s| s.status.blocks_push()) {
            let reason = format!(
                "member is {} (as the state store recorded it)",
                known.status
            );
            let mut row = Row::decided(kind, &key, Outcome::Skipped, Some(reason));
            row.consent_link = Some(email.clone());
            rows.push(row);
            continue;
        }
        let claimant = claimed
            .get(&email)
            .cloned()
            .or_else(|| ctx.dry_claimant(&email));
        if let Some(row) = contest.secondary(&key, &email, claimant.as_ref()) {
            rows.push(row);
            continue;
        }
        let op = Operation::UpsertMember {
            list_id: list_id.clone(),
            member: member.record.clone(),
        };
        let refused = hashes.get(&refused_key(&email));
        if refused == Some(&hash) {
            let reason = "unchanged since Mailchimp refused it (the earlier audit row says why)";
            let mut row = Row::decided(kind, &key, Outcome::Rejected, Some(reason.to_owned()));
            row.op = Some(op);
            rows.push(row);
            continue;
        }
        let refused_before = refused.is_some();
        if hashes.get(&email) == Some(&hash) {
            claimed.insert(email.clone(), key.clone());
            tagged.push(Tagged::new(&key, &email, member.tags));
            rows.push(Row::unchanged(kind, &key, op));
            continue;
        }
        // A changed or new member: another customer may own the address since an earlier page.
        let owners = known.owners.get(&email).map_or(&[][..], Vec::as_slice);
        if let Some(mut row) = contest.secondary(&key, &email, owners) {
            if !hashes.contains_key(&email) {
                row.unwritten_owner_address = Some(email.clone());
            }
            rows.push(row);
            continue;
        }
        // An address new to us, for a customer mapped to another one: the email changed in QAD.
        let mut op = op;
        let mut retired = Vec::new();
        let mut moved_from = None;
        if !hashes.contains_key(&email) {
            if let Some(old) = known.previous_email(&key, &email) {
                let blocked = blocked_change(statuses, &old);
                retired = vec![old.clone(), tags_key(&old)];
                moved_from = Some(old.clone());
                op = Operation::ChangeMemberEmail {
                    list_id: list_id.clone(),
                    old_email_address: old,
                    member: member.record.clone(),
                };
                if let Some(reason) = blocked {
                    let mut row = Row::decided(kind, &key, Outcome::Skipped, Some(reason));
                    row.op = Some(op);
                    rows.push(row);
                    continue;
                }
            }
        }
        claimed.insert(email.clone(), key.clone());
        ctx.dry_claim(&email, &key);
        let mut tags = Tagged::new(&key, &email, member.tags);
        tags.moved_from = moved_from;
        tagged.push(tags);
        pending.push(Pending {
            target: kind,
            source_key: key.clone(),
            target_id: email.clone(),
            hash,
            known: hashes.contains_key(&email) || !retired.is_empty(),
            op,
            mapping: Some(IdMapping::new(kind, key, email.clone())),
            retired,
            email: Some(email),
            tags: false,
            refused_before,
        });
    }

    // Many new members go in batches; updates and a few new ones as single PUTs.
    let new_count = pending.iter().filter(|p| !p.known).count();
    let (batched, single): (Vec<_>, Vec<_>) = if new_count >= ctx.config.member_batch_threshold {
        pending.into_iter().partition(|p| !p.known)
    } else {
        (Vec::new(), pending)
    };
    let batched: Vec<Pending> = batched
        .into_iter()
        .map(|mut p| {
            if let Operation::UpsertMember { list_id, member } = p.op {
                p.op = Operation::SubscribeMember { list_id, member };
            }
            p
        })
        .collect();
    let current = current_statuses(ctx, &list_id, &batched, statuses).await;
    let on_list: BTreeSet<String> = current.keys().cloned().collect();
    let sent_from = rows.len();
    rows.extend(execute(ctx, batched, Sending::Batch(list_id.clone(), current)).await);
    rows.extend(execute(ctx, single, Sending::Each(Turn::free())).await);
    if !ctx.dry_run {
        intents(ctx, &list_id, &mut rows[sent_from..], &on_list).await?;
    }
    contest.settle(&mut rows, ctx.dry_run);

    // Tags, for members that reached (or already matched) Mailchimp.
    let ok: BTreeSet<&str> = rows
        .iter()
        .filter(|r| r.outcome.is_success())
        .map(|r| r.source_key.as_str())
        .collect();
    let tagged: Vec<_> = tagged
        .into_iter()
        .filter(|t| ok.contains(t.key.as_str()))
        .collect();
    let tag_rows = tags(ctx, &list_id, tagged).await?;
    rows.extend(tag_rows);
    Ok(rows)
}

/// Remembers the status the connector meant for the members it creates (or tries to create:
/// a failed attempt may still lead Mailchimp to create the member, from a later e-commerce
/// write), and puts back that status where a write finds one of them *transactional*, which
/// only Mailchimp's side effects make it (never a person's choice).
///
/// A member is the connector's when it had no intent recorded, was not on the list when read,
/// had no stored hash, and the write created it, reported the intended status, or failed.
async fn intents(
    ctx: &PageContext,
    list_id: &str,
    rows: &mut [Row],
    on_list: &BTreeSet<String>,
) -> Result<()> {
    let emails: Vec<String> = rows.iter().filter_map(|r| r.email.clone()).collect();
    if emails.is_empty() {
        return Ok(());
    }
    let stored = ctx.state.member_intents(&emails).await?;
    let mut restore = Vec::new();
    for (i, row) in rows.iter_mut().enumerate() {
        let Some(email) = row.email.clone() else {
            continue;
        };
        let intended = match &row.op {
            Some(
                Operation::UpsertMember { member, .. } | Operation::SubscribeMember { member, .. },
            ) => member
                .status_if_new
                .to_client()
                .as_str()
                .parse::<MemberStatus>()
                .ok(),
            _ => None,
        };
        match stored.get(&email) {
            Some(MemberStatus::Subscribed)
                if row.outcome.is_success()
                    && row.reported == Some(MemberStatus::Transactional) =>
            {
                restore.push((
                    i,
                    Operation::RestoreMemberStatus {
                        list_id: list_id.to_owned(),
                        email_address: email,
                        status: MemberStatus::Subscribed,
                    },
                ));
            }
            Some(_) => {}
            None => {
                let ours = !row.known
                    && !on_list.contains(&email)
                    && (matches!(row.outcome, Outcome::Failed | Outcome::Deferred)
                        || row.created == Some(true)
                        || (row.created.is_none()
                            && row.reported.is_some()
                            && row.reported == intended));
                if let (true, Some(intended)) = (ours, intended) {
                    row.intent = Some((email, intended));
                }
            }
        }
    }
    if restore.is_empty() {
        return Ok(());
    }
    let ops: Vec<Operation> = restore.iter().map(|(_, op)| op.clone()).collect();
    let results = ctx.executor.execute_all(&ops, ctx.config.concurrency).await;
    for ((i, _), result) in restore.into_iter().zip(results) {
        let Some(row) = rows.get_mut(i) else {
            continue;
        };
        match result {
            Ok(applied) => {
                row.reported = applied.member_status;
                row.reason = Some(
                    "member was transactional behind the connector's back: put back to subscribed"
                        .into(),
                );
            }
            Err(not) => {
                // Not stored: the next run writes the member again and retries this.
                row.outcome = Outcome::Failed;
                row.hash = None;
                row.reason = Some(format!(
                    "member is transactional behind the connector's back; putting back subscribed failed: {}",
                    not.reason()
                ));
            }
        }
    }
    Ok(())
}

/// The current Mailchimp statuses of the `batched` members that are on the list, read once per
/// run ([`Audience`]) when some of them have no status in the state store (`stored`); empty when
/// nothing is batched, in a dry run, or when the audience is not worth reading.
async fn current_statuses(
    ctx: &PageContext,
    list_id: &str,
    batched: &[Pending],
    stored: &HashMap<String, MemberStatusRecord>,
) -> HashMap<String, MemberStatus> {
    let emails: Vec<&String> = batched.iter().filter_map(|p| p.email.as_ref()).collect();
    if ctx.dry_run || emails.iter().all(|e| stored.contains_key(*e)) {
        return HashMap::new();
    }
    let limit = ctx.config.member_prefetch_limit;
    let mut audience = ctx.audience.lock().await;
    let Some(all) = audience
        .statuses(&ctx.executor, list_id, &emails, limit, fresh_for(ctx))
        .await
    else {
        return HashMap::new();
    };
    emails
        .into_iter()
        .filter_map(|e| all.get(e).map(|s| (e.clone(), *s)))
        .collect()
}

/// How long a read of the audience's statuses stays fresh for later batches.
fn fresh_for(ctx: &PageContext) -> std::time::Duration {
    std::time::Duration::from_secs(ctx.config.audience_refresh_secs)
}

/// A customer of the page and its member with the member's content hash, or why it has none.
pub(super) type Mapped = (
    String,
    std::result::Result<(ContentHash, MappedMember), Issue>,
);

/// What the state store knows about a page's members, read once per page rather than per
/// record (issue #19): each read is a hop to the store's thread.
struct Known {
    /// The stored statuses of the page's addresses and of its customers' previous addresses.
    statuses: HashMap<String, MemberStatusRecord>,
    /// The customers each address of the page's changed or new members is mapped to (several
    /// can share one).
    owners: HashMap<String, Vec<String>>,
    /// The address last written for each customer whose address has no stored hash.
    previous: HashMap<String, String>,
}

impl Known {
    async fn read(
        ctx: &PageContext,
        mapped: &[Mapped],
        hashes: &HashMap<String, ContentHash>,
    ) -> Result<Self> {
        let kind = ObjectKind::Members;
        let members = || {
            mapped
                .iter()
                .filter_map(|(key, m)| m.as_ref().ok().map(|(hash, m)| (key, hash, m.record.key())))
        };
        let emails: BTreeSet<String> = members().map(|(_, _, email)| email).collect();
        // Only a changed or new member's address can be owned by another customer.
        let changed: Vec<String> = members()
            .filter(|(_, hash, email)| hashes.get(email) != Some(*hash))
            .map(|(_, _, email)| email)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        // Only a customer whose address is new to us can have moved from another one.
        let moving: Vec<String> = members()
            .filter(|(_, _, email)| !hashes.contains_key(email))
            .map(|(key, _, _)| key.clone())
            .collect();
        let previous = if moving.is_empty() {
            HashMap::new()
        } else {
            ctx.state.target_ids(kind, &moving).await?
        };
        let addresses: Vec<String> = emails
            .iter()
            .chain(previous.values())
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let statuses = ctx.state.member_statuses(&addresses).await?;
        let owners = if changed.is_empty() {
            HashMap::new()
        } else {
            ctx.state.source_keys_of(kind, &changed).await?
        };
        Ok(Self {
            statuses,
            owners,
            previous,
        })
    }

    /// The address last written for customer `key`, when it is not `email`.
    fn previous_email(&self, key: &str, email: &str) -> Option<String> {
        self.previous.get(key).filter(|old| *old != email).cloned()
    }
}

/// Why the member under `old` must not be moved to a new address, if it must not: its status
/// forbids writes (cleaned, unsubscribed, …), and a move would not make the new address
/// reachable without going around that status.
fn blocked_change(statuses: &HashMap<String, MemberStatusRecord>, old: &str) -> Option<String> {
    statuses
        .get(old)
        .filter(|s| s.status.blocks_push())
        .map(|s| {
            format!(
                "email change not made: the member under the old address is {} (as the state store recorded it)",
                s.status
            )
        })
}

/// A member's tag set to compare and, when it changed, send.
struct Tagged {
    /// The customer.
    key: String,
    /// The member's address.
    email: String,
    tags: BTreeSet<String>,
    /// The address the member was just moved from: its tag state is the one to compare with
    /// (the tags moved with the member).
    moved_from: Option<String>,
}

impl Tagged {
    fn new(key: &str, email: &str, tags: BTreeSet<String>) -> Self {
        Self {
            key: key.to_owned(),
            email: email.to_owned(),
            tags,
            moved_from: None,
        }
    }

    /// The id-map and hash key its stored tag state is under.
    fn stored_key(&self) -> String {
        tags_key(self.moved_from.as_deref().unwrap_or(&self.email))
    }
}

/// The id-map and hash key of a member's tag set.
pub(crate) fn tags_key(email: &str) -> String {
    format!("{email}#tags")
}

async fn tags(ctx: &PageContext, list_id: &str, tagged: Vec<Tagged>) -> Result<Vec<Row>> {
    let kind = ObjectKind::Members;
    let keys: Vec<String> = tagged.iter().map(Tagged::stored_key).collect();
    let hashes = ctx.state.hashes(kind, &keys).await?;
    let hashed = tagged
        .into_iter()
        .map(|t| Ok((content_hash(&t.tags)?, t)))
        .collect::<Result<Vec<_>>>()?;
    // The stored listings of the tag sets that changed, in one read: the tags they no longer
    // hold are sent inactive.
    let changed: Vec<String> = hashed
        .iter()
        .map(|(hash, t)| (hash, t.stored_key()))
        .filter(|(hash, key)| hashes.get(key).is_some_and(|h| h != *hash))
        .map(|(_, key)| key)
        .collect();
    let listings = if changed.is_empty() {
        HashMap::new()
    } else {
        ctx.state.target_ids(kind, &changed).await?
    };
    let mut rows = Vec::new();
    let mut pending = Vec::new();
    for (hash, tagged) in hashed {
        let stored_key = tagged.stored_key();
        let Tagged {
            key,
            email,
            tags,
            moved_from,
        } = tagged;
        let tkey = tags_key(&email);
        let stored = hashes.get(&stored_key);
        if tags.is_empty() && stored.is_none() {
            continue;
        }
        let listing = serde_json::to_string(&tags).unwrap_or_default();
        let previous: BTreeSet<String> = match stored {
            Some(h) if *h == hash && moved_from.is_none() => {
                continue;
            }
            Some(h) if *h == hash => {
                // Moved with the member: no call, the state follows the new address.
                let mut row = Row::decided(kind, &key, Outcome::Unchanged, None);
                row.tags = true;
                row.hash = Some((tkey.clone(), hash));
                row.mapping = Some(IdMapping::new(kind, tkey, listing));
                rows.push(row);
                continue;
            }
            Some(_) => listings
                .get(&stored_key)
                .and_then(|json| serde_json::from_str(json).ok())
                .unwrap_or_default(),
            None => BTreeSet::new(),
        };
        let inactive = previous.difference(&tags).cloned().collect();
        pending.push(Pending {
            target: kind,
            source_key: key,
            target_id: tkey.clone(),
            hash,
            known: stored.is_some(),
            op: Operation::SetMemberTags {
                list_id: list_id.to_owned(),
                email_address: email,
                active: tags,
                inactive,
            },
            mapping: Some(IdMapping::new(kind, tkey, listing)),
            retired: Vec::new(),
            email: None,
            tags: true,
            refused_before: false,
        });
    }
    rows.extend(execute(ctx, pending, Sending::Each(Turn::free())).await);
    Ok(rows)
}

/// What the member side of a page tells its e-commerce customers.
#[derive(Debug, Default)]
pub(crate) struct Related {
    /// Customers whose member's email change was not made ([`unmoved`]).
    held: BTreeSet<String>,
    /// Customers whose member write did not succeed ([`memberless`]).
    waiting: BTreeSet<String>,
    /// The addresses of those members, and of duplicates whose owner's member is not written
    /// ([`memberless`]).
    waiting_addresses: BTreeSet<String>,
    /// Customers whose member was rejected ([`rejected_members`]).
    refused: BTreeSet<String>,
    /// Member statuses reported by this run's writes ([`reported_statuses`]).
    reported: HashMap<String, MemberStatus>,
}

impl Related {
    /// What the rows of a page's member side say.
    pub(crate) fn of(member_rows: &[Row]) -> Self {
        let (waiting, waiting_addresses) = memberless(member_rows);
        Self {
            held: unmoved(member_rows),
            waiting,
            waiting_addresses,
            refused: rejected_members(member_rows),
            reported: reported_statuses(member_rows),
        }
    }
}

/// The addresses among `emails` whose customer may be sent `opt_in_status: true`: Mailchimp
/// subscribes a transactional or pending member when it goes from false to true, so only a
/// member that is already subscribed, or not on the audience at all, may get it (issue #18,
/// item 7). The status comes from this run's member write, else from the state store, else from
/// the audience read once per run; an address whose status stays unknown is sent without it.
async fn opt_in_allowed(
    ctx: &PageContext,
    reported: &HashMap<String, MemberStatus>,
    emails: Vec<String>,
) -> Result<BTreeSet<String>> {
    let stored = ctx.state.member_statuses(&emails).await?;
    let mut allowed = BTreeSet::new();
    let mut unknown = Vec::new();
    for email in emails {
        match reported
            .get(&email)
            .copied()
            .or_else(|| stored.get(&email).map(|s| s.status))
        {
            Some(MemberStatus::Subscribed) => {
                allowed.insert(email);
            }
            Some(_) => {}
            None => unknown.push(email),
        }
    }
    if ctx.dry_run || unknown.is_empty() {
        return Ok(allowed);
    }
    let wanted: Vec<&String> = unknown.iter().collect();
    let limit = ctx.config.member_prefetch_limit;
    let list_id = ctx.config.list_id.clone();
    let mut audience = ctx.audience.lock().await;
    if let Some(all) = audience
        .statuses(&ctx.executor, &list_id, &wanted, limit, fresh_for(ctx))
        .await
    {
        allowed.extend(
            unknown
                .into_iter()
                .filter(|e| matches!(all.get(e), None | Some(MemberStatus::Subscribed))),
        );
    }
    Ok(allowed)
}

async fn ecommerce_customers(
    ctx: &PageContext,
    page: &SourcePage,
    store_id: &str,
    related: &Related,
    turn: Turn,
) -> Result<Vec<Row>> {
    let kind = ObjectKind::EcommerceCustomers;
    let mut rows = Vec::new();
    let mut mapped = Vec::new();
    for record in &page.records {
        if related.held.contains(&record.key) {
            let reason = "waits for its member's email change, which was not made".to_owned();
            rows.push(Row::decided(
                kind,
                &record.key,
                Outcome::Skipped,
                Some(reason),
            ));
            continue;
        }
        if let Some(skip) = crate::lifecycle::forward_skip(&ctx.config, &record.fields) {
            rows.push(issue_row(kind, &record.key, skip));
            continue;
        }
        match map_ecommerce_customer(&record.key, &record.fields, &ctx.config.mapping.customer) {
            Ok(customer) => mapped.push((record.key.clone(), customer)),
            Err(issue) => rows.push(issue_row(kind, &record.key, issue)),
        }
    }
    // A customer whose address changed lives on as a new store customer (Mailchimp keeps a
    // customer's address): write under the id of its current address.
    let keys: Vec<String> = mapped.iter().map(|(key, _)| key.clone()).collect();
    let mapped_ids = ctx.state.target_ids(kind, &keys).await?;
    for (key, customer) in &mut mapped {
        let current = mapped_ids.get(key).map(String::as_str);
        customer.id = current_customer_id(&customer.id, &customer.email_address, current);
    }
    let ids: Vec<String> = mapped.iter().map(|(_, c)| c.id.clone()).collect();
    let hashes = ctx.state.hashes(kind, &ids).await?;
    // Each customer hashed once, the opt-in check and the comparison sharing it. An opt-in
    // already sent and unchanged costs no call and no status; the others are checked.
    let mut hashed = Vec::with_capacity(mapped.len());
    for (key, customer) in mapped {
        let hash = content_hash(&customer)?;
        let unsent_opt_in = customer.opt_in_status && hashes.get(&customer.id) != Some(&hash);
        hashed.push((key, customer, hash, unsent_opt_in));
    }
    let undecided = hashed
        .iter()
        .filter(|(_, _, _, unsent_opt_in)| *unsent_opt_in)
        .map(|(_, customer, _, _)| normalize_email(&customer.email_address))
        .collect();
    let allowed = opt_in_allowed(ctx, &related.reported, undecided).await?;
    let mut pending = Vec::new();
    for (key, mut customer, mut hash, unsent_opt_in) in hashed {
        let address = normalize_email(&customer.email_address);
        if unsent_opt_in && !allowed.contains(&address) {
            customer.opt_in_status = false;
            hash = content_hash(&customer)?;
        }
        let id = customer.id.clone();
        let op = Operation::UpsertEcomCustomer {
            store_id: store_id.to_owned(),
            customer,
        };
        if hashes.get(&id) == Some(&hash) {
            rows.push(Row::unchanged(kind, &key, op));
            continue;
        }
        if related.refused.contains(&key) {
            let reason = "not sent: its member was rejected in this run".to_owned();
            let mut row = Row::decided(kind, &key, Outcome::Skipped, Some(reason));
            row.op = Some(op);
            rows.push(row);
            continue;
        }
        if related.waiting.contains(&key) || related.waiting_addresses.contains(&address) {
            let reason = "waits for its member, whose write did not succeed in this run".to_owned();
            let mut row = Row::decided(kind, &key, Outcome::Deferred, Some(reason));
            row.op = Some(op);
            rows.push(row);
            continue;
        }
        // A new generation retires the previous one's hash (its store customer stays, with its
        // orders, under the old address).
        let retired = mapped_ids
            .get(&key)
            .filter(|old| **old != id)
            .cloned()
            .into_iter()
            .collect();
        pending.push(Pending {
            target: kind,
            source_key: key.clone(),
            known: hashes.contains_key(&id),
            target_id: id.clone(),
            hash,
            op,
            mapping: Some(IdMapping::new(kind, key, id)),
            retired,
            email: None,
            tags: false,
            refused_before: false,
        });
    }
    rows.extend(execute(ctx, pending, Sending::Each(turn)).await);
    Ok(rows)
}

/// Items → products, their `PUT`s sent in the page's `turn`.
pub(crate) async fn items(ctx: &PageContext, page: &SourcePage, turn: Turn) -> Result<Vec<Row>> {
    let kind = ObjectKind::Products;
    let Some(store) = &ctx.config.store else {
        return Ok(Vec::new());
    };
    let mut rows = Vec::new();
    let mut mapped = Vec::new();
    for record in &page.records {
        match map_product(&record.key, &record.fields, &ctx.config.mapping.item) {
            Ok(product) => mapped.push((record.key.clone(), product)),
            Err(issue) => rows.push(issue_row(kind, &record.key, issue)),
        }
    }
    let ids: Vec<String> = mapped.iter().map(|(_, p)| p.id.clone()).collect();
    let hashes = ctx.state.hashes(kind, &ids).await?;
    // The id map lists the written products for the lifecycle's key scan; one written before
    // products were mapped is mapped when next seen, unchanged or not.
    let keys: Vec<String> = mapped.iter().map(|(key, _)| key.clone()).collect();
    let in_map = ctx.state.target_ids(kind, &keys).await?;
    let mut pending = Vec::new();
    for (key, product) in mapped {
        let hash = content_hash(&product)?;
        let id = product.id.clone();
        let mapping = IdMapping::new(kind, &key, &id);
        let op = Operation::UpsertProduct {
            store_id: store.id.clone(),
            product,
        };
        if hashes.get(&id) == Some(&hash) {
            let mut row = Row::unchanged(kind, &key, op);
            if in_map.get(&key) != Some(&id) {
                row.mapping = Some(mapping);
            }
            rows.push(row);
            continue;
        }
        pending.push(Pending {
            target: kind,
            source_key: key,
            known: hashes.contains_key(&id),
            target_id: id,
            hash,
            op,
            mapping: Some(mapping),
            retired: Vec::new(),
            email: None,
            tags: false,
            refused_before: false,
        });
    }
    rows.extend(execute(ctx, pending, Sending::Each(turn)).await);
    Ok(rows)
}
