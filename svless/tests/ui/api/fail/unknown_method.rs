#[svless::api(FETCH "/todos")]
async fn list() -> &'static str { "" }
fn main() {}
