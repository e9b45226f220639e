#[derive(serde::Serialize, serde::Deserialize, svless::Entity)]
#[entity(index = "gsi1", pk = "STATUS#{status}")]
struct Todo {
    status: String,
}

fn main() {}
