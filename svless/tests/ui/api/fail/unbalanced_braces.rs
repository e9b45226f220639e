#[svless::api(GET "/todos/{id")]
async fn get() -> &'static str { "" }
fn main() {}
