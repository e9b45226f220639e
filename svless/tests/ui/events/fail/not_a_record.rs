struct Key(String);
#[svless::s3]
async fn on_upload(key: Key) {
    let _ = key.0;
}
fn main() {}
