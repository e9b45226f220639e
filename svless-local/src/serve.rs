//! What the loopback services share: the accept loop (`svless_core::server::serve_connections`)
//! and the JSON answers of the AWS APIs they stand in for.

use bytes::Bytes;
use http_body_util::Full;

pub(crate) use svless_core::server::serve_connections as serve;

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
