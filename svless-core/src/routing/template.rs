//! Route templates: `/todos/{id}`, `/files/{proxy+}`.

use std::fmt;
use std::sync::Arc;

/// One segment of a route template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Static(String),
    Param(Arc<str>),
    Greedy(Arc<str>),
}

/// A parsed route template, as API Gateway writes them.
///
/// ```
/// use svless_core::routing::Template;
/// let t = Template::parse("/todos/{owner}/{id}").unwrap();
/// assert_eq!(t.params().collect::<Vec<_>>(), ["owner", "id"]);
/// assert!(Template::parse("todos").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    raw: String,
    pub(crate) segments: Vec<Segment>,
}

/// Why a route template is invalid.
///
/// ```
/// let err = svless_core::routing::Template::parse("todos").unwrap_err();
/// assert!(err.to_string().contains("must start with `/`"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The template does not start with `/`.
    #[error("the route template `{0}` must start with `/`")]
    NoLeadingSlash(String),
    /// A `{` without its `}`, a `}` without its `{`, or braces inside a segment.
    #[error(
        "the route template `{0}` has unbalanced braces or a parameter that is not a whole segment"
    )]
    Braces(String),
    /// A parameter with an empty or invalid name.
    #[error("the route template `{0}` has a parameter with an empty or invalid name")]
    BadName(String),
    /// Two parameters share a name.
    #[error("the route template `{template}` names the parameter `{name}` twice")]
    Duplicate {
        /// The template.
        template: String,
        /// The repeated name.
        name: String,
    },
    /// A greedy `{name+}` parameter that is not the last segment.
    #[error("in the route template `{0}`, a greedy `{{name+}}` parameter must be the last segment")]
    GreedyNotLast(String),
    /// An empty segment (`//`).
    #[error("the route template `{0}` has an empty segment")]
    EmptySegment(String),
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

impl Template {
    /// Parses and validates a template.
    ///
    /// ```
    /// use svless_core::routing::{Template, TemplateError};
    /// assert!(matches!(Template::parse("/a/{x+}/b"), Err(TemplateError::GreedyNotLast(_))));
    /// ```
    pub fn parse(raw: &str) -> Result<Self, TemplateError> {
        let Some(rest) = raw.strip_prefix('/') else {
            return Err(TemplateError::NoLeadingSlash(raw.to_owned()));
        };
        let mut segments = Vec::new();
        let parts: Vec<&str> = if rest.is_empty() {
            Vec::new()
        } else {
            rest.split('/').collect()
        };
        let count = parts.len();
        for (i, part) in parts.into_iter().enumerate() {
            if part.is_empty() {
                if i + 1 == count {
                    break;
                }
                return Err(TemplateError::EmptySegment(raw.to_owned()));
            }
            let opens = part.matches('{').count();
            let closes = part.matches('}').count();
            if opens == 0 && closes == 0 {
                segments.push(Segment::Static(part.to_owned()));
                continue;
            }
            let inner = match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(inner) if opens == 1 && closes == 1 => inner,
                _ => return Err(TemplateError::Braces(raw.to_owned())),
            };
            let (name, greedy) = match inner.strip_suffix('+') {
                Some(name) => (name, true),
                None => (inner, false),
            };
            if !valid_name(name) {
                return Err(TemplateError::BadName(raw.to_owned()));
            }
            if segments
                .iter()
                .any(|s| matches!(s, Segment::Param(n) | Segment::Greedy(n) if &**n == name))
            {
                return Err(TemplateError::Duplicate {
                    template: raw.to_owned(),
                    name: name.to_owned(),
                });
            }
            if greedy {
                if i + 1 != count {
                    return Err(TemplateError::GreedyNotLast(raw.to_owned()));
                }
                segments.push(Segment::Greedy(name.into()));
            } else {
                segments.push(Segment::Param(name.into()));
            }
        }
        Ok(Template {
            raw: raw.to_owned(),
            segments,
        })
    }

    /// The template as written.
    ///
    /// ```
    /// assert_eq!(svless_core::routing::Template::parse("/a").unwrap().as_str(), "/a");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The parameter names, in order.
    ///
    /// ```
    /// let t = svless_core::routing::Template::parse("/f/{proxy+}").unwrap();
    /// assert_eq!(t.params().collect::<Vec<_>>(), ["proxy"]);
    /// ```
    pub fn params(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Param(n) | Segment::Greedy(n) => Some(&**n),
            Segment::Static(_) => None,
        })
    }

    /// The template with parameter names erased (`/todos/{}`), so that `/a/{x}` and `/a/{y}` are
    /// recognised as the same route.
    pub(crate) fn shape(&self) -> String {
        let mut out = String::new();
        for s in &self.segments {
            out.push('/');
            match s {
                Segment::Static(v) => out.push_str(v),
                Segment::Param(_) => out.push_str("{}"),
                Segment::Greedy(_) => out.push_str("{+}"),
            }
        }
        if out.is_empty() {
            out.push('/');
        }
        out
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_templates_are_refused() {
        assert!(matches!(
            Template::parse("a/b"),
            Err(TemplateError::NoLeadingSlash(_))
        ));
        assert!(matches!(
            Template::parse("/a/{b"),
            Err(TemplateError::Braces(_))
        ));
        assert!(matches!(
            Template::parse("/a/b}"),
            Err(TemplateError::Braces(_))
        ));
        assert!(matches!(
            Template::parse("/a/x{b}"),
            Err(TemplateError::Braces(_))
        ));
        assert!(matches!(
            Template::parse("/a/{}"),
            Err(TemplateError::BadName(_))
        ));
        assert!(matches!(
            Template::parse("/{a}/{a}"),
            Err(TemplateError::Duplicate { .. })
        ));
        assert!(matches!(
            Template::parse("/{p+}/x"),
            Err(TemplateError::GreedyNotLast(_))
        ));
        assert!(matches!(
            Template::parse("/a//b"),
            Err(TemplateError::EmptySegment(_))
        ));
    }

    #[test]
    fn shapes_ignore_parameter_names() {
        let a = Template::parse("/a/{x}").unwrap();
        let b = Template::parse("/a/{y}/").unwrap();
        assert_eq!(a.shape(), b.shape());
        assert_eq!(Template::parse("/").unwrap().shape(), "/");
    }
}
