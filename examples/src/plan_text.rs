//! A dry run's plan for a person: what the backfill costs, then per target kind the first
//! `--limit` planned writes with their field changes (old → new).

use std::fmt::Write as _;

use serde_json::Value;
use sync_core::plan::{FieldChange, Plan, PlannedAction, PlannedWrite};

/// Values longer than this are cut (the JSON plan has them whole).
const VALUE_CHARS: usize = 60;

/// The plan of one run, indented under its run summary; at most `limit` writes per kind.
#[must_use]
pub fn plan_text(plan: &Plan, limit: usize, store: Option<&str>) -> String {
    let mut out = String::new();
    if plan.marks_store_syncing {
        let _ = writeln!(
            out,
            "    backfill: the store {} would be marked is_syncing for the run, so Mailchimp fires no \
             automation (abandoned cart, first purchase) for what it writes; set back at its end",
            store.unwrap_or("(configured)")
        );
    } else if plan.backfill {
        let _ = writeln!(out, "    backfill: every record is read and written once");
    }
    if let Some(n) = plan.new_contacts {
        let _ = writeln!(
            out,
            "    contacts new to the audience: {n} (Mailchimp plans are priced and capped by contacts)"
        );
    }
    for (target, group) in &plan.targets {
        let total = group.entries.len() as u64 + group.omitted;
        let _ = writeln!(out, "    {target}: {total} planned write(s)");
        for entry in group.entries.iter().take(limit) {
            entry_line(entry, &mut out);
        }
        let unlisted = total.saturating_sub(group.entries.len().min(limit) as u64);
        if unlisted > 0 {
            let _ = writeln!(
                out,
                "      … {unlisted} more (raise --limit, or --json for the whole plan)"
            );
        }
    }
    out
}

fn entry_line(entry: &PlannedWrite, out: &mut String) {
    let action = match entry.action {
        PlannedAction::Create => "create",
        PlannedAction::Update => "update",
    };
    let changes: Vec<String> = entry.changes.iter().map(change_text).collect();
    let unknown = if entry.previous_known {
        ""
    } else {
        " (last written body no longer in the audit trail: new values only)"
    };
    let _ = writeln!(
        out,
        "      {action} {} → {}{unknown}: {}",
        entry.source_key,
        entry.target_id,
        if changes.is_empty() {
            "(no field change)".to_owned()
        } else {
            changes.join(", ")
        }
    );
}

fn change_text(change: &FieldChange) -> String {
    match (&change.old, &change.new) {
        (None, Some(new)) => format!("{} {}", change.field, value_text(new)),
        (Some(old), Some(new)) => {
            format!("{} {} → {}", change.field, value_text(old), value_text(new))
        }
        (Some(old), None) => format!("{} {} → (cleared)", change.field, value_text(old)),
        (None, None) => change.field.clone(),
    }
}

fn value_text(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= VALUE_CHARS {
        return text;
    }
    let cut: String = text.chars().take(VALUE_CHARS).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sync_core::plan::PlanGroup;
    use sync_core::TargetRecord;

    use super::*;

    fn write(key: &str, action: PlannedAction, changes: Vec<FieldChange>) -> PlannedWrite {
        PlannedWrite {
            source_key: key.into(),
            target_id: format!("{key}@northwind-mfg.com"),
            action,
            previous_known: true,
            changes,
        }
    }

    #[test]
    fn a_plan_shows_its_cost_and_each_change_old_to_new_up_to_the_limit() {
        let mut plan = Plan {
            backfill: true,
            marks_store_syncing: true,
            new_contacts: Some(2),
            ..Plan::default()
        };
        plan.targets.insert(
            TargetRecord::Member,
            PlanGroup {
                entries: vec![
                    write(
                        "C1",
                        PlannedAction::Update,
                        vec![FieldChange {
                            field: "merge_fields.ADDRESS.city".into(),
                            old: Some(json!("Paris")),
                            new: Some(json!("Lyon")),
                        }],
                    ),
                    write("C2", PlannedAction::Create, Vec::new()),
                ],
                omitted: 3,
            },
        );
        let text = plan_text(&plan, 1, Some("qad-eu"));
        assert!(
            text.contains("store qad-eu would be marked is_syncing"),
            "{text}"
        );
        assert!(text.contains("contacts new to the audience: 2"), "{text}");
        assert!(text.contains("member: 5 planned write(s)"), "{text}");
        assert!(
            text.contains(
                "update C1 → C1@northwind-mfg.com: merge_fields.ADDRESS.city \"Paris\" → \"Lyon\""
            ),
            "{text}"
        );
        assert!(!text.contains("C2"), "{text}");
        assert!(text.contains("… 4 more"), "{text}");
    }
}
