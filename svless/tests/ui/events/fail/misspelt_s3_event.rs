use svless::source::s3::S3Object;
#[svless::s3(events = "ObjectCreated:Putt")]
async fn typo(_object: S3Object) {}
#[svless::s3(events = ["ObjectCreated:*", "ObjectRemoved:DeleteMarker"])]
async fn half(_object: S3Object) {}
fn main() {}
