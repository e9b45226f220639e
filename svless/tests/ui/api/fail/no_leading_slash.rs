#[svless::api(GET "todos/{id}")]
async fn get(svless::Path(id): svless::Path<String>) -> String { id }
fn main() {}
