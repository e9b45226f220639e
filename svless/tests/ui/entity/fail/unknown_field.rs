#[derive(serde::Serialize, serde::Deserialize, svless::Entity)]
#[entity(pk = "USER#{owner}", sk = "TODO#{todo_id}")]
struct Todo {
    owner: String,
    id: String,
}

fn main() {}
