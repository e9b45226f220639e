#[derive(serde::Serialize, serde::Deserialize, svless::Entity)]
#[entity(pk = "SKU#{pk}", sk = "ITEM")]
struct Item {
    pk: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(rename = "sku")]
    sk: String,
}
fn main() {}
