#[svless::api(GET "/todos/id-{id}")]
async fn get() -> &'static str { "" }
fn main() {}
