#[svless::api(GET "/users/{owner}/todos/{id}")]
async fn get(svless::Path((owner,)): svless::Path<(String,)>) -> String { owner }
fn main() {}
