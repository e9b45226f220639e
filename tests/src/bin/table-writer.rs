//! Writes to a journaled local table until it is killed, printing each acknowledged write, so a
//! test can kill it (`kill -9`) mid-load and check that every acknowledged write survived.
//!
//! Usage: `table-writer <data dir>`. Call k puts item `k`; from k = 6 on, every call also
//! deletes item `k - 5` in a second call. Lines: `put k`, `del k`.

use serde_dynamo::{AttributeValue, Item};
use std::io::Write as _;
use svless_store::dynamo::{ItemKey, MemoryDb, Table, TableDef};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .ok_or("usage: table-writer <data dir>")?;
    let db = MemoryDb::open(&dir)?;
    let table = Table::memory(TableDef::simple("load", "pk"), &db);
    table.create().await?;
    let mut out = std::io::stdout().lock();
    for k in 1u64.. {
        let mut item = std::collections::HashMap::new();
        item.insert("pk".to_owned(), AttributeValue::S(k.to_string()));
        item.insert(
            "body".to_owned(),
            AttributeValue::S("x".repeat((k % 700) as usize)),
        );
        let item = Item::from(item);
        table.put_item_if(item, None).await?;
        writeln!(out, "put {k}")?;
        out.flush()?;
        if k > 5 {
            table
                .delete(&ItemKey::new((k - 5).to_string(), None))
                .await?;
            writeln!(out, "del {}", k - 5)?;
            out.flush()?;
        }
    }
    Ok(())
}
