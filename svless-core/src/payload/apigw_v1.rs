//! API Gateway REST API proxy integrations (and HTTP API payload format 1.0).

use super::{
    DecodeError, Parts, Reply, RouteHint, build_uri, decode_body, join_query, path_from_template,
};
use crate::Context;
use crate::body::Request;
use crate::context::PayloadFormat;
use aws_lambda_events::apigw::ApiGatewayProxyRequest;

/// `http_api`: the payload is an HTTP API's format 1.0 (`"version": "1.0"`), not a REST API's.
pub(crate) fn decode(
    payload: &[u8],
    mut ctx: Context,
    http_api: bool,
) -> Result<(Request, Reply), DecodeError> {
    let event: ApiGatewayProxyRequest =
        serde_json::from_slice(payload).map_err(|source| DecodeError::Malformed {
            format: "API Gateway REST API",
            source,
        })?;
    let rc = event.request_context;
    // The classifier knows when `version` came before `requestContext` (as API Gateway orders
    // members); REST events always carry a `resourceId`, HTTP API 1.0 events a null one.
    let http_api = http_api || rc.resource_id.is_none();
    let path = event
        .path
        .or(rc.path.clone())
        .unwrap_or_else(|| "/".to_owned());

    let queries = if event.multi_value_query_string_parameters.is_empty() {
        &event.query_string_parameters
    } else {
        &event.multi_value_query_string_parameters
    };
    let pairs = super::query_pairs(queries);
    let query = join_query(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())), true);
    // REST APIs deliver `path` percent-encoded (used as it is); HTTP APIs (payload format 1.0,
    // `"version": "1.0"`) deliver it decoded and, on the default endpoint of a named stage, with
    // the stage in front. `build_uri` takes either.
    let uri = build_uri(&path, &query)?;

    let mut hint = RouteHint {
        params: event.path_parameters,
        ..RouteHint::default()
    };
    // `resource` is the matched template (`/items/{id}`); an HTTP API's `$default` route and
    // other non-template values route by path.
    let resource = event
        .resource
        .or(rc.resource_path.clone())
        .filter(|r| r.starts_with('/'));
    if let Some(resource) = resource {
        // A greedy `{proxy+}` value comes decoded (`a%2Fb` as `a/b`): rebuilding the path from it
        // would move the slash, so the path as delivered is matched instead.
        if !resource.contains("+}") {
            hint.api_path = path_from_template(&resource, &hint.params).unwrap_or_default();
        }
        hint.route = Some((event.http_method.as_str().to_owned(), resource));
    }
    if hint.api_path.is_empty() && http_api {
        let raw = uri.path();
        let stripped =
            super::apigw_v2::strip_stage(raw, rc.stage.as_deref(), rc.domain_name.as_deref());
        if stripped.len() != raw.len() {
            hint.api_path = stripped.to_owned();
        }
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
