//! API Gateway HTTP API payload format 2.0 (also Lambda function URLs).

use super::{DecodeError, Parts, Reply, RouteHint, build_uri, decode_body, path_from_template};
use crate::Context;
use crate::body::Request;
use crate::context::PayloadFormat;
use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use http::{HeaderValue, header};
use serde_json::{Map, Value};

pub(crate) fn decode(payload: &[u8], mut ctx: Context) -> Result<(Request, Reply), DecodeError> {
    let event: ApiGatewayV2httpRequest =
        serde_json::from_slice(payload).map_err(|source| DecodeError::Malformed {
            format: "API Gateway HTTP API (2.0)",
            source,
        })?;
    let rc = event.request_context;
    let raw_path = event
        .raw_path
        .or(rc.http.path)
        .unwrap_or_else(|| "/".to_owned());
    let query = event.raw_query_string.unwrap_or_default();
    let uri = build_uri(&raw_path, &query)?;

    let stage = rc.stage;
    let domain = rc.domain_name;
    let route_key = event.route_key.or(rc.route_key);
    let mut hint = RouteHint {
        params: event.path_parameters,
        ..RouteHint::default()
    };
    if let Some((method, template)) = route_key.as_deref().and_then(|k| k.split_once(' ')) {
        hint.route = Some((method.to_owned(), template.to_owned()));
        hint.api_path = path_from_template(template, &hint.params).unwrap_or_default();
    }
    if hint.api_path.is_empty() {
        // Left empty when the raw path is already API-relative: the router then reads the URI's
        // (the raw path escaped where it arrived decoded).
        let raw = uri.path();
        let stripped = strip_stage(raw, stage.as_deref(), domain.as_deref());
        if stripped.len() != raw.len() {
            hint.api_path = stripped.to_owned();
        }
    }

    let mut headers = event.headers;
    if let Some(cookies) = event.cookies.filter(|c| !c.is_empty()) {
        let joined = cookies.join("; ");
        let value = HeaderValue::try_from(joined).map_err(|_| {
            DecodeError::InvalidRequest("a cookie holds bytes a header cannot".into())
        })?;
        headers.insert(header::COOKIE, value);
    }

    let mut authorizer = Map::new();
    if let Some(auth) = rc.authorizer {
        if let Some(jwt) = auth.jwt {
            let mut j = Map::new();
            j.insert(
                "claims".into(),
                Value::Object(
                    jwt.claims
                        .into_iter()
                        .map(|(k, v)| (k, Value::String(v)))
                        .collect(),
                ),
            );
            j.insert(
                "scopes".into(),
                jwt.scopes.map(Value::from).unwrap_or(Value::Null),
            );
            authorizer.insert("jwt".into(), Value::Object(j));
        }
        if !auth.fields.is_empty() {
            authorizer.insert(
                "lambda".into(),
                Value::Object(auth.fields.into_iter().collect()),
            );
        }
        if let Some(iam) = auth.iam {
            authorizer.insert(
                "iam".into(),
                serde_json::to_value(iam).unwrap_or(Value::Null),
            );
        }
    }
    ctx.api_request_id = rc.request_id;
    ctx.stage = stage;
    ctx.domain_name = domain;
    ctx.source_ip = rc.http.source_ip;
    ctx.user_agent = rc.http.user_agent;
    ctx.authorizer = authorizer;
    ctx.payload_format = PayloadFormat::ApiGatewayV2;

    let request = Parts {
        method: rc.http.method,
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
            format: PayloadFormat::ApiGatewayV2,
            multi_value: false,
        },
    ))
}

/// Removes the stage from a raw path on the default `execute-api` endpoint of a named stage.
///
/// Custom domains map stages through API mappings and send no stage in the path, and the
/// `$default` stage has none either; only the default endpoint of a named stage adds it.
pub(crate) fn strip_stage<'p>(
    raw_path: &'p str,
    stage: Option<&str>,
    domain: Option<&str>,
) -> &'p str {
    let Some(stage) = stage.filter(|s| *s != "$default" && !s.is_empty()) else {
        return raw_path;
    };
    let on_default_endpoint = domain.is_none_or(|d| d.contains(".execute-api."));
    if !on_default_endpoint {
        return raw_path;
    }
    match raw_path
        .strip_prefix('/')
        .and_then(|p| p.strip_prefix(stage))
    {
        Some("") => "/",
        Some(rest) if rest.starts_with('/') => rest,
        _ => raw_path,
    }
}

#[cfg(test)]
mod tests {
    use super::strip_stage;

    #[test]
    fn stage_is_stripped_only_on_the_default_endpoint_of_a_named_stage() {
        let default = Some("abc123.execute-api.us-east-1.amazonaws.com");
        assert_eq!(strip_stage("/prod/todos", Some("prod"), default), "/todos");
        assert_eq!(strip_stage("/prod", Some("prod"), default), "/");
        assert_eq!(
            strip_stage("/production/x", Some("prod"), default),
            "/production/x"
        );
        assert_eq!(
            strip_stage("/prod/todos", Some("$default"), default),
            "/prod/todos"
        );
        assert_eq!(
            strip_stage("/prod/todos", Some("prod"), Some("api.example.com")),
            "/prod/todos"
        );
    }
}
