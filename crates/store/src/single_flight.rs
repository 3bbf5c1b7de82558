//! Identical requests in flight at the same time share one: the second caller waits for the
//! first's answer instead of sending the same request again. Nothing is kept once the request
//! is answered (this is not a cache): a request made after that is sent anew.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};

/// Requests in flight, by what they ask for.
pub(crate) struct SingleFlight<K, V> {
    in_flight: Mutex<HashMap<K, Shared<BoxFuture<'static, V>>>>,
}

impl<K, V> Default for SingleFlight<K, V> {
    fn default() -> Self {
        Self {
            in_flight: Mutex::new(HashMap::new()),
        }
    }
}

impl<K, V> fmt::Debug for SingleFlight<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.in_flight.lock().unwrap_or_else(PoisonError::into_inner).len();
        f.debug_struct("SingleFlight").field("in_flight", &count).finish()
    }
}

impl<K: Hash + Eq + Clone, V: Clone + Send + Sync + 'static> SingleFlight<K, V> {
    /// The answer to `request`: the one already in flight when there is one, else the one
    /// `send` starts. A caller that gives up (its future dropped) does not cancel the request
    /// for the others waiting on it.
    pub(crate) async fn run<F>(&self, request: K, send: impl FnOnce() -> F) -> V
    where
        F: Future<Output = V> + Send + 'static,
    {
        let shared = {
            let mut in_flight = self.lock();
            in_flight
                .entry(request.clone())
                .or_insert_with(|| send().boxed().shared())
                .clone()
        };
        let _forget = Forget {
            flights: self,
            request,
            shared: shared.clone(),
        };
        shared.await
    }

    /// Forgets the requests in flight that `matches`: callers already waiting on them still
    /// get their answers, later callers send the request anew. For writes: a read that starts
    /// after a write of its object must not be answered by a read sent before the write.
    pub(crate) fn forget(&self, matches: impl Fn(&K) -> bool) {
        self.lock().retain(|request, _| !matches(request));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Shared<BoxFuture<'static, V>>>> {
        // The map is consistent between statements: a panic elsewhere cannot leave it half done.
        self.in_flight.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Removes a request from the map when one of its callers is answered or gives up, so that
/// later requests are sent anew (unless a newer request of the same kind is in flight).
struct Forget<'a, K: Hash + Eq + Clone, V: Clone + Send + Sync + 'static> {
    flights: &'a SingleFlight<K, V>,
    request: K,
    shared: Shared<BoxFuture<'static, V>>,
}

impl<K: Hash + Eq + Clone, V: Clone + Send + Sync + 'static> Drop for Forget<'_, K, V> {
    fn drop(&mut self) {
        let mut in_flight = self.flights.lock();
        if in_flight.get(&self.request).is_some_and(|s| s.ptr_eq(&self.shared)) {
            in_flight.remove(&self.request);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::sync::Notify;

    use super::*;

    /// A request that counts how often it is sent and answers when `answer` is notified.
    fn request(
        sent: &Arc<AtomicUsize>,
        answer: &Arc<Notify>,
        value: u32,
    ) -> impl FnOnce() -> BoxFuture<'static, u32> + use<> {
        let (sent, answer) = (sent.clone(), answer.clone());
        move || {
            sent.fetch_add(1, Ordering::SeqCst);
            async move {
                answer.notified().await;
                value
            }
            .boxed()
        }
    }

    /// Answers the requests waiting on `answer`, once the callers joined with it have had
    /// their first poll.
    async fn answer_after_first_polls(answer: &Notify) {
        tokio::task::yield_now().await;
        answer.notify_waiters();
    }

    #[tokio::test]
    async fn identical_requests_in_flight_together_are_sent_once() {
        let flights = SingleFlight::<&str, u32>::default();
        let (sent, answer) = (Arc::new(AtomicUsize::new(0)), Arc::new(Notify::new()));
        let first = flights.run("a", request(&sent, &answer, 1));
        let second = flights.run("a", request(&sent, &answer, 2));
        let other = flights.run("b", request(&sent, &answer, 3));
        let (first, second, other, ()) = tokio::join!(first, second, other, answer_after_first_polls(&answer));
        assert_eq!(
            (first, second, other),
            (1, 1, 3),
            "the second waits for the first's answer"
        );
        assert_eq!(sent.load(Ordering::SeqCst), 2, "one request per kind");
        assert!(flights.lock().is_empty(), "answered requests are forgotten");

        let again = flights.run("a", request(&sent, &answer, 4));
        let (again, ()) = tokio::join!(again, answer_after_first_polls(&answer));
        assert_eq!(again, 4, "a request after the answer is sent anew");
        assert_eq!(sent.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_request_forgotten_is_sent_anew_while_the_first_is_still_in_flight() {
        let flights = SingleFlight::<&str, u32>::default();
        let (sent, answer) = (Arc::new(AtomicUsize::new(0)), Arc::new(Notify::new()));
        let mut before = Box::pin(flights.run("a", request(&sent, &answer, 1)));
        assert!(futures::poll!(before.as_mut()).is_pending());
        flights.forget(|request| *request == "a");
        let after = flights.run("a", request(&sent, &answer, 2));
        let (before, after, ()) = tokio::join!(before, after, answer_after_first_polls(&answer));
        assert_eq!(
            (before, after),
            (1, 2),
            "the later caller is not answered by the earlier request"
        );
        assert_eq!(sent.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_caller_giving_up_does_not_cancel_the_request_for_the_others() {
        let flights = SingleFlight::<&str, u32>::default();
        let (sent, answer) = (Arc::new(AtomicUsize::new(0)), Arc::new(Notify::new()));
        let mut first = Box::pin(flights.run("a", request(&sent, &answer, 1)));
        assert!(futures::poll!(first.as_mut()).is_pending());
        let second = flights.run("a", request(&sent, &answer, 2));
        let (second, ()) = tokio::join!(second, async {
            drop(first);
            answer_after_first_polls(&answer).await;
        });
        assert_eq!(second, 1, "the first caller's request answers the second");
        assert_eq!(sent.load(Ordering::SeqCst), 1);
        assert!(flights.lock().is_empty());
    }
}
