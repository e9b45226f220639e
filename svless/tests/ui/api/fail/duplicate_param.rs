#[svless::api(GET "/users/{id}/todos/{id}")]
async fn get(svless::Path(ids): svless::Path<(String, String)>) -> String { ids.0 }
fn main() {}
