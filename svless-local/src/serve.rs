//! The accept loop the loopback services share: HTTP/1 connections until shutdown, then a
//! graceful close (open requests finish, up to 10 s).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

pub(crate) async fn serve<F, Fut>(
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
        let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
        if upgrades {
            // An upgraded connection (a WebSocket) outlives the listener; its owner closes it.
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

/// A JSON answer of an AWS API (its content type names the protocol: JSON 1.0 or 1.1).
pub(crate) fn json_reply(
    status: u16,
    content_type: &'static str,
    body: &serde_json::Value,
) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::BAD_REQUEST);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    response
}
