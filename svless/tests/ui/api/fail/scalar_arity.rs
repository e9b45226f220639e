use svless::Path;
#[svless::api(GET "/users/{owner}/todos/{id}")]
async fn get(Path(id): Path<u64>) -> String { id.to_string() }
fn main() {}
