//! Application Load Balancer target groups.

use super::{DecodeError, Reply, RouteHint, build_uri, decode_body};
use crate::Context;
use crate::body::Request;
use crate::context::PayloadFormat;
use aws_lambda_events::alb::AlbTargetGroupRequest;

pub(crate) fn decode(payload: &[u8], mut ctx: Context) -> Result<(Request, Reply), DecodeError> {
    let event: AlbTargetGroupRequest =
        serde_json::from_slice(payload).map_err(|source| DecodeError::Malformed {
            format: "Application Load Balancer",
            source,
        })?;
    let path = event.path.unwrap_or_else(|| "/".to_owned());
    let multi_value = !event.multi_value_headers.is_empty();
    let queries = if multi_value {
        &event.multi_value_query_string_parameters
    } else {
        &event.query_string_parameters
    };
    // The load balancer passes query keys and values as the client sent them, still encoded.
    let mut query = String::new();
    for (key, value) in queries.iter() {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(key);
        query.push('=');
        query.push_str(value);
    }
    let uri = build_uri(&path, &query)?;
    let headers = if multi_value {
        event.multi_value_headers
    } else {
        event.headers
    };
    ctx.source_ip = headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|v| v.trim().to_owned());
    ctx.user_agent = headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    ctx.api_request_id = headers
        .get("x-amzn-trace-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    ctx.payload_format = PayloadFormat::Alb;

    let body = decode_body(event.body, event.is_base64_encoded)?;
    let mut request = Request::new(body);
    *request.method_mut() = event.http_method;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    request.extensions_mut().insert(ctx);
    request.extensions_mut().insert(RouteHint::default());
    Ok((
        request,
        Reply {
            format: PayloadFormat::Alb,
            multi_value,
        },
    ))
}
