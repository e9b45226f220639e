struct NotAResponse;
#[svless::api(GET "/todos")]
async fn list() -> NotAResponse { NotAResponse }
fn main() {}
