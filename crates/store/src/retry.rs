//! A second line of retries for idempotent operations that object_store does not retry itself:
//! it retries requests, but not a listing whose response body is cut off midway.

use std::future::Future;
use std::time::Duration;

/// Attempts of an idempotent operation, the first included.
const ATTEMPTS: u32 = 5;

/// Runs `operation` (which must be idempotent: a listing, a delete, a full overwrite) again
/// after a transient failure that object_store has not retried already, with exponential
/// backoff from 200 ms; permanent failures (not found, permission denied, precondition failed,
/// ...) and the last transient one are returned.
pub async fn retry_idempotent<T, F, Fut>(operation: F) -> Result<T, object_store::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, object_store::Error>>,
{
    retry_if(operation, |error| {
        is_transient(error) && !retried_by_object_store(error, false)
    })
    .await
}

/// Runs `operation` again while it fails with an error `retryable` accepts, up to
/// [`ATTEMPTS`] in all, with exponential backoff from 200 ms.
pub(crate) async fn retry_if<T, E, F, Fut>(mut operation: F, retryable: impl Fn(&E) -> bool) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut attempt = 1;
    loop {
        match operation().await {
            Err(error) if attempt < ATTEMPTS && retryable(&error) => {
                tokio::time::sleep(Duration::from_millis(200) * 2u32.pow(attempt - 1)).await;
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// Stores whose `Generic` errors are the local system's answer (a range past the end of a
/// file, a permission), not a network's: asking again only delays the error.
const LOCAL_STORES: [&str; 2] = ["LocalFileSystem", "InMemory"];

/// Whether an error may go away on its own: a `Generic` error of a remote store caused by a
/// transport failure (a connection refused or dropped, a timeout, a body cut off), which
/// object_store does not always ask again for. A server's answer with a status is not: a 416
/// (range not satisfiable) or a 400 says the same when asked again, and object_store has
/// already asked again after a 5xx, as often as its retry configuration allows.
pub(crate) fn is_transient(error: &object_store::Error) -> bool {
    matches!(error, object_store::Error::Generic { store, .. } if !LOCAL_STORES.contains(store))
        && transport_failure(error).is_some()
}

/// The first [`HttpError`](object_store::client::HttpError) among the causes of `error`:
/// object_store's error for a request that got no usable answer.
fn transport_failure<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a object_store::client::HttpError> {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if let Some(http) = error.downcast_ref::<object_store::client::HttpError>() {
            return Some(http);
        }
        cause = error.source();
    }
    None
}

/// Whether object_store's HTTP clients have already retried the failed request behind `error`,
/// as often as their retry configuration allows: they retry every request whose connection was
/// refused or dropped before an answer, and a GET (`is_get`) that timed out too. They do not
/// retry a transfer that breaks off while they read an error answer's body (a 404 cut short).
pub(crate) fn retried_by_object_store(error: &object_store::Error, is_get: bool) -> bool {
    use object_store::client::HttpErrorKind;
    transport_failure(error).is_some_and(|http| match http.kind() {
        HttpErrorKind::Connect | HttpErrorKind::Request => true,
        HttpErrorKind::Timeout => is_get,
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A transport failure of `kind` in a remote store.
    fn transport_error(kind: object_store::client::HttpErrorKind, message: &str) -> object_store::Error {
        object_store::Error::Generic {
            store: "test",
            source: Box::new(object_store::client::HttpError::new(
                kind,
                std::io::Error::other(message.to_string()),
            )),
        }
    }

    fn transient() -> object_store::Error {
        transport_error(
            object_store::client::HttpErrorKind::Interrupted,
            "response body cut off",
        )
    }

    #[test]
    fn only_remote_stores_fail_transiently() {
        let generic = |store| match transient() {
            object_store::Error::Generic { source, .. } => object_store::Error::Generic { store, source },
            other => other,
        };
        assert!(is_transient(&generic("S3")));
        assert!(!is_transient(&generic("LocalFileSystem")));
        assert!(!is_transient(&generic("InMemory")));
        // A transport failure deeper in the chain of causes, as object_store nests them.
        let nested = object_store::Error::Generic {
            store: "S3",
            source: Box::new(generic("S3")),
        };
        assert!(is_transient(&nested));
        // An error that is not a transport failure (what a server's status becomes).
        let answered = object_store::Error::Generic {
            store: "S3",
            source: "Server returned non-2xx status code: 416 Range Not Satisfiable".into(),
        };
        assert!(!is_transient(&answered));
        let missing = object_store::Error::NotFound {
            path: "a".into(),
            source: "gone".into(),
        };
        assert!(!is_transient(&missing));
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_retried_until_success() {
        let calls = AtomicU32::new(0);
        let result = retry_idempotent(|| async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0..=2 => Err(transient()),
                _ => Ok(42),
            }
        })
        .await;
        assert_eq!(result.unwrap(), 42);
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn failures_object_store_has_retried_are_not_retried_again() {
        let calls = AtomicU32::new(0);
        let result: Result<(), _> = retry_idempotent(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(transport_error(
                object_store::client::HttpErrorKind::Connect,
                "connection refused",
            ))
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_failures_and_exhausted_retries_are_returned() {
        let calls = AtomicU32::new(0);
        let result: Result<(), _> = retry_idempotent(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(object_store::Error::NotFound {
                path: "x".into(),
                source: "gone".into(),
            })
        })
        .await;
        assert!(matches!(result, Err(object_store::Error::NotFound { .. })));
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        calls.store(0, Ordering::SeqCst);
        let result: Result<(), _> = retry_idempotent(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(transient())
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), ATTEMPTS);
    }
}
