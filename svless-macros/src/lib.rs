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
///
/// ```
/// use svless::{App, Json, Path, api};
///
/// #[api(GET "/users/{owner}/todos/{id}")]
/// async fn get_todo(Path((owner, id)): Path<(String, u64)>) -> Json<String> {
///     Json(format!("{owner}/{id}"))
/// }
///
/// let app = App::new().route(get_todo);
/// assert_eq!(<get_todo as svless::Endpoint>::PATH, "/users/{owner}/todos/{id}");
/// ```
#[proc_macro_attribute]
pub fn api(attr: TokenStream, item: TokenStream) -> TokenStream {
    api::expand(attr.into(), item.into()).into()
}

/// Derives `svless::IntoProblem` and `svless::IntoResponse` for an error enum or struct.
///
/// Each variant (or the struct) takes `#[problem(status = 404)]`, optionally with
/// `title = "..."` and `type = "https://..."`; the `Display` text becomes the problem's `detail`
/// (not for 5xx statuses, whose detail is never sent to clients).
///
/// ```
/// use svless::IntoProblem;
///
/// #[derive(Debug, svless::Problem)]
/// enum TodoError {
///     #[problem(status = 404, title = "Todo not found")]
///     NotFound(u64),
///     #[problem(status = 409, type = "https://example.com/probs/locked")]
///     Locked,
/// }
///
/// impl std::fmt::Display for TodoError {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         match self {
///             TodoError::NotFound(id) => write!(f, "no todo {id}"),
///             TodoError::Locked => f.write_str("the todo is locked"),
///         }
///     }
/// }
///
/// let problem = TodoError::NotFound(7).into_problem();
/// assert_eq!(problem.status(), 404);
/// assert_eq!(problem.detail(), Some("no todo 7"));
/// ```
#[proc_macro_derive(Problem, attributes(problem))]
pub fn derive_problem(item: TokenStream) -> TokenStream {
    problem::expand(item.into()).into()
}

/// Lists a struct's field names (after serde renaming) so `#[svless::api]` can check them
/// against the route template at compile time. Derive it beside `serde::Deserialize`.
///
/// ```
/// use svless::{Path, PathParams, api};
///
/// #[derive(serde::Deserialize, PathParams)]
/// #[serde(rename_all = "camelCase")]
/// struct TodoKey { owner_id: String, todo_id: u64 }
///
/// #[api(GET "/users/{ownerId}/todos/{todoId}")]
/// async fn get_todo(Path(key): Path<TodoKey>) -> String {
///     format!("{}/{}", key.owner_id, key.todo_id)
/// }
/// ```
#[proc_macro_derive(PathParams, attributes(serde))]
pub fn derive_path_params(item: TokenStream) -> TokenStream {
    path_params::expand(item.into()).into()
}
