//! Serving a fake on `127.0.0.1` with an OS-assigned port.
//!
//! [`FakeServer::start`] binds a loopback listener, serves an [`axum::Router`] on it in a background task,
//! and hands back a handle with the [`base_url`](FakeServer::base_url). Dropping the handle, or calling
//! [`shutdown`](FakeServer::shutdown), stops the server gracefully: idle connections close, and requests
//! held back by injected latency are released at once.
//!
//! Every accepted connection carries a [`ConnectionInfo`] (as axum's
//! [`ConnectInfo`](axum::extract::ConnectInfo)), which middleware uses to drop the connection without a
//! response ([`ConnectionInfo::drop_connection`]) and to cut waits short on shutdown
//! ([`ConnectionInfo::shutdown_signal`]).
//!
//! ```
//! use axum::{routing::get, Router};
//! use testkit::server::FakeServer;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let router = Router::new().route("/hello", get(|| async { "hi" }));
//! let server = FakeServer::start(router).await?;
//! assert!(server.base_url().starts_with("http://127.0.0.1:"));
//! server.shutdown().await?;
//! # Ok(())
//! # }
//! ```

use std::{
    io,
    net::{Ipv4Addr, SocketAddr},
    pin::Pin,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    task::{Context, Poll},
};

use axum::{
    extract::{connect_info::Connected, MatchedPath, Request},
    serve::IncomingStream,
    Router,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};
use tokio_util::sync::CancellationToken;

/// The route pattern recorded for requests that matched no route.
pub const UNMATCHED_ROUTE: &str = "<unmatched>";

/// The axum route pattern a request matched (e.g. `/3.0/lists/{list_id}`), or [`UNMATCHED_ROUTE`].
///
/// Available in middleware added with [`Router::layer`], which runs after routing.
pub fn route_pattern(request: &Request) -> String {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED_ROUTE.to_owned(), |p| p.as_str().to_owned())
}

/// A running fake server on loopback.
///
/// Stops gracefully when dropped; [`shutdown`](Self::shutdown) also waits for the server task to end.
#[derive(Debug)]
pub struct FakeServer {
    addr: SocketAddr,
    stop: CancellationToken,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl FakeServer {
    /// Serves `router` on `127.0.0.1` with a port chosen by the operating system.
    ///
    /// # Errors
    ///
    /// Returns the I/O error if the listener cannot be bound.
    pub async fn start(router: Router) -> io::Result<Self> {
        Self::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), router).await
    }

    /// Serves `router` on the given address (port 0 lets the operating system choose).
    ///
    /// # Errors
    ///
    /// Returns the I/O error if the listener cannot be bound.
    pub async fn bind(addr: SocketAddr, router: Router) -> io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let stop = CancellationToken::new();
        let listener = KillableListener {
            inner: listener,
            stop: stop.clone(),
        };
        let service = router.into_make_service_with_connect_info::<ConnectionInfo>();
        let signal = stop.clone().cancelled_owned();
        let task = tokio::spawn(async move {
            axum::serve(listener, service)
                .with_graceful_shutdown(signal)
                .await
        });
        Ok(Self {
            addr,
            stop,
            task: Some(task),
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's root URL, without a trailing slash, e.g. `http://127.0.0.1:41234`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections, finishes in-flight requests (cutting injected delays short) and waits
    /// for the server task to end.
    ///
    /// # Errors
    ///
    /// Returns the I/O error the server ended with, or an error if its task panicked.
    pub async fn shutdown(mut self) -> io::Result<()> {
        self.stop.cancel();
        match self.task.take() {
            Some(task) => task.await.map_err(io::Error::other)?,
            None => Ok(()),
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Per-connection information given to handlers and middleware as axum's
/// [`ConnectInfo<ConnectionInfo>`](axum::extract::ConnectInfo).
#[derive(Clone, Debug)]
pub struct ConnectionInfo {
    remote: SocketAddr,
    killed: Arc<AtomicBool>,
    stop: CancellationToken,
}

impl ConnectionInfo {
    /// The client's address.
    pub fn remote_addr(&self) -> SocketAddr {
        self.remote
    }

    /// Makes the connection fail: every later read or write on it errors, so the server closes it and
    /// the client sees a transport error instead of a response.
    pub fn drop_connection(&self) {
        self.killed.store(true, Ordering::SeqCst);
    }

    /// A token cancelled when the server shuts down; long waits should race it.
    pub fn shutdown_signal(&self) -> &CancellationToken {
        &self.stop
    }
}

impl Connected<IncomingStream<'_, KillableListener>> for ConnectionInfo {
    fn connect_info(stream: IncomingStream<'_, KillableListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A TCP listener whose connections can be killed from middleware.
#[derive(Debug)]
pub struct KillableListener {
    inner: TcpListener,
    stop: CancellationToken,
}

impl axum::serve::Listener for KillableListener {
    type Io = KillableStream;
    type Addr = ConnectionInfo;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, remote)) => {
                    let killed = Arc::new(AtomicBool::new(false));
                    let info = ConnectionInfo {
                        remote,
                        killed: killed.clone(),
                        stop: self.stop.clone(),
                    };
                    return (
                        KillableStream {
                            inner: stream,
                            killed,
                        },
                        info,
                    );
                }
                // Resource exhaustion (too many open files) is transient: back off briefly, as axum does.
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(ConnectionInfo {
            remote: self.inner.local_addr()?,
            killed: Arc::new(AtomicBool::new(false)),
            stop: self.stop.clone(),
        })
    }
}

/// A TCP stream that fails every read and write once its connection has been dropped.
#[derive(Debug)]
pub struct KillableStream {
    inner: TcpStream,
    killed: Arc<AtomicBool>,
}

impl KillableStream {
    fn check(&self) -> io::Result<()> {
        if self.killed.load(Ordering::SeqCst) {
            Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "connection dropped by fault injection",
            ))
        } else {
            Ok(())
        }
    }
}

impl AsyncRead for KillableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
