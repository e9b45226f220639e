//! Application Load Balancer target groups.

use super::{DecodeError, Parts, Reply, RouteHint, build_uri, decode_body, join_query};
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
    let pairs = super::query_pairs(queries);
    let query = join_query(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())), false);
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

    let request = Parts {
        method: event.http_method,
        uri,
        headers,
        body: decode_body(event.body, event.is_base64_encoded)?,
        context: ctx,
        hint: RouteHint::default(),
    }
    .into_request();
    Ok((
        request,
        Reply {
            format: PayloadFormat::Alb,
            multi_value,
        },
    ))
}
