use svless::Path;
#[derive(serde::Deserialize, svless::PathParams)]
struct Key { owner: String, todo_id: String }
#[svless::api(GET "/users/{owner}/todos/{id}")]
async fn get(Path(key): Path<Key>) -> String { key.owner + &key.todo_id }
fn main() {}
