//! Route templates, read with the grammar the runtime uses (`svless_grammar::template`).

pub(crate) struct Parsed {
    pub(crate) params: Vec<String>,
}

/// The template's parameters, or what to write instead.
pub(crate) fn parse(raw: &str) -> Result<Parsed, String> {
    svless_grammar::template::params(raw)
        .map(|params| Parsed {
            params: params.into_iter().map(str::to_owned).collect(),
        })
        .map_err(|err| err.advice())
}
