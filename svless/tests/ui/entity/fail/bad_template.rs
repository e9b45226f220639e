#[derive(serde::Serialize, serde::Deserialize, svless::Entity)]
#[entity(pk = "USER#{owner", sk = "TODO#{}")]
struct Todo {
    owner: String,
}

fn main() {}
