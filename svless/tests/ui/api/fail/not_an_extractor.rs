#[svless::api(GET "/todos")]
async fn list(limit: u32) -> String { limit.to_string() }
fn main() {
    let _ = svless::App::new().route(list);
}
