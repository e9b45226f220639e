//! Any string as a query's pagination cursor: refused as `InvalidCursor` or read as one this
//! query gave out — never a panic, never another partition's items.
#![no_main]

use std::sync::OnceLock;
use svless::store::dynamo::{Error, MemoryDb, Table, TableDef};

#[derive(Debug, serde::Serialize, serde::Deserialize, svless::Entity)]
#[entity(pk = "USER#{owner}", sk = "TODO#{seq}")]
struct Todo {
    owner: String,
    seq: u32,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let table = Table::memory(TableDef::new("fuzz"), &MemoryDb::new());
        svless_fuzz::runtime().block_on(async {
            table.create().await.expect("created");
            for owner in ["ann", "bob"] {
                for seq in 0..5 {
                    table
                        .put(&Todo {
                            owner: owner.into(),
                            seq,
                        })
                        .await
                        .expect("written");
                }
            }
        });
        table
    })
}

libfuzzer_sys::fuzz_target!(|cursor: &str| {
    let table = table();
    let page = svless_fuzz::runtime().block_on(
        table
            .query::<Todo>(Todo::partition("ann"))
            .limit(2)
            .after(Some(cursor))
            .page(),
    );
    match page {
        Ok(page) => assert!(page.items.iter().all(|t| t.owner == "ann")),
        Err(Error::InvalidCursor) => {}
        Err(other) => panic!("a cursor is valid or InvalidCursor, not {other:?}"),
    }
});
