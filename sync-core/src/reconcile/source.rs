//! The QAD side: every customer or item read page by page, mapped with the forward sync's own
//! mapping (and hashed as it hashes), and spilled as the records Mailchimp should hold.

use std::collections::{BTreeMap, HashMap};

use qad_client::{Reader, Record};

use super::project::{customer_fields, member_fields, product_fields};
use super::report::KindReport;
use super::spill::{DepartedRow, ExpectedRow};
use super::Context;
use crate::error::{Result, SyncError};
use crate::hash::content_hash;
use crate::lifecycle::{EcomCustomerRemoval, Standing};
use crate::mapping::{
    check_email, current_customer_id, map_ecommerce_customer, map_member, map_product, SourceFields,
};
use crate::model::{normalize_email, ObjectKind};
use crate::operation::Operation;

/// What a page of QAD records should be in Mailchimp: the records expected, and the records of
/// customers that are not active (with lifecycle settings).
type PageRows = (Vec<ExpectedRow>, Vec<DepartedRow>);

/// Reads every record of `reader`, `page_size` at a time, calling `page` with each page's keys
/// and fields, and the target ids the id map holds for them under `mapped` (when given). With
/// `track`, the keys read are kept in the spill, so the keys the id map holds and QAD no longer
/// has can be found ([`gone`]).
async fn each_page<T, F>(
    ctx: &Context<'_>,
    reader: Reader<T>,
    mapped: Option<ObjectKind>,
    track: bool,
    mut page: F,
) -> Result<()>
where
    T: Record + serde::Serialize,
    F: FnMut(Vec<(String, SourceFields)>, &HashMap<String, String>) -> Result<PageRows>,
{
    let reader = reader.count(ctx.config.page_size);
    let mut offset = 0u64;
    loop {
        ctx.calls.count("qad browse_page");
        let read = reader
            .clone()
            .offset(offset)
            .send()
            .await
            .map_err(SyncError::qad)?;
        let next = read.next_offset();
        let records: Vec<(String, SourceFields)> = read
            .items
            .into_iter()
            .map(|r| (r.key(), SourceFields::of(&r)))
            .collect();
        let ids = match mapped {
            Some(kind) => {
                let keys: Vec<String> = records.iter().map(|(key, _)| key.clone()).collect();
                ctx.state.target_ids(kind, &keys).await?
            }
            None => HashMap::new(),
        };
        let keys: Vec<(String, String)> = match ctx.config.lifecycle.as_ref().filter(|_| track) {
            Some(lifecycle) => records
                .iter()
                .map(|(key, fields)| {
                    let standing = lifecycle.customer_states.standing(fields);
                    (key.clone(), standing.as_str().to_owned())
                })
                .collect(),
            None => Vec::new(),
        };
        let (rows, departed) = page(records, &ids)?;
        ctx.spill.put_expected(rows).await?;
        if track || !departed.is_empty() {
            ctx.spill.put_departed(departed, keys).await?;
        }
        match next {
            Some(n) => offset = n,
            None => return Ok(()),
        }
    }
}

fn op_text(op: &Operation) -> Result<String> {
    Ok(op.to_payload()?.to_string())
}

/// QAD customers → expected members and e-commerce customers (as configured).
pub(crate) async fn customers(
    ctx: &Context<'_>,
    kinds: &mut BTreeMap<ObjectKind, KindReport>,
) -> Result<()> {
    let config = ctx.config;
    let mapping = &config.mapping.customer;
    let store = config
        .store
        .as_ref()
        .filter(|_| config.ecommerce_customers)
        .map(|s| s.id.clone());
    let members = config.members;
    let mut not_mapped = (0u64, 0u64);
    let intended = mapping.status_if_new.to_client().as_str().to_owned();
    let mapped = store.as_ref().map(|_| ObjectKind::EcommerceCustomers);
    let lifecycle = config.lifecycle.as_ref();
    each_page(
        ctx,
        ctx.qad.customers(),
        mapped,
        lifecycle.is_some(),
        |records, ids| {
            let mut rows = Vec::with_capacity(records.len() * 2);
            let mut departed = Vec::new();
            for (key, fields) in records {
                // Not active under the lifecycle: the forward sync does not write it, the scan
                // removes it; what Mailchimp should (not) hold is checked apart.
                let standing =
                    lifecycle.map_or(Standing::Active, |l| l.customer_states.standing(&fields));
                if standing != Standing::Active {
                    let standing = standing.as_str().to_owned();
                    if members {
                        if let Some(email) = fields
                            .text(&mapping.email_field)
                            .and_then(|raw| check_email(&raw).ok())
                        {
                            departed.push(DepartedRow {
                                kind: ObjectKind::Members,
                                id: normalize_email(&email),
                                source_key: key.clone(),
                                standing: standing.clone(),
                            });
                        }
                    }
                    // Under the id written, else the id it would have.
                    let id = ids.get(&key).cloned().or_else(|| {
                        map_ecommerce_customer(&key, &fields, mapping)
                            .ok()
                            .map(|c| c.id)
                    });
                    if let Some(id) = id.filter(|_| store.is_some()) {
                        departed.push(DepartedRow {
                            kind: ObjectKind::EcommerceCustomers,
                            id,
                            source_key: key.clone(),
                            standing,
                        });
                    }
                    continue;
                }
                if members {
                    match map_member(&fields, mapping) {
                        Ok(member) => {
                            let record = member.record;
                            rows.push(ExpectedRow {
                                kind: ObjectKind::Members,
                                id: record.key(),
                                source_key: key.clone(),
                                fields: member_fields(&record.merge_fields),
                                intended: Some(intended.clone()),
                                rank: lifecycle.map_or_else(String::new, |l| {
                                    l.shared_email_owner.rank(&fields)
                                }),
                                hash: content_hash(&record)?.as_str().to_owned(),
                                op: op_text(&Operation::UpsertMember {
                                    list_id: config.list_id.clone(),
                                    member: record,
                                })?,
                            });
                        }
                        Err(_) => not_mapped.0 += 1,
                    }
                }
                if let Some(store_id) = &store {
                    match map_ecommerce_customer(&key, &fields, mapping).map(|mut customer| {
                        let current = ids.get(&key).map(String::as_str);
                        customer.id =
                            current_customer_id(&customer.id, &customer.email_address, current);
                        customer
                    }) {
                        Ok(customer) => rows.push(ExpectedRow {
                            kind: ObjectKind::EcommerceCustomers,
                            id: customer.id.clone(),
                            source_key: key.clone(),
                            fields: customer_fields(&customer.to_client()),
                            intended: None,
                            rank: String::new(),
                            hash: content_hash(&customer)?.as_str().to_owned(),
                            op: op_text(&Operation::UpsertEcomCustomer {
                                store_id: store_id.clone(),
                                customer,
                            })?,
                        }),
                        Err(_) => not_mapped.1 += 1,
                    }
                }
            }
            Ok((rows, departed))
        },
    )
    .await?;
    if members {
        kinds.entry(ObjectKind::Members).or_default().not_mapped += not_mapped.0;
    }
    if store.is_some() {
        kinds
            .entry(ObjectKind::EcommerceCustomers)
            .or_default()
            .not_mapped += not_mapped.1;
    }
    Ok(())
}

/// QAD items → expected products.
pub(crate) async fn items(
    ctx: &Context<'_>,
    store_id: &str,
    kinds: &mut BTreeMap<ObjectKind, KindReport>,
) -> Result<()> {
    let mapping = &ctx.config.mapping.item;
    let mut not_mapped = 0u64;
    each_page(ctx, ctx.qad.items(), None, false, |records, _| {
        let mut rows = Vec::with_capacity(records.len());
        for (key, fields) in records {
            match map_product(&key, &fields, mapping) {
                Ok(product) => rows.push(ExpectedRow {
                    kind: ObjectKind::Products,
                    id: product.id.clone(),
                    source_key: key,
                    fields: product_fields(&product.to_client()),
                    intended: None,
                    rank: String::new(),
                    hash: content_hash(&product)?.as_str().to_owned(),
                    op: op_text(&Operation::UpsertProduct {
                        store_id: store_id.to_owned(),
                        product,
                    })?,
                }),
                Err(_) => not_mapped += 1,
            }
        }
        Ok((rows, Vec::new()))
    })
    .await?;
    kinds.entry(ObjectKind::Products).or_default().not_mapped += not_mapped;
    Ok(())
}

/// Id-map entries walked at a time when looking for customers gone from QAD.
const ID_MAP_PAGE: u32 = 500;

/// With lifecycle settings, after the customers were read in full: what the id map holds for
/// customers that are not active, or that QAD no longer has (standing `gone`), is departed too,
/// as the lifecycle scan sees it (its address may differ from the one QAD holds now). Members
/// always; e-commerce customers when the lifecycle deletes them.
pub(crate) async fn departed(ctx: &Context<'_>) -> Result<()> {
    let Some(lifecycle) = ctx.config.lifecycle.as_ref() else {
        return Ok(());
    };
    let mut kinds = Vec::new();
    if ctx.config.members {
        kinds.push(ObjectKind::Members);
    }
    if ctx.config.ecommerce_customers
        && ctx.config.store.is_some()
        && lifecycle.ecommerce_customers == EcomCustomerRemoval::Delete
    {
        kinds.push(ObjectKind::EcommerceCustomers);
    }
    for kind in kinds {
        let mut after: Option<String> = None;
        loop {
            let page = ctx
                .state
                .id_map_page(kind, after.as_deref(), ID_MAP_PAGE)
                .await?;
            let Some(last) = page.last() else { break };
            after = Some(last.source_key.clone());
            // A member's id-map page also lists its tag set (`{address}#tags`): not a customer.
            let entries: HashMap<String, String> = page
                .into_iter()
                .filter(|m| kind != ObjectKind::Members || check_email(&m.target_id).is_ok())
                .map(|m| (m.source_key, m.target_id))
                .collect();
            let standings = ctx
                .spill
                .standings(entries.keys().cloned().collect())
                .await?;
            let rows = entries
                .into_iter()
                .filter_map(|(key, id)| {
                    let standing = match standings.get(&key).map(String::as_str) {
                        None => Standing::Gone.as_str(),
                        Some(standing) if standing == Standing::Active.as_str() => return None,
                        Some(standing) => standing,
                    }
                    .to_owned();
                    let id = if kind == ObjectKind::Members {
                        normalize_email(&id)
                    } else {
                        id
                    };
                    Some(DepartedRow {
                        kind,
                        id,
                        source_key: key,
                        standing,
                    })
                })
                .collect();
            ctx.spill.put_departed(rows, Vec::new()).await?;
        }
    }
    Ok(())
}
