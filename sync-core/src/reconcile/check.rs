//! The comparison: expected records walked in id order with what Mailchimp holds under each id,
//! a page at a time, each classified (equal, missing, different, status differs, blocked); then
//! the records only Mailchimp has.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::compare::{blocks, diff, status_differs};
use super::fix::Fixer;
use super::report::{Example, KindReport};
use super::spill::{ActualRow, DepartedRow, ExpectedRow, Joined};
use super::Context;
use crate::error::Result;
use crate::lifecycle::{EcomCustomerRemoval, MemberRemoval};
use crate::mapping::StatusIfNew;
use crate::model::{normalize_email, MemberStatus, ObjectKind, Outcome};
use crate::operation::Operation;

/// Expected records compared (and, with a fixer, fixed) per step.
const STEP: u32 = 500;

/// Compares every expected record of `kind` and counts the Mailchimp records no QAD record maps
/// to. With `fixer`, each step's missing and different records are written before the next.
pub(crate) async fn kind(
    ctx: &Context<'_>,
    kind: ObjectKind,
    report: &mut KindReport,
    mut fixer: Option<&mut Fixer>,
) -> Result<()> {
    let mut after: Option<String> = None;
    loop {
        let step = ctx.spill.joined(kind, after.clone(), STEP).await?;
        let Some(last) = step.last() else { break };
        after = Some(last.expected.id.clone());
        let remembered = remembered_blocks(ctx, kind, &step).await?;
        let mut to_fix: Vec<(ExpectedRow, Outcome)> = Vec::new();
        for joined in step {
            report.expected += 1;
            if let Some(fix) = classify(ctx, joined, &remembered, report) {
                to_fix.push(fix);
            }
        }
        if let Some(fixer) = fixer.as_deref_mut() {
            fixer.fix(kind, to_fix, report).await?;
        }
    }
    departed(ctx, kind, report, fixer).await?;
    let (count, first) = ctx.spill.only_actual(kind, ctx.examples).await?;
    report.only_in_mailchimp.count = count;
    report.only_in_mailchimp.examples = first
        .into_iter()
        .map(|(id, status)| {
            let mut e = Example::new(&id, None);
            e.status = status;
            e
        })
        .collect();
    Ok(())
}

/// With lifecycle settings, the records of customers that are not active (see
/// [`KindReport::departed`] and [`KindReport::to_remove`]): absent, archived, or kept as the
/// settings say is expected; present while the settings remove it is drift, and `fixer` applies
/// the configured removal. An address an active customer's record is expected under is never
/// among them (the spill leaves it out): that customer owns the member.
async fn departed(
    ctx: &Context<'_>,
    kind: ObjectKind,
    report: &mut KindReport,
    mut fixer: Option<&mut Fixer>,
) -> Result<()> {
    let Some(lifecycle) = ctx.config.lifecycle.as_ref() else {
        return Ok(());
    };
    if !matches!(kind, ObjectKind::Members | ObjectKind::EcommerceCustomers) {
        return Ok(());
    }
    let keep = ctx.examples;
    let mut after: Option<String> = None;
    loop {
        let step = ctx.spill.departed(kind, after.clone(), STEP).await?;
        let Some(last) = step.last() else { break };
        after = Some(last.0.id.clone());
        // The customers the connector wrote each record for: only those records are removed.
        let keys: Vec<String> = step
            .iter()
            .map(|(d, _)| d.source_key.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mapped = ctx.state.target_ids(kind, &keys).await?;
        let written_for = |d: &DepartedRow| {
            mapped.get(&d.source_key).is_some_and(|target| match kind {
                ObjectKind::Members => normalize_email(target) == d.id,
                _ => *target == d.id,
            })
        };
        let mut groups: BTreeMap<String, Vec<(DepartedRow, Option<ActualRow>)>> = BTreeMap::new();
        for (d, actual) in step {
            groups.entry(d.id.clone()).or_default().push((d, actual));
        }
        let mut to_remove = Vec::new();
        for (id, group) in groups {
            let writer = group.iter().position(|(d, _)| written_for(d));
            let Some((d, actual)) = group.into_iter().nth(writer.unwrap_or(0)) else {
                continue;
            };
            let customer = match d.standing.as_str() {
                "gone" => format!("customer {} is gone from QAD", d.source_key),
                standing => format!("customer {} is {standing} in QAD", d.source_key),
            };
            let mut example = Example::new(&id, Some(&d.source_key));
            let status = actual.as_ref().and_then(|a| a.status.clone());
            example.status.clone_from(&status);
            let expected = |example: &mut Example, what: String| {
                example.note = Some(format!("{what}: {customer}"));
            };
            if actual.is_none() {
                expected(&mut example, "absent, as expected".into());
                report.departed.add(example, keep);
                continue;
            }
            if status.as_deref() == Some(MemberStatus::Archived.as_str()) {
                expected(&mut example, "archived, as expected".into());
                report.departed.add(example, keep);
                continue;
            }
            if writer.is_none() {
                expected(
                    &mut example,
                    "present, but not written for this customer by the connector (not in its id \
                     map): left alone"
                        .into(),
                );
                report.departed.add(example, keep);
                continue;
            }
            let op = match kind {
                ObjectKind::Members => match lifecycle.members {
                    MemberRemoval::Leave => None,
                    MemberRemoval::Archive => Some(Operation::ArchiveMember {
                        list_id: ctx.config.list_id.clone(),
                        email_address: id.clone(),
                    }),
                    MemberRemoval::DeletePermanent => Some(Operation::DeleteMemberPermanently {
                        list_id: ctx.config.list_id.clone(),
                        email_address: id.clone(),
                    }),
                },
                _ => match (lifecycle.ecommerce_customers, &ctx.config.store) {
                    (EcomCustomerRemoval::Delete, Some(store)) => {
                        Some(Operation::DeleteEcomCustomer {
                            store_id: store.id.clone(),
                            customer_id: id.clone(),
                        })
                    }
                    _ => None,
                },
            };
            let Some(op) = op else {
                let setting = match kind {
                    ObjectKind::Members => "left alone (lifecycle.members = \"leave\")",
                    _ => "kept (lifecycle.ecommerce_customers = \"keep\")",
                };
                expected(&mut example, setting.into());
                report.departed.add(example, keep);
                continue;
            };
            let action = match &op {
                Operation::ArchiveMember { .. } => "lifecycle.members = \"archive\"",
                Operation::DeleteMemberPermanently { .. } => {
                    "lifecycle.members = \"delete_permanent\""
                }
                _ => "lifecycle.ecommerce_customers = \"delete\"",
            };
            example.note = Some(format!("still present although {customer} ({action})"));
            report.to_remove.add(example, keep);
            to_remove.push((d, op));
        }
        if let Some(fixer) = fixer.as_deref_mut() {
            fixer.remove(kind, to_remove, report).await?;
        }
    }
    Ok(())
}

/// Members missing from Mailchimp whose remembered status blocks writes (forgotten, compliance
/// state): Mailchimp would refuse them, so they are not drift.
async fn remembered_blocks(
    ctx: &Context<'_>,
    kind: ObjectKind,
    step: &[Joined],
) -> Result<HashMap<String, MemberStatus>> {
    if kind != ObjectKind::Members {
        return Ok(HashMap::new());
    }
    let missing: Vec<String> = step
        .iter()
        .filter(|j| j.actual.is_none())
        .map(|j| j.expected.id.clone())
        .collect();
    if missing.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(ctx
        .state
        .member_statuses(&missing)
        .await?
        .into_iter()
        .filter(|(_, r)| r.status.blocks_push())
        .map(|(email, r)| (email, r.status))
        .collect())
}

/// Puts one record in its categories; returns it with the outcome of writing it when it needs
/// a write.
fn classify(
    ctx: &Context<'_>,
    joined: Joined,
    remembered: &HashMap<String, MemberStatus>,
    report: &mut KindReport,
) -> Option<(ExpectedRow, Outcome)> {
    let keep = ctx.examples;
    let Joined { expected, actual } = joined;
    let mut example = Example::new(&expected.id, Some(&expected.source_key));
    let Some(actual) = actual else {
        if let Some(status) = remembered.get(&expected.id) {
            example.status = Some(status.to_string());
            example.note = Some("remembered from an earlier write".into());
            report.blocked.add(example, keep);
            return None;
        }
        report.missing.add(example, keep);
        return Some((expected, Outcome::Created));
    };
    let status: Option<MemberStatus> = actual.status.as_deref().and_then(|s| s.parse().ok());
    example.status.clone_from(&actual.status);
    if status.is_some_and(blocks) {
        report.blocked.add(example, keep);
        return None;
    }
    if let Some(reason) = &actual.undecodable {
        // Present, but nothing can be compared: not missing (a fix is an update) and not equal.
        example.note = Some(format!("Mailchimp's record does not decode: {reason}"));
        report.unreadable.add(example, keep);
        return Some((expected, Outcome::Updated));
    }
    let intended: Option<StatusIfNew> = expected
        .intended
        .as_deref()
        .and_then(|s| serde_json::from_value(serde_json::Value::String(s.to_owned())).ok());
    let wrong_status = matches!((intended, status), (Some(i), Some(s)) if status_differs(i, s));
    if wrong_status {
        let mut e = example.clone();
        e.note = expected
            .intended
            .as_ref()
            .map(|i| format!("the connector intended {i}"));
        report.status_differs.add(e, keep);
    }
    let fields = diff(&expected.fields, &actual.fields);
    if fields.is_empty() {
        if !wrong_status {
            report.equal += 1;
        }
        return None;
    }
    example.fields = fields;
    report.different.add(example, keep);
    Some((expected, Outcome::Updated))
}
