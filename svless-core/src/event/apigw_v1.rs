//! API Gateway REST API proxy integrations (and HTTP API payload format 1.0).

use super::{DecodeError, QUERY, Reply, RouteHint, build_uri, decode_body, path_from_template};
use crate::Context;
use crate::body::Request;
use crate::context::PayloadFormat;
use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use percent_encoding::utf8_percent_encode;

pub(crate) fn decode(payload: &[u8], mut ctx: Context) -> Result<(Request, Reply), DecodeError> {
    let event: ApiGatewayProxyRequest =
        serde_json::from_slice(payload).map_err(|source| DecodeError::Malformed {
            format: "API Gateway REST API",
            source,
        })?;
    let rc = event.request_context;
    let path = event
        .path
        .or(rc.path.clone())
        .unwrap_or_else(|| "/".to_owned());

    let queries = if event.multi_value_query_string_parameters.is_empty() {
        &event.query_string_parameters
    } else {
        &event.multi_value_query_string_parameters
    };
    let mut query = String::new();
    for (key, value) in queries.iter() {
        if !query.is_empty() {
            query.push('&');
        }
        query.extend(utf8_percent_encode(key, QUERY));
        query.push('=');
        query.extend(utf8_percent_encode(value, QUERY));
    }
    let encoded_path: String = path
        .split('/')
        .map(|s| utf8_percent_encode(s, super::SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/");
    let uri = build_uri(&encoded_path, &query)?;

    let mut hint = RouteHint {
        params: event.path_parameters,
        ..RouteHint::default()
    };
    if let Some(resource) = event.resource.or(rc.resource_path.clone()) {
        hint.api_path = path_from_template(&resource, &hint.params).unwrap_or_default();
        hint.route = Some((event.http_method.as_str().to_owned(), resource));
    }
    if hint.api_path.is_empty() {
        hint.api_path = encoded_path;
    }

    let mut headers = event.multi_value_headers;
    for (name, value) in &event.headers {
        if !headers.contains_key(name) {
            headers.insert(name.clone(), value.clone());
        }
    }

    ctx.api_request_id = rc.request_id;
    ctx.stage = rc.stage;
    ctx.domain_name = rc.domain_name;
    ctx.source_ip = rc.identity.source_ip;
    ctx.user_agent = rc.identity.user_agent;
    ctx.authorizer = rc.authorizer.fields.into_iter().collect();
    ctx.payload_format = PayloadFormat::ApiGatewayV1;

    let body = decode_body(event.body, event.is_base64_encoded)?;
    let mut request = Request::new(body);
    *request.method_mut() = event.http_method;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    request.extensions_mut().insert(ctx);
    request.extensions_mut().insert(hint);
    Ok((
        request,
        Reply {
            format: PayloadFormat::ApiGatewayV1,
            multi_value: true,
        },
    ))
}
