//! The shared-email owner rule between lifecycle scans: when the forward sync meets a second
//! customer for an address another customer owns, it compares the two under
//! [`OwnerRule`] instead of keeping the first customer mapped.
//!
//! Only with lifecycle settings (the rule is `lifecycle.shared_email_owner`); without them the
//! first customer mapped to an address owns it, as before. A contest is decided from what the
//! page holds and, for an owner on another page (or mapped in an earlier run), from its QAD
//! record read again by key (one QAD call per such owner, gathered per page and sent
//! `concurrency` at a time), only for addresses in contest, which are rare (a changed or new
//! member whose address another customer owns): never one read per record. The owner's current record is what counts, so a deleted, inactive, blocked or
//! anonymised owner loses the address at once; a read that fails decides nothing (the owner
//! keeps the member until the next scan or run), as the lifecycle never concludes from a failed
//! read.
//!
//! When the newcomer wins, ownership moves the way the scan's hand-over moves it: the newcomer
//! is mapped to the address and its fields are written, the old owner leaves the member's id
//! map (secondary from then on), and the old owner's audit row names the new owner. When the
//! owner wins, the newcomer is a duplicate, naming the owner and the rule.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::page::{Mapped, PageContext};
use super::read::{read_keys, SourcePage};
use super::rows::Row;
use crate::error::Result;
use crate::lifecycle::{hand_over_reason, OwnerRule, Standing};
use crate::model::{IdMapping, ObjectKind, Outcome};

/// A customer as the rule sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ranked {
    /// Active, with its rank under the rule (lowest owns; ties by key).
    Active(String),
    /// Not active, or gone from QAD: it owns nothing any more.
    Departed(Standing),
}

/// The owner contests of one page: the rule, what is known of the customers involved, and the
/// hand-overs decided (applied to the rows once the writes are done, [`Contest::settle`]).
pub(crate) struct Contest {
    rule: Option<OwnerRule>,
    /// The page's customers and the owners read from QAD, by key.
    ranked: HashMap<String, Ranked>,
    /// Owners whose read failed: they keep their addresses.
    unread: BTreeSet<String>,
    /// Customers mapped to another address (their email changed into a shared one): they do not
    /// take over, as the scan does not hand a member to such a customer.
    elsewhere: BTreeSet<String>,
    /// Hand-overs decided: new owner → the customers that owned the address, and its address.
    takeovers: BTreeMap<String, (String, Vec<String>)>,
}

impl Contest {
    /// Reads what the page's contests need: `mapped` are the page's customers with their
    /// members; `owners` the customers the state store maps to each address. Costs nothing
    /// without lifecycle settings; with them it ranks the page's customers (no I/O: customers
    /// of one page may share an address) and reads from QAD only owners in a contest.
    pub(crate) async fn read(
        ctx: &PageContext,
        page: &SourcePage,
        mapped: &[Mapped],
        owners: &HashMap<String, Vec<String>>,
    ) -> Result<Self> {
        let mut contest = Self {
            rule: None,
            ranked: HashMap::new(),
            unread: BTreeSet::new(),
            elsewhere: BTreeSet::new(),
            takeovers: BTreeMap::new(),
        };
        let Some(lifecycle) = ctx.config.lifecycle.as_ref() else {
            return Ok(contest);
        };
        let rule = lifecycle.shared_email_owner.clone();
        let rank = |fields: &crate::mapping::SourceFields| match lifecycle
            .customer_states
            .standing(fields)
        {
            Standing::Active => Ranked::Active(rule.rank(fields)),
            other => Ranked::Departed(other),
        };
        contest.ranked = page
            .records
            .iter()
            .map(|r| (r.key.clone(), rank(&r.fields)))
            .collect();
        // Owners of the page's addresses that are not on the page, and who contests them.
        let mut absent = BTreeSet::new();
        let mut contenders = Vec::new();
        let candidates: Vec<(&String, String)> = mapped
            .iter()
            .filter_map(|m| Some((&m.0, email_of(m)?)))
            .collect();
        for (key, email) in &candidates {
            let others: Vec<String> = owners
                .get(email)
                .into_iter()
                .flatten()
                .cloned()
                .chain(ctx.dry_claimant(email))
                .filter(|o| o != *key)
                .collect();
            if others.is_empty() {
                continue;
            }
            contenders.push((*key).clone());
            absent.extend(
                others
                    .into_iter()
                    .filter(|o| !contest.ranked.contains_key(o)),
            );
        }
        if !contenders.is_empty() {
            let ids = ctx
                .state
                .target_ids(ObjectKind::Members, &contenders)
                .await?;
            contest.elsewhere = candidates
                .iter()
                .filter(|(key, email)| ids.get(*key).is_some_and(|m| m != email))
                .map(|(key, _)| (*key).clone())
                .collect();
        }
        if !absent.is_empty() {
            let keys: Vec<String> = absent.iter().cloned().collect();
            match read_keys(
                ctx.qad.customers(),
                "customerCode",
                keys,
                ctx.config.concurrency,
                ctx.executor.calls().clone(),
            )
            .await
            {
                Ok(records) => {
                    for record in records {
                        absent.remove(&record.key);
                        contest.ranked.insert(record.key, rank(&record.fields));
                    }
                    // Read, and not there: deleted from QAD.
                    for key in absent {
                        contest.ranked.insert(key, Ranked::Departed(Standing::Gone));
                    }
                }
                Err(err) => {
                    tracing::warn!(
                        "reading the owners of shared addresses failed; they keep their members \
                         until the next scan: {err}"
                    );
                    contest.unread = absent;
                }
            }
        }
        contest.rule = Some(rule);
        Ok(contest)
    }

    /// Puts the page's customers sharing an address in the rule's order (each group keeps the
    /// positions it had), so the one the rule prefers claims the address first.
    pub(crate) fn order(&self, items: &mut Vec<Mapped>) {
        if self.rule.is_none() {
            return;
        }
        let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, item) in items.iter().enumerate() {
            if let Some(email) = email_of(item) {
                groups.entry(email).or_default().push(i);
            }
        }
        let mut order: Vec<usize> = (0..items.len()).collect();
        let sort_key = |i: usize| {
            let key = items.get(i).map_or("", |(key, _)| key.as_str());
            // Unranked customers (none should contest) after the ranked ones.
            (self.rank(key).is_none(), self.rank(key), key)
        };
        for slots in groups.into_values().filter(|g| g.len() > 1) {
            let mut sorted = slots.clone();
            sorted.sort_by(|a, b| sort_key(*a).cmp(&sort_key(*b)));
            for (slot, from) in slots.into_iter().zip(sorted) {
                order[slot] = from;
            }
        }
        let mut taken: Vec<Option<Mapped>> = std::mem::take(items).into_iter().map(Some).collect();
        *items = order
            .into_iter()
            .filter_map(|i| taken.get_mut(i).and_then(Option::take))
            .collect();
    }

    /// The rank of an active customer of the page, `None` for any other.
    fn rank(&self, key: &str) -> Option<&str> {
        match self.ranked.get(key) {
            Some(Ranked::Active(rank)) => Some(rank),
            _ => None,
        }
    }

    /// Decides the contest of customer `key` for `email` against the customers that own it
    /// (`owners`; `key` itself among them is ignored): the newcomer's duplicate row when an
    /// owner keeps the address, or `None` when the newcomer takes it over (recorded, and
    /// applied by [`settle`](Self::settle) once its write is done).
    pub(crate) fn secondary<'a>(
        &mut self,
        key: &str,
        email: &str,
        owners: impl IntoIterator<Item = &'a String>,
    ) -> Option<Row> {
        let others: Vec<&String> = owners.into_iter().filter(|o| *o != key).collect();
        let first = others.first()?;
        let Some(rule) = &self.rule else {
            return Some(duplicate(key, first, None));
        };
        if self.elsewhere.contains(key) {
            return Some(duplicate(key, first, Some(rule)));
        }
        let mine = self.rank(key).map(str::to_owned);
        for owner in &others {
            let keeps = if self.unread.contains(*owner) {
                true
            } else {
                match (self.ranked.get(*owner), &mine) {
                    (Some(Ranked::Departed(_)), _) => false,
                    (Some(Ranked::Active(theirs)), Some(mine)) => {
                        (theirs.as_str(), owner.as_str()) < (mine.as_str(), key)
                    }
                    // Not known (not read), or the newcomer itself not ranked: nothing moves.
                    _ => true,
                }
            };
            if keeps {
                return Some(duplicate(key, owner, Some(rule)));
            }
        }
        let entry = self
            .takeovers
            .entry(key.to_owned())
            .or_insert_with(|| (email.to_owned(), Vec::new()));
        entry.1.extend(others.into_iter().cloned());
        None
    }

    /// Applies the hand-overs whose newcomer claimed the address (written, planned, unchanged,
    /// or failed and waiting for its retry, which keeps the claim): each former owner's member
    /// row (or a new one) says who owns the member now and takes it out of the id map. A
    /// newcomer whose write was refused or skipped takes nothing over.
    pub(crate) fn settle(&self, rows: &mut Vec<Row>, dry_run: bool) {
        let Some(rule) = &self.rule else {
            return;
        };
        for (key, (email, previous)) in &self.takeovers {
            let member = |r: &Row| r.target == ObjectKind::Members && !r.tags;
            let Some(row) = rows.iter_mut().find(|r| member(r) && r.source_key == *key) else {
                continue;
            };
            let claims = match row.outcome {
                Outcome::Unchanged => {
                    row.mapping = Some(IdMapping::new(ObjectKind::Members, key, email));
                    true
                }
                Outcome::Created | Outcome::Updated => dry_run || row.mapping.is_some(),
                _ => row.mapping.is_some(),
            };
            if !claims {
                continue;
            }
            for old in previous {
                let standing = match self.ranked.get(old) {
                    Some(Ranked::Departed(standing)) => *standing,
                    _ => Standing::Active,
                };
                let reason = hand_over_reason(rule, key, old, standing);
                match rows.iter_mut().find(|r| member(r) && r.source_key == *old) {
                    Some(row) => {
                        row.reason = Some(reason);
                        row.unmapped = true;
                    }
                    None => {
                        let mut row =
                            Row::decided(ObjectKind::Members, old, Outcome::Skipped, Some(reason));
                        row.unmapped = true;
                        rows.push(row);
                    }
                }
            }
        }
    }
}

/// The address of a mapped member.
fn email_of(mapped: &Mapped) -> Option<String> {
    mapped.1.as_ref().ok().map(|(_, m)| m.record.key())
}

/// The row of a customer whose address another customer owns: skipped as a duplicate, naming
/// the owner (and the rule that decided, when one did).
fn duplicate(key: &str, owner: &str, rule: Option<&OwnerRule>) -> Row {
    let reason = match rule {
        None => format!("duplicate email: the member is written for customer {owner}"),
        Some(rule) => format!(
            "duplicate email: the member is written for customer {owner}, its owner under \
             lifecycle.shared_email_owner ({})",
            rule.name()
        ),
    };
    Row::decided(ObjectKind::Members, key, Outcome::Skipped, Some(reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contest(rule: Option<OwnerRule>, ranked: &[(&str, Ranked)]) -> Contest {
        Contest {
            rule,
            ranked: ranked
                .iter()
                .map(|(k, r)| ((*k).to_owned(), r.clone()))
                .collect(),
            unread: BTreeSet::new(),
            elsewhere: BTreeSet::new(),
            takeovers: BTreeMap::new(),
        }
    }

    fn active(rank: &str) -> Ranked {
        Ranked::Active(rank.to_owned())
    }

    fn reason(row: Option<Row>) -> String {
        row.and_then(|r| r.reason).unwrap_or_default()
    }

    #[test]
    fn the_rank_decides_then_the_key_and_a_departed_owner_always_loses() {
        let owner = vec!["C2".to_owned()];
        // Lower rank wins whatever the key.
        let mut c = contest(
            Some(OwnerRule::default()),
            &[("C1", active("1")), ("C2", active("0"))],
        );
        let kept = reason(c.secondary("C1", "a@x.com", &owner));
        assert!(kept.contains("customer C2, its owner under"), "{kept}");
        assert!(c.takeovers.is_empty());
        // Ties go to the lower key.
        let mut c = contest(
            Some(OwnerRule::default()),
            &[("C1", active("")), ("C2", active(""))],
        );
        assert!(c.secondary("C1", "a@x.com", &owner).is_none());
        assert_eq!(c.takeovers["C1"], ("a@x.com".to_owned(), owner.clone()));
        // A departed owner loses to any newcomer.
        let mut c = contest(
            Some(OwnerRule::default()),
            &[
                ("C3", active("~")),
                ("C2", Ranked::Departed(Standing::Gone)),
            ],
        );
        assert!(c.secondary("C3", "a@x.com", &owner).is_none());
    }

    #[test]
    fn an_unread_or_unknown_owner_and_a_newcomer_mapped_elsewhere_keep_things_as_they_are() {
        let owner = vec!["C2".to_owned()];
        let mut c = contest(Some(OwnerRule::default()), &[("C1", active(""))]);
        c.unread.insert("C2".into());
        assert!(c.secondary("C1", "a@x.com", &owner).is_some());
        c.unread.clear();
        assert!(
            c.secondary("C1", "a@x.com", &owner).is_some(),
            "not read: unknown"
        );
        let mut c = contest(
            Some(OwnerRule::default()),
            &[("C1", active("")), ("C2", active(""))],
        );
        c.elsewhere.insert("C1".into());
        assert!(c.secondary("C1", "a@x.com", &owner).is_some());
        assert!(c.takeovers.is_empty());
    }

    #[test]
    fn without_a_rule_the_owner_keeps_the_address_as_before() {
        let owner = vec!["C2".to_owned()];
        let mut c = contest(None, &[]);
        assert_eq!(
            reason(c.secondary("C1", "a@x.com", &owner)),
            "duplicate email: the member is written for customer C2"
        );
        assert!(
            c.secondary("C2", "a@x.com", &owner).is_none(),
            "its own address"
        );
    }

    #[test]
    fn settling_a_takeover_unmaps_the_old_owner_with_the_scans_reason() {
        let owner = vec!["C2".to_owned()];
        let mut c = contest(
            Some(OwnerRule::default()),
            &[("C1", active("")), ("C2", active(""))],
        );
        assert!(c.secondary("C1", "a@x.com", &owner).is_none());
        // The newcomer's write was rejected: nothing moves.
        let mut rows = vec![Row::decided(
            ObjectKind::Members,
            "C1",
            Outcome::Rejected,
            None,
        )];
        c.settle(&mut rows, false);
        assert_eq!(rows.len(), 1);
        // Written (a mapping to store): the old owner leaves the id map, named.
        let mut written = Row::decided(ObjectKind::Members, "C1", Outcome::Updated, None);
        written.mapping = Some(IdMapping::new(ObjectKind::Members, "C1", "a@x.com"));
        let mut rows = vec![written];
        c.settle(&mut rows, false);
        assert_eq!(rows.len(), 2);
        assert!(rows[1].unmapped);
        assert_eq!(
            rows[1].reason.as_deref(),
            Some(
                "member owned by customer C1 under lifecycle.shared_email_owner (lowest_key); \
                 customer C2 is secondary"
            )
        );
    }
}
