use svless::source::s3::S3Object;
#[svless::s3(prefx = "uploads/")]
async fn on_upload(_object: S3Object) {}
fn main() {}
