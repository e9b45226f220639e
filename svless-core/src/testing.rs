//! Testing apps in process: build API Gateway events, send them through [`App::dispatch`],
//! read the responses.
//!
//! ```
//! # async fn doc() {
//! use svless_core::{App, Json, testing::TestRequest};
//!
//! async fn echo(Json(v): Json<serde_json::Value>) -> Json<serde_json::Value> { Json(v) }
//! let app = App::new().route_fn("POST", "/echo", echo);
//!
//! let response = TestRequest::post("/echo").json(&serde_json::json!({"a": 1})).send(&app).await;
//! assert_eq!(response.status, 200);
//! assert_eq!(response.json::<serde_json::Value>()["a"], 1);
//! # }
//! ```

use crate::app::App;
use crate::context::{Context, PayloadFormat};
use crate::named_error::NamedError;
use base64::Engine as _;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(1);

/// A request id that is unique within the process, for local invocations.
///
/// ```
/// assert_ne!(svless_core::testing::local_request_id(), svless_core::testing::local_request_id());
/// ```
pub fn local_request_id() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("local-{:x}-{n}", nanos & 0xffff_ffff)
}

/// A request to send to an app as an API Gateway event.
///
/// ```
/// use svless_core::testing::TestRequest;
/// let event = TestRequest::get("/todos?tag=a&tag=b").header("x-a", "1").to_v2_event();
/// assert_eq!(event["rawQueryString"], "tag=a&tag=b");
/// ```
#[derive(Debug, Clone)]
pub struct TestRequest {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    binary: bool,
    authorizer: Option<Value>,
    stage: String,
    format: PayloadFormat,
}

macro_rules! methods {
    ($($(#[$doc:meta])* $name:ident => $method:literal;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(uri: &str) -> Self {
                Self::new($method, uri)
            }
        )*
    };
}

impl TestRequest {
    /// A request with the given method and URI path (a query string may follow `?`).
    ///
    /// ```
    /// let req = svless_core::testing::TestRequest::new("PATCH", "/todos/1");
    /// ```
    pub fn new(method: &str, uri: &str) -> Self {
        let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
        Self {
            method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            query: query.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
            binary: false,
            authorizer: None,
            stage: "$default".to_owned(),
            format: PayloadFormat::ApiGatewayV2,
        }
    }

    methods! {
        /// A GET request.
        ///
        /// ```
        /// let req = svless_core::testing::TestRequest::get("/");
        /// ```
        get => "GET";
        /// A POST request.
        ///
        /// ```
        /// let req = svless_core::testing::TestRequest::post("/");
        /// ```
        post => "POST";
        /// A PUT request.
        ///
        /// ```
        /// let req = svless_core::testing::TestRequest::put("/");
        /// ```
        put => "PUT";
        /// A PATCH request.
        ///
        /// ```
        /// let req = svless_core::testing::TestRequest::patch("/");
        /// ```
        patch => "PATCH";
        /// A DELETE request.
        ///
        /// ```
        /// let req = svless_core::testing::TestRequest::delete("/");
        /// ```
        delete => "DELETE";
    }

    /// Adds a header (repeat it for several values).
    ///
    /// ```
    /// let req = svless_core::testing::TestRequest::get("/").header("authorization", "Bearer x");
    /// ```
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    /// Sets a JSON body and `Content-Type: application/json`.
    ///
    /// ```
    /// let req = svless_core::testing::TestRequest::post("/").json(&serde_json::json!({"a": 1}));
    /// ```
    pub fn json<T: serde::Serialize>(self, value: &T) -> Self {
        let body = serde_json::to_vec(value).unwrap_or_default();
        self.header("content-type", "application/json").body(body)
    }

    /// Sets the body; it travels base64-encoded when it is not UTF-8.
    ///
    /// ```
    /// let req = svless_core::testing::TestRequest::post("/").body("plain text");
    /// ```
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self.binary = std::str::from_utf8(&self.body).is_err();
        self
    }

    /// Sends the body base64-encoded with `isBase64Encoded`, as API Gateway does for binary media types.
    ///
    /// ```
    /// let req = svless_core::testing::TestRequest::post("/").body("x").base64();
    /// assert_eq!(req.to_v2_event()["body"], "eA==");
    /// ```
    pub fn base64(mut self) -> Self {
        self.binary = true;
        self
    }

    /// Attaches an authorizer context: for v1 the `authorizer` object, for v2 the `authorizer` object
    /// (`{"jwt": {"claims": {...}, "scopes": [...]}}` or `{"lambda": {...}}`).
    ///
    /// ```
    /// let req = svless_core::testing::TestRequest::get("/")
    ///     .authorizer(serde_json::json!({"jwt": {"claims": {"sub": "u1"}, "scopes": null}}));
    /// ```
    pub fn authorizer(mut self, authorizer: Value) -> Self {
        self.authorizer = Some(authorizer);
        self
    }

    /// Sends the request on a named stage of the default endpoint (the stage is then in the path).
    ///
    /// ```
    /// let event = svless_core::testing::TestRequest::get("/a").stage("prod").to_v2_event();
    /// assert_eq!(event["rawPath"], "/prod/a");
    /// ```
    pub fn stage(mut self, stage: &str) -> Self {
        self.stage = stage.to_owned();
        self
    }

    /// Sends the request as a REST API (payload format 1.0) event instead of an HTTP API one.
    ///
    /// ```
    /// let event = svless_core::testing::TestRequest::get("/a").v1().to_v1_event();
    /// assert_eq!(event["httpMethod"], "GET");
    /// ```
    pub fn v1(mut self) -> Self {
        self.format = PayloadFormat::ApiGatewayV1;
        self
    }

    fn encoded_body(&self) -> Value {
        if self.body.is_empty() {
            Value::Null
        } else if self.binary {
            Value::String(base64::engine::general_purpose::STANDARD.encode(&self.body))
        } else {
            Value::String(String::from_utf8_lossy(&self.body).into_owned())
        }
    }

    fn header_map(&self) -> (Map<String, Value>, Map<String, Value>) {
        let mut single = Map::new();
        let mut multi: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for (name, value) in &self.headers {
            if name == "cookie" {
                continue;
            }
            multi
                .entry(name.clone())
                .or_default()
                .push(Value::String(value.clone()));
            match single.get_mut(name) {
                Some(Value::String(existing)) => {
                    existing.push(',');
                    existing.push_str(value);
                }
                _ => {
                    single.insert(name.clone(), Value::String(value.clone()));
                }
            }
        }
        (
            single,
            multi
                .into_iter()
                .map(|(k, v)| (k, Value::Array(v)))
                .collect(),
        )
    }

    fn cookies(&self) -> Vec<Value> {
        self.headers
            .iter()
            .filter(|(n, _)| n == "cookie")
            .flat_map(|(_, v)| v.split(';').map(|c| Value::String(c.trim().to_owned())))
            .filter(|c| c.as_str().is_some_and(|s| !s.is_empty()))
            .collect()
    }

    /// The request as an HTTP API payload format 2.0 event, routed by `$default`.
    ///
    /// ```
    /// let event = svless_core::testing::TestRequest::get("/").to_v2_event();
    /// assert_eq!(event["version"], "2.0");
    /// ```
    pub fn to_v2_event(&self) -> Value {
        let (headers, _) = self.header_map();
        let raw_path = if self.stage == "$default" {
            self.path.clone()
        } else {
            format!("/{}{}", self.stage, self.path)
        };
        let mut query = Map::new();
        for (k, v) in form_urlencoded::parse(self.query.as_bytes()) {
            match query.get_mut(k.as_ref()) {
                Some(Value::String(existing)) => {
                    existing.push(',');
                    existing.push_str(&v);
                }
                _ => {
                    query.insert(k.into_owned(), Value::String(v.into_owned()));
                }
            }
        }
        let user_agent = self
            .headers
            .iter()
            .find(|(n, _)| n == "user-agent")
            .map(|(_, v)| v.clone());
        let mut event = json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": raw_path,
            "rawQueryString": self.query,
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "local",
                "domainName": if self.stage == "$default" { "localhost" } else { "local.execute-api.us-east-1.amazonaws.com" },
                "domainPrefix": "local",
                "http": {
                    "method": self.method,
                    "path": raw_path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "127.0.0.1",
                    "userAgent": user_agent.unwrap_or_default(),
                },
                "requestId": local_request_id(),
                "routeKey": "$default",
                "stage": self.stage,
                "time": "01/Jan/2026:00:00:00 +0000",
                "timeEpoch": 0,
            },
            "body": self.encoded_body(),
            "isBase64Encoded": self.binary && !self.body.is_empty(),
        });
        if !query.is_empty() {
            event["queryStringParameters"] = Value::Object(query);
        }
        let cookies = self.cookies();
        if !cookies.is_empty() {
            event["cookies"] = Value::Array(cookies);
        }
        if let Some(authorizer) = &self.authorizer {
            event["requestContext"]["authorizer"] = authorizer.clone();
        }
        event
    }

    /// The request as a REST API proxy event on a `/{proxy+}` resource.
    ///
    /// ```
    /// let event = svless_core::testing::TestRequest::get("/a/b?x=1&x=2").to_v1_event();
    /// assert_eq!(event["multiValueQueryStringParameters"]["x"], serde_json::json!(["1", "2"]));
    /// ```
    pub fn to_v1_event(&self) -> Value {
        let (mut headers, mut multi) = self.header_map();
        let cookies: Vec<String> = self
            .headers
            .iter()
            .filter(|(n, _)| n == "cookie")
            .map(|(_, v)| v.clone())
            .collect();
        if !cookies.is_empty() {
            headers.insert("cookie".into(), Value::String(cookies.join("; ")));
            multi.insert(
                "cookie".into(),
                Value::Array(cookies.into_iter().map(Value::String).collect()),
            );
        }
        let mut single_query = Map::new();
        let mut multi_query: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for (k, v) in form_urlencoded::parse(self.query.as_bytes()) {
            single_query.insert(k.to_string(), Value::String(v.to_string()));
            multi_query
                .entry(k.into_owned())
                .or_default()
                .push(Value::String(v.into_owned()));
        }
        let proxy = self.path.trim_start_matches('/');
        let mut event = json!({
            "resource": "/{proxy+}",
            "path": self.path,
            "httpMethod": self.method,
            "headers": headers,
            "multiValueHeaders": multi,
            "queryStringParameters": if single_query.is_empty() { Value::Null } else { Value::Object(single_query) },
            "multiValueQueryStringParameters": if multi_query.is_empty() { Value::Null } else {
                Value::Object(multi_query.into_iter().map(|(k, v)| (k, Value::Array(v))).collect())
            },
            "pathParameters": if proxy.is_empty() { Value::Null } else {
                json!({ "proxy": percent_encoding::percent_decode_str(proxy).decode_utf8_lossy() })
            },
            "stageVariables": null,
            "requestContext": {
                "accountId": "123456789012",
                "resourceId": "local",
                "stage": if self.stage == "$default" { "local" } else { self.stage.as_str() },
                "requestId": local_request_id(),
                "identity": { "sourceIp": "127.0.0.1", "userAgent": null },
                "resourcePath": "/{proxy+}",
                "httpMethod": self.method,
                "apiId": "local",
                "path": self.path,
                "protocol": "HTTP/1.1",
                "requestTimeEpoch": 0,
            },
            "body": self.encoded_body(),
            "isBase64Encoded": self.binary && !self.body.is_empty(),
        });
        if let Some(authorizer) = &self.authorizer {
            event["requestContext"]["authorizer"] = authorizer.clone();
        }
        event
    }

    /// Sends the request through [`App::dispatch`] and decodes the response.
    ///
    /// # Panics
    /// Panics if the app rejects the event itself, which the events this builder makes never cause;
    /// use [`TestRequest::try_send`] to see the error instead.
    ///
    /// ```
    /// # async fn doc() {
    /// async fn hello() -> &'static str { "hello" }
    /// let app = svless_core::App::new().route_fn("GET", "/", hello);
    /// let response = svless_core::testing::TestRequest::get("/").send(&app).await;
    /// assert_eq!(response.text(), "hello");
    /// # }
    /// ```
    pub async fn send<S: Send + Sync + 'static>(self, app: &App<S>) -> TestResponse {
        match self.try_send(app).await {
            Ok(response) => response,
            Err(err) => panic!("the app refused a well-formed test event: {err}"),
        }
    }

    /// Sends the request through [`App::dispatch`]; an error if the event could not be decoded.
    ///
    /// ```
    /// # async fn doc() {
    /// let app = svless_core::App::new();
    /// let response = svless_core::testing::TestRequest::get("/nope").try_send(&app).await.expect("decodes");
    /// assert_eq!(response.status, 404);
    /// # }
    /// ```
    pub async fn try_send<S: Send + Sync + 'static>(
        self,
        app: &App<S>,
    ) -> Result<TestResponse, NamedError> {
        let event = match self.format {
            PayloadFormat::ApiGatewayV1 => self.to_v1_event(),
            _ => self.to_v2_event(),
        };
        let payload = serde_json::to_vec(&event).unwrap_or_default();
        let out = app.dispatch(&payload, Context::local()).await?;
        Ok(TestResponse::from_payload(&out))
    }
}

/// A response decoded from an API Gateway (or ALB) response payload.
///
/// ```
/// let r = svless_core::testing::TestResponse::from_payload(br#"{"statusCode":201,"headers":{"a":"b"},"body":"hi","isBase64Encoded":false}"#);
/// assert_eq!((r.status.as_u16(), r.text().as_str()), (201, "hi"));
/// ```
#[derive(Debug, Clone)]
pub struct TestResponse {
    /// The status.
    pub status: StatusCode,
    /// Every header, `Set-Cookie` from v2 `cookies` included.
    pub headers: HeaderMap,
    /// The body, base64-decoded when it was sent encoded.
    pub body: Vec<u8>,
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

impl TestResponse {
    /// Decodes a response payload; an unreadable one becomes a 502, as API Gateway would answer.
    ///
    /// ```
    /// let r = svless_core::testing::TestResponse::from_payload(b"not json");
    /// assert_eq!(r.status, 502);
    /// ```
    pub fn from_payload(payload: &[u8]) -> Self {
        let Ok(payload) = serde_json::from_slice::<Payload>(payload) else {
            return Self {
                status: StatusCode::BAD_GATEWAY,
                headers: HeaderMap::new(),
                body: Vec::new(),
                base64: false,
            };
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
            base64::engine::general_purpose::STANDARD
                .decode(body.as_bytes())
                .unwrap_or_default()
        } else {
            body.into_bytes()
        };
        Self {
            status: StatusCode::from_u16(payload.status_code).unwrap_or(StatusCode::BAD_GATEWAY),
            headers,
            body,
            base64: payload.is_base64_encoded,
        }
    }

    /// The body as text (lossy UTF-8).
    ///
    /// ```
    /// let r = svless_core::testing::TestResponse::from_payload(br#"{"statusCode":200,"body":"ok"}"#);
    /// assert_eq!(r.text(), "ok");
    /// ```
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    ///
    /// # Panics
    /// Panics when the body is not JSON of that shape: this is for tests.
    ///
    /// ```
    /// let r = svless_core::testing::TestResponse::from_payload(br#"{"statusCode":200,"body":"[1]"}"#);
    /// assert_eq!(r.json::<Vec<u8>>(), [1]);
    /// ```
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> T {
        match serde_json::from_slice(&self.body) {
            Ok(value) => value,
            Err(err) => panic!(
                "the response body is not the expected JSON ({err}): {}",
                self.text()
            ),
        }
    }

    /// A header's value as text.
    ///
    /// ```
    /// let r = svless_core::testing::TestResponse::from_payload(br#"{"statusCode":200,"headers":{"a":"b"}}"#);
    /// assert_eq!(r.header("a"), Some("b"));
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}
