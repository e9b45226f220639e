#[svless::api(GET)]
async fn list() -> &'static str { "" }
fn main() {}
