#[svless::s3]
async fn on_upload(_key: String) {}
fn main() {}
