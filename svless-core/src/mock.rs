//! Mock integrations: routes API Gateway answers itself, from a mapping template, without
//! invoking the function.
//!
//! A REST API answers a mock integration at the gateway: the request mapping template picks the
//! status (`{"statusCode": 200}`) and the response mapping template, written in the Velocity
//! Template Language, renders the body. [`App::mock`](crate::App::mock) declares one. The
//! OpenAPI definition (feature `openapi`, [`Flavor::RestApi`](crate::openapi::Flavor)) carries
//! it as a `mock` integration, and the app answers the same route from the same template where
//! no REST API stands in front of it — on the local cloud, behind an HTTP API (which has no mock
//! integrations) and in tests — so the route behaves alike everywhere.
//!
//! The app renders the subset of the template language a health or version route needs:
//! literal text and the variables `$context.requestId`, `$context.requestTime`,
//! `$context.requestTimeEpoch`, `$context.httpMethod`, `$context.resourcePath` and
//! `$context.stage` (also as `${context.requestId}`, ...). A template using anything else
//! (`#set`, `#if`, `$input`, `$util`, other variables) is refused when the app is built, so it
//! never deploys something the local answer does not match.
//!
//! ```
//! use svless_core::{App, mock::MockIntegration};
//! let app = App::new().mock("GET", "/health", MockIntegration::json(200, r#"{"status": "ok", "requestId": "$context.requestId"}"#));
//! assert!(app.check().is_ok());
//! ```

use crate::Context;
use http::{HeaderValue, Method, StatusCode, header};

/// The variables the app renders.
const VARIABLES: [&str; 6] = [
    "requestId",
    "requestTime",
    "requestTimeEpoch",
    "httpMethod",
    "resourcePath",
    "stage",
];

/// A mock integration: a status and a response mapping template.
///
/// ```
/// let mock = svless_core::mock::MockIntegration::json(200, r#"{"ok": true}"#);
/// assert_eq!(mock.status(), 200);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockIntegration {
    status: u16,
    content_type: String,
    template: String,
}

impl MockIntegration {
    /// A mock answering `status` with the JSON `template` rendered.
    ///
    /// ```
    /// let mock = svless_core::mock::MockIntegration::json(200, r#"{"status": "ok"}"#);
    /// assert_eq!(mock.content_type(), "application/json");
    /// ```
    pub fn json(status: u16, template: &str) -> Self {
        MockIntegration {
            status,
            content_type: "application/json".into(),
            template: template.to_owned(),
        }
    }

    /// The status the request mapping template selects.
    ///
    /// ```
    /// assert_eq!(svless_core::mock::MockIntegration::json(503, "{}").status(), 503);
    /// ```
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The response's media type.
    ///
    /// ```
    /// assert_eq!(svless_core::mock::MockIntegration::json(200, "{}").content_type(), "application/json");
    /// ```
    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    /// The response mapping template.
    ///
    /// ```
    /// assert_eq!(svless_core::mock::MockIntegration::json(200, "{}").template(), "{}");
    /// ```
    pub fn template(&self) -> &str {
        &self.template
    }

    /// Why the app cannot render the template, if it cannot.
    pub(crate) fn check(&self) -> Result<(), String> {
        if StatusCode::from_u16(self.status).is_err() {
            return Err(format!("the mock status {} is no HTTP status", self.status));
        }
        if HeaderValue::from_str(&self.content_type).is_err() {
            return Err(format!(
                "the mock media type `{}` is no header value",
                self.content_type
            ));
        }
        for line in self.template.lines() {
            if line.trim_start().starts_with('#') {
                return Err(format!(
                    "the mock's mapping template has a directive (`{}`): svless renders literal text and `$context` variables only, so the local answer would differ from API Gateway's",
                    line.trim()
                ));
            }
        }
        let mut rest = self.template.as_str();
        while let Some(at) = rest.find('$') {
            rest = &rest[at + 1..];
            if !rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '{') {
                continue;
            }
            let (name, after) = variable(rest);
            match name {
                Some(name) if VARIABLES.contains(&name) => rest = after,
                _ => {
                    let shown: String = rest.chars().take(24).collect();
                    return Err(format!(
                        "the mock's mapping template uses `${shown}`: svless renders only $context.{} — write one of those or a literal",
                        VARIABLES.join(", $context.")
                    ));
                }
            }
        }
        Ok(())
    }

    /// The template rendered for one request.
    pub(crate) fn render(&self, context: &Context, method: &Method, resource: &str) -> String {
        let mut out = String::with_capacity(self.template.len());
        let mut rest = self.template.as_str();
        let now = std::time::SystemTime::now();
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let (name, after) = variable(&rest[at + 1..]);
            let value = match name {
                Some("requestId") => context
                    .api_request_id
                    .clone()
                    .unwrap_or_else(|| context.request_id.clone()),
                Some("requestTime") => chrono::DateTime::<chrono::Utc>::from(now)
                    .format("%d/%b/%Y:%H:%M:%S %z")
                    .to_string(),
                Some("requestTimeEpoch") => now
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis().to_string())
                    .unwrap_or_default(),
                Some("httpMethod") => method.as_str().to_owned(),
                Some("resourcePath") => resource.to_owned(),
                Some("stage") => context.stage.clone().unwrap_or_else(|| "$default".into()),
                _ => {
                    out.push('$');
                    rest = &rest[at + 1..];
                    continue;
                }
            };
            out.push_str(&value);
            rest = after;
        }
        out.push_str(rest);
        out
    }

    /// The answer to one request.
    pub(crate) fn respond(
        &self,
        context: &Context,
        method: &Method,
        resource: &str,
    ) -> crate::Response {
        let body = self.render(context, method, resource);
        let mut response = crate::Response::new(crate::Body::from(body));
        *response.status_mut() = StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK);
        if let Ok(value) = HeaderValue::from_str(&self.content_type) {
            response.headers_mut().insert(header::CONTENT_TYPE, value);
        }
        response
    }

    /// The `x-amazon-apigateway-integration` of a REST API.
    #[cfg(feature = "openapi")]
    pub(crate) fn integration(&self) -> serde_json::Value {
        serde_json::json!({
            "type": "mock",
            "passthroughBehavior": "when_no_templates",
            "requestTemplates": {"application/json": format!("{{\"statusCode\": {}}}", self.status)},
            "responses": {"default": {
                "statusCode": self.status.to_string(),
                "responseTemplates": {self.content_type.as_str(): self.template}
            }}
        })
    }
}

/// `context.name` or `{context.name}` after a `$`: the name and what follows.
fn variable(after_dollar: &str) -> (Option<&str>, &str) {
    let (braced, s) = match after_dollar.strip_prefix('{') {
        Some(s) => (true, s),
        None => (false, after_dollar),
    };
    let Some(s) = s.strip_prefix("context.") else {
        return (None, after_dollar);
    };
    let end = s
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(s.len());
    let (name, rest) = s.split_at(end);
    if braced {
        match rest.strip_prefix('}') {
            Some(rest) => (Some(name), rest),
            None => (None, after_dollar),
        }
    } else {
        (Some(name), rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_context_variables_and_keeps_literals() {
        let mock = MockIntegration::json(
            200,
            r#"{"id": "$context.requestId", "m": "${context.httpMethod}", "price": "5$"}"#,
        );
        let mut context = Context::local();
        context.api_request_id = Some("abc".into());
        let out = mock.render(&context, &Method::GET, "/health");
        assert_eq!(out, r#"{"id": "abc", "m": "GET", "price": "5$"}"#);
    }

    #[test]
    fn refuses_what_it_cannot_render() {
        for template in [
            "#set($x = 1)\n{}",
            r#"{"body": $input.json('$')}"#,
            r#"{"x": "$context.identity.sourceIp"}"#,
            r#"{"x": "$util.escapeJavaScript('a')"}"#,
        ] {
            let err = MockIntegration::json(200, template)
                .check()
                .expect_err(template);
            assert!(err.contains("mapping template"), "{err}");
        }
        assert!(
            MockIntegration::json(200, r#"{"t": $context.requestTimeEpoch}"#)
                .check()
                .is_ok()
        );
        assert!(MockIntegration::json(1000, "{}").check().is_err());
    }
}
