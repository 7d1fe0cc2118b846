//! The QAD side: every customer or item read page by page, mapped with the forward sync's own
//! mapping (and hashed as it hashes), and spilled as the records Mailchimp should hold.

use std::collections::{BTreeMap, HashMap};

use qad_client::{Reader, Record};

use super::project::{customer_fields, member_fields, product_fields};
use super::report::KindReport;
use super::spill::ExpectedRow;
use super::Context;
use crate::error::{Result, SyncError};
use crate::hash::content_hash;
use crate::mapping::{
    current_customer_id, map_ecommerce_customer, map_member, map_product, SourceFields,
};
use crate::model::{ObjectKind, TargetSystem};
use crate::operation::Operation;

/// Reads every record of `reader`, `page_size` at a time, calling `page` with each page's keys
/// and fields, and the target ids the id map holds for them under `mapped` (when given).
async fn each_page<T, F>(
    ctx: &Context<'_>,
    reader: Reader<T>,
    mapped: Option<ObjectKind>,
    mut page: F,
) -> Result<()>
where
    T: Record + serde::Serialize,
    F: FnMut(Vec<(String, SourceFields)>, &HashMap<String, String>) -> Result<Vec<ExpectedRow>>,
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
            .map_err(|source| SyncError::Client {
                system: TargetSystem::Qad,
                source: Box::new(source),
            })?;
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
        let rows = page(records, &ids)?;
        ctx.spill.put_expected(rows).await?;
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
    each_page(ctx, ctx.qad.customers(), mapped, |records, ids| {
        let mut rows = Vec::with_capacity(records.len() * 2);
        for (key, fields) in records {
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
        Ok(rows)
    })
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
    each_page(ctx, ctx.qad.items(), None, |records, _| {
        let mut rows = Vec::with_capacity(records.len());
        for (key, fields) in records {
            match map_product(&key, &fields, mapping) {
                Ok(product) => rows.push(ExpectedRow {
                    kind: ObjectKind::Products,
                    id: product.id.clone(),
                    source_key: key,
                    fields: product_fields(&product.to_client()),
                    intended: None,
                    hash: content_hash(&product)?.as_str().to_owned(),
                    op: op_text(&Operation::UpsertProduct {
                        store_id: store_id.to_owned(),
                        product,
                    })?,
                }),
                Err(_) => not_mapped += 1,
            }
        }
        Ok(rows)
    })
    .await?;
    kinds.entry(ObjectKind::Products).or_default().not_mapped += not_mapped;
    Ok(())
}
