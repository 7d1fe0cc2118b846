//! Page order for the one-call-each writes (e-commerce customer and product `PUT`s).
//!
//! Two pages have writes under way at once. If both sent their `PUT`s side by side they would
//! share the connection window evenly, finish together, and leave it empty while the next page's
//! member side was read, mapped and batch-subscribed (60–90 ms at 20 ms latency, measured in
//! `bench_forward`). Taking turns instead, a page starts its `PUT`s when the page before has
//! handed its last one to the window: the older page finishes first, its cursor commits sooner,
//! and the next page's member side is written while the younger page's `PUT`s fill the window.
//!
//! A page's turn passes when its last call is dispatched, or when its [`Turn`] is dropped (a
//! page that failed, was cancelled, or had nothing to send never holds up the next).

use tokio::sync::oneshot;

/// One page's place in the order: wait for the page before, then dispatch, then pass on.
#[derive(Debug)]
pub(crate) struct Turn {
    after: Option<oneshot::Receiver<()>>,
    passed: Option<oneshot::Sender<()>>,
}

impl Turn {
    /// A turn that waits for nothing and tells nobody (a page sent on its own).
    pub(crate) fn free() -> Self {
        Self {
            after: None,
            passed: None,
        }
    }

    /// Waits until the page before has dispatched its last call (or gave up its turn).
    pub(crate) async fn wait(&mut self) {
        if let Some(after) = self.after.take() {
            // An error is the page before dropping its turn: go ahead.
            let _ = after.await;
        }
    }

    /// Lets the next page start dispatching.
    pub(crate) fn pass(&mut self) {
        if let Some(passed) = self.passed.take() {
            let _ = passed.send(());
        }
    }
}

/// Hands out [`Turn`]s in page order.
#[derive(Debug, Default)]
pub(crate) struct Turns {
    last: Option<oneshot::Receiver<()>>,
}

impl Turns {
    /// The next page's turn: after every page handed out before it.
    pub(crate) fn next(&mut self) -> Turn {
        let (passed, next) = oneshot::channel();
        Turn {
            after: self.last.replace(next),
            passed: Some(passed),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_turn_waits_for_the_one_before_to_pass() {
        let mut turns = Turns::default();
        let mut first = turns.next();
        let mut second = turns.next();
        first.wait().await;
        let waiting = tokio::time::timeout(Duration::from_millis(20), second.wait()).await;
        assert!(
            waiting.is_err(),
            "the second page went before the first passed"
        );
        first.pass();
        second.wait().await;
    }

    #[tokio::test]
    async fn a_dropped_turn_lets_the_next_go() {
        let mut turns = Turns::default();
        let first = turns.next();
        let mut second = turns.next();
        let mut third = turns.next();
        drop(first);
        second.wait().await;
        second.pass();
        third.wait().await;
    }

    #[tokio::test]
    async fn a_free_turn_never_waits() {
        let mut turn = Turn::free();
        turn.wait().await;
        turn.pass();
    }
}
