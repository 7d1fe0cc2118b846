//! The Mailchimp side: the audience's members (1,000 a call, only the fields compared), the
//! store's customers and products, each page spilled as it arrives.

use mailchimp_client::ecommerce::StoreId;
use mailchimp_client::{ListId, UndecodedItem, MAX_PAGE_SIZE};

use super::project::{
    customer_fields, customer_input, member_fields, product_fields, product_input,
};
use super::spill::ActualRow;
use super::Context;
use crate::error::{Result, SyncError};
use crate::model::{normalize_email, ObjectKind};

/// The records of a page that did not decode, under the id each would be compared by (members:
/// the normalised address; others: the record's `id`), with the status when it is readable. One
/// without an id cannot be matched to anything and is only logged.
fn undecodable_rows(kind: ObjectKind, items: Vec<UndecodedItem>) -> Vec<ActualRow> {
    items
        .into_iter()
        .filter_map(|item| {
            let id = if kind == ObjectKind::Members {
                item.raw
                    .get("email_address")
                    .and_then(serde_json::Value::as_str)
                    .map(normalize_email)
            } else {
                item.id.clone()
            };
            let Some(id) = id else {
                tracing::warn!(
                    kind = kind.as_str(),
                    position = item.position,
                    reason = %item.reason,
                    "a Mailchimp record without an id did not decode; it cannot be compared"
                );
                return None;
            };
            let status = item
                .raw
                .get("status")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned);
            Some(ActualRow {
                kind,
                id,
                fields: Default::default(),
                status: status.filter(|_| kind == ObjectKind::Members),
                undecodable: Some(item.reason),
            })
        })
        .collect()
}

/// Whether a walk at `offset` after a page of `len` items out of `total` is over.
fn done(len: usize, offset: u64, total: u64) -> bool {
    len == 0 || offset >= total
}

/// Every member of the audience: address, status and merge fields. Returns how many.
pub(crate) async fn members(ctx: &Context<'_>) -> Result<u64> {
    let list = ListId::from(ctx.config.list_id.as_str());
    let mut offset = 0u64;
    let mut read = 0u64;
    loop {
        ctx.calls.count("mailchimp member_list get");
        let page = ctx
            .mailchimp
            .list(&list)
            .members()
            .list()
            .count(MAX_PAGE_SIZE)
            .offset(offset)
            .fields([
                "members.email_address",
                "members.status",
                "members.merge_fields",
                "total_items",
            ])
            .send()
            .await
            .map_err(SyncError::mailchimp)?;
        // Offsets count every record sent, decoded or not, so none is read twice.
        let len = page.len_sent();
        offset += len as u64;
        let total = page.total_items;
        let mut rows: Vec<ActualRow> = page
            .items
            .into_iter()
            .map(|m| ActualRow {
                kind: ObjectKind::Members,
                id: normalize_email(&m.email_address),
                fields: member_fields(&m.merge_fields),
                status: m.status.map(|s| s.as_str().to_owned()),
                undecodable: None,
            })
            .collect();
        rows.extend(undecodable_rows(ObjectKind::Members, page.undecoded));
        read += ctx.spill.put_actual(rows).await?;
        if done(len, offset, total) {
            return Ok(read);
        }
    }
}

/// Every e-commerce customer of the store. Returns how many.
pub(crate) async fn customers(ctx: &Context<'_>, store_id: &str) -> Result<u64> {
    let store = StoreId::from(store_id);
    let mut offset = 0u64;
    let mut read = 0u64;
    loop {
        ctx.calls.count("mailchimp ecommerce_customer_list get");
        let page = ctx
            .mailchimp
            .ecommerce()
            .store(&store)
            .customers()
            .list()
            .count(MAX_PAGE_SIZE)
            .offset(offset)
            .exclude_fields(["customers._links", "_links"])
            .send()
            .await
            .map_err(SyncError::mailchimp)?;
        let len = page.len_sent();
        offset += len as u64;
        let total = page.total_items;
        let mut rows: Vec<ActualRow> = page
            .items
            .iter()
            .map(|c| ActualRow {
                kind: ObjectKind::EcommerceCustomers,
                id: c.id.as_str().to_owned(),
                fields: customer_fields(&customer_input(c)),
                status: None,
                undecodable: None,
            })
            .collect();
        rows.extend(undecodable_rows(
            ObjectKind::EcommerceCustomers,
            page.undecoded,
        ));
        read += ctx.spill.put_actual(rows).await?;
        if done(len, offset, total) {
            return Ok(read);
        }
    }
}

/// Every product of the store, with its variants. Returns how many.
pub(crate) async fn products(ctx: &Context<'_>, store_id: &str) -> Result<u64> {
    let store = StoreId::from(store_id);
    let mut offset = 0u64;
    let mut read = 0u64;
    loop {
        ctx.calls.count("mailchimp product_list get");
        let page = ctx
            .mailchimp
            .ecommerce()
            .store(&store)
            .products()
            .list()
            .count(MAX_PAGE_SIZE)
            .offset(offset)
            .exclude_fields(["products._links", "products.variants._links", "_links"])
            .send()
            .await
            .map_err(SyncError::mailchimp)?;
        let len = page.len_sent();
        offset += len as u64;
        let total = page.total_items;
        let mut rows: Vec<ActualRow> = page
            .items
            .iter()
            .map(|p| ActualRow {
                kind: ObjectKind::Products,
                id: p.id.as_str().to_owned(),
                fields: product_fields(&product_input(p)),
                status: None,
                undecodable: None,
            })
            .collect();
        rows.extend(undecodable_rows(ObjectKind::Products, page.undecoded));
        read += ctx.spill.put_actual(rows).await?;
        if done(len, offset, total) {
            return Ok(read);
        }
    }
}
