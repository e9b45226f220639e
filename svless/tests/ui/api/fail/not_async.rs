#[svless::api(GET "/todos")]
fn list() -> &'static str { "" }
fn main() {}
