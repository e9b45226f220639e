#[derive(serde::Serialize, serde::Deserialize, svless::Entity)]
#[entity(pk = "USER#{id}")]
#[entity(pk = "EMAIL#{email}")]
struct User {
    id: String,
    email: String,
}

fn main() {}
