//! Lambda payloads: telling an invocation's source from the payload's first members
//! (classifying it), decoding the HTTP formats (API Gateway REST and HTTP APIs, function URLs,
//! load balancers) into requests, and encoding responses back.
//!
//! Each payload is decoded once, straight into its own `aws_lambda_events` type, after a cheap
//! look at the few members that tell the formats apart (`version`, `requestContext.elb`,
//! `httpMethod`). Nothing is decoded twice and no format is tried after another fails.

impl From<DecodeError> for crate::NamedError {
    fn from(err: DecodeError) -> Self {
        crate::NamedError::new(err.error_type(), err.to_string())
    }
}

pub(crate) mod alb;
pub(crate) mod apigw_v1;
pub(crate) mod apigw_v2;
mod encode;

use crate::Context;
use crate::body::{Request, Response};
use crate::context::PayloadFormat;
use crate::source::SourceKind;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;

/// Why a payload could not be turned into a request.
///
/// ```
/// assert_eq!(svless_core::payload::DecodeError::UnknownSource.error_type(), "Svless.UnknownEventSource");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The payload is not JSON, or not of the shape of the format it claims.
    #[error("the {format} payload is malformed: {source}")]
    Malformed {
        /// The format the payload was recognised as.
        format: &'static str,
        /// What serde said.
        #[source]
        source: serde_json::Error,
    },
    /// The payload is JSON but of no event source this app handles.
    #[error(
        "the payload is of no event source this app handles (expected an API Gateway REST or HTTP API, function URL or ALB request)"
    )]
    UnknownSource,
    /// The request inside the payload is invalid (an unparsable path, bad base64 body, ...).
    #[error("the request is invalid: {0}")]
    InvalidRequest(String),
}

impl DecodeError {
    /// The `errorType` svless reports for this error.
    ///
    /// ```
    /// assert_eq!(svless_core::payload::DecodeError::UnknownSource.error_type(), "Svless.UnknownEventSource");
    /// ```
    pub fn error_type(&self) -> &'static str {
        match self {
            DecodeError::Malformed { .. } => "Svless.MalformedEvent",
            DecodeError::UnknownSource => "Svless.UnknownEventSource",
            DecodeError::InvalidRequest(_) => "Svless.InvalidRequest",
        }
    }
}

/// Reads top-level members in order and stops as soon as one tells the format apart:
/// `version` (HTTP APIs put it first), or `requestContext` (whose members differ per source).
/// Only the prefix of the payload up to that member is read; the typed decode reads it all.
struct Classify<'a>(&'a mut Option<Kind>);

/// The kind of invocation a payload is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An HTTP request in one of the payload formats.
    Http(PayloadFormat),
    /// An HTTP API request in payload format 1.0 (`"version": "1.0"`): the REST shape, with the
    /// path decoded and a named stage in front of it.
    HttpApiV1,
    /// An event of another source (S3, DynamoDB Streams, SQS, EventBridge — S3 events delivered
    /// through EventBridge among them —, WebSocket), handed to its source.
    Event(crate::source::SourceKind),
}

/// Reads the `eventSource` of the first record of `Records`, then stops.
struct FirstRecordSource<'a>(&'a mut Option<Kind>);

#[derive(Deserialize)]
struct RecordProbe {
    #[serde(rename = "eventSource", default)]
    event_source: Option<String>,
}

impl<'de> DeserializeSeed<'de> for FirstRecordSource<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for FirstRecordSource<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if let Some(probe) = seq.next_element::<RecordProbe>()? {
            *self.0 = match probe.event_source.as_deref() {
                Some("aws:s3") => Some(Kind::Event(SourceKind::S3)),
                Some("aws:dynamodb") => Some(Kind::Event(SourceKind::DynamoDbStreams)),
                Some("aws:sqs") => Some(Kind::Event(SourceKind::Sqs)),
                Some("aws:kinesis") => Some(Kind::Event(SourceKind::Kinesis)),
                _ => None,
            };
        }
        Err(de::Error::custom(DECIDED))
    }
}

/// Members of `requestContext` that tell the sources apart.
#[derive(Deserialize)]
struct ProbeContext {
    #[serde(default)]
    elb: Option<IgnoredAny>,
    #[serde(rename = "connectionId", default)]
    connection_id: Option<IgnoredAny>,
    #[serde(default)]
    http: Option<IgnoredAny>,
    #[serde(rename = "resourcePath", default)]
    resource_path: Option<IgnoredAny>,
    #[serde(rename = "httpMethod", default)]
    http_method: Option<IgnoredAny>,
}

/// The sentinel that stops the probe once the format is known; never shown to anyone.
const DECIDED: &str = "svless: payload format decided";

impl<'de> DeserializeSeed<'de> for Classify<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Classify<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a Lambda event object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut http_method = false;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "version" => {
                    let version: Cow<'de, str> = map.next_value()?;
                    *self.0 = match version.as_ref() {
                        "2.0" => Some(Kind::Http(PayloadFormat::ApiGatewayV2)),
                        "1.0" => Some(Kind::HttpApiV1),
                        // EventBridge's envelope version.
                        "0" => Some(Kind::Event(SourceKind::EventBridge)),
                        _ => None,
                    };
                    return Err(de::Error::custom(DECIDED));
                }
                "requestContext" => {
                    let ctx: Option<ProbeContext> = map.next_value()?;
                    let Some(ctx) = ctx else { continue };
                    *self.0 = if ctx.connection_id.is_some() {
                        Some(Kind::Event(SourceKind::WebSocket))
                    } else if ctx.elb.is_some() {
                        Some(Kind::Http(PayloadFormat::Alb))
                    } else if ctx.http.is_some() {
                        Some(Kind::Http(PayloadFormat::ApiGatewayV2))
                    } else if ctx.resource_path.is_some() || ctx.http_method.is_some() {
                        Some(Kind::Http(PayloadFormat::ApiGatewayV1))
                    } else {
                        continue;
                    };
                    return Err(de::Error::custom(DECIDED));
                }
                "Records" => {
                    map.next_value_seed(FirstRecordSource(self.0))?;
                    return Err(de::Error::custom(DECIDED));
                }
                "detail-type" => {
                    *self.0 = Some(Kind::Event(SourceKind::EventBridge));
                    return Err(de::Error::custom(DECIDED));
                }
                "httpMethod" => {
                    http_method = true;
                    map.next_value::<IgnoredAny>()?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if http_method {
            *self.0 = Some(Kind::Http(PayloadFormat::ApiGatewayV1));
        }
        Ok(())
    }
}

/// How to encode the response to a decoded request: the format it came in, and its options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reply {
    pub(crate) format: PayloadFormat,
    /// ALB target groups with multi-value headers enabled expect `multiValueHeaders` back.
    pub(crate) multi_value: bool,
}

/// What API Gateway already decided about the route, when it routed the request itself.
#[derive(Debug, Clone, Default)]
pub(crate) struct RouteHint {
    /// The matched route template, such as `/todos/{id}`, with its method (`ANY` included).
    pub(crate) route: Option<(String, String)>,
    /// The path parameters API Gateway extracted.
    pub(crate) params: std::collections::HashMap<String, String>,
    /// The path relative to the API (stage and base path removed), for matching; empty when
    /// the request URI's path is that path already.
    pub(crate) api_path: String,
}

/// Which format a payload is in, read from its distinguishing members only.
pub(crate) fn classify(payload: &[u8]) -> Result<Kind, DecodeError> {
    let mut format = None;
    let mut de = serde_json::Deserializer::from_slice(payload);
    let probed = Classify(&mut format).deserialize(&mut de);
    match (format, probed) {
        (Some(format), _) => Ok(format),
        (None, Ok(())) => Err(DecodeError::UnknownSource),
        (None, Err(source)) if source.to_string().starts_with(DECIDED) => {
            Err(DecodeError::UnknownSource)
        }
        (None, Err(source)) => Err(DecodeError::Malformed {
            format: "Lambda",
            source,
        }),
    }
}

/// The API Gateway request id of an HTTP payload (`requestContext.requestId`), if it has one.
pub(crate) fn request_id(payload: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(rename = "requestContext")]
        request_context: Option<ProbeRequestId>,
    }
    #[derive(Deserialize)]
    struct ProbeRequestId {
        #[serde(rename = "requestId")]
        request_id: Option<String>,
    }
    serde_json::from_slice::<Probe>(payload)
        .ok()?
        .request_context?
        .request_id
}

/// Decodes an HTTP payload of a known format into a request and says how to answer it.
pub(crate) fn decode(
    payload: &[u8],
    format: PayloadFormat,
    lambda: Context,
) -> Result<(Request, Reply), DecodeError> {
    match format {
        PayloadFormat::ApiGatewayV2 => apigw_v2::decode(payload, lambda),
        PayloadFormat::ApiGatewayV1 => apigw_v1::decode(payload, lambda, false),
        PayloadFormat::Alb => alb::decode(payload, lambda),
    }
}

/// Decodes an HTTP API payload of format 1.0.
pub(crate) fn decode_http_api_v1(
    payload: &[u8],
    lambda: Context,
) -> Result<(Request, Reply), DecodeError> {
    apigw_v1::decode(payload, lambda, true)
}

/// Encodes a response in the format its request came in.
pub(crate) fn encode(response: Response, reply: Reply) -> Vec<u8> {
    encode::encode(response, reply)
}

pub(crate) fn decode_body(
    body: Option<String>,
    base64_encoded: bool,
) -> Result<crate::Body, DecodeError> {
    use base64::Engine as _;
    match body {
        None => Ok(crate::Body::empty()),
        Some(body) if base64_encoded => base64::engine::general_purpose::STANDARD
            .decode(body.as_bytes())
            .map(crate::Body::from)
            .map_err(|e| DecodeError::InvalidRequest(format!("the body is not valid base64: {e}"))),
        Some(body) => Ok(crate::Body::from(body)),
    }
}

/// The parts every HTTP source decodes into, assembled into one request.
pub(crate) struct Parts {
    pub(crate) method: http::Method,
    pub(crate) uri: http::Uri,
    pub(crate) headers: http::HeaderMap,
    pub(crate) body: crate::Body,
    pub(crate) context: Context,
    pub(crate) hint: RouteHint,
}

impl Parts {
    pub(crate) fn into_request(mut self) -> Request {
        join_cookies(&mut self.headers);
        let mut request = Request::new(self.body);
        *request.method_mut() = self.method;
        *request.uri_mut() = self.uri;
        *request.headers_mut() = self.headers;
        request
            .extensions_mut()
            .insert(std::sync::Arc::new(self.context));
        request.extensions_mut().insert(self.hint);
        request
    }
}

/// Gives handlers one `Cookie` header whatever the source (RFC 6265 §5.4: a user agent sends
/// one, its pairs joined with `; `): load balancers with multi-value headers and REST APIs can
/// deliver several `cookie` values, HTTP APIs a `cookies` list.
fn join_cookies(headers: &mut http::HeaderMap) {
    let mut values = headers.get_all(http::header::COOKIE).iter();
    let (Some(_), Some(_)) = (values.next(), values.next()) else {
        return;
    };
    let mut joined = Vec::new();
    for value in headers.get_all(http::header::COOKIE) {
        let value = value.as_bytes().trim_ascii();
        if value.is_empty() {
            continue;
        }
        if !joined.is_empty() {
            joined.extend_from_slice(b"; ");
        }
        joined.extend_from_slice(value);
    }
    // Joined header values of a valid header map are a valid value again.
    if let Ok(value) = http::HeaderValue::from_bytes(&joined) {
        headers.insert(http::header::COOKIE, value);
    }
}

/// Every (key, value) of a decoded query map, each value of each key.
///
/// `QueryMap::iter` indexes into a key's values without checking that there are any, so a
/// payload with `"multiValueQueryStringParameters": {"a": []}` panics it; the map's serialized
/// form is its entries, which are read instead. A key without values contributes nothing.
pub(crate) fn query_pairs(map: &aws_lambda_events::query_map::QueryMap) -> Vec<(String, String)> {
    if map.is_empty() {
        return Vec::new();
    }
    let Ok(serde_json::Value::Object(entries)) = serde_json::to_value(map) else {
        return Vec::new();
    };
    let mut pairs = Vec::new();
    for (key, values) in entries {
        if let serde_json::Value::Array(values) = values {
            for value in values {
                if let serde_json::Value::String(value) = value {
                    pairs.push((key.clone(), value));
                }
            }
        }
    }
    pairs
}

/// Joins query pairs into a query string; `encode` percent-encodes keys and values that
/// arrive decoded (API Gateway), and leaves alone those that arrive encoded (the load balancer).
///
/// The sources deliver these pairs as a map, whose order is not the request's; they are joined
/// in key order (a key's values in the order they came), so the same request always gives the
/// same URI.
pub(crate) fn join_query<'a>(
    pairs: impl Iterator<Item = (&'a str, &'a str)>,
    encode: bool,
) -> String {
    let mut pairs: Vec<(&str, &str)> = pairs.collect();
    if pairs.len() < 2 {
        return join_sorted(&pairs, encode);
    }
    pairs.sort_by_key(|(key, _)| *key);
    join_sorted(&pairs, encode)
}

fn join_sorted(pairs: &[(&str, &str)], encode: bool) -> String {
    let mut query = String::new();
    for &(key, value) in pairs {
        if !query.is_empty() {
            query.push('&');
        }
        if encode {
            query.extend(percent_encoding::utf8_percent_encode(key, QUERY));
            query.push('=');
            query.extend(percent_encoding::utf8_percent_encode(value, QUERY));
        } else {
            query.push_str(key);
            query.push('=');
            query.push_str(value);
        }
    }
    query
}

/// Builds the request URI from a path and a query string as a source delivered them.
///
/// REST APIs, function URLs and load balancers deliver the path percent-encoded, HTTP APIs
/// percent-*decoded* (a space stays a space). Characters that can never stand literally in an
/// encoded path (spaces, controls, non-ASCII, `"<>\^`{|}`, a `#` or `?`, a `%` that starts no
/// escape) are escaped; everything else is kept as it is, so an encoded path is never
/// encoded twice and a decoded one never fails.
pub(crate) fn build_uri(path: &str, query: &str) -> Result<http::Uri, DecodeError> {
    let path = if path.is_empty() { "/" } else { path };
    let escaped = escape(path, PATH_UNSAFE);
    let target = match (path.starts_with('/'), query.is_empty()) {
        (true, true) => escaped.into_owned(),
        (true, false) => format!("{escaped}?{}", escape(query, QUERY_UNSAFE)),
        (false, true) => format!("/{escaped}"),
        (false, false) => format!("/{escaped}?{}", escape(query, QUERY_UNSAFE)),
    };
    http::Uri::try_from(target).map_err(|e| {
        DecodeError::InvalidRequest(format!("the path `{path}` is not a valid URI path: {e}"))
    })
}

/// Bytes escaped in a path that may arrive encoded or decoded (see [`build_uri`]).
const PATH_UNSAFE: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Bytes escaped in a query string that may arrive encoded or decoded.
const QUERY_UNSAFE: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Escapes the bytes of `set` (and non-ASCII), and a `%` that does not start an escape; borrows
/// the text when there is nothing to escape (the common case).
fn escape<'t>(text: &'t str, set: &'static percent_encoding::AsciiSet) -> Cow<'t, str> {
    let bytes = text.as_bytes();
    let stray = |i: usize| {
        bytes[i] == b'%'
            && !(i + 2 < bytes.len()
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit())
    };
    if !(0..bytes.len()).any(stray) {
        return percent_encoding::utf8_percent_encode(text, set).into();
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut plain = 0;
    for i in (0..bytes.len()).filter(|&i| stray(i)) {
        out.extend(percent_encoding::utf8_percent_encode(&text[plain..i], set));
        out.push_str("%25");
        plain = i + 1;
    }
    out.extend(percent_encoding::utf8_percent_encode(&text[plain..], set));
    Cow::Owned(out)
}

/// Rebuilds the API-relative path from a route template and the parameters API Gateway extracted.
///
/// This is independent of stages, custom domains and base-path mappings, which is why svless
/// prefers it to the raw path whenever API Gateway routed the request.
pub(crate) fn path_from_template(
    template: &str,
    params: &std::collections::HashMap<String, String>,
) -> Option<String> {
    use svless_grammar::template::Part;
    let mut path = String::with_capacity(template.len() + 16);
    for part in svless_grammar::template::parse(template).ok()? {
        path.push('/');
        let (name, greedy) = match part {
            Part::Static(text) => {
                path.push_str(text);
                continue;
            }
            Part::Param(name) => (name, false),
            Part::Greedy(name) => (name, true),
        };
        let value = params.get(name)?;
        let value = if greedy {
            value.trim_start_matches('/')
        } else {
            value.as_str()
        };
        for (i, piece) in value.split('/').enumerate() {
            if i > 0 {
                path.push('/');
            }
            path.extend(percent_encoding::utf8_percent_encode(piece, SEGMENT));
        }
    }
    if path.is_empty() {
        path.push('/');
    }
    Some(path)
}

/// Characters escaped when a decoded parameter is put back into a path segment.
pub(crate) const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// Characters escaped when a decoded query key or value is put back into a query string.
pub(crate) const QUERY: &percent_encoding::AsciiSet =
    &SEGMENT.add(b'&').add(b'=').add(b'+').add(b';');

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_apart_by_their_members() {
        assert_eq!(
            classify(br#"{"version":"2.0","routeKey":"$default"}"#).unwrap(),
            Kind::Http(PayloadFormat::ApiGatewayV2)
        );
        assert_eq!(
            classify(br#"{"httpMethod":"GET","resource":"/"}"#).unwrap(),
            Kind::Http(PayloadFormat::ApiGatewayV1)
        );
        assert_eq!(
            classify(br#"{"version":"1.0","httpMethod":"GET"}"#).unwrap(),
            Kind::HttpApiV1
        );
        assert_eq!(
            classify(br#"{"httpMethod":"GET","requestContext":{"elb":{"targetGroupArn":"x"}}}"#)
                .unwrap(),
            Kind::Http(PayloadFormat::Alb)
        );
        assert_eq!(
            classify(br#"{"Records":[{"eventSource":"aws:sqs","body":"x"}]}"#).unwrap(),
            Kind::Event(SourceKind::Sqs)
        );
        assert_eq!(
            classify(br#"{"Records":[{"eventID":"1","eventSource":"aws:dynamodb"}, 5]}"#).unwrap(),
            Kind::Event(SourceKind::DynamoDbStreams)
        );
        assert_eq!(
            classify(br#"{"Records":[{"s3":{},"eventSource":"aws:s3"}]}"#).unwrap(),
            Kind::Event(SourceKind::S3)
        );
        assert_eq!(
            classify(br#"{"version":"0","id":"x","detail-type":"Scheduled Event"}"#).unwrap(),
            Kind::Event(SourceKind::EventBridge)
        );
        assert_eq!(
            classify(br#"{"id":"x","detail-type":"Scheduled Event","version":"0"}"#).unwrap(),
            Kind::Event(SourceKind::EventBridge)
        );
        assert_eq!(
            classify(br#"{"Records":[{"kinesis":{},"eventSource":"aws:kinesis"}]}"#).unwrap(),
            Kind::Event(SourceKind::Kinesis)
        );
        assert!(matches!(
            classify(br#"{"Records":[]}"#),
            Err(DecodeError::UnknownSource)
        ));
        assert!(matches!(
            classify(br#"{"version":"9"}"#),
            Err(DecodeError::UnknownSource)
        ));
        assert_eq!(
            classify(br#"{"requestContext":{"http":{"method":"GET"}},"version":"x"}"#).unwrap(),
            Kind::Http(PayloadFormat::ApiGatewayV2)
        );
        assert_eq!(
            classify(br#"{"headers":{"version":"2.0"},"requestContext":{"resourcePath":"/"}}"#)
                .unwrap(),
            Kind::Http(PayloadFormat::ApiGatewayV1),
            "a header named version is not the payload's version"
        );
        assert!(matches!(
            classify(b"not json"),
            Err(DecodeError::Malformed { .. })
        ));
    }

    #[test]
    fn query_pairs_are_joined_in_key_order_whatever_the_map_order() {
        let pairs = [("b", "2"), ("a", "1"), ("b", "1"), ("a b", "x&y")];
        assert_eq!(
            join_query(pairs.iter().copied(), true),
            "a=1&a%20b=x%26y&b=2&b=1"
        );
        assert_eq!(join_query(std::iter::empty(), true), "");
    }

    #[test]
    fn path_is_rebuilt_from_template_and_parameters() {
        let params = [
            ("proxy".to_string(), "a b/c".to_string()),
            ("id".to_string(), "7".to_string()),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            path_from_template("/files/{id}/{proxy+}", &params).as_deref(),
            Some("/files/7/a%20b/c")
        );
        assert_eq!(path_from_template("/", &params).as_deref(), Some("/"));
        assert_eq!(path_from_template("/{missing}", &params), None);
    }
}
