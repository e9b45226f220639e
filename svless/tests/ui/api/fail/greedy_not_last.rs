#[svless::api(GET "/files/{proxy+}/meta")]
async fn get() -> &'static str { "" }
fn main() {}
