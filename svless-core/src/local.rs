//! The local host: what stands in for API Gateway on a developer's machine. It turns an HTTP
//! request into the API Gateway event an app receives on Lambda and a response payload back
//! into HTTP, so [`App::serve`](crate::App::serve) and the test client
//! ([`testing`](crate::testing)) take the same path through
//! [`App::dispatch`](crate::App::dispatch) as a deployed function.
//!
//! Events are written straight from the request (one serialization, no intermediate JSON
//! value), and header values that are not UTF-8 text are refused ([`LocalError`]) rather than
//! dropped: an API Gateway event carries headers as JSON strings.
//!
//! ```
//! use svless_core::local::{HttpRequest, decode_response, encode_event};
//! use svless_core::PayloadFormat;
//!
//! # async fn doc() -> Result<(), Box<dyn std::error::Error>> {
//! async fn hello() -> &'static str { "hello" }
//! let app = svless_core::App::new().route_fn("GET", "/", hello);
//! let request = HttpRequest::new("GET", "/", "").header("accept", b"text/plain");
//! let event = encode_event(&request, PayloadFormat::ApiGatewayV2)?;
//! let out = app.dispatch(&event, svless_core::Context::local()).await?;
//! let response = decode_response(&out);
//! assert_eq!((response.status.as_u16(), &response.body[..]), (200, &b"hello"[..]));
//! # Ok(()) }
//! ```

use crate::context::{Context, PayloadFormat};
use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(1);

/// A request id that is unique within the process, for local invocations.
///
/// ```
/// assert_ne!(svless_core::local::request_id(), svless_core::local::request_id());
/// ```
pub fn request_id() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("local-{:x}-{n}", nanos & 0xffff_ffff)
}

impl Context {
    /// The context of a local invocation (local server, test client): a fresh request id,
    /// function `local`, version `$LATEST`, no deadline.
    ///
    /// ```
    /// let ctx = svless_core::Context::local();
    /// assert_eq!(ctx.function_name, "local");
    /// assert!(!ctx.request_id.is_empty());
    /// ```
    pub fn local() -> Self {
        Context {
            request_id: request_id(),
            function_name: "local".into(),
            function_version: "$LATEST".into(),
            ..Context::default()
        }
    }
}

/// Why a request cannot become an API Gateway event.
///
/// ```
/// let err = svless_core::local::LocalError::HeaderNotUtf8 { name: "x-a".into() };
/// assert!(err.to_string().contains("x-a"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LocalError {
    /// A header value is not UTF-8 text, which an API Gateway event (JSON) cannot carry.
    #[error(
        "the value of the header `{name}` is not UTF-8 text, which an API Gateway event cannot carry"
    )]
    HeaderNotUtf8 {
        /// The header's name.
        name: String,
    },
}

/// An HTTP request as the local host reads it: method, the path and query as they came
/// (percent-encoded), headers, body, where it came from, and which stage it is on.
///
/// ```
/// let request = svless_core::local::HttpRequest::new("POST", "/todos", "tag=a")
///     .header("content-type", b"application/json")
///     .body(br#"{"title":"milk"}"#.to_vec());
/// ```
#[derive(Debug, Clone)]
pub struct HttpRequest<'a> {
    method: &'a str,
    path: &'a str,
    query: &'a str,
    headers: Vec<(std::borrow::Cow<'a, str>, &'a [u8])>,
    body: Vec<u8>,
    base64: bool,
    source_ip: String,
    stage: &'a str,
    authorizer: Option<&'a Value>,
}

impl<'a> HttpRequest<'a> {
    /// A request with no headers or body, from 127.0.0.1, on the `$default` stage.
    pub fn new(method: &'a str, path: &'a str, query: &'a str) -> Self {
        HttpRequest {
            method,
            path,
            query,
            headers: Vec::new(),
            body: Vec::new(),
            base64: false,
            source_ip: "127.0.0.1".into(),
            stage: "$default",
            authorizer: None,
        }
    }

    /// Adds a header (repeat it for several values); names are lower-cased.
    pub fn header(mut self, name: &str, value: &'a [u8]) -> Self {
        self.headers.push((name.to_ascii_lowercase().into(), value));
        self
    }

    /// Adds every header of a map.
    pub fn headers(mut self, headers: &'a HeaderMap) -> Self {
        // A header map's names are lower-case already: borrowed, not copied.
        for (name, value) in headers {
            self.headers.push((name.as_str().into(), value.as_bytes()));
        }
        self
    }

    /// Sets the body; it travels base64-encoded when it is not UTF-8.
    pub fn body(mut self, body: Vec<u8>) -> Self {
        self.base64 = self.base64 || std::str::from_utf8(&body).is_err();
        self.body = body;
        self
    }

    /// Sends the body base64-encoded whatever it is, as API Gateway does for binary media types.
    pub fn base64(mut self) -> Self {
        self.base64 = true;
        self
    }

    /// The client's address.
    pub fn source_ip(mut self, ip: impl Into<String>) -> Self {
        self.source_ip = ip.into();
        self
    }

    /// A named stage of the default endpoint: the stage is then in front of the path.
    pub fn stage(mut self, stage: &'a str) -> Self {
        self.stage = stage;
        self
    }

    /// The authorizer context to attach (`requestContext.authorizer`).
    pub fn authorizer(mut self, authorizer: &'a Value) -> Self {
        self.authorizer = Some(authorizer);
        self
    }

    fn body_text(&self) -> Option<String> {
        if self.body.is_empty() {
            None
        } else if self.base64 {
            Some(base64::engine::general_purpose::STANDARD.encode(&self.body))
        } else {
            Some(String::from_utf8_lossy(&self.body).into_owned())
        }
    }

    fn text_headers(&self) -> Result<Vec<(&str, &str)>, LocalError> {
        self.headers
            .iter()
            .map(|(name, value)| {
                std::str::from_utf8(value)
                    .map(|v| (name.as_ref(), v))
                    .map_err(|_| LocalError::HeaderNotUtf8 {
                        name: name.to_string(),
                    })
            })
            .collect()
    }
}

/// HTTP API (2.0) requests.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V2Event<'a> {
    version: &'static str,
    route_key: &'static str,
    raw_path: String,
    raw_query_string: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cookies: Vec<&'a str>,
    headers: BTreeMap<&'a str, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    query_string_parameters: BTreeMap<String, String>,
    request_context: V2Context<'a>,
    body: Option<String>,
    is_base64_encoded: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V2Context<'a> {
    account_id: &'static str,
    api_id: &'static str,
    domain_name: &'static str,
    domain_prefix: &'static str,
    http: V2Http<'a>,
    request_id: String,
    route_key: &'static str,
    stage: &'a str,
    time: &'static str,
    time_epoch: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    authorizer: Option<&'a Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V2Http<'a> {
    method: &'a str,
    path: String,
    protocol: &'static str,
    source_ip: &'a str,
    user_agent: &'a str,
}

/// REST API (1.0) proxy requests on a `/{proxy+}` resource.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V1Event<'a> {
    resource: &'static str,
    path: &'a str,
    http_method: &'a str,
    headers: BTreeMap<&'a str, String>,
    multi_value_headers: BTreeMap<&'a str, Vec<&'a str>>,
    query_string_parameters: Option<BTreeMap<String, String>>,
    multi_value_query_string_parameters: Option<BTreeMap<String, Vec<String>>>,
    path_parameters: Option<BTreeMap<&'static str, String>>,
    stage_variables: Option<()>,
    request_context: V1Context<'a>,
    body: Option<String>,
    is_base64_encoded: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V1Context<'a> {
    account_id: &'static str,
    resource_id: &'static str,
    stage: &'a str,
    request_id: String,
    identity: V1Identity<'a>,
    resource_path: &'static str,
    http_method: &'a str,
    api_id: &'static str,
    path: &'a str,
    protocol: &'static str,
    request_time_epoch: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    authorizer: Option<&'a Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V1Identity<'a> {
    source_ip: &'a str,
    user_agent: Option<&'a str>,
}

/// The request as an API Gateway event of `format` (HTTP API 2.0, or REST 1.0 on a
/// `/{proxy+}` resource), routed by `$default`, as JSON bytes for
/// [`App::dispatch`](crate::App::dispatch).
///
/// ```
/// use svless_core::{PayloadFormat, local::{HttpRequest, encode_event}};
/// let event = encode_event(&HttpRequest::new("GET", "/a", "x=1"), PayloadFormat::ApiGatewayV2).expect("an event");
/// let event: serde_json::Value = serde_json::from_slice(&event).expect("JSON");
/// assert_eq!((event["rawPath"].as_str(), event["rawQueryString"].as_str()), (Some("/a"), Some("x=1")));
/// ```
pub fn encode_event(
    request: &HttpRequest<'_>,
    format: PayloadFormat,
) -> Result<Vec<u8>, LocalError> {
    let value = match format {
        PayloadFormat::ApiGatewayV1 => serde_json::to_vec(&v1_event(request)?),
        _ => serde_json::to_vec(&v2_event(request)?),
    };
    // Serializing these plain structs cannot fail.
    Ok(value.unwrap_or_default())
}

/// The request as an API Gateway event of `format`, as a JSON value (for tests that look
/// inside the event).
///
/// ```
/// use svless_core::{PayloadFormat, local::{HttpRequest, event_value}};
/// let event = event_value(&HttpRequest::new("GET", "/a", ""), PayloadFormat::ApiGatewayV1).expect("an event");
/// assert_eq!(event["httpMethod"], "GET");
/// ```
pub fn event_value(request: &HttpRequest<'_>, format: PayloadFormat) -> Result<Value, LocalError> {
    let value = match format {
        PayloadFormat::ApiGatewayV1 => serde_json::to_value(v1_event(request)?),
        _ => serde_json::to_value(v2_event(request)?),
    };
    Ok(value.unwrap_or_default())
}

fn v2_event<'a>(request: &'a HttpRequest<'a>) -> Result<V2Event<'a>, LocalError> {
    let mut headers: BTreeMap<&str, String> = BTreeMap::new();
    let mut cookies = Vec::new();
    let mut user_agent = "";
    for (name, value) in request.text_headers()? {
        if name == "cookie" {
            cookies.extend(value.split(';').map(str::trim).filter(|c| !c.is_empty()));
            continue;
        }
        if name == "user-agent" {
            user_agent = value;
        }
        // API Gateway joins repeated headers with commas.
        headers
            .entry(name)
            .and_modify(|v| {
                v.push(',');
                v.push_str(value);
            })
            .or_insert_with(|| value.to_owned());
    }
    let mut query: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(request.query.as_bytes()) {
        query
            .entry(k.into_owned())
            .and_modify(|e| {
                e.push(',');
                e.push_str(&v);
            })
            .or_insert_with(|| v.into_owned());
    }
    let named_stage = request.stage != "$default";
    let raw_path = if named_stage {
        format!("/{}{}", request.stage, request.path)
    } else {
        request.path.to_owned()
    };
    Ok(V2Event {
        version: "2.0",
        route_key: "$default",
        raw_path: raw_path.clone(),
        raw_query_string: request.query,
        cookies,
        headers,
        query_string_parameters: query,
        request_context: V2Context {
            account_id: "123456789012",
            api_id: "local",
            domain_name: if named_stage {
                "local.execute-api.us-east-1.amazonaws.com"
            } else {
                "localhost"
            },
            domain_prefix: "local",
            http: V2Http {
                method: request.method,
                path: raw_path,
                protocol: "HTTP/1.1",
                source_ip: &request.source_ip,
                user_agent,
            },
            request_id: request_id(),
            route_key: "$default",
            stage: request.stage,
            time: "01/Jan/2026:00:00:00 +0000",
            time_epoch: 0,
            authorizer: request.authorizer,
        },
        body: request.body_text(),
        is_base64_encoded: request.base64 && !request.body.is_empty(),
    })
}

fn v1_event<'a>(request: &'a HttpRequest<'a>) -> Result<V1Event<'a>, LocalError> {
    let mut headers: BTreeMap<&str, String> = BTreeMap::new();
    let mut multi: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut user_agent = None;
    for (name, value) in request.text_headers()? {
        if name == "user-agent" {
            user_agent = Some(value);
        }
        let separator = if name == "cookie" { "; " } else { "," };
        headers
            .entry(name)
            .and_modify(|v| {
                v.push_str(separator);
                v.push_str(value);
            })
            .or_insert_with(|| value.to_owned());
        multi.entry(name).or_default().push(value);
    }
    let mut single_query = BTreeMap::new();
    let mut multi_query: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(request.query.as_bytes()) {
        single_query.insert(k.to_string(), v.to_string());
        multi_query
            .entry(k.into_owned())
            .or_default()
            .push(v.into_owned());
    }
    let proxy = request.path.trim_start_matches('/');
    let stage = if request.stage == "$default" {
        "local"
    } else {
        request.stage
    };
    Ok(V1Event {
        resource: "/{proxy+}",
        path: request.path,
        http_method: request.method,
        headers,
        multi_value_headers: multi,
        query_string_parameters: (!single_query.is_empty()).then_some(single_query),
        multi_value_query_string_parameters: (!multi_query.is_empty()).then_some(multi_query),
        path_parameters: (!proxy.is_empty()).then(|| {
            BTreeMap::from([(
                "proxy",
                percent_encoding::percent_decode_str(proxy)
                    .decode_utf8_lossy()
                    .into_owned(),
            )])
        }),
        stage_variables: None,
        request_context: V1Context {
            account_id: "123456789012",
            resource_id: "local",
            stage,
            request_id: request_id(),
            identity: V1Identity {
                source_ip: &request.source_ip,
                user_agent,
            },
            resource_path: "/{proxy+}",
            http_method: request.method,
            api_id: "local",
            path: request.path,
            protocol: "HTTP/1.1",
            request_time_epoch: 0,
            authorizer: request.authorizer,
        },
        body: request.body_text(),
        is_base64_encoded: request.base64 && !request.body.is_empty(),
    })
}

/// A response read from an API Gateway (or ALB) response payload.
///
/// ```
/// let r = svless_core::local::decode_response(br#"{"statusCode":201,"headers":{"a":"b"},"body":"hi","isBase64Encoded":false}"#);
/// assert_eq!((r.status.as_u16(), &r.body[..]), (201, &b"hi"[..]));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LocalResponse {
    /// The status.
    pub status: StatusCode,
    /// Every header, `Set-Cookie` from HTTP API `cookies` included.
    pub headers: HeaderMap,
    /// The body, base64-decoded when it was sent encoded.
    pub body: Bytes,
    /// Whether the body was base64-encoded in the payload.
    pub base64: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    status_code: u16,
    #[serde(default)]
    headers: Option<BTreeMap<String, String>>,
    #[serde(default)]
    multi_value_headers: Option<BTreeMap<String, Vec<String>>>,
    #[serde(default)]
    cookies: Option<Vec<String>>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    is_base64_encoded: bool,
}

/// Reads a response payload as API Gateway does; an unreadable one is a 502, as API Gateway
/// would answer it.
///
/// ```
/// assert_eq!(svless_core::local::decode_response(b"not json").status, 502);
/// ```
pub fn decode_response(payload: &[u8]) -> LocalResponse {
    let bad_gateway = || LocalResponse {
        status: StatusCode::BAD_GATEWAY,
        headers: HeaderMap::new(),
        body: Bytes::new(),
        base64: false,
    };
    let Ok(payload) = serde_json::from_slice::<Payload>(payload) else {
        return bad_gateway();
    };
    let Ok(status) = StatusCode::from_u16(payload.status_code) else {
        return bad_gateway();
    };
    let mut headers = HeaderMap::new();
    let mut add = |name: &str, value: &str| {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            headers.append(n, v);
        }
    };
    for (name, values) in payload.multi_value_headers.iter().flatten() {
        for value in values {
            add(name, value);
        }
    }
    for (name, value) in payload.headers.iter().flatten() {
        add(name, value);
    }
    for cookie in payload.cookies.iter().flatten() {
        add("set-cookie", cookie);
    }
    let body = payload.body.unwrap_or_default();
    let body = if payload.is_base64_encoded {
        match base64::engine::general_purpose::STANDARD.decode(body.as_bytes()) {
            Ok(bytes) => Bytes::from(bytes),
            Err(_) => return bad_gateway(),
        }
    } else {
        Bytes::from(body)
    };
    LocalResponse {
        status,
        headers,
        body,
        base64: payload.is_base64_encoded,
    }
}
