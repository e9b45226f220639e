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

pub use svless_grammar::template::TemplateError;

impl Template {
    /// Parses and validates a template (the grammar the `#[api]` macro checks at compile time:
    /// `svless_grammar::template`).
    ///
    /// ```
    /// use svless_core::routing::{Template, TemplateError};
    /// assert!(matches!(Template::parse("/a/{x+}/b"), Err(TemplateError::GreedyNotLast { .. })));
    /// ```
    pub fn parse(raw: &str) -> Result<Self, TemplateError> {
        use svless_grammar::template::Part;
        let segments = svless_grammar::template::parse(raw)?
            .into_iter()
            .map(|part| match part {
                Part::Static(text) => Segment::Static(text.to_owned()),
                Part::Param(name) => Segment::Param(name.into()),
                Part::Greedy(name) => Segment::Greedy(name.into()),
            })
            .collect();
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
            Err(TemplateError::PartialSegment { .. })
        ));
        assert!(matches!(
            Template::parse("/a/{}"),
            Err(TemplateError::BadName { .. })
        ));
        assert!(matches!(
            Template::parse("/{a}/{a}"),
            Err(TemplateError::Duplicate { .. })
        ));
        assert!(matches!(
            Template::parse("/{p+}/x"),
            Err(TemplateError::GreedyNotLast { .. })
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
