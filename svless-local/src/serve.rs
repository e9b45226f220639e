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
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

/// How long a connection may take to send a request's headers, or stay idle between requests,
/// before it is closed: a client that stalls or trickles its headers does not hold a
/// connection (and its task) for ever.
pub(crate) const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

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
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .serve_connection(TokioIo::new(stream), service);
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    async fn start() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("the bound address");
        tokio::spawn(serve(
            listener,
            std::future::pending(),
            "test",
            false,
            |_, _| async { hyper::Response::new(Full::new(Bytes::from_static(b"served"))) },
        ));
        addr
    }

    /// Reads until the server closes the connection, or gives up after `limit`: whether it was
    /// closed, and what it sent.
    async fn until_closed(stream: &mut TcpStream, limit: Duration) -> (bool, String) {
        let mut received = Vec::new();
        match tokio::time::timeout(limit, stream.read_to_end(&mut received)).await {
            Err(_) => (false, String::from_utf8_lossy(&received).into_owned()),
            Ok(_) => (true, String::from_utf8_lossy(&received).into_owned()),
        }
    }

    // Paused time: the clock jumps to the next timer whenever nothing else can run.
    #[tokio::test(start_paused = true)]
    async fn a_client_that_stalls_in_its_headers_is_cut_off_and_others_are_served() {
        let addr = start().await;
        let mut stalled = TcpStream::connect(addr).await.expect("connect");
        stalled
            .write_all(b"GET /a HTTP/1.1\r\nHost: local")
            .await
            .expect("write");
        let started = tokio::time::Instant::now();
        let (closed, _) = until_closed(&mut stalled, HEADER_READ_TIMEOUT * 3).await;
        assert!(
            closed,
            "a connection stalled in its headers was still open after 90 s"
        );
        assert!(started.elapsed() >= HEADER_READ_TIMEOUT);

        let mut whole = TcpStream::connect(addr).await.expect("connect");
        whole
            .write_all(b"GET /a HTTP/1.1\r\nHost: local\r\nConnection: close\r\n\r\n")
            .await
            .expect("write");
        let (closed, answer) = until_closed(&mut whole, HEADER_READ_TIMEOUT / 2).await;
        assert!(closed, "a whole request was not answered: {answer}");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("served"), "{answer}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_keep_alive_connection_is_closed_after_the_timeout() {
        let addr = start().await;
        let mut idle = TcpStream::connect(addr).await.expect("connect");
        idle.write_all(b"GET /a HTTP/1.1\r\nHost: local\r\n\r\n")
            .await
            .expect("write");
        let started = tokio::time::Instant::now();
        let (closed, answer) = until_closed(&mut idle, HEADER_READ_TIMEOUT * 3).await;
        assert!(closed, "an idle connection was still open after 90 s");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(started.elapsed() >= HEADER_READ_TIMEOUT);
    }
}
