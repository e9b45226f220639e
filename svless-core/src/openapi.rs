//! An OpenAPI 3 definition of an app's routes, with the API Gateway extensions that deploy it
//! (feature `openapi`).
//!
//! `#[svless::api]` describes each route from its types: path parameters from `Path<T>`, query
//! parameters from `Query<T>`, the request body from `Json<T>`, the responses from the return
//! type, and a security requirement when the handler takes the caller's claims. A type takes
//! part by deriving [`schemars::JsonSchema`]; one that does not is still listed, marked
//! undescribed (`x-svless-undescribed`) rather than dropped. Routes registered by hand
//! ([`App::route_fn`](crate::App::route_fn), [`App::route_service`](crate::App::route_service))
//! appear with their method and path, undescribed.
//!
//! Two flavors, because API Gateway has two kinds of HTTP API and their extensions differ:
//!
//! - [`Flavor::HttpApi`]: an HTTP API (payload format 2.0, JWT authorizer,
//!   `x-amazon-apigateway-cors`). Cheaper and faster; it has no request validation, mapping
//!   templates or mock integrations, so mock routes go to the function like every other route.
//! - [`Flavor::RestApi`]: a REST API (Lambda proxy integration, payload format 1.0, a Cognito
//!   user pool authorizer), with request validators built from the types (the method request),
//!   method responses, mock integrations with request and response mapping templates for
//!   [`App::mock`](crate::App::mock) routes, and CORS preflights as mock integrations.
//!
//! The definition is deterministic: the same app gives the same bytes.
//!
//! ```
//! # #[cfg(feature = "openapi")] {
//! use svless_core::openapi::{Flavor, OpenApi};
//! use svless_core::App;
//!
//! async fn hello() -> &'static str { "hello" }
//! let app = App::new().route_fn("GET", "/hello", hello);
//! let definition = app.openapi(&OpenApi::new("Hello", "1.0.0", Flavor::HttpApi)
//!     .lambda_uri("arn:aws:lambda:eu-west-1:123456789012:function:hello:live"));
//! assert_eq!(definition["paths"]["/hello"]["get"]["x-amazon-apigateway-integration"]["payloadFormatVersion"], "2.0");
//! # }
//! ```

use schemars::JsonSchema;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

pub use schemars;

/// Which API Gateway API the definition is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// An HTTP API (`AWS::ApiGatewayV2::Api`, `AWS::Serverless::HttpApi`): payload format 2.0.
    HttpApi,
    /// A REST API (`AWS::ApiGateway::RestApi`, `AWS::Serverless::Api`): payload format 1.0,
    /// request validators, method responses, mock integrations.
    RestApi,
}

/// How routes behind auth are authorized: a Cognito user pool's tokens.
#[derive(Debug, Clone)]
pub struct CognitoAuthorizer {
    /// The security scheme's name in the definition (`cognito`).
    pub name: String,
    /// HTTP API: the issuer (`https://cognito-idp.<region>.amazonaws.com/<pool id>`).
    pub issuer: Value,
    /// HTTP API: the audiences (the app client ids).
    pub audience: Vec<Value>,
    /// REST API: the user pool ARNs.
    pub provider_arns: Vec<Value>,
}

/// What a definition is generated for: its title and version, the flavor, the function that
/// serves the routes, the authorizer and CORS.
///
/// Values that name deployed resources (`lambda_uri`, the issuer) are JSON values, so they can
/// be CloudFormation intrinsic functions (`{"Fn::Sub": "..."}`) when a template includes the
/// definition with `AWS::Include`.
///
/// ```
/// # #[cfg(feature = "openapi")] {
/// use svless_core::openapi::{Flavor, OpenApi};
/// let options = OpenApi::new("Photo albums", "1.0.0", Flavor::RestApi)
///     .lambda_uri(serde_json::json!({"Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Api.Alias}/invocations"}));
/// assert_eq!(options.flavor, Flavor::RestApi);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct OpenApi {
    /// `info.title`.
    pub title: String,
    /// `info.version`.
    pub version: String,
    /// HTTP API or REST API.
    pub flavor: Flavor,
    /// The integration's `uri`: for an HTTP API the function's (qualified) ARN, for a REST API
    /// `arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function ARN>/invocations`.
    pub lambda_uri: Value,
    /// The authorizer of routes whose handlers take the caller's claims.
    pub authorizer: Option<CognitoAuthorizer>,
    /// Allowed CORS origins; none, no CORS.
    pub cors_origins: Vec<Value>,
    /// Headers a browser may send cross-origin.
    pub cors_headers: Vec<String>,
}

impl OpenApi {
    /// Options with a title, a version and a flavor; the integration URI is a placeholder until
    /// [`lambda_uri`](Self::lambda_uri) sets it.
    ///
    /// ```
    /// # #[cfg(feature = "openapi")] {
    /// let options = svless_core::openapi::OpenApi::new("Todos", "1.0.0", svless_core::openapi::Flavor::HttpApi);
    /// assert_eq!(options.title, "Todos");
    /// # }
    /// ```
    pub fn new(title: &str, version: &str, flavor: Flavor) -> Self {
        OpenApi {
            title: title.to_owned(),
            version: version.to_owned(),
            flavor,
            lambda_uri: Value::String("${FunctionArn}".into()),
            authorizer: None,
            cors_origins: Vec::new(),
            cors_headers: vec!["authorization".into(), "content-type".into()],
        }
    }

    /// The integration URI of every proxied route.
    ///
    /// ```
    /// # #[cfg(feature = "openapi")] {
    /// use svless_core::openapi::{Flavor, OpenApi};
    /// let options = OpenApi::new("Todos", "1", Flavor::HttpApi).lambda_uri("arn:aws:lambda:eu-west-1:123456789012:function:todos");
    /// assert_eq!(options.lambda_uri, "arn:aws:lambda:eu-west-1:123456789012:function:todos");
    /// # }
    /// ```
    pub fn lambda_uri(mut self, uri: impl Into<Value>) -> Self {
        self.lambda_uri = uri.into();
        self
    }

    /// Routes whose handlers take the caller's claims require tokens of this Cognito user pool.
    ///
    /// ```
    /// # #[cfg(feature = "openapi")] {
    /// use svless_core::openapi::{CognitoAuthorizer, Flavor, OpenApi};
    /// let options = OpenApi::new("Todos", "1", Flavor::HttpApi).authorizer(CognitoAuthorizer {
    ///     name: "cognito".into(),
    ///     issuer: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc".into(),
    ///     audience: vec!["client-id".into()],
    ///     provider_arns: vec![],
    /// });
    /// assert!(options.authorizer.is_some());
    /// # }
    /// ```
    pub fn authorizer(mut self, authorizer: CognitoAuthorizer) -> Self {
        self.authorizer = Some(authorizer);
        self
    }

    /// Browsers on these origins may call the API.
    ///
    /// ```
    /// # #[cfg(feature = "openapi")] {
    /// use svless_core::openapi::{Flavor, OpenApi};
    /// let options = OpenApi::new("Todos", "1", Flavor::HttpApi).cors(["https://example.com"]);
    /// assert_eq!(options.cors_origins.len(), 1);
    /// # }
    /// ```
    pub fn cors<V: Into<Value>>(mut self, origins: impl IntoIterator<Item = V>) -> Self {
        self.cors_origins = origins.into_iter().map(Into::into).collect();
        self
    }
}

/// Whether an operation needs the caller's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Security {
    #[default]
    None,
    Optional,
    Required,
}

/// One route's description, filled in by its argument and return types.
///
/// Implement [`ArgSchema`] or [`ResponseSchema`] for your own extractors and response types
/// with these methods.
pub struct Operation<'g> {
    requests: &'g mut SchemaGenerator,
    responses_gen: &'g mut SchemaGenerator,
    path: Option<Value>,
    query: Vec<Value>,
    body: Option<(String, Value, bool)>,
    responses: BTreeMap<String, Value>,
    security: Security,
    undescribed: Vec<String>,
    summary: Option<String>,
}

impl<'g> Operation<'g> {
    fn new(requests: &'g mut SchemaGenerator, responses_gen: &'g mut SchemaGenerator) -> Self {
        Operation {
            requests,
            responses_gen,
            path: None,
            query: Vec::new(),
            body: None,
            responses: BTreeMap::new(),
            security: Security::None,
            undescribed: Vec::new(),
            summary: None,
        }
    }

    fn request_schema<T: JsonSchema>(&mut self) -> Value {
        let schema = self.requests.subschema_for::<T>();
        finish(self.requests, schema)
    }

    /// The path parameters deserialize into `T`: a scalar (one parameter), a tuple (in
    /// template order) or a struct (by name).
    pub fn path<T: JsonSchema>(&mut self) {
        self.path = Some(self.request_schema::<T>());
    }

    /// The query string deserializes into `T`: each field a parameter, required unless it
    /// has a default or is an `Option`.
    pub fn query<T: JsonSchema>(&mut self) {
        let schema = self.request_schema::<T>();
        let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
            self.undescribed
                .push(format!("query string ({})", std::any::type_name::<T>()));
            return;
        };
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (name, schema) in properties {
            let mut parameter = json!({
                "name": name,
                "in": "query",
                "required": required.contains(&name.as_str()),
                "schema": schema,
            });
            if let Some(description) = schema.get("description") {
                parameter["description"] = description.clone();
            }
            self.query.push(parameter);
        }
    }

    /// The body is JSON deserializing into `T`.
    pub fn json_body<T: JsonSchema>(&mut self) {
        let schema = self.request_schema::<T>();
        self.body = Some(("application/json".into(), schema, true));
    }

    /// The body is bytes of any shape: described as such.
    pub fn raw_body(&mut self, content_type: &str) {
        let schema = json!({"type": "string", "format": "binary"});
        self.body = Some((content_type.to_owned(), schema, false));
    }

    /// A response with `status` (`"200"`, or a range such as `"2XX"`) and a JSON body of `T`.
    pub fn json_response<T: JsonSchema>(&mut self, status: &str, description: &str) {
        let schema = self.responses_gen.subschema_for::<T>();
        let schema = finish(self.responses_gen, schema);
        self.responses.insert(
            status.to_owned(),
            json!({"description": description, "content": {"application/json": {"schema": schema}}}),
        );
    }

    /// A response with `status`, optionally with a body of `content_type` (a string schema).
    pub fn response(&mut self, status: &str, description: &str, content_type: Option<&str>) {
        let mut response = json!({"description": description});
        if let Some(content_type) = content_type {
            response["content"] = json!({content_type: {"schema": {"type": "string"}}});
        }
        self.responses.insert(status.to_owned(), response);
    }

    /// Moves the success responses (`2..`) to the range `2XX`: the status is chosen at run time.
    pub fn success_status_at_run_time(&mut self) {
        let keys: Vec<String> = self
            .responses
            .keys()
            .filter(|k| k.starts_with('2'))
            .cloned()
            .collect();
        for key in keys {
            if let Some(response) = self.responses.remove(&key) {
                self.responses.insert("2XX".into(), response);
            }
        }
        if !self.responses.contains_key("2XX") {
            self.response("2XX", "Success", None);
        }
    }

    /// The route needs the caller's token.
    pub fn requires_auth(&mut self) {
        self.security = Security::Required;
    }

    /// The route reads the caller's token when there is one.
    pub fn optional_auth(&mut self) {
        if self.security == Security::None {
            self.security = Security::Optional;
        }
    }

    /// The operation's summary (`#[svless::api]` takes the first line of the handler's doc
    /// comment).
    pub fn summary(&mut self, summary: &str) {
        self.summary = Some(summary.to_owned());
    }

    /// Something about the route that cannot be described, named.
    pub fn undescribed(&mut self, what: &str) {
        self.undescribed.push(what.to_owned());
    }
}

/// An extractor's part in a route's description.
///
/// ```
/// # #[cfg(feature = "openapi")] {
/// use svless_core::openapi::{ArgSchema, Operation};
/// struct TenantId(String);
/// impl ArgSchema for TenantId {
///     fn describe(op: &mut Operation<'_>) { op.requires_auth(); }
/// }
/// # }
/// ```
pub trait ArgSchema {
    /// Adds what the extractor reads to the operation.
    fn describe(op: &mut Operation<'_>);
}

/// A response type's part in a route's description.
///
/// ```
/// # #[cfg(feature = "openapi")] {
/// use svless_core::openapi::{Operation, ResponseSchema};
/// struct Teapot;
/// impl ResponseSchema for Teapot {
///     fn describe(op: &mut Operation<'_>) { op.response("418", "I'm a teapot", None); }
/// }
/// # }
/// ```
pub trait ResponseSchema {
    /// Adds the responses to the operation.
    fn describe(op: &mut Operation<'_>);
}

impl<T: JsonSchema> ArgSchema for crate::Json<T> {
    fn describe(op: &mut Operation<'_>) {
        op.json_body::<T>();
    }
}

impl<T: JsonSchema> ArgSchema for crate::Path<T> {
    fn describe(op: &mut Operation<'_>) {
        op.path::<T>();
    }
}

impl<T: JsonSchema> ArgSchema for crate::Query<T> {
    fn describe(op: &mut Operation<'_>) {
        op.query::<T>();
    }
}

impl<T> ArgSchema for crate::State<T> {
    fn describe(_: &mut Operation<'_>) {}
}

impl ArgSchema for crate::Context {
    fn describe(_: &mut Operation<'_>) {}
}

impl ArgSchema for crate::Metrics {
    fn describe(_: &mut Operation<'_>) {}
}

impl ArgSchema for http::HeaderMap {
    fn describe(_: &mut Operation<'_>) {}
}

impl ArgSchema for http::Method {
    fn describe(_: &mut Operation<'_>) {}
}

impl ArgSchema for http::Uri {
    fn describe(_: &mut Operation<'_>) {}
}

impl ArgSchema for String {
    fn describe(op: &mut Operation<'_>) {
        op.raw_body("text/plain");
    }
}

macro_rules! raw_bodies {
    ($($ty:ty),*) => {$(
        impl ArgSchema for $ty {
            fn describe(op: &mut Operation<'_>) {
                op.raw_body("application/octet-stream");
            }
        }
    )*};
}
raw_bodies!(bytes::Bytes, Vec<u8>, crate::Body, crate::extract::RawBody);

impl<T: ArgSchema> ArgSchema for Option<T> {
    fn describe(op: &mut Operation<'_>) {
        let before = op.security;
        T::describe(op);
        if op.security == Security::Required && before != Security::Required {
            op.security = Security::Optional;
        }
        if let Some(body) = op.body.as_mut() {
            body.2 = false;
        }
    }
}

impl<T: JsonSchema> ResponseSchema for crate::Json<T> {
    fn describe(op: &mut Operation<'_>) {
        op.json_response::<T>("200", "OK");
    }
}

impl ResponseSchema for () {
    fn describe(op: &mut Operation<'_>) {
        op.response("204", "Done, no body", None);
    }
}

impl ResponseSchema for http::StatusCode {
    fn describe(op: &mut Operation<'_>) {
        op.response("2XX", "The status says it all", None);
    }
}

impl ResponseSchema for &'static str {
    fn describe(op: &mut Operation<'_>) {
        op.response("200", "OK", Some("text/plain"));
    }
}

impl ResponseSchema for String {
    fn describe(op: &mut Operation<'_>) {
        op.response("200", "OK", Some("text/plain"));
    }
}

impl<T: ResponseSchema> ResponseSchema for crate::Created<T> {
    fn describe(op: &mut Operation<'_>) {
        T::describe(op);
        if let Some(response) = op.responses.remove("200") {
            op.responses.insert("201".into(), response);
        }
        op.responses
            .entry("201".into())
            .or_insert_with(|| json!({"description": "Created"}));
    }
}

impl ResponseSchema for crate::NoContent {
    fn describe(op: &mut Operation<'_>) {
        op.response("204", "Done, no body", None);
    }
}

impl<T> ResponseSchema for crate::Html<T> {
    fn describe(op: &mut Operation<'_>) {
        op.response("200", "OK", Some("text/html"));
    }
}

impl<T: ResponseSchema, E: crate::IntoProblem> ResponseSchema for Result<T, E> {
    fn describe(op: &mut Operation<'_>) {
        T::describe(op);
    }
}

impl<T: ResponseSchema> ResponseSchema for (http::StatusCode, T) {
    fn describe(op: &mut Operation<'_>) {
        T::describe(op);
        op.success_status_at_run_time();
    }
}

impl<H: crate::response::IntoResponseHeaders, T: ResponseSchema> ResponseSchema for (H, T) {
    fn describe(op: &mut Operation<'_>) {
        T::describe(op);
        // The headers may set the media type: any is possible.
        for response in op.responses.values_mut() {
            if let Some(content) = response.get_mut("content").and_then(Value::as_object_mut) {
                let schemas: Vec<Value> = std::mem::take(content).into_values().collect();
                if let Some(schema) = schemas.into_iter().next() {
                    content.insert("*/*".into(), schema);
                }
            }
        }
    }
}

/// What the generated code of `#[svless::api]` calls: every argument and the return type are
/// described if they implement [`ArgSchema`] / [`ResponseSchema`], else named as undescribed.
#[doc(hidden)]
pub mod __probe {
    use super::{ArgSchema, Operation, ResponseSchema};
    use std::marker::PhantomData;

    /// Stands for a type whose description is looked up.
    pub struct Probe<T>(PhantomData<fn() -> T>);

    impl<T> Probe<T> {
        /// A probe of `T`.
        #[allow(clippy::new_without_default)]
        pub const fn new() -> Self {
            Probe(PhantomData)
        }
    }

    /// Chosen when the argument describes itself.
    pub trait ArgProbe {
        /// Describes the argument.
        fn describe_arg(&self, op: &mut Operation<'_>);
    }
    impl<T: ArgSchema> ArgProbe for &Probe<T> {
        fn describe_arg(&self, op: &mut Operation<'_>) {
            T::describe(op);
        }
    }
    /// Chosen otherwise.
    pub trait ArgFallback {
        /// Names the argument as undescribed.
        fn describe_arg(&self, op: &mut Operation<'_>);
    }
    impl<T> ArgFallback for Probe<T> {
        fn describe_arg(&self, op: &mut Operation<'_>) {
            op.undescribed(&format!("argument {}", std::any::type_name::<T>()));
        }
    }

    /// Chosen when the response type describes itself.
    pub trait ResponseProbe {
        /// Describes the response.
        fn describe_response(&self, op: &mut Operation<'_>);
    }
    impl<T: ResponseSchema> ResponseProbe for &Probe<T> {
        fn describe_response(&self, op: &mut Operation<'_>) {
            T::describe(op);
        }
    }
    /// Chosen otherwise.
    pub trait ResponseFallback {
        /// Names the response as undescribed.
        fn describe_response(&self, op: &mut Operation<'_>);
    }
    impl<T> ResponseFallback for Probe<T> {
        fn describe_response(&self, op: &mut Operation<'_>) {
            op.undescribed(&format!("response {}", std::any::type_name::<T>()));
        }
    }
}

/// A route as the app knows it, for the definition.
#[derive(Clone)]
pub(crate) struct RouteDoc {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) describe: Option<fn(&mut Operation<'_>)>,
    pub(crate) mock: Option<crate::mock::MockIntegration>,
}

/// A subschema with the generator's transforms applied (OpenAPI 3.0: `const` becomes `enum`,
/// `nullable`, ...), as a root schema or a definition would have them.
fn finish(generator: &mut SchemaGenerator, mut schema: schemars::Schema) -> Value {
    for transform in generator.transforms_mut() {
        transform.transform(&mut schema);
    }
    schema.to_value()
}

/// The problem details schema (RFC 9457) every error response has.
fn problem_schema() -> Value {
    json!({
        "type": "object",
        "required": ["type", "title", "status"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 100, "maximum": 599},
            "detail": {"type": "string"},
            "instance": {"type": "string"}
        },
        "additionalProperties": true
    })
}

/// The names of `{name}` and `{name+}` segments of a template, in order.
fn template_params(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|s| s.trim_end_matches('+').to_owned())
        .collect()
}

/// The schema of each path parameter, from the `Path<T>` schema.
fn path_param_schemas(names: &[String], schema: Option<&Value>) -> Vec<Value> {
    let string = json!({"type": "string"});
    let mut schemas = vec![string; names.len()];
    let Some(schema) = schema else { return schemas };
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (i, name) in names.iter().enumerate() {
            if let Some(s) = properties.get(name) {
                schemas[i] = s.clone();
            }
        }
    } else if let Some(items) = schema
        .get("prefixItems")
        .or_else(|| schema.get("items"))
        .and_then(Value::as_array)
    {
        for (i, s) in items.iter().enumerate().take(names.len()) {
            schemas[i] = s.clone();
        }
    } else if names.len() == 1 && schema.get("type").is_some() {
        schemas[0] = schema.clone();
    }
    schemas
}

fn cors_preflight(options: &OpenApi) -> Value {
    let origin = options.cors_origins.first().cloned().unwrap_or(json!("*"));
    let origin = match origin {
        Value::String(s) => Value::String(format!("'{s}'")),
        other => json!({"Fn::Sub": ["'${Origin}'", {"Origin": other}]}),
    };
    json!({
        "summary": "CORS preflight, answered by API Gateway",
        "responses": {"200": {
            "description": "The allowed origin, methods and headers",
            "headers": {
                "Access-Control-Allow-Origin": {"schema": {"type": "string"}},
                "Access-Control-Allow-Methods": {"schema": {"type": "string"}},
                "Access-Control-Allow-Headers": {"schema": {"type": "string"}}
            }
        }},
        "x-amazon-apigateway-integration": {
            "type": "mock",
            "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
            "passthroughBehavior": "when_no_match",
            "responses": {"default": {
                "statusCode": "200",
                "responseParameters": {
                    "method.response.header.Access-Control-Allow-Origin": origin,
                    "method.response.header.Access-Control-Allow-Methods": "'GET,POST,PUT,PATCH,DELETE,OPTIONS'",
                    "method.response.header.Access-Control-Allow-Headers": format!("'{}'", options.cors_headers.join(","))
                }
            }}
        }
    })
}

pub(crate) fn generate(routes: &[RouteDoc], options: &OpenApi) -> Value {
    let settings = SchemaSettings::openapi3().with(|s| {
        s.inline_subschemas = true;
        s.meta_schema = None;
    });
    let mut requests = settings.clone().for_deserialize().into_generator();
    let mut responses_gen = settings.for_serialize().into_generator();
    let rest = options.flavor == Flavor::RestApi;
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();

    for route in routes {
        let mut op = Operation::new(&mut requests, &mut responses_gen);
        match route.describe {
            Some(describe) => describe(&mut op),
            None if route.mock.is_none() => op.undescribed("registered by hand"),
            None => {}
        }
        let names = template_params(&route.path);
        let schemas = path_param_schemas(&names, op.path.as_ref());
        let mut parameters: Vec<Value> = names
            .iter()
            .zip(schemas)
            .map(|(name, schema)| json!({"name": name, "in": "path", "required": true, "schema": schema}))
            .collect();
        parameters.append(&mut op.query);

        let mut operation = Map::new();
        let id = operation_id(&route.method, &route.path);
        operation.insert("operationId".into(), json!(id));
        if let Some(summary) = op.summary.take() {
            operation.insert("summary".into(), json!(summary));
        }
        if !parameters.is_empty() {
            operation.insert("parameters".into(), Value::Array(parameters));
        }
        if let Some((content_type, schema, described)) = &op.body {
            operation.insert(
                "requestBody".into(),
                json!({"required": *described, "content": {content_type.as_str(): {"schema": schema}}}),
            );
        }
        let mut responses = std::mem::take(&mut op.responses);
        if let Some(mock) = &route.mock {
            responses.insert(
                mock.status().to_string(),
                json!({"description": "Rendered from the response mapping template", "content": {mock.content_type(): {"schema": {}}}}),
            );
        }
        if responses.is_empty() {
            responses.insert(
                "default".into(),
                json!({"description": "A response svless cannot describe"}),
            );
        }
        if route.mock.is_none() {
            let problem = json!({"$ref": "#/components/responses/Problem"});
            responses.insert("4XX".into(), problem.clone());
            responses.insert("5XX".into(), problem);
        }
        if op.security == Security::Required {
            responses.insert(
                "401".into(),
                json!({"$ref": "#/components/responses/Unauthorized"}),
            );
        }
        if rest {
            // API Gateway REST APIs take explicit status codes as method responses.
            responses = responses
                .into_iter()
                .map(|(k, v)| (k.replace("XX", "00"), v))
                .collect();
        }
        operation.insert("responses".into(), json!(responses));
        if let Some(auth) = &options.authorizer {
            match op.security {
                Security::Required => {
                    operation.insert("security".into(), json!([{auth.name.as_str(): []}]));
                }
                Security::Optional => {
                    operation.insert("security".into(), json!([{}, {auth.name.as_str(): []}]));
                }
                Security::None => {}
            }
        }
        if !op.undescribed.is_empty() {
            operation.insert("x-svless-undescribed".into(), json!(op.undescribed));
        }
        let integration = match (&route.mock, rest) {
            (Some(mock), true) => mock.integration(),
            _ if rest => json!({
                "type": "aws_proxy",
                "httpMethod": "POST",
                "uri": options.lambda_uri,
                "passthroughBehavior": "when_no_match"
            }),
            _ => json!({
                "type": "aws_proxy",
                "httpMethod": "POST",
                "uri": options.lambda_uri,
                "payloadFormatVersion": "2.0"
            }),
        };
        operation.insert("x-amazon-apigateway-integration".into(), integration);
        if rest {
            let validator = if op.body.as_ref().is_some_and(|b| b.2) {
                "body-and-parameters"
            } else {
                "parameters"
            };
            operation.insert(
                "x-amazon-apigateway-request-validator".into(),
                json!(validator),
            );
        }
        let method = if route.method == "ANY" {
            "x-amazon-apigateway-any-method".to_owned()
        } else {
            route.method.to_ascii_lowercase()
        };
        paths
            .entry(route.path.clone())
            .or_default()
            .insert(method, Value::Object(operation));
    }

    if rest && !options.cors_origins.is_empty() {
        for methods in paths.values_mut() {
            methods
                .entry("options")
                .or_insert_with(|| cors_preflight(options));
        }
    }

    let mut root = json!({
        "openapi": "3.0.1",
        "info": {"title": options.title, "version": options.version},
        "paths": paths,
    });
    root["components"] = json!({"responses": {
        "Problem": {
            "description": "A problem (RFC 9457)",
            "content": {"application/problem+json": {"schema": problem_schema()}}
        },
        "Unauthorized": {
            "description": "No valid token: the gateway's authorizer refused the request",
            "content": {
                "application/json": {"schema": {"type": "object", "properties": {"message": {"type": "string"}}}},
                "application/problem+json": {"schema": problem_schema()}
            }
        }
    }});
    if let Some(auth) = &options.authorizer {
        let scheme = if rest {
            json!({
                "type": "apiKey",
                "name": "Authorization",
                "in": "header",
                "x-amazon-apigateway-authtype": "cognito_user_pools",
                "x-amazon-apigateway-authorizer": {
                    "type": "cognito_user_pools",
                    "providerARNs": auth.provider_arns
                }
            })
        } else {
            json!({
                "type": "oauth2",
                "flows": {},
                "x-amazon-apigateway-authorizer": {
                    "type": "jwt",
                    "identitySource": "$request.header.Authorization",
                    "jwtConfiguration": {"issuer": auth.issuer, "audience": auth.audience}
                }
            })
        };
        root["components"]["securitySchemes"] = json!({auth.name.as_str(): scheme});
    }
    if rest {
        root["x-amazon-apigateway-request-validators"] = json!({
            "body-and-parameters": {"validateRequestBody": true, "validateRequestParameters": true},
            "parameters": {"validateRequestBody": false, "validateRequestParameters": true}
        });
        root["x-amazon-apigateway-gateway-responses"] = json!({
            "BAD_REQUEST_BODY": {
                "statusCode": 400,
                "responseTemplates": {"application/json": "{\"type\": \"about:blank\", \"title\": \"Bad Request\", \"status\": 400, \"detail\": \"$context.error.validationErrorString\", \"instance\": \"$context.requestId\"}"}
            }
        });
    } else if !options.cors_origins.is_empty() {
        root["x-amazon-apigateway-cors"] = json!({
            "allowOrigins": options.cors_origins,
            "allowMethods": ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            "allowHeaders": options.cors_headers,
            "maxAge": 600
        });
    }
    root
}

/// `GET /albums/{album}/photos` → `getAlbumsAlbumPhotos`.
fn operation_id(method: &str, path: &str) -> String {
    let mut id = method.to_ascii_lowercase();
    for part in path.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            id.push(first.to_ascii_uppercase());
            id.extend(chars);
        }
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_are_camel_case_and_distinct_per_method() {
        assert_eq!(
            operation_id("GET", "/albums/{album}/photos"),
            "getAlbumsAlbumPhotos"
        );
        assert_eq!(
            operation_id("DELETE", "/albums/{album}"),
            "deleteAlbumsAlbum"
        );
        assert_eq!(operation_id("GET", "/"), "get");
    }

    #[test]
    fn path_parameters_take_their_schemas_by_position_or_name() {
        let names = vec!["a".to_owned(), "b".to_owned()];
        let tuple = json!({"type": "array", "items": [{"type": "integer"}, {"type": "string"}]});
        let schemas = path_param_schemas(&names, Some(&tuple));
        assert_eq!(schemas[0]["type"], "integer");
        let object = json!({"type": "object", "properties": {"b": {"type": "integer"}}});
        let schemas = path_param_schemas(&names, Some(&object));
        assert_eq!(
            (schemas[0]["type"].clone(), schemas[1]["type"].clone()),
            (json!("string"), json!("integer"))
        );
        assert_eq!(template_params("/files/{key+}"), vec!["key"]);
    }
}
