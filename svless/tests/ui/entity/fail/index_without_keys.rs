#[derive(serde::Serialize, serde::Deserialize, svless::Entity)]
#[entity(pk = "USER#{id}", sk = "PROFILE")]
#[entity(index = "gsi1")]
struct User {
    id: String,
}

fn main() {}
