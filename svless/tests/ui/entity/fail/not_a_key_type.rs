#[derive(serde::Serialize, serde::Deserialize, svless::Entity)]
#[entity(pk = "READING#{sensor}", sk = "{value}")]
struct Reading {
    sensor: String,
    value: f64,
}

fn main() {}
