#[svless::api(get "/todos")]
async fn list() -> &'static str { "" }
fn main() {}
