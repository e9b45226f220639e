//! The repository's request building and item conversion against hand-written
//! `aws-sdk-dynamodb` + `serde_dynamo` code doing the same, in the same run: encoding a put
//! (attributes, key attributes rendered from templates, the type attribute), decoding a get,
//! and decoding a query page of 100 items. No network: what svless adds per call.

use std::collections::HashMap;
use std::hint::black_box;

use aws_sdk_dynamodb::types::AttributeValue;
use criterion::{Criterion, criterion_group, criterion_main};
use serde::{Deserialize, Serialize};
use svless::store::dynamo::{MemoryDb, Projection, Table, TableDef, from_sdk_item, to_sdk_item};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, svless::Entity)]
#[entity(pk = "USER#{owner}", sk = "TODO#{id}")]
#[entity(index = "gsi1", pk = "STATUS#{status}", sk = "{created_at}")]
struct Todo {
    owner: String,
    id: String,
    status: String,
    created_at: String,
    title: String,
    tags: Vec<String>,
    done: bool,
    estimate: u32,
}

fn todo(i: usize) -> Todo {
    Todo {
        owner: "u-42".into(),
        id: format!("{i:05}"),
        status: "open".into(),
        created_at: "2026-11-25T10:00:00.000Z".into(),
        title: "Write the store benchmark and report the ratio".into(),
        tags: vec!["bench".into(), "store".into()],
        done: false,
        estimate: 3,
    }
}

/// What a careful hand-written put builds: the attributes plus keys and type, by hand.
fn hand_put(todo: &Todo) -> HashMap<String, AttributeValue> {
    let mut item: HashMap<String, AttributeValue> =
        serde_dynamo::to_item(todo).expect("a todo serializes");
    item.insert(
        "pk".into(),
        AttributeValue::S(format!("USER#{}", todo.owner)),
    );
    item.insert("sk".into(), AttributeValue::S(format!("TODO#{}", todo.id)));
    item.insert(
        "gsi1pk".into(),
        AttributeValue::S(format!("STATUS#{}", todo.status)),
    );
    item.insert("gsi1sk".into(), AttributeValue::S(todo.created_at.clone()));
    item.insert("type".into(), AttributeValue::S("Todo".into()));
    item
}

fn store(c: &mut Criterion) {
    let table = Table::memory(
        TableDef::new("app").global_index("gsi1", "gsi1pk", Some("gsi1sk"), Projection::All),
        &MemoryDb::new(),
    );
    let one = todo(1);
    let stored = hand_put(&one);
    assert_eq!(
        to_sdk_item(&table, &one).expect("encodes"),
        stored,
        "the same item"
    );
    let page: Vec<_> = (0..100).map(|i| hand_put(&todo(i))).collect();

    let mut group = c.benchmark_group("dynamo_put_item");
    group.bench_function("svless", |b| {
        b.iter(|| to_sdk_item(&table, black_box(&one)).expect("encodes"))
    });
    group.bench_function("hand-written", |b| b.iter(|| hand_put(black_box(&one))));
    group.finish();

    let mut group = c.benchmark_group("dynamo_get_item");
    group.bench_function("svless", |b| {
        b.iter(|| from_sdk_item::<Todo>(black_box(stored.clone())).expect("decodes"))
    });
    group.bench_function("hand-written", |b| {
        b.iter(|| serde_dynamo::from_item::<_, Todo>(black_box(stored.clone())).expect("decodes"))
    });
    group.finish();

    let mut group = c.benchmark_group("dynamo_query_page_100");
    group.bench_function("svless", |b| {
        b.iter(|| {
            black_box(page.clone())
                .into_iter()
                .map(from_sdk_item::<Todo>)
                .collect::<Result<Vec<_>, _>>()
                .expect("decodes")
        })
    });
    group.bench_function("hand-written", |b| {
        b.iter(|| {
            black_box(page.clone())
                .into_iter()
                .map(serde_dynamo::from_item::<_, Todo>)
                .collect::<Result<Vec<_>, _>>()
                .expect("decodes")
        })
    });
    group.finish();
}

criterion_group!(benches, store);
criterion_main!(benches);
