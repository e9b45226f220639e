//! API Gateway route templates: `/todos/{id}`, `/files/{proxy+}`.

use std::fmt;

/// One segment of a route template.
///
/// ```
/// use svless_grammar::template::{Part, parse};
/// assert_eq!(parse("/files/{id}/{proxy+}"), Ok(vec![Part::Static("files"), Part::Param("id"), Part::Greedy("proxy")]));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part<'a> {
    /// Literal text.
    Static(&'a str),
    /// `{name}`: one segment.
    Param(&'a str),
    /// `{name+}`: the rest of the path (last only).
    Greedy(&'a str),
}

/// Why a route template is invalid; [`Display`](fmt::Display) says what is wrong and
/// [`TemplateError::advice`] what to write instead.
///
/// ```
/// let err = svless_grammar::template::parse("todos").unwrap_err();
/// assert!(err.to_string().contains("must start with `/`"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TemplateError {
    /// The template does not start with `/`.
    NoLeadingSlash(String),
    /// A `{` without its `}`, a `}` without its `{`.
    Braces(String),
    /// Text and a parameter in one segment (`/x{id}`).
    PartialSegment {
        /// The template.
        template: String,
        /// The segment.
        segment: String,
    },
    /// A parameter with an empty or invalid name.
    BadName {
        /// The template.
        template: String,
        /// What stood between the braces.
        name: String,
    },
    /// Two parameters share a name.
    Duplicate {
        /// The template.
        template: String,
        /// The repeated name.
        name: String,
    },
    /// A greedy `{name+}` parameter that is not the last segment.
    GreedyNotLast {
        /// The template.
        template: String,
        /// The parameter's name.
        name: String,
    },
    /// An empty segment (`//`).
    EmptySegment(String),
}

impl TemplateError {
    /// What to write instead, as a compile error says it.
    ///
    /// ```
    /// let err = svless_grammar::template::parse("todos").unwrap_err();
    /// assert_eq!(err.advice(), "a route template starts with `/`: write `\"/todos\"`");
    /// ```
    pub fn advice(&self) -> String {
        match self {
            TemplateError::NoLeadingSlash(raw) => {
                format!("a route template starts with `/`: write `\"/{raw}\"`")
            }
            TemplateError::Braces(raw) => {
                let segment = raw
                    .split('/')
                    .find(|s| s.matches('{').count() != s.matches('}').count())
                    .unwrap_or(raw);
                format!("unbalanced braces in the segment `{segment}`: write `{{name}}`")
            }
            TemplateError::PartialSegment { segment, .. } => format!(
                "the segment `{segment}` mixes text and a parameter; API Gateway needs a parameter to be a whole segment: write `/{{name}}`"
            ),
            TemplateError::BadName { name, .. } => format!(
                "`{{{name}}}` is not a valid parameter: name it with letters, digits and `_`, such as `{{id}}`"
            ),
            TemplateError::Duplicate { name, .. } => {
                format!("the parameter `{name}` appears twice: give each parameter its own name")
            }
            TemplateError::GreedyNotLast { name, .. } => format!(
                "the greedy parameter `{{{name}+}}` must be the last segment of the template"
            ),
            TemplateError::EmptySegment(_) => {
                "the route template has an empty segment (`//`): remove the extra `/`".into()
            }
        }
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TemplateError::NoLeadingSlash(raw) => {
                write!(f, "the route template `{raw}` must start with `/`")
            }
            TemplateError::Braces(raw) | TemplateError::PartialSegment { template: raw, .. } => {
                write!(
                    f,
                    "the route template `{raw}` has unbalanced braces or a parameter that is not a whole segment"
                )
            }
            TemplateError::BadName { template, .. } => write!(
                f,
                "the route template `{template}` has a parameter with an empty or invalid name"
            ),
            TemplateError::Duplicate { template, name } => {
                write!(
                    f,
                    "the route template `{template}` names the parameter `{name}` twice"
                )
            }
            TemplateError::GreedyNotLast { template, .. } => write!(
                f,
                "in the route template `{template}`, a greedy `{{name+}}` parameter must be the last segment"
            ),
            TemplateError::EmptySegment(raw) => {
                write!(f, "the route template `{raw}` has an empty segment")
            }
        }
    }
}

impl std::error::Error for TemplateError {}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

/// Parses and validates a template as API Gateway does: a leading `/`, no empty segment (a
/// trailing `/` is allowed), parameters as whole segments with valid, distinct names, a greedy
/// `{name+}` last.
///
/// ```
/// use svless_grammar::template::{TemplateError, parse};
/// assert!(matches!(parse("/a/{x+}/b"), Err(TemplateError::GreedyNotLast { .. })));
/// assert_eq!(parse("/").map(|p| p.len()), Ok(0));
/// ```
pub fn parse(raw: &str) -> Result<Vec<Part<'_>>, TemplateError> {
    let Some(rest) = raw.strip_prefix('/') else {
        return Err(TemplateError::NoLeadingSlash(raw.to_owned()));
    };
    let segments: Vec<&str> = if rest.is_empty() {
        Vec::new()
    } else {
        rest.split('/').collect()
    };
    let count = segments.len();
    let mut parts: Vec<Part<'_>> = Vec::with_capacity(count);
    for (i, segment) in segments.into_iter().enumerate() {
        if segment.is_empty() {
            if i + 1 == count {
                break;
            }
            return Err(TemplateError::EmptySegment(raw.to_owned()));
        }
        let opens = segment.matches('{').count();
        let closes = segment.matches('}').count();
        if opens == 0 && closes == 0 {
            parts.push(Part::Static(segment));
            continue;
        }
        let inner = match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(inner) if opens == 1 && closes == 1 => inner,
            _ if opens != closes => return Err(TemplateError::Braces(raw.to_owned())),
            _ => {
                return Err(TemplateError::PartialSegment {
                    template: raw.to_owned(),
                    segment: segment.to_owned(),
                });
            }
        };
        let (name, greedy) = match inner.strip_suffix('+') {
            Some(name) => (name, true),
            None => (inner, false),
        };
        if !valid_name(name) {
            return Err(TemplateError::BadName {
                template: raw.to_owned(),
                name: inner.to_owned(),
            });
        }
        if parts
            .iter()
            .any(|p| matches!(p, Part::Param(n) | Part::Greedy(n) if *n == name))
        {
            return Err(TemplateError::Duplicate {
                template: raw.to_owned(),
                name: name.to_owned(),
            });
        }
        if greedy {
            if i + 1 != count {
                return Err(TemplateError::GreedyNotLast {
                    template: raw.to_owned(),
                    name: name.to_owned(),
                });
            }
            parts.push(Part::Greedy(name));
        } else {
            parts.push(Part::Param(name));
        }
    }
    Ok(parts)
}

/// The parameter names of a valid template, in order.
///
/// ```
/// assert_eq!(svless_grammar::template::params("/u/{owner}/t/{id}"), Ok(vec!["owner", "id"]));
/// ```
pub fn params(raw: &str) -> Result<Vec<&str>, TemplateError> {
    Ok(parse(raw)?
        .into_iter()
        .filter_map(|p| match p {
            Part::Param(n) | Part::Greedy(n) => Some(n),
            Part::Static(_) => None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_templates_are_refused() {
        type Expect = fn(&TemplateError) -> bool;
        let cases: [(&str, Expect); 9] = [
            ("a/b", |e| matches!(e, TemplateError::NoLeadingSlash(_))),
            ("/a/{b", |e| matches!(e, TemplateError::Braces(_))),
            ("/a/b}", |e| matches!(e, TemplateError::Braces(_))),
            ("/a/x{b}", |e| {
                matches!(e, TemplateError::PartialSegment { .. })
            }),
            ("/a/{b}{c}", |e| {
                matches!(e, TemplateError::PartialSegment { .. })
            }),
            ("/a/{}", |e| matches!(e, TemplateError::BadName { .. })),
            ("/{a}/{a}", |e| matches!(e, TemplateError::Duplicate { .. })),
            ("/{p+}/x", |e| {
                matches!(e, TemplateError::GreedyNotLast { .. })
            }),
            ("/a//b", |e| matches!(e, TemplateError::EmptySegment(_))),
        ];
        for (raw, expected) in cases {
            let err = parse(raw).expect_err(raw);
            assert!(expected(&err), "{raw}: {err:?}");
            assert!(!err.advice().is_empty());
        }
        assert_eq!(parse("/a/").map(|p| p.len()), Ok(1));
    }
}
