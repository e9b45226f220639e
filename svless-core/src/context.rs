//! What svless knows about the invocation beside the HTTP request.

use serde_json::{Map, Value};
use std::time::{Duration, SystemTime};

/// The payload format an HTTP request arrived in.
///
/// ```
/// use svless_core::PayloadFormat;
/// assert_ne!(PayloadFormat::ApiGatewayV1, PayloadFormat::ApiGatewayV2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PayloadFormat {
    /// API Gateway REST API proxy integration (and HTTP API payload format 1.0).
    ApiGatewayV1,
    /// API Gateway HTTP API payload format 2.0, also used by Lambda function URLs.
    #[default]
    ApiGatewayV2,
    /// Application Load Balancer target group.
    Alb,
}

/// The invocation's context: Lambda's and API Gateway's facts about this request.
///
/// It is an extractor: add `ctx: Context` to a handler's arguments.
///
/// ```
/// use svless_core::Context;
///
/// async fn whoami(ctx: Context) -> String {
///     format!("{} via {:?}", ctx.request_id, ctx.stage)
/// }
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Context {
    /// The Lambda request id (`Lambda-Runtime-Aws-Request-Id`); a generated id when served locally.
    pub request_id: String,
    /// The function's name (`AWS_LAMBDA_FUNCTION_NAME`).
    pub function_name: String,
    /// The function's version (`AWS_LAMBDA_FUNCTION_VERSION`), `$LATEST` when unpublished.
    pub function_version: String,
    /// The ARN the function was invoked with; its last segment is the qualifier, if any.
    pub invoked_function_arn: String,
    /// When the invocation times out.
    pub deadline: Option<SystemTime>,
    /// API Gateway's (or the load balancer's) own request id.
    pub api_request_id: Option<String>,
    /// The API Gateway stage.
    pub stage: Option<String>,
    /// The domain name the client called.
    pub domain_name: Option<String>,
    /// The client's IP address as API Gateway saw it.
    pub source_ip: Option<String>,
    /// The client's `User-Agent`.
    pub user_agent: Option<String>,
    /// What an authorizer attached: for REST APIs the `authorizer` object (with `claims` for
    /// Cognito user-pool authorizers), for HTTP APIs `{"jwt": {"claims", "scopes"}, "lambda": {...}}`.
    pub authorizer: Map<String, Value>,
    /// The payload format the request arrived in.
    pub payload_format: PayloadFormat,
    /// The WebSocket connection the event belongs to (WebSocket APIs only).
    pub connection_id: Option<String>,
    /// The X-Ray trace id of the invocation (`_X_AMZN_TRACE_ID`).
    pub trace_id: Option<String>,
}

impl Context {
    /// The qualifier (version or alias) in the invoked ARN, if the function was invoked with one.
    ///
    /// ```
    /// let mut ctx = svless_core::Context::default();
    /// ctx.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:todos:live".into();
    /// assert_eq!(ctx.qualifier(), Some("live"));
    /// ```
    pub fn qualifier(&self) -> Option<&str> {
        let mut parts = self.invoked_function_arn.split(':');
        parts.nth(7)
    }

    /// The time left before the invocation's deadline; `None` when there is no deadline (local runs).
    ///
    /// ```
    /// assert!(svless_core::Context::default().remaining().is_none());
    /// ```
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline.map(|deadline| {
            deadline
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO)
        })
    }

    /// The id to report in problem bodies: API Gateway's request id, else Lambda's.
    ///
    /// ```
    /// let mut ctx = svless_core::Context::default();
    /// ctx.request_id = "lambda-1".into();
    /// assert_eq!(ctx.trace_id(), "lambda-1");
    /// ctx.api_request_id = Some("apigw-1".into());
    /// assert_eq!(ctx.trace_id(), "apigw-1");
    /// ```
    pub fn trace_id(&self) -> &str {
        self.api_request_id.as_deref().unwrap_or(&self.request_id)
    }

    /// The verified JWT claims an API Gateway authorizer passed on: `claims` of a REST Cognito
    /// user-pool authorizer, or `jwt.claims` of an HTTP API JWT authorizer.
    ///
    /// ```
    /// let mut ctx = svless_core::Context::default();
    /// ctx.authorizer = serde_json::json!({"claims": {"sub": "abc"}}).as_object().cloned().unwrap_or_default();
    /// assert_eq!(ctx.claims().and_then(|c| c.get("sub")), Some(&serde_json::json!("abc")));
    /// ```
    pub fn claims(&self) -> Option<&Map<String, Value>> {
        if let Some(Value::Object(claims)) = self.authorizer.get("claims") {
            return Some(claims);
        }
        match self.authorizer.get("jwt") {
            Some(Value::Object(jwt)) => match jwt.get("claims") {
                Some(Value::Object(claims)) => Some(claims),
                _ => None,
            },
            _ => None,
        }
    }
}
