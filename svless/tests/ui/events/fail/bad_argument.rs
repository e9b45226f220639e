use svless::source::sqs::Message;
#[svless::sqs]
async fn on_message(_message: Message<String>, _limit: u32) {}
fn main() {
    let _ = svless::App::new().on(on_message);
}
