//! The page walk behind every browse stream: asks for pages as the
//! configured [`Behaviour`](crate::Behaviour) says, and checks each page
//! against what came before, so that a tenant behaving otherwise ends the
//! read with a typed error rather than losing or doubling rows.
//!
//! - A row (by key) that was on the previous page: [`Error::PageOverlap`].
//! - A short page with `HasMoreParams` `"true"`: with
//!   `paging.page_size_cap = "reported"` the served size becomes the page
//!   size, so the next page number is right whether the tenant offsets by
//!   the served or the requested size; with a silent cap it is
//!   [`Error::ShortPage`] (the tenant capped lower than configured).
//! - A short page without `HasMoreParams` after pages that carried it:
//!   [`Error::ShortPage`].
//! - Keys out of ascending order: the page says so
//!   ([`Page::in_key_order`]), and a warning is logged once when
//!   `order.key = "key"`, so a caller resuming by key can switch to its
//!   watermark.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use futures::stream::{self, BoxStream, StreamExt};

use crate::behaviour::{KeyOrder, PageSizeCap, PagingMode};
use crate::browse::{Browse, Page, Row};
use crate::error::{Error, Result};

struct Walk {
    browse: Browse,
    offset: u64,
    count: u32,
    page_no: u64,
    /// Keys of the previous page.
    previous: HashSet<String>,
    last_key: Option<String>,
    in_order: bool,
    reported_more: bool,
    /// Pages cut from a `first-only` tenant's single page.
    chunks: VecDeque<Page<Row>>,
    done: bool,
}

/// The checked pages of `browse`, decoded by `decode` and identified by
/// `key`; `keyed` says whether the keys are record keys (ordered) or mere
/// fingerprints.
pub(crate) fn pages<T, D, K>(
    browse: Browse,
    decode: D,
    key: K,
    keyed: bool,
) -> BoxStream<'static, Result<Page<T>>>
where
    T: Send + 'static,
    D: Fn(Row) -> Result<T> + Send + Sync + 'static,
    K: Fn(&T) -> String + Send + Sync + 'static,
{
    let walk = Walk {
        offset: browse.position().0,
        count: browse
            .client()
            .behaviour()
            .page_size_cap
            .clamp(browse.position().1),
        browse,
        page_no: 0,
        previous: HashSet::new(),
        last_key: None,
        in_order: true,
        reported_more: false,
        chunks: VecDeque::new(),
        done: false,
    };
    let funcs = Arc::new((decode, key));
    stream::try_unfold(walk, move |mut walk| {
        let funcs = funcs.clone();
        async move {
            let Some(raw) = walk.next_raw().await? else {
                return Ok(None);
            };
            let (decode, key) = &*funcs;
            let mut page = raw.try_map(decode)?;
            walk.check(&mut page, key, keyed)?;
            Ok(Some((page, walk)))
        }
    })
    .boxed()
}

impl Walk {
    fn short(&self, page: &Page<Row>, problem: &'static str) -> Error {
        Error::ShortPage {
            browse: self.browse.id().to_string(),
            page: self.page_no,
            served: page.served,
            asked: self.count,
            problem,
        }
    }

    async fn next_raw(&mut self) -> Result<Option<Page<Row>>> {
        if let Some(chunk) = self.chunks.pop_front() {
            return Ok(Some(chunk));
        }
        if self.done {
            return Ok(None);
        }
        let behaviour = self.browse.client().behaviour();
        if behaviour.paging_mode == PagingMode::FirstOnly {
            self.done = true;
            let page = self.browse.clone().offset(0).send().await?;
            self.cut(page.items);
            return Ok(self.chunks.pop_front());
        }
        let page = self.browse.fetch(self.offset, self.count).await?;
        self.page_no += 1;
        let mut next_count = self.count;
        if page.served == 0 || !page.has_more {
            self.done = true;
        }
        if page.served > 0 && page.served < self.count as usize {
            match (page.reported, behaviour.page_size_cap) {
                (Some(true), PageSizeCap::Reported) => {
                    let served = page.served as u64;
                    if !(self.offset + served).is_multiple_of(served) {
                        return Err(
                            self.short(&page, "the page size changed in the middle of the read")
                        );
                    }
                    next_count = page.served as u32;
                }
                (Some(true), _) => {
                    return Err(self.short(
                        &page,
                        "the tenant caps below the configured cap and says more follow",
                    ))
                }
                (None, _) if self.reported_more => {
                    return Err(self.short(
                        &page,
                        "HasMoreParams is missing after pages that carried it",
                    ))
                }
                _ => self.done = true,
            }
        }
        self.reported_more |= page.reported == Some(true);
        self.offset += page.served as u64;
        self.count = next_count;
        Ok(Some(page))
    }

    /// Cuts a `first-only` tenant's single page into pages of the count.
    fn cut(&mut self, mut items: Vec<Row>) {
        let size = self.count.max(1) as usize;
        let mut offset = 0u64;
        loop {
            let rest = if items.len() > size {
                items.split_off(size)
            } else {
                Vec::new()
            };
            let more = !rest.is_empty();
            let len = items.len() as u64;
            self.chunks
                .push_back(Page::new(items, offset, self.count, more));
            offset += len;
            if !more {
                break;
            }
            items = rest;
        }
    }

    fn check<T, K>(&mut self, page: &mut Page<T>, key: &K, keyed: bool) -> Result<()>
    where
        K: Fn(&T) -> String,
    {
        let keys: Vec<String> = page.items.iter().map(key).collect();
        if let Some(repeated) = keys.iter().find(|k| self.previous.contains(*k)) {
            return Err(Error::PageOverlap {
                browse: self.browse.id().to_string(),
                page: self.page_no.max(1),
                key: repeated.chars().take(120).collect(),
            });
        }
        if keyed {
            let was_in_order = self.in_order;
            for key in &keys {
                if self.last_key.as_ref().is_some_and(|last| key <= last) {
                    self.in_order = false;
                }
                self.last_key = Some(key.clone());
            }
            let relies_on_order = self.browse.client().behaviour().key_order == KeyOrder::Key;
            if was_in_order && !self.in_order && relies_on_order {
                tracing::warn!(
                    browse = %self.browse.id(),
                    "browse keys arrive out of order (order.key = \"key\" expects key order); \
                     resume after the last key is unsafe for this read"
                );
            }
        }
        page.in_key_order = self.in_order;
        self.previous = keys.into_iter().collect();
        Ok(())
    }
}
