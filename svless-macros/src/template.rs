//! Route template rules, as API Gateway applies them (mirrors `svless_core::routing::Template`).

pub(crate) struct Parsed {
    pub(crate) params: Vec<String>,
}

pub(crate) fn parse(raw: &str) -> Result<Parsed, String> {
    let Some(rest) = raw.strip_prefix('/') else {
        return Err(format!(
            "a route template starts with `/`: write `\"/{raw}\"`"
        ));
    };
    let parts: Vec<&str> = if rest.is_empty() {
        Vec::new()
    } else {
        rest.split('/').collect()
    };
    let count = parts.len();
    let mut params: Vec<String> = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() {
            if i + 1 == count {
                break;
            }
            return Err(
                "the route template has an empty segment (`//`): remove the extra `/`".into(),
            );
        }
        let opens = part.matches('{').count();
        let closes = part.matches('}').count();
        if opens == 0 && closes == 0 {
            continue;
        }
        let inner = match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(inner) if opens == 1 && closes == 1 => inner,
            _ if opens != closes => {
                return Err(format!(
                    "unbalanced braces in the segment `{part}`: write `{{name}}`"
                ));
            }
            _ => {
                return Err(format!(
                    "the segment `{part}` mixes text and a parameter; API Gateway needs a parameter to be a whole segment: write `/{{name}}`"
                ));
            }
        };
        let (name, greedy) = match inner.strip_suffix('+') {
            Some(name) => (name, true),
            None => (inner, false),
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        {
            return Err(format!(
                "`{{{inner}}}` is not a valid parameter: name it with letters, digits and `_`, such as `{{id}}`"
            ));
        }
        if params.iter().any(|p| p == name) {
            return Err(format!(
                "the parameter `{name}` appears twice: give each parameter its own name"
            ));
        }
        if greedy && i + 1 != count {
            return Err(format!(
                "the greedy parameter `{{{name}+}}` must be the last segment of the template"
            ));
        }
        params.push(name.to_owned());
    }
    Ok(Parsed { params })
}
