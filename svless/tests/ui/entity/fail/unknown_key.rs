#[derive(serde::Serialize, serde::Deserialize, svless::Entity)]
#[entity(partition = "USER#{id}")]
struct User {
    id: String,
}

fn main() {}
