//! The concurrency cap: never more requests in flight than configured.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use qad_client::{BrowseId, Client, Credentials};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A loopback HTTP server that counts requests in flight and holds each one
/// briefly, so that uncapped callers would overlap.
async fn counting_server() -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (in_flight, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (f, p) = (in_flight.clone(), peak.clone());
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let (f, p) = (f.clone(), p.clone());
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = socket.read(&mut buf).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buf[..n]);
                }
                let now = f.fetch_add(1, Ordering::SeqCst) + 1;
                p.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(30)).await;
                f.fetch_sub(1, Ordering::SeqCst);
                let body = r#"{"data":[],"auxillaryData":{"HasMoreParams":"false"}}"#;
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                socket.write_all(response.as_bytes()).await.unwrap();
            });
        }
    });
    (format!("http://{addr}/clouderp"), in_flight, peak)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requests_in_flight_never_exceed_the_cap() {
    let (url, in_flight, peak) = counting_server().await;
    let client = Client::builder()
        .tenant_url(url)
        .credentials(Credentials::basic("u", "p"))
        .max_concurrency(2)
        .build()
        .unwrap();
    let id: BrowseId = "urn:browse:mfg:cm007".parse().unwrap();
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let (client, id) = (client.clone(), id.clone());
            tokio::spawn(async move { client.browse(&id).send().await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(in_flight.load(Ordering::SeqCst), 0);
    assert_eq!(
        peak.load(Ordering::SeqCst),
        2,
        "eight callers, a cap of two"
    );
}
