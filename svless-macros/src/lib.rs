//! Procedural macros of [svless](https://docs.rs/svless). Use them through the `svless` crate:
//! the code they generate names only `::svless::` paths.

mod api;
mod path_params;
mod problem;
mod template;

use proc_macro::TokenStream;

/// Declares an HTTP route: `#[svless::api(GET "/todos/{id}")]` on an `async fn`.
///
/// The function becomes a unit struct of the same name that implements `svless::Endpoint`;
/// register it with `App::route(get_todo)`. The original function stays callable as
/// `get_todo::handler(...)`.
///
/// Checked at compile time: the method (GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or ANY),
/// the template (leading `/`, balanced braces, whole-segment parameters, no duplicate names,
/// `{proxy+}` only last), and that a `Path<T>` argument matches the template's parameters
/// (tuple arity, one value for one parameter, struct fields through `#[derive(svless::PathParams)]`).
#[proc_macro_attribute]
pub fn api(attr: TokenStream, item: TokenStream) -> TokenStream {
    api::expand(attr.into(), item.into()).into()
}

/// Derives `svless::IntoProblem` and `svless::IntoResponse` for an error enum or struct.
///
/// Each variant (or the struct) takes `#[problem(status = 404)]`, optionally with
/// `title = "..."` and `type = "https://..."`; the `Display` text becomes the problem's `detail`
/// (not for 5xx statuses, whose detail is never sent to clients).
#[proc_macro_derive(Problem, attributes(problem))]
pub fn derive_problem(item: TokenStream) -> TokenStream {
    problem::expand(item.into()).into()
}

/// Lists a struct's field names (after serde renaming) so `#[svless::api]` can check them
/// against the route template at compile time. Derive it beside `serde::Deserialize`.
#[proc_macro_derive(PathParams, attributes(serde))]
pub fn derive_path_params(item: TokenStream) -> TokenStream {
    path_params::expand(item.into()).into()
}
