use svless::source::dynamodb::StreamRecord;
#[svless::dynamodb_stream]
fn on_change(_record: StreamRecord<serde_json::Value>) {}
fn main() {}
