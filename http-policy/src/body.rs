//! Reading a response body with a size cap, so a hostile or broken server (a proxy's endless
//! page, a 50 MB reply) cannot make a client hold more than it agreed to.

use futures::{Stream, StreamExt};

/// The default cap of [`read_limited`]'s callers: 64 MiB, far above any page either API
/// serves (a Mailchimp page of 1,000 members, a QAD page of 500 rows are a few MB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Why [`read_limited`] stopped.
#[derive(Debug)]
pub enum BodyError<E> {
    /// The body (or its `Content-Length`) exceeds the cap; what was read is dropped.
    TooLarge {
        /// The cap, in bytes.
        limit: usize,
    },
    /// The stream failed.
    Stream(E),
}

/// Collects `chunks` into one buffer, refusing as soon as the total would pass `limit` bytes.
/// A `content_length` announced by the server above `limit` is refused before anything is read.
///
/// ```
/// use http_policy::{read_limited, BodyError};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let chunks = || futures::stream::iter([Ok::<_, ()>(vec![1u8; 6]), Ok(vec![2u8; 6])]);
/// assert_eq!(read_limited(chunks(), None, 12).await.unwrap().len(), 12);
/// assert!(matches!(
///     read_limited(chunks(), None, 11).await,
///     Err(BodyError::TooLarge { limit: 11 })
/// ));
/// assert!(matches!(
///     read_limited(chunks(), Some(1 << 30), 1 << 20).await,
///     Err(BodyError::TooLarge { .. })
/// ));
/// # }
/// ```
///
/// # Errors
///
/// [`BodyError::TooLarge`] past the cap, [`BodyError::Stream`] when a chunk fails.
pub async fn read_limited<S, B, E>(
    chunks: S,
    content_length: Option<u64>,
    limit: usize,
) -> Result<Vec<u8>, BodyError<E>>
where
    S: Stream<Item = Result<B, E>>,
    B: AsRef<[u8]>,
{
    if content_length.is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    let capacity = content_length.map_or(0, |n| usize::try_from(n).unwrap_or(limit));
    let mut body = Vec::with_capacity(capacity.min(limit));
    let mut chunks = std::pin::pin!(chunks);
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(BodyError::Stream)?;
        let chunk = chunk.as_ref();
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        body.extend_from_slice(chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::{read_limited, BodyError};

    #[tokio::test]
    async fn a_failing_chunk_is_reported_and_an_empty_body_is_empty() {
        let failing = futures::stream::iter([Ok(vec![1u8]), Err("reset")]);
        assert!(matches!(
            read_limited(failing, None, 10).await,
            Err(BodyError::Stream("reset"))
        ));
        let empty = futures::stream::iter(Vec::<Result<Vec<u8>, ()>>::new());
        assert!(read_limited(empty, Some(0), 10).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_body_exactly_at_the_cap_passes_and_one_byte_more_does_not() {
        let at = futures::stream::iter([Ok::<_, ()>(vec![0u8; 10])]);
        assert_eq!(read_limited(at, Some(10), 10).await.unwrap().len(), 10);
        let over = futures::stream::iter([Ok::<_, ()>(vec![0u8; 10]), Ok(vec![0u8])]);
        assert!(matches!(
            read_limited(over, None, 10).await,
            Err(BodyError::TooLarge { limit: 10 })
        ));
    }
}
