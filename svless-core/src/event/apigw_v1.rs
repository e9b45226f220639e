//! API Gateway REST API proxy integrations (and HTTP API payload format 1.0).

use super::{
    DecodeError, Parts, Reply, RouteHint, build_uri, decode_body, join_query, path_from_template,
};
use crate::Context;
use crate::body::Request;
use crate::context::PayloadFormat;
use aws_lambda_events::apigw::ApiGatewayProxyRequest;

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
    let query = join_query(queries.iter(), true);
    let encoded_path: String = path
        .split('/')
        .map(|s| percent_encoding::utf8_percent_encode(s, super::SEGMENT).to_string())
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

    let request = Parts {
        method: event.http_method,
        uri,
        headers,
        body: decode_body(event.body, event.is_base64_encoded)?,
        context: ctx,
        hint,
    }
    .into_request();
    Ok((
        request,
        Reply {
            format: PayloadFormat::ApiGatewayV1,
            multi_value: true,
        },
    ))
}
