use svless::store::dynamo::{Entity, ItemKey};

#[derive(serde::Serialize, serde::Deserialize, svless::Entity)]
#[entity(type = "Todo", pk = "USER#{owner}", sk = "TODO#{seq}")]
#[entity(index = "gsi1", pk = "STATUS#{status}", sk = "{created_at}")]
struct Todo {
    owner: String,
    seq: u32,
    status: String,
    created_at: chrono::DateTime<chrono::Utc>,
}

fn main() {
    let key: ItemKey = Todo::key("u1", 7u32);
    assert_eq!(key.pk, "USER#u1");
    assert_eq!(key.sk.as_deref(), Some("TODO#0000000007"));
    assert_eq!(Todo::partition("u1").sk_prefix, "TODO#");
    assert_eq!(Todo::gsi1_partition("open").index, Some("gsi1"));
    assert_eq!(<Todo as Entity>::TYPE, "Todo");
}
