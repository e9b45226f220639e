#[svless::sqs]
async fn on_message() {}
fn main() {}
