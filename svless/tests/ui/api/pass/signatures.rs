//! Every supported handler signature compiles and registers.
use serde::{Deserialize, Serialize};
use svless::extract::RawBody;
use svless::http::{HeaderMap, Method, StatusCode, Uri};
use svless::{App, Context, Html, Json, Path, PathParams, Query, State, api};

#[derive(Clone)]
struct AppState;

#[derive(Deserialize, Serialize)]
struct Todo { title: String }

#[derive(Deserialize, PathParams)]
struct Key { owner: String, id: u64 }

#[derive(Deserialize, PathParams)]
#[serde(rename_all = "camelCase")]
struct Renamed { todo_id: String }

#[derive(Deserialize)]
struct Page { limit: Option<u32> }

#[derive(Debug, svless::IntoProblem)]
enum TodoError {
    #[problem(status = 404, title = "Todo not found", type = "https://example.com/probs/todo-not-found")]
    Missing(String),
    #[problem(status = 500)]
    Broken,
}
impl std::fmt::Display for TodoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { write!(f, "{self:?}") }
}

#[api(GET "/")]
async fn root() -> &'static str { "root" }
#[api(GET "/todos/{id}")]
async fn one(Path(id): Path<u64>) -> String { id.to_string() }
#[api(GET "/users/{owner}/todos/{id}")]
async fn tuple(Path((owner, id)): Path<(String, u64)>) -> String { format!("{owner}{id}") }
#[api(GET "/owners/{owner}/todos/{id}")]
async fn named(Path(key): Path<Key>) -> String { format!("{}{}", key.owner, key.id) }
#[api(GET "/renamed/{todoId}")]
async fn renamed(Path(r): Path<Renamed>) -> String { r.todo_id }
#[api(ANY "/files/{proxy+}")]
async fn greedy(Path(rest): Path<String>, method: Method) -> String { format!("{method} {rest}") }
#[api(POST "/todos")]
async fn create(State(_s): State<AppState>, ctx: Context, Json(t): Json<Todo>) -> (StatusCode, Json<Todo>) {
    let _ = ctx.request_id;
    (StatusCode::CREATED, Json(t))
}
#[api(GET "/search")]
async fn search(Query(p): Query<Page>, headers: HeaderMap, uri: Uri) -> Html<String> {
    Html(format!("{:?}{}{}", p.limit, headers.len(), uri))
}
#[api(GET "/pairs")]
async fn pairs(Query(all): Query<Vec<(String, String)>>) -> String { all.len().to_string() }
#[api(PUT "/raw")]
async fn raw(body: Option<RawBody>) -> Vec<u8> { body.map(|b| b.0.to_vec()).unwrap_or_default() }
#[api(DELETE "/todos/{id}")]
async fn delete(Path(id): Path<String>) -> Result<(), TodoError> {
    if id.is_empty() { Err(TodoError::Broken) } else { Err(TodoError::Missing(id)) }
}
#[api(PATCH "/text")]
async fn text(body: String) -> impl svless::IntoResponse { body }
#[api(GET "/maybe")]
async fn maybe(body: Option<Json<Todo>>) -> Result<Json<Todo>, svless::Error> {
    body.ok_or_else(|| svless::Error::bad_request("no body"))
}

fn main() {
    let app = App::new()
        .state(AppState)
        .route(root).route(one).route(tuple).route(named).route(renamed).route(greedy)
        .route(create).route(search).route(pairs).route(raw).route(delete).route(text).route(maybe);
    assert!(app.check().is_ok());
}
