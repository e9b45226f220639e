//! Testing apps in process: build API Gateway events, send them through [`App::dispatch`],
//! read the responses. A thin layer on the local host ([`local`]), which
//! `App::serve` uses too.
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
use crate::local::{self, HttpRequest};
use crate::named_error::NamedError;
use http::{HeaderMap, StatusCode};
use serde_json::Value;

/// A request id that is unique within the process, for local invocations (the local host's,
/// [`local::request_id`]).
///
/// ```
/// assert_ne!(svless_core::testing::local_request_id(), svless_core::testing::local_request_id());
/// ```
pub fn local_request_id() -> String {
    crate::local::request_id()
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

    /// The request as the local host reads it.
    fn http_request(&self) -> HttpRequest<'_> {
        let mut request = HttpRequest::new(&self.method, &self.path, &self.query)
            .body(self.body.clone())
            .stage(&self.stage);
        if self.binary {
            request = request.base64();
        }
        for (name, value) in &self.headers {
            request = request.header(name, value.as_bytes());
        }
        if let Some(authorizer) = &self.authorizer {
            request = request.authorizer(authorizer);
        }
        request
    }

    /// The request as an HTTP API payload format 2.0 event, routed by `$default`.
    ///
    /// ```
    /// let event = svless_core::testing::TestRequest::get("/").to_v2_event();
    /// assert_eq!(event["version"], "2.0");
    /// ```
    pub fn to_v2_event(&self) -> Value {
        // Test requests hold text headers only: the event always encodes.
        local::event_value(&self.http_request(), PayloadFormat::ApiGatewayV2).unwrap_or_default()
    }

    /// The request as a REST API proxy event on a `/{proxy+}` resource.
    ///
    /// ```
    /// let event = svless_core::testing::TestRequest::get("/a/b?x=1&x=2").to_v1_event();
    /// assert_eq!(event["multiValueQueryStringParameters"]["x"], serde_json::json!(["1", "2"]));
    /// ```
    pub fn to_v1_event(&self) -> Value {
        local::event_value(&self.http_request(), PayloadFormat::ApiGatewayV1).unwrap_or_default()
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
        let payload = local::encode_event(&self.http_request(), self.format)
            .map_err(|e| NamedError::new("Svless.InvalidRequest", e.to_string()))?;
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

impl TestResponse {
    /// Decodes a response payload; an unreadable one becomes a 502, as API Gateway would answer.
    ///
    /// ```
    /// let r = svless_core::testing::TestResponse::from_payload(b"not json");
    /// assert_eq!(r.status, 502);
    /// ```
    pub fn from_payload(payload: &[u8]) -> Self {
        let response = local::decode_response(payload);
        Self {
            status: response.status,
            headers: response.headers,
            body: response.body.to_vec(),
            base64: response.base64,
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
