//! Serving an app on a local port: real HTTP in, API Gateway HTTP API events through
//! [`App::dispatch`], real HTTP out.

use crate::app::App;
use crate::context::Context;
use crate::error::BoxError;
use crate::local::{self, HttpRequest};
use crate::response::IntoResponse as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// API Gateway refuses payloads over 10 MB; the local server does the same.
const MAX_BODY: usize = 10 * 1024 * 1024;

/// How long a connection may take to send a request's headers, or stay idle between requests,
/// before [`serve_connections`] closes it.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a request's body may take to arrive once its headers have ([`read_body`]).
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

impl<S: Send + Sync + 'static> App<S> {
    /// Serves the app over HTTP on `addr` until Ctrl-C, then lets open requests finish.
    ///
    /// Each request becomes an API Gateway HTTP API (2.0) event — or a REST API event, see
    /// [`App::local_format`] — and takes the same path through [`App::dispatch`] as on Lambda.
    ///
    /// ```no_run
    /// # async fn doc() -> Result<(), svless_core::BoxError> {
    /// async fn hello() -> &'static str { "hello" }
    /// svless_core::App::new().route_fn("GET", "/", hello).serve(([127, 0, 0, 1], 3000).into()).await
    /// # }
    /// ```
    pub async fn serve(self, addr: SocketAddr) -> Result<(), BoxError> {
        let listener = TcpListener::bind(addr).await?;
        tracing::info!(address = %listener.local_addr()?, "serving");
        self.serve_listener(listener, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
    }

    /// Serves the app on a bound listener until `shutdown` completes.
    ///
    /// ```no_run
    /// # async fn doc() -> Result<(), svless_core::BoxError> {
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    /// let server = tokio::spawn(svless_core::App::new().serve_listener(listener, async { let _ = stopped.await; }));
    /// let _ = stop.send(());
    /// # Ok(()) }
    /// ```
    pub async fn serve_listener(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), BoxError> {
        Arc::new(self).serve_shared(listener, shutdown).await
    }

    /// [`serve_listener`](Self::serve_listener) for an app shared with other servers (a local
    /// cloud hands the same app to its gateway, its event deliveries and its workflows).
    ///
    /// ```no_run
    /// # async fn doc() -> Result<(), svless_core::BoxError> {
    /// use std::sync::Arc;
    /// let app = Arc::new(svless_core::App::new());
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// app.clone().serve_shared(listener, std::future::pending()).await
    /// # }
    /// ```
    pub async fn serve_shared(
        self: Arc<Self>,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), BoxError> {
        self.check()?;
        let app = self;
        serve_connections(listener, shutdown, "HTTP", false, move |request, peer| {
            let app = app.clone();
            async move { handle(&app, request, peer).await }
        })
        .await;
        Ok(())
    }
}

/// Serves HTTP/1 connections from `listener` with `answer` until `shutdown` completes, then
/// lets open requests finish (up to 10 s): the accept loop of [`App::serve`] and of every
/// loopback service of the local cloud.
///
/// A connection that takes over 30 s to send a request's headers, or stays idle that long
/// between requests, is closed, so a client that stalls or trickles does not hold a connection
/// (and its task) for ever. With `upgrades`, a connection may be upgraded (a WebSocket); it then
/// outlives the listener and its owner closes it. `what` names the service in logs.
///
/// ```no_run
/// # async fn doc() -> std::io::Result<()> {
/// use bytes::Bytes;
/// use http_body_util::Full;
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// svless_core::server::serve_connections(listener, std::future::pending(), "demo", false, |_, _| async {
///     hyper::Response::new(Full::new(Bytes::from_static(b"hello")))
/// })
/// .await;
/// # Ok(()) }
/// ```
pub async fn serve_connections<F, Fut>(
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
    what: &'static str,
    upgrades: bool,
    answer: F,
) where
    F: Fn(hyper::Request<Incoming>, SocketAddr) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = hyper::Response<Full<Bytes>>> + Send + 'static,
{
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    tracing::warn!(error = %err, service = what, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let answer = answer.clone();
        let service = hyper::service::service_fn(move |request| {
            let answer = answer.clone();
            async move { Ok::<_, Infallible>(answer(request, peer).await) }
        });
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .serve_connection(TokioIo::new(stream), service);
        if upgrades {
            tokio::spawn(async move {
                if let Err(err) = connection.with_upgrades().await {
                    tracing::debug!(error = %err, service = what, "a connection ended");
                }
            });
        } else {
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                if let Err(err) = connection.await {
                    tracing::debug!(error = %err, service = what, "a connection ended");
                }
            });
        }
    }
    if tokio::time::timeout(Duration::from_secs(10), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            service = what,
            "connections still open after 10 s were closed"
        );
    }
}

/// Why a request's body could not be read whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    /// Over the limit, or cut short by the client.
    TooLarge,
    /// Not all there 30 s after the headers: the client stalled.
    Stalled,
}

/// A request's whole body, up to `limit` bytes and 30 s after its headers.
///
/// ```no_run
/// # async fn doc(request: hyper::Request<hyper::body::Incoming>) {
/// use svless_core::server::{BodyError, read_body};
/// match read_body(request.into_body(), 1024).await {
///     Ok(bytes) => println!("{} bytes", bytes.len()),
///     Err(BodyError::TooLarge) => println!("413"),
///     Err(BodyError::Stalled) => println!("408"),
/// }
/// # }
/// ```
pub async fn read_body(body: Incoming, limit: usize) -> Result<Bytes, BodyError> {
    match tokio::time::timeout(BODY_READ_TIMEOUT, Limited::new(body, limit).collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(_)) => Err(BodyError::TooLarge),
        Err(_) => Err(BodyError::Stalled),
    }
}

async fn handle<S: Send + Sync + 'static>(
    app: &App<S>,
    request: hyper::Request<Incoming>,
    peer: SocketAddr,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = match read_body(body, MAX_BODY).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => {
            return problem(413, "the request body is over 10 MB or was cut short");
        }
        Err(BodyError::Stalled) => {
            return problem(408, "the request body did not arrive within 30 s");
        }
    };
    let path = parts.uri.path();
    let query = parts.uri.query().unwrap_or("");
    let request = HttpRequest::new(parts.method.as_str(), path, query)
        .headers(&parts.headers)
        .body(body.to_vec())
        .source_ip(peer.ip().to_string());
    let payload = match local::encode_event(&request, app.local_payload_format()) {
        Ok(payload) => payload,
        Err(err) => return problem(400, &err.to_string()),
    };
    let out = match app.dispatch(&payload, Context::local()).await {
        Ok(out) => out,
        Err(err) => return problem(400, &err.to_string()),
    };
    let decoded = local::decode_response(&out);
    let mut response = hyper::Response::new(Full::new(decoded.body));
    *response.status_mut() = decoded.status;
    *response.headers_mut() = decoded.headers;
    response
}

/// A problem answer of the local host itself (a request that never reached the app).
fn problem(status: u16, detail: &str) -> hyper::Response<Full<Bytes>> {
    let status = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_REQUEST);
    let rendered = crate::Error::new(status)
        .with_detail(detail)
        .into_response();
    let (parts, body) = rendered.into_parts();
    let bytes = body.into_bytes();
    let mut response = hyper::Response::new(Full::new(bytes));
    *response.status_mut() = parts.status;
    *response.headers_mut() = parts.headers;
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    async fn hello() -> &'static str {
        "hello"
    }

    /// Serves `app` on a loopback port until the test ends.
    async fn start(app: App) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("the bound address");
        tokio::spawn(app.serve_listener(listener, std::future::pending()));
        addr
    }

    // Paused time: the clock jumps to the next timer whenever nothing else can run.
    #[tokio::test(start_paused = true)]
    async fn a_client_that_stalls_in_its_headers_is_cut_off_and_others_are_served() {
        let addr = start(App::new().route_fn("GET", "/hello", hello)).await;

        let mut stalled = TcpStream::connect(addr).await.expect("connect");
        stalled
            .write_all(b"GET /hello HTTP/1.1\r\nHost: local")
            .await
            .expect("write");
        let started = tokio::time::Instant::now();
        let mut ignored = Vec::new();
        let read =
            tokio::time::timeout(HEADER_READ_TIMEOUT * 3, stalled.read_to_end(&mut ignored)).await;
        assert!(
            read.is_ok(),
            "a stalled connection was still open after 90 s"
        );
        assert!(started.elapsed() >= HEADER_READ_TIMEOUT);

        let mut whole = TcpStream::connect(addr).await.expect("connect");
        whole
            .write_all(b"GET /hello HTTP/1.1\r\nHost: local\r\nConnection: close\r\n\r\n")
            .await
            .expect("write");
        let mut answer = Vec::new();
        let read =
            tokio::time::timeout(HEADER_READ_TIMEOUT / 2, whole.read_to_end(&mut answer)).await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(read.is_ok(), "a whole request was not answered: {answer}");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("hello"), "{answer}");
    }

    async fn echo(body: String) -> String {
        body
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_stalls_is_a_408_problem() {
        let addr = start(App::new().route_fn("POST", "/echo", echo)).await;

        let mut stalled = TcpStream::connect(addr).await.expect("connect");
        stalled
            .write_all(b"POST /echo HTTP/1.1\r\nHost: local\r\nContent-Length: 10\r\n\r\nabc")
            .await
            .expect("write");
        let started = tokio::time::Instant::now();
        let mut answer = Vec::new();
        let read = tokio::time::timeout(BODY_READ_TIMEOUT * 3, stalled.read_to_end(&mut answer));
        assert!(
            read.await.is_ok(),
            "a stalled body was still waited for after 90 s"
        );
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("application/problem+json"), "{answer}");
        assert!(started.elapsed() >= BODY_READ_TIMEOUT);
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_keep_alive_connection_is_closed_after_the_timeout() {
        let addr = start(App::new().route_fn("GET", "/hello", hello)).await;

        let mut idle = TcpStream::connect(addr).await.expect("connect");
        idle.write_all(b"GET /hello HTTP/1.1\r\nHost: local\r\n\r\n")
            .await
            .expect("write");
        let started = tokio::time::Instant::now();
        let mut answer = Vec::new();
        let read = tokio::time::timeout(HEADER_READ_TIMEOUT * 3, idle.read_to_end(&mut answer));
        assert!(
            read.await.is_ok(),
            "an idle connection was still open after 90 s"
        );
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(started.elapsed() >= HEADER_READ_TIMEOUT);
    }
}
