//! Entry points for the fuzz targets under `fuzz/` (and the property tests): the response
//! decoders that the client runs on every reply, reachable without a server. Hidden from the
//! documentation; not part of the supported API.

use reqwest::header::HeaderMap;
use reqwest::StatusCode;

use crate::client::Reply;
use crate::error::Result;
use crate::read::{decode, ReadConfig, Record};
use crate::{Customer, Item, SalesOrder, SalesOrderLine};

/// How one browse reply decoded: its rows, and for each record kind how many rows decoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecodedReply {
    /// Rows in the reply's row list.
    pub rows: usize,
    /// `HasMoreParams`, where the reply sent it.
    pub more: Option<bool>,
    /// Rows that decoded as a [`Customer`] with the default field map.
    pub customers: usize,
    /// Rows that decoded as an [`Item`].
    pub items: usize,
    /// Rows that decoded as a [`SalesOrder`].
    pub sales_orders: usize,
    /// Rows that decoded as a [`SalesOrderLine`].
    pub sales_order_lines: usize,
}

/// Runs a browse reply of `status` with `body` through the path a live page takes: the
/// error-envelope check (QAD reports failures at HTTP 200), the JSON parse, the row-list
/// envelope, then each row as every record type. A row that does not decode is counted out,
/// as the reader reports it per record.
///
/// ```
/// use qad_client::fuzzing::decode_browse_reply;
///
/// let decoded = decode_browse_reply(200, br#"{"data":[{"customerCode":"C1"}]}"#)?;
/// assert_eq!(decoded.rows, 1);
/// assert!(decode_browse_reply(200, br#"{"submitResult":{"success":false}}"#).is_err());
/// # Ok::<(), qad_client::Error>(())
/// ```
///
/// # Errors
///
/// The [`Error`](crate::Error) the client would return for the page: a rejection or API error
/// from the envelope check, or a decode error.
pub fn decode_browse_reply(status: u16, body: &[u8]) -> Result<DecodedReply> {
    let reply = Reply {
        status: StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        headers: HeaderMap::new(),
        body: body.to_vec(),
    };
    let reply = crate::response::check(reply)?;
    let (rows, more) = crate::browse::decode_envelope(reply.json("fuzz")?, "fuzz")?;
    let mut decoded = DecodedReply {
        rows: rows.len(),
        more,
        ..DecodedReply::default()
    };
    for row in rows {
        decoded.customers += decodes::<Customer>(&ReadConfig::default_customers(), &row);
        decoded.items += decodes::<Item>(&ReadConfig::default_items(), &row);
        decoded.sales_orders += decodes::<SalesOrder>(&ReadConfig::default_sales_orders(), &row);
        decoded.sales_order_lines +=
            decodes::<SalesOrderLine>(&ReadConfig::default_sales_order_lines(), &row);
    }
    Ok(decoded)
}

/// 1 when `row` decodes as `T` (its key and stamp computed), else 0 (its error formatted).
fn decodes<T: Record>(config: &ReadConfig, row: &crate::browse::Row) -> usize {
    match decode::<T>(config.fields(), row.clone()) {
        Ok(record) => {
            let _ = (record.key(), record.stamp());
            1
        }
        Err(err) => {
            let _ = err.to_string();
            0
        }
    }
}
