//! GETs over HTTP against a scripted server: a body cut off in transit is asked for again, a
//! server's answer with an error status (416 range not satisfiable) is not, and fails at once;
//! a request that gets no answer is retried by object_store alone, not again on top; an error
//! answer whose body is cut off (which object_store does not retry) is asked for again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use imzarr_store::{ReadRange, StoreLocation, ZarrsObjectStore, retry_config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Requests received, by path.
type Log = Arc<Mutex<HashMap<String, usize>>>;

/// Answers one request on `socket` after the script for its path and how often it was asked.
async fn answer(mut socket: TcpStream, log: Log) {
    let mut request = Vec::new();
    let mut buffer = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buffer[..n]),
        }
    }
    let text = String::from_utf8_lossy(&request);
    let path = text.split_whitespace().nth(1).unwrap_or_default().to_string();
    let asked = {
        let mut log = log.lock().unwrap();
        let count = log.entry(path.clone()).or_insert(0);
        *count += 1;
        *count
    };
    // A ranged request (always of the whole of the 10 bytes here) gets 206 and its range.
    let ranged = text.to_ascii_lowercase().contains("range: bytes=0-9");
    let reply: &[u8] = match (path.as_str(), asked) {
        ("/store/cut", 1) if ranged => {
            b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/10\r\nContent-Length: 10\r\nConnection: close\r\n\r\n01234"
        }
        ("/store/cut", _) if ranged => {
            b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/10\r\nContent-Length: 10\r\nConnection: close\r\n\r\n0123456789"
        }
        ("/store/cut", 1) => b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\n01234",
        ("/store/cut", _) => b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\n0123456789",
        ("/store/hang-up", _) => return,
        ("/store/missing-cut", 1) => {
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 40\r\nConnection: close\r\n\r\n<Error><Code>NoSuchKey"
        }
        ("/store/past-the-end", _) => {
            b"HTTP/1.1 416 Range Not Satisfiable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        }
        _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    };
    let _ = socket.write_all(reply).await;
    let _ = socket.shutdown().await;
}

/// An adapter over `http://127.0.0.1:<port>/store` served by the script, and its log.
async fn scripted_store() -> (ZarrsObjectStore, Log) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let log = Log::default();
    let served = log.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(answer(socket, served.clone()));
        }
    });
    let location = StoreLocation::from_url(&format!("http://127.0.0.1:{port}/store"), false).unwrap();
    (ZarrsObjectStore::new(location), log)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_cut_off_in_transit_is_asked_for_again() {
    let (store, log) = scripted_store().await;
    let bytes = store.read("cut", ReadRange::All).await.unwrap();
    assert_eq!(bytes.as_deref(), Some(&b"0123456789"[..]));
    assert_eq!(log.lock().unwrap()["/store/cut"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_status_fails_at_once() {
    let (store, log) = scripted_store().await;
    let started = Instant::now();
    let error = store
        .read("past-the-end", ReadRange::Bounded(100..200))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("416"), "{error}");
    assert_eq!(log.lock().unwrap()["/store/past-the-end"], 1, "asked once");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "no backoff: {:?}",
        started.elapsed()
    );
    assert_eq!(store.read("missing", ReadRange::All).await.unwrap(), None);
    assert_eq!(log.lock().unwrap()["/store/missing"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_without_an_answer_is_retried_by_object_store_alone() {
    let (store, log) = scripted_store().await;
    let error = store.read("hang-up", ReadRange::All).await.unwrap_err().to_string();
    assert!(error.contains("hang-up"), "the error names the object: {error}");
    // object_store's own retries (15-18 s of backoff); with ours stacked on top this was 5x.
    assert_eq!(log.lock().unwrap()["/store/hang-up"], retry_config().max_retries + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_answer_cut_off_in_transit_is_asked_for_again() {
    let (store, log) = scripted_store().await;
    assert_eq!(store.read("missing-cut", ReadRange::All).await.unwrap(), None);
    assert_eq!(log.lock().unwrap()["/store/missing-cut"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranges_of_inputs_are_asked_for_again_when_their_body_is_cut_off() {
    let (store, log) = scripted_store().await;
    let location = store.location();
    let path = location.path_of("cut");
    let bytes = imzarr_store::read_object_range(location.store.as_ref(), &path, 0..10)
        .await
        .unwrap();
    assert_eq!(&bytes[..], b"0123456789");
    assert_eq!(log.lock().unwrap()["/store/cut"], 2);
}
