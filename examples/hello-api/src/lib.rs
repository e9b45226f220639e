//! A small todo API on svless. `cargo run -p hello-api` serves it on `127.0.0.1:3000`
//! (`PORT` overrides); on AWS Lambda the same binary serves API Gateway events.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use svless::{App, Cors, Json, Path, Query, State, api};

/// The application state: an in-memory table of todos.
#[derive(Clone, Default)]
pub struct AppState {
    todos: Arc<Mutex<BTreeMap<u64, Todo>>>,
}

/// A todo item.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Todo {
    /// Its id.
    pub id: u64,
    /// What to do.
    pub title: String,
    /// Whether it is done.
    pub done: bool,
}

/// The body of `POST /todos`.
#[derive(Debug, Deserialize)]
pub struct NewTodo {
    /// What to do.
    pub title: String,
    /// Whether it is already done.
    #[serde(default)]
    pub done: bool,
}

/// Filters of `GET /todos`.
#[derive(Debug, Deserialize)]
pub struct Filter {
    /// Only todos in this state.
    pub done: Option<bool>,
}

/// What can go wrong with todos.
#[derive(Debug, svless::IntoProblem)]
pub enum TodoError {
    /// No todo has that id.
    #[problem(
        status = 404,
        title = "Todo not found",
        type = "https://example.com/probs/todo-not-found"
    )]
    NotFound(u64),
    /// The title is empty.
    #[problem(
        status = 422,
        title = "Invalid todo",
        type = "https://example.com/probs/invalid-todo"
    )]
    EmptyTitle,
}

impl std::fmt::Display for TodoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TodoError::NotFound(id) => write!(f, "there is no todo with id {id}"),
            TodoError::EmptyTitle => f.write_str("a todo needs a non-empty title"),
        }
    }
}

impl AppState {
    fn todos(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Todo>> {
        self.todos
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Greets someone.
#[api(GET "/hello/{name}")]
pub async fn hello(Path(name): Path<String>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "message": format!("Hello, {name}!") }))
}

/// Lists todos, optionally only done or open ones.
#[api(GET "/todos")]
pub async fn list_todos(
    Query(filter): Query<Filter>,
    State(app): State<AppState>,
) -> Json<Vec<Todo>> {
    let todos = app.todos();
    Json(
        todos
            .values()
            .filter(|t| filter.done.is_none_or(|d| t.done == d))
            .cloned()
            .collect(),
    )
}

/// Reads one todo.
#[api(GET "/todos/{id}")]
pub async fn get_todo(
    Path(id): Path<u64>,
    State(app): State<AppState>,
) -> Result<Json<Todo>, TodoError> {
    app.todos()
        .get(&id)
        .cloned()
        .map(Json)
        .ok_or(TodoError::NotFound(id))
}

/// Creates a todo.
#[api(POST "/todos")]
pub async fn create_todo(
    State(app): State<AppState>,
    Json(new): Json<NewTodo>,
) -> Result<(svless::http::StatusCode, Json<Todo>), TodoError> {
    if new.title.trim().is_empty() {
        return Err(TodoError::EmptyTitle);
    }
    let mut todos = app.todos();
    let id = todos.keys().next_back().map_or(1, |last| last + 1);
    let todo = Todo {
        id,
        title: new.title,
        done: new.done,
    };
    todos.insert(id, todo.clone());
    Ok((svless::http::StatusCode::CREATED, Json(todo)))
}

/// Deletes a todo.
#[api(DELETE "/todos/{id}")]
pub async fn delete_todo(
    Path(id): Path<u64>,
    State(app): State<AppState>,
) -> Result<(), TodoError> {
    app.todos()
        .remove(&id)
        .map(|_| ())
        .ok_or(TodoError::NotFound(id))
}

/// The whole application.
pub fn app() -> App<AppState> {
    App::new()
        .state(AppState::default())
        .cors(
            Cors::new()
                .allow_origin("http://localhost:5173")
                .allow_methods([
                    svless::http::Method::GET,
                    svless::http::Method::POST,
                    svless::http::Method::DELETE,
                ])
                .allow_headers(["content-type", "authorization"]),
        )
        .route(hello)
        .route(list_todos)
        .route(get_todo)
        .route(create_todo)
        .route(delete_todo)
}
