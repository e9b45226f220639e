use svless::Path;
#[derive(serde::Deserialize)]
struct Key { owner: String, id: String }
#[svless::api(GET "/users/{owner}/todos/{id}")]
async fn get(Path(key): Path<Key>) -> String { key.owner + &key.id }
fn main() {}
