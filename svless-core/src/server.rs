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
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// API Gateway refuses payloads over 10 MB; the local server does the same.
const MAX_BODY: usize = 10 * 1024 * 1024;

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
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(accepted) => accepted,
                        Err(err) => {
                            tracing::warn!(error = %err, "accept failed");
                            continue;
                        }
                    };
                    let app = app.clone();
                    let service = hyper::service::service_fn(move |request| {
                        let app = app.clone();
                        async move { Ok::<_, Infallible>(handle(&app, request, peer).await) }
                    });
                    let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                    let connection = graceful.watch(connection);
                    tokio::spawn(async move {
                        if let Err(err) = connection.await {
                            tracing::debug!(error = %err, "connection closed with an error");
                        }
                    });
                }
                () = &mut shutdown => break,
            }
        }
        if tokio::time::timeout(Duration::from_secs(10), graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("some connections were still open after 10 s; closing them");
        }
        Ok(())
    }
}

async fn handle<S: Send + Sync + 'static>(
    app: &App<S>,
    request: hyper::Request<Incoming>,
    peer: SocketAddr,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return problem(413, "the request body is over 10 MB or was cut short"),
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
