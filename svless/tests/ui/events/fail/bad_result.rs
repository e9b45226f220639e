use svless::source::sqs::Message;
#[svless::sqs]
async fn on_message(_message: Message<String>) -> Result<(), String> { Ok(()) }
fn main() {}
