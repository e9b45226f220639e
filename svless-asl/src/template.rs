//! Payload templates (`Parameters`, `ResultSelector`, `ItemSelector`): JSON whose `.$` fields are
//! paths into the input (`$.a`), the context object (`$$.Execution.Id`) or intrinsic calls.
//!
//! ```
//! use serde_json::json;
//! use svless_asl::template::Template;
//!
//! let template = Template::parse(&json!({"id.$": "$.order", "kind": "new"})).expect("a template");
//! let out = template.render(&json!({"order": 7}), &json!({})).expect("rendered");
//! assert_eq!(out, json!({"id": 7, "kind": "new"}));
//! ```

use crate::intrinsic::{Intrinsic, IntrinsicError};
use crate::path::{Path, PathError};
use serde_json::{Map, Value};

/// A parsed payload template.
#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    /// A value copied as written.
    Literal(Value),
    /// An object whose fields are templates (the `.$` already removed from their names).
    Object(Vec<(String, Template)>),
    /// An array of templates.
    Array(Vec<Template>),
    /// `$...`: a path into the state's input.
    Input(Path),
    /// `$$...`: a path into the context object.
    Context(Path),
    /// `States.*(...)`.
    Intrinsic(Intrinsic),
}

/// Why a template could not be rendered. A path that matches nothing — in a field or in an
/// intrinsic function's argument — fails the state with `States.Runtime` and the message Step
/// Functions writes ("The JSONPath '$.x' specified for the field 'x.$' could not be found in the
/// input '…'"); an intrinsic function that fails on the values it was given fails it with
/// `States.IntrinsicFailure`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenderError {
    /// A path of a `.$` field matched nothing.
    Path {
        /// The field, as written (with `.$`).
        field: String,
        /// What failed.
        error: PathError,
        /// The document the path was applied to, as JSON text.
        input: String,
    },
    /// An intrinsic call failed.
    Intrinsic {
        /// The field, as written (with `.$`).
        field: String,
        /// What failed.
        error: IntrinsicError,
    },
}

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RenderError::Path {
                field,
                error,
                input,
            } => match error {
                PathError::NoMatch { path } => write!(
                    f,
                    "The JSONPath '{path}' specified for the field '{field}' could not be found in the input '{input}'"
                ),
                other => write!(f, "The field '{field}' could not be rendered: {other}"),
            },
            RenderError::Intrinsic { field, error } => {
                write!(
                    f,
                    "The intrinsic function of field '{field}' failed: {error}"
                )
            }
        }
    }
}

impl std::error::Error for RenderError {}

impl RenderError {
    /// The Step Functions error name a state fails with.
    ///
    /// ```
    /// use serde_json::json;
    /// let template = svless_asl::template::Template::parse(&json!({"a.$": "$.missing"})).expect("a template");
    /// let err = template.render(&json!({}), &json!({})).unwrap_err();
    /// assert_eq!(err.error_name(), "States.Runtime");
    /// ```
    pub fn error_name(&self) -> &'static str {
        match self {
            RenderError::Path { .. } => "States.Runtime",
            RenderError::Intrinsic { error, .. } if error.is_path() => "States.Runtime",
            RenderError::Intrinsic { .. } => "States.IntrinsicFailure",
        }
    }
}

impl Template {
    /// Parses a template; a `.$` field whose value is not a path or a call is an error naming it.
    ///
    /// ```
    /// use serde_json::json;
    /// assert!(svless_asl::template::Template::parse(&json!({"a.$": "not a path"})).is_err());
    /// ```
    pub fn parse(value: &Value) -> Result<Template, String> {
        Template::parse_at(value, "")
    }

    fn parse_at(value: &Value, at: &str) -> Result<Template, String> {
        match value {
            Value::Object(map) => {
                let mut fields = Vec::with_capacity(map.len());
                for (key, value) in map {
                    let here = format!("{at}/{key}");
                    if let Some(name) = key.strip_suffix(".$") {
                        let Some(text) = value.as_str() else {
                            return Err(format!(
                                "the value of `{key}` at {here} must be a string: a path or an intrinsic function"
                            ));
                        };
                        fields.push((name.to_owned(), Template::dynamic(text, &here)?));
                    } else {
                        fields.push((key.clone(), Template::parse_at(value, &here)?));
                    }
                }
                Ok(Template::Object(fields))
            }
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| Template::parse_at(item, &format!("{at}/{i}")))
                .collect::<Result<_, _>>()
                .map(Template::Array),
            other => Ok(Template::Literal(other.clone())),
        }
    }

    /// The template of one `.$` value: a path, a context path or an intrinsic call.
    pub(crate) fn dynamic(text: &str, at: &str) -> Result<Template, String> {
        if Intrinsic::looks_like(text) {
            return Intrinsic::parse(text)
                .map(Template::Intrinsic)
                .map_err(|e| format!("{e} at {at}"));
        }
        if let Some(rest) = text.strip_prefix("$$") {
            return Path::parse(&format!("${rest}"))
                .map(Template::Context)
                .map_err(|e| format!("{e} at {at}"));
        }
        Path::parse(text)
            .map(Template::Input)
            .map_err(|e| format!("{e} at {at}"))
    }

    /// The string written as-is for `field` of an object template (`FunctionName`,
    /// `TableName`), if it is one.
    ///
    /// ```
    /// use serde_json::json;
    /// let t = svless_asl::template::Template::parse(&json!({"TableName": "orders", "Key.$": "$.key"})).expect("a template");
    /// assert_eq!(t.literal("TableName"), Some("orders"));
    /// assert_eq!(t.literal("Key"), None);
    /// ```
    pub fn literal(&self, field: &str) -> Option<&str> {
        let Template::Object(fields) = self else {
            return None;
        };
        fields.iter().find_map(|(name, value)| match value {
            Template::Literal(Value::String(text)) if name == field => Some(text.as_str()),
            _ => None,
        })
    }

    /// Whether rendering reads the context object (`$$`), so a caller can skip building it.
    ///
    /// ```
    /// use serde_json::json;
    /// let t = svless_asl::template::Template::parse(&json!({"id.$": "$$.Execution.Id"})).expect("a template");
    /// assert!(t.uses_context());
    /// ```
    pub fn uses_context(&self) -> bool {
        match self {
            Template::Literal(_) | Template::Input(_) => false,
            Template::Context(_) => true,
            Template::Object(fields) => fields.iter().any(|(_, t)| t.uses_context()),
            Template::Array(items) => items.iter().any(Template::uses_context),
            Template::Intrinsic(call) => call.uses_context(),
        }
    }

    /// Renders the template against the state's input and the context object.
    ///
    /// ```
    /// use serde_json::json;
    /// let t = svless_asl::template::Template::parse(&json!({"n.$": "States.ArrayLength($.items)"})).expect("a template");
    /// assert_eq!(t.render(&json!({"items": [1, 2]}), &json!({})).expect("rendered"), json!({"n": 2}));
    /// ```
    pub fn render(&self, input: &Value, context: &Value) -> Result<Value, RenderError> {
        self.render_field(input, context, "")
    }

    fn render_field(
        &self,
        input: &Value,
        context: &Value,
        field: &str,
    ) -> Result<Value, RenderError> {
        let path_error = |error, document: &Value| RenderError::Path {
            field: format!("{field}.$"),
            error,
            input: document.to_string(),
        };
        Ok(match self {
            Template::Literal(value) => value.clone(),
            Template::Object(fields) => {
                let mut out = Map::with_capacity(fields.len());
                for (name, template) in fields {
                    out.insert(name.clone(), template.render_field(input, context, name)?);
                }
                Value::Object(out)
            }
            Template::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| item.render_field(input, context, field))
                    .collect::<Result<_, _>>()?,
            ),
            Template::Input(path) => path.select(input).map_err(|e| path_error(e, input))?,
            Template::Context(path) => path.select(context).map_err(|e| path_error(e, context))?,
            Template::Intrinsic(call) => {
                call.eval(input, context)
                    .map_err(|error| RenderError::Intrinsic {
                        field: format!("{field}.$"),
                        error,
                    })?
            }
        })
    }
}
