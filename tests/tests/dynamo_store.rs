//! The repository's conformance suite: the same cases, as plain `async fn`s, against the
//! in-memory backend and DynamoDB (the moto server that `scripts/test.sh` starts on loopback).

#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicU32, Ordering};

use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use svless::store::dynamo::{
    CancelReason, Comparison, Condition, Error, Faults, ItemKey, MemoryDb, Projection, SortKey,
    Table, TableDef, Update, Versioned, value,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, svless::Entity)]
#[entity(pk = "USER#{id}", sk = "PROFILE")]
#[entity(index = "by_email", pk = "EMAIL#{email}")]
struct User {
    id: String,
    email: String,
    name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, svless::Entity)]
#[entity(pk = "USER#{owner}", sk = "TODO#{id}")]
#[entity(index = "gsi1", pk = "STATUS#{status}", sk = "{created_at}")]
struct Todo {
    owner: String,
    id: String,
    status: String,
    created_at: String,
    title: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, svless::Entity)]
#[entity(pk = "SESSION#{token}")]
struct Session {
    token: String,
    user: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, svless::Entity)]
#[entity(pk = "COUNTER#{name}", sk = "COUNTER")]
struct Counter {
    name: String,
    value: u64,
    version: u64,
}

impl Versioned for Counter {
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, version: u64) {
        self.version = version;
    }
}

static TABLES: AtomicU32 = AtomicU32::new(0);

fn app_table() -> TableDef {
    TableDef::new(&format!(
        "app-{}-{}",
        std::process::id(),
        TABLES.fetch_add(1, Ordering::Relaxed)
    ))
    .global_index("gsi1", "gsi1pk", Some("gsi1sk"), Projection::All)
    .global_index("by_email", "email_pk", None, Projection::KeysOnly)
    .global_index(
        "by_state",
        "state_pk",
        Some("state_sk"),
        Projection::Include(vec!["title".into()]),
    )
    .local_index("by_due", "due", Projection::Include(vec!["title".into()]))
    .ttl("expires_at")
    .stream(svless::store::dynamo::StreamView::NewAndOldImages)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, svless::Entity)]
#[entity(pk = "USER#{owner}", sk = "TASK#{id}")]
#[entity(index = "by_due", sk = "{due}")] // local: the table's partition key
struct Task {
    owner: String,
    id: String,
    due: String,
    title: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, svless::Entity)]
#[entity(pk = "USER#{owner}", sk = "BAD#{id}")]
#[entity(index = "by_due", pk = "OTHER#{owner}", sk = "{id}")]
struct MovesThePartition {
    owner: String,
    id: String,
}

/// A photo in a global index with an `INCLUDE` projection of `title` only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, svless::Entity)]
#[entity(pk = "ALBUM#{album}", sk = "PHOTO#{id}")]
#[entity(index = "by_state", pk = "STATE#{state}", sk = "{id}")]
struct Photo {
    album: String,
    id: String,
    state: String,
    title: String,
    secret: String,
}

/// A number DynamoDB keeps exactly and `f64` does not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, svless::Entity)]
#[entity(pk = "LEDGER#{name}", sk = "LEDGER")]
struct Ledger {
    name: String,
    balance: svless::store::dynamo::Number,
    wide: svless::store::dynamo::Number,
}

/// Key parts with the template separator in them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, svless::Entity)]
#[entity(pk = "LINE", sk = "{a}#ITEM#{b}")]
struct Line {
    a: String,
    b: String,
    note: String,
}

/// A field stored under an index key attribute (`email_pk`) with another value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, svless::Entity)]
#[entity(pk = "SHADOW#{id}", sk = "SHADOW")]
#[entity(index = "by_email", pk = "EMAIL#{id}")]
struct Shadow {
    id: String,
    email_pk: String,
}

/// A sparse index by an optional key part, and a signed sort key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, svless::Entity)]
#[entity(pk = "SENSOR#{sensor}", sk = "AT#{at}")]
#[entity(index = "gsi1", pk = "ALARM#{alarm}", sk = "{at}")]
struct Reading {
    sensor: String,
    at: i64,
    alarm: Option<String>,
}

async fn memory(def: TableDef) -> Table {
    let table = Table::memory(def, &MemoryDb::new());
    table.create().await.unwrap();
    table
}

async fn dynamodb(def: TableDef) -> Table {
    let config = svless_tests::moto_config().await;
    let table = Table::dynamodb(def, aws_sdk_dynamodb::Client::new(&config));
    table.create().await.unwrap();
    table.warm_up().await.unwrap();
    table
}

fn todo(owner: &str, id: &str, status: &str, created_at: &str) -> Todo {
    Todo {
        owner: owner.into(),
        id: id.into(),
        status: status.into(),
        created_at: created_at.into(),
        title: format!("todo {id}"),
    }
}

fn user(id: &str) -> User {
    User {
        id: id.into(),
        email: format!("{id}@example.com"),
        name: format!("User {id}"),
    }
}

// ---------------------------------------------------------------------------------------------

async fn insert_get_put_delete(table: Table) {
    let ada = user("ada");
    table.insert(&ada).await.unwrap();
    assert_eq!(
        table.get::<User>(&User::key("ada")).await.unwrap(),
        Some(ada.clone())
    );
    assert_eq!(
        table
            .get_consistent::<User>(&User::key("ada"))
            .await
            .unwrap(),
        Some(ada.clone())
    );
    assert_eq!(table.get::<User>(&User::key("bob")).await.unwrap(), None);

    // Create-only: the second insert fails and carries the item that is there.
    let mut renamed = ada.clone();
    renamed.name = "Ada L.".into();
    let again = table.insert(&renamed).await;
    let Err(Error::ConditionFailed {
        current: Some(current),
    }) = again
    else {
        panic!("{again:?}");
    };
    assert_eq!(
        serde_dynamo::from_item::<_, User>(current).unwrap(),
        ada,
        "the current item comes back"
    );
    // A put replaces.
    table.put(&renamed).await.unwrap();
    assert_eq!(
        table.get::<User>(&User::key("ada")).await.unwrap(),
        Some(renamed)
    );

    table.delete(&User::key("ada")).await.unwrap();
    assert_eq!(table.get::<User>(&User::key("ada")).await.unwrap(), None);
    table
        .delete(&User::key("ada"))
        .await
        .expect("deleting a missing item succeeds");
}

async fn item_collections(table: Table) {
    table.put(&user("ada")).await.unwrap();
    for id in ["1", "2", "3"] {
        table
            .put(&todo("ada", id, "open", "2026-11-01"))
            .await
            .unwrap();
    }
    table.put(&user("bob")).await.unwrap();
    table
        .put(&todo("bob", "9", "open", "2026-11-02"))
        .await
        .unwrap();

    let collection = table.collection("USER#ada").await.unwrap();
    assert_eq!(collection.len(), 4);
    assert_eq!(collection.one::<User>().unwrap(), Some(user("ada")));
    let todos: Vec<Todo> = collection.all().unwrap();
    assert_eq!(
        todos.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        ["1", "2", "3"]
    );
    // A typed query of the same partition gives only its type.
    let page = table
        .query::<Todo>(Todo::partition("ada"))
        .page()
        .await
        .unwrap();
    assert_eq!(page.items, todos);
    let users = table
        .query::<User>(User::partition("ada"))
        .page()
        .await
        .unwrap();
    assert_eq!(users.items, [user("ada")]);
}

async fn sort_key_conditions(table: Table) {
    for i in 1..=10 {
        table
            .put(&todo("ada", &format!("{i:03}"), "open", "2026-11-01"))
            .await
            .unwrap();
    }
    let ids = |condition: Option<SortKey>, descending: bool| {
        let table = table.clone();
        async move {
            let mut query = table.query::<Todo>(Todo::partition("ada"));
            if let Some(condition) = condition {
                query = query.sort_key(condition);
            }
            if descending {
                query = query.descending();
            }
            query
                .page()
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|t| t.id)
                .collect::<Vec<_>>()
        }
    };
    let all: Vec<String> = (1..=10).map(|i| format!("{i:03}")).collect();
    assert_eq!(ids(None, false).await, all);
    let mut reversed = all.clone();
    reversed.reverse();
    assert_eq!(ids(None, true).await, reversed);
    assert_eq!(
        ids(Some(SortKey::Eq("TODO#004".into())), false).await,
        ["004"]
    );
    assert_eq!(
        ids(Some(SortKey::BeginsWith("TODO#01".into())), false).await,
        ["010"]
    );
    assert_eq!(
        ids(
            Some(SortKey::Between("TODO#003".into(), "TODO#005".into())),
            false
        )
        .await,
        ["003", "004", "005"]
    );
    assert_eq!(
        ids(Some(SortKey::Lt("TODO#003".into())), false).await,
        ["001", "002"]
    );
    assert_eq!(
        ids(Some(SortKey::Le("TODO#002".into())), false).await,
        ["001", "002"]
    );
    assert_eq!(
        ids(Some(SortKey::Gt("TODO#008".into())), false).await,
        ["009", "010"]
    );
    assert_eq!(
        ids(Some(SortKey::Ge("TODO#009".into())), false).await,
        ["009", "010"]
    );

    // A filter applies after the read: the limit counts what was read.
    table
        .update::<Todo>(
            &Todo::key("ada", "002"),
            Update::new().set("status", "done").unwrap(),
            None,
        )
        .await
        .unwrap();
    let done: Vec<_> = table
        .query::<Todo>(Todo::partition("ada"))
        .filter(Condition::eq("status", value("done").unwrap()))
        .page()
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(done, ["002"]);
    let first_read = table
        .query::<Todo>(Todo::partition("ada"))
        .filter(Condition::eq("status", value("done").unwrap()))
        .limit(1)
        .page()
        .await
        .unwrap();
    assert!(
        first_read.items.is_empty(),
        "the one item read was filtered out"
    );
    assert!(first_read.next.is_some());
}

async fn pages_and_cursors(table: Table) {
    for i in 1..=10 {
        table
            .put(&todo("ada", &format!("{i:03}"), "open", "2026-11-01"))
            .await
            .unwrap();
    }
    table
        .put(&todo("bob", "001", "open", "2026-11-01"))
        .await
        .unwrap();
    let pages: Vec<_> = table
        .query::<Todo>(Todo::partition("ada"))
        .limit(3)
        .pages()
        .try_collect()
        .await
        .unwrap();
    assert!(pages.len() >= 4, "{} pages", pages.len());
    assert!(pages.iter().all(|p| p.items.len() <= 3));
    let ids: Vec<_> = pages
        .iter()
        .flat_map(|p| p.items.iter().map(|t| t.id.clone()))
        .collect();
    assert_eq!(ids, (1..=10).map(|i| format!("{i:03}")).collect::<Vec<_>>());

    // Descending, resumed by hand from a cursor.
    let first = table
        .query::<Todo>(Todo::partition("ada"))
        .descending()
        .limit(4)
        .page()
        .await
        .unwrap();
    let cursor = first.next.clone().expect("more pages");
    let second = table
        .query::<Todo>(Todo::partition("ada"))
        .descending()
        .limit(4)
        .after(Some(&cursor))
        .page()
        .await
        .unwrap();
    assert_eq!(
        second
            .items
            .iter()
            .map(|t| t.id.as_str())
            .collect::<Vec<_>>(),
        ["006", "005", "004", "003"]
    );

    // Someone else's partition, another order, a changed cursor: typed errors, a 400.
    let foreign = table
        .query::<Todo>(Todo::partition("bob"))
        .descending()
        .after(Some(&cursor))
        .page()
        .await;
    assert!(matches!(foreign, Err(Error::InvalidCursor)), "{foreign:?}");
    let reordered = table
        .query::<Todo>(Todo::partition("ada"))
        .after(Some(&cursor))
        .page()
        .await;
    assert!(matches!(reordered, Err(Error::InvalidCursor)));
    let mut tampered = cursor.clone();
    tampered.insert(3, 'x');
    let tampered = table
        .query::<Todo>(Todo::partition("ada"))
        .descending()
        .after(Some(&tampered))
        .page()
        .await;
    let Err(error) = tampered else {
        panic!("a tampered cursor was accepted");
    };
    assert!(matches!(error, Error::InvalidCursor));
    use svless::IntoProblem;
    assert_eq!(error.into_problem().status(), 400);
}

async fn secondary_indexes(table: Table) {
    table
        .put(&todo("ada", "1", "open", "2026-11-03"))
        .await
        .unwrap();
    table
        .put(&todo("bob", "2", "open", "2026-11-01"))
        .await
        .unwrap();
    table
        .put(&todo("ada", "3", "done", "2026-11-02"))
        .await
        .unwrap();
    table
        .put(&todo("cy", "4", "open", "2026-11-02"))
        .await
        .unwrap();
    table.put(&user("ada")).await.unwrap(); // no gsi1 keys: not in gsi1 (sparse)

    let open: Vec<_> = table
        .query::<Todo>(Todo::gsi1_partition("open"))
        .page()
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|t| (t.owner, t.created_at))
        .collect();
    assert_eq!(
        open,
        [
            ("bob".to_owned(), "2026-11-01".to_owned()),
            ("cy".to_owned(), "2026-11-02".to_owned()),
            ("ada".to_owned(), "2026-11-03".to_owned())
        ],
        "ordered by the index's sort key"
    );
    let recent: Vec<_> = table
        .query::<Todo>(Todo::gsi1_partition("open"))
        .sort_key(SortKey::Ge("2026-11-02".into()))
        .descending()
        .page()
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(recent, ["1", "4"]);

    // A keys-only index holds the keys (and the type), not the rest: the item does not decode.
    let by_email = table
        .query::<User>(User::by_email_partition("ada@example.com"))
        .page()
        .await;
    assert!(
        matches!(by_email, Err(Error::Decode { .. })),
        "{by_email:?}"
    );

    // Global indexes are eventually consistent only.
    let consistent = table
        .query::<Todo>(Todo::gsi1_partition("open"))
        .consistent()
        .page()
        .await;
    assert!(
        matches!(consistent, Err(Error::Validation { .. })),
        "{consistent:?}"
    );
}

async fn item_size_limit(table: Table) {
    let mut big = todo("ada", "big", "open", "2026-11-01");
    big.title = "x".repeat(410 * 1024);
    let put = table.put(&big).await;
    assert!(
        matches!(put, Err(Error::ItemTooLarge { size }) if size > 400 * 1024),
        "{put:?}"
    );
    big.title = "x".repeat(390 * 1024);
    table.put(&big).await.expect("under the limit");
}

async fn updates_and_conditions(table: Table) {
    let key = Todo::key("ada", "1");
    let missing = table
        .update::<Todo>(&key, Update::new().set("title", "x").unwrap(), None)
        .await;
    assert!(matches!(missing, Err(Error::NotFound)), "{missing:?}");
    table
        .put(&todo("ada", "1", "open", "2026-11-01"))
        .await
        .unwrap();

    let updated: Todo = table
        .update(
            &key,
            Update::new()
                .set("title", "renamed")
                .unwrap()
                .set("status", "done")
                .unwrap(),
            Some(Condition::eq("status", value("open").unwrap())),
        )
        .await
        .unwrap();
    assert_eq!(
        (updated.title.as_str(), updated.status.as_str()),
        ("renamed", "done")
    );
    assert_eq!(
        table.get::<Todo>(&key).await.unwrap(),
        Some(updated.clone())
    );

    // The condition no longer holds: the current item comes back with the error.
    let stale = table
        .update::<Todo>(
            &key,
            Update::new().set("title", "again").unwrap(),
            Some(Condition::eq("status", value("open").unwrap())),
        )
        .await;
    let Err(Error::ConditionFailed {
        current: Some(current),
    }) = stale
    else {
        panic!("{stale:?}");
    };
    assert_eq!(current["title"], value("renamed").unwrap());

    // ADD to numbers, list append, REMOVE; a value that looks like an expression stays a value.
    let after: serde_json::Value = table
        .update(
            &key,
            Update::new()
                .add("edits", &2)
                .unwrap()
                .append("labels", &["a", "b"])
                .unwrap()
                .set("note", "x) OR attribute_exists(pk")
                .unwrap()
                .remove("title"),
            Some(Condition::compare(
                "created_at",
                Comparison::Ge,
                value("2026-01-01").unwrap(),
            )),
        )
        .await
        .unwrap();
    assert!(after["edits"].as_u64().is_some_and(|n| n >= 2), "{after}");
    assert_eq!(after["note"], "x) OR attribute_exists(pk");
    assert!(after.get("title").is_none());
    let after: serde_json::Value = table
        .update(&key, Update::new().append("labels", &["c"]).unwrap(), None)
        .await
        .unwrap();
    assert_eq!(after["labels"], serde_json::json!(["a", "b", "c"]));

    // Keys cannot be updated; conditional deletes.
    assert!(matches!(
        table
            .update::<Todo>(&key, Update::new().set("pk", "USER#x").unwrap(), None)
            .await,
        Err(Error::Validation { .. })
    ));
    let refused = table
        .delete_if(&key, Condition::eq("status", value("open").unwrap()))
        .await;
    assert!(
        matches!(refused, Err(Error::ConditionFailed { .. })),
        "{refused:?}"
    );
    table
        .delete_if(&key, Condition::eq("status", value("done").unwrap()))
        .await
        .unwrap();
    assert_eq!(table.get::<Todo>(&key).await.unwrap(), None);
}

async fn optimistic_locking(table: Table) {
    let mut counter = Counter {
        name: "hits".into(),
        value: 0,
        version: 0,
    };
    table.save(&mut counter).await.unwrap();
    assert_eq!(counter.version, 1);
    let mut stale = counter.clone();
    counter.value = 1;
    table.save(&mut counter).await.unwrap();
    assert_eq!(counter.version, 2);
    stale.value = 100;
    let conflict = table.save(&mut stale).await;
    assert!(
        matches!(conflict, Err(Error::ConditionFailed { current: Some(_) })),
        "{conflict:?}"
    );
    assert_eq!(stale.version, 1, "a failed save keeps the version it read");
    let mut twin = Counter {
        name: "hits".into(),
        value: 5,
        version: 0,
    };
    assert!(
        matches!(
            table.save(&mut twin).await,
            Err(Error::ConditionFailed { .. })
        ),
        "version 0 means: not written yet"
    );
    let stored = table
        .get::<Counter>(&Counter::key("hits"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((stored.value, stored.version), (1, 2));
}

/// 8 writers, 50 increments each, of one item: no update is lost.
async fn concurrent_increments(table: Table) {
    table
        .save(&mut Counter {
            name: "shared".into(),
            value: 0,
            version: 0,
        })
        .await
        .unwrap();
    let mut writers = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let table = table.clone();
        writers.spawn(async move {
            let mut conflicts = 0;
            for _ in 0..50 {
                let saved = table
                    .modify::<Counter>(&Counter::key("shared"), 1_000, |c| c.value += 1)
                    .await
                    .unwrap();
                conflicts += saved.conflicts;
            }
            conflicts
        });
    }
    let mut conflicts = 0;
    while let Some(done) = writers.join_next().await {
        conflicts += done.unwrap();
    }
    let counter = table
        .get_consistent::<Counter>(&Counter::key("shared"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        counter.value, 400,
        "no lost update ({conflicts} conflicts absorbed)"
    );
    assert_eq!(counter.version, 401);
    assert!(
        conflicts > 0,
        "the writers interleaved, and the conflicts were retried"
    );
    println!("{conflicts} conflicts absorbed");
}

async fn batches(table: Table) {
    let todos: Vec<Todo> = (0..60)
        .map(|i| todo("ada", &format!("{i:03}"), "open", "2026-11-01"))
        .collect();
    table.batch_put(&todos).await.unwrap();
    let mut keys: Vec<ItemKey> = todos
        .iter()
        .map(|t| Todo::key("ada", t.id.as_str()))
        .collect();
    keys.reverse();
    keys.push(Todo::key("ada", "missing"));
    keys.push(Todo::key("ada", "007")); // repeated: read once
    let read: Vec<Todo> = table.batch_get(&keys).await.unwrap();
    assert_eq!(read.len(), 60);
    assert_eq!(read[0].id, "059", "in the order of the keys");
    assert_eq!(read[59].id, "000");
    let gone: Vec<ItemKey> = (0..30)
        .map(|i| Todo::key("ada", format!("{i:03}")))
        .collect();
    table.batch_delete(&gone).await.unwrap();
    assert_eq!(table.collection("USER#ada").await.unwrap().len(), 30);
}

async fn transactions(table: Table) {
    table.put(&user("ada")).await.unwrap();
    table
        .put(&todo("ada", "1", "open", "2026-11-01"))
        .await
        .unwrap();
    table
        .put(&todo("ada", "2", "open", "2026-11-01"))
        .await
        .unwrap();

    table
        .transaction()
        .insert(&todo("ada", "3", "open", "2026-11-02"))
        .unwrap()
        .update(
            &Todo::key("ada", "1"),
            Update::new().set("status", "done").unwrap(),
            Some(Condition::eq("status", value("open").unwrap())),
        )
        .unwrap()
        .delete(&Todo::key("ada", "2"), None)
        .unwrap()
        .check(&User::key("ada"), Condition::exists("email"))
        .unwrap()
        .commit()
        .await
        .unwrap();
    let collection = table.collection("USER#ada").await.unwrap();
    let ids: Vec<_> = collection
        .all::<Todo>()
        .unwrap()
        .into_iter()
        .map(|t| (t.id, t.status))
        .collect();
    assert_eq!(
        ids,
        [
            ("1".to_owned(), "done".to_owned()),
            ("3".to_owned(), "open".to_owned())
        ]
    );

    // One failing condition cancels everything, and says which one failed.
    let cancelled = table
        .transaction()
        .update(
            &Todo::key("ada", "3"),
            Update::new().set("status", "done").unwrap(),
            None,
        )
        .unwrap()
        .insert(&todo("ada", "1", "open", "2026-11-03"))
        .unwrap()
        .commit()
        .await;
    let Err(Error::TransactionCancelled { reasons }) = cancelled else {
        panic!("{cancelled:?}");
    };
    assert_eq!(reasons.len(), 2);
    assert_eq!(reasons[0], CancelReason::None);
    let CancelReason::ConditionFailed {
        current: Some(current),
    } = &reasons[1]
    else {
        panic!("{reasons:?}");
    };
    assert_eq!(current["status"], value("done").unwrap());
    let three = table
        .get::<Todo>(&Todo::key("ada", "3"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        three.status, "open",
        "nothing of a cancelled transaction is written"
    );
}

async fn projections_and_sets(table: Table) {
    for id in ["1", "2"] {
        table
            .put(&todo("ada", id, "open", "2026-11-01"))
            .await
            .unwrap();
    }
    #[derive(Debug, PartialEq, Deserialize)]
    struct Title {
        id: String,
        title: String,
        status: Option<String>,
    }
    let titles: Vec<Title> = table
        .query::<Todo>(Todo::partition("ada"))
        .project(&["id", "title"])
        .page_as()
        .await
        .unwrap()
        .items;
    assert_eq!(
        titles,
        [
            Title {
                id: "1".into(),
                title: "todo 1".into(),
                status: None
            },
            Title {
                id: "2".into(),
                title: "todo 2".into(),
                status: None
            }
        ],
        "only the projected attributes come back"
    );

    // ADD to a string set: elements stay unique.
    let key = Todo::key("ada", "1");
    table
        .update::<Todo>(
            &key,
            Update::new().add_to_set("labels", &["a", "b"]).unwrap(),
            None,
        )
        .await
        .unwrap();
    #[derive(Deserialize)]
    struct Labels {
        labels: std::collections::BTreeSet<String>,
    }
    let labels: Labels = table
        .update(
            &key,
            Update::new().add_to_set("labels", &["b", "c"]).unwrap(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        labels.labels.into_iter().collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
}

async fn local_indexes(table: Table) {
    for (id, due) in [
        ("a", "2026-12-03"),
        ("b", "2026-12-01"),
        ("c", "2026-12-02"),
    ] {
        table
            .put(&Task {
                owner: "ada".into(),
                id: id.into(),
                due: due.into(),
                title: format!("task {id}"),
            })
            .await
            .unwrap();
    }
    #[derive(Debug, Deserialize)]
    struct Due {
        id: Option<String>,
        title: String,
        due: String,
    }
    let by_due: Vec<Due> = table
        .query::<Task>(Task::by_due_partition("ada"))
        .consistent()
        .page_as()
        .await
        .unwrap()
        .items;
    let order: Vec<_> = by_due
        .iter()
        .map(|t| (t.due.as_str(), t.title.as_str()))
        .collect();
    assert_eq!(
        order,
        [
            ("2026-12-01", "task b"),
            ("2026-12-02", "task c"),
            ("2026-12-03", "task a")
        ],
        "ordered by the local index's sort key, consistent reads allowed"
    );
    assert!(
        by_due.iter().all(|t| t.id.is_none()),
        "`id` is not projected into the index"
    );
    let moved = table
        .put(&MovesThePartition {
            owner: "ada".into(),
            id: "x".into(),
        })
        .await;
    assert!(matches!(moved, Err(Error::Validation { .. })), "{moved:?}");
}

async fn backups(table: Table) {
    table.put(&user("ada")).await.unwrap();
    let backup = table.backup("before-cleanup").await.unwrap();
    table.delete(&User::key("ada")).await.unwrap();
    let restored = table
        .restore(&backup, &format!("{}-restored", table.def().name))
        .await
        .unwrap();
    assert_eq!(
        restored.get::<User>(&User::key("ada")).await.unwrap(),
        Some(user("ada"))
    );
    assert_eq!(table.get::<User>(&User::key("ada")).await.unwrap(), None);
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod memory_backend {
            $( #[tokio::test] async fn $case() { super::$case(super::memory(super::app_table()).await).await } )*
            #[tokio::test]
            async fn simple_key_tables() { super::simple_key_table(super::memory(super::sessions()).await).await }
        }
        mod dynamodb_backend {
            $( #[tokio::test] async fn $case() { super::$case(super::dynamodb(super::app_table()).await).await } )*
            #[tokio::test]
            async fn simple_key_tables() { super::simple_key_table(super::dynamodb(super::sessions()).await).await }
        }
    };
}

fn sessions() -> TableDef {
    TableDef::simple(
        &format!(
            "sessions-{}-{}",
            std::process::id(),
            TABLES.fetch_add(1, Ordering::Relaxed)
        ),
        "pk",
    )
}

async fn simple_key_table(table: Table) {
    let session = Session {
        token: "t1".into(),
        user: "ada".into(),
    };
    table.insert(&session).await.unwrap();
    assert_eq!(
        table.get::<Session>(&Session::key("t1")).await.unwrap(),
        Some(session)
    );
    let composite = ItemKey::new("SESSION#t1".into(), Some("x".into()));
    assert!(matches!(
        table.get::<Session>(&composite).await,
        Err(Error::Validation { .. })
    ));
    // A composite entity does not fit a simple table.
    assert!(matches!(
        table.put(&user("ada")).await,
        Err(Error::Validation { .. })
    ));
}

/// Requests DynamoDB refuses with a validation error are refused on every backend.
async fn dynamodb_validations(table: Table) {
    let validation = |r: Result<(), Error>, what: &str| {
        assert!(matches!(r, Err(Error::Validation { .. })), "{what}: {r:?}");
    };
    // A set with a repeated value.
    validation(
        Update::new().add_to_set("tags", &["a", "a"]).map(|_| ()),
        "duplicate set values",
    );
    table
        .put(&todo("ada", "1", "open", "2026-11-01"))
        .await
        .unwrap();
    // SET and REMOVE of one path.
    let overlap = table
        .update::<Todo>(
            &Todo::key("ada", "1"),
            Update::new().set("title", "x").unwrap().remove("title"),
            None,
        )
        .await
        .map(|_| ());
    validation(overlap, "overlapping paths");
    // Empty key values (here an index's sort key, rendered from an empty field).
    let empty_index_key = table
        .put(&Task {
            owner: "ada".into(),
            id: "t".into(),
            due: String::new(),
            title: "t".into(),
        })
        .await;
    validation(empty_index_key, "an empty index sort key");
    // Keys over DynamoDB's sizes.
    validation(
        table.put(&user(&"u".repeat(2048))).await,
        "a 2,053-byte partition key",
    );
    table.put(&user(&"u".repeat(2030))).await.unwrap(); // its email key is 2,048 bytes
    validation(
        table
            .put(&todo("ada", &"i".repeat(1020), "open", "2026-11-01"))
            .await,
        "a 1,025-byte sort key",
    );
    // One key twice in a batch.
    validation(
        table
            .batch_put(&[
                todo("ada", "2", "open", "2026-11-01"),
                todo("ada", "2", "done", "2026-11-02"),
            ])
            .await,
        "a key twice in a batch put",
    );
    validation(
        table
            .batch_delete(&[Todo::key("ada", "1"), Todo::key("ada", "1")])
            .await,
        "a key twice in a batch delete",
    );
    assert!(
        table
            .get::<Todo>(&Todo::key("ada", "2"))
            .await
            .unwrap()
            .is_none()
    );
    // An update that grows the item past 400 KB.
    table
        .update::<serde_json::Value>(
            &Todo::key("ada", "1"),
            Update::new().set("title", &"x".repeat(300 * 1024)).unwrap(),
            None,
        )
        .await
        .unwrap();
    let grown = table
        .update::<serde_json::Value>(
            &Todo::key("ada", "1"),
            Update::new().set("note", &"y".repeat(200 * 1024)).unwrap(),
            None,
        )
        .await;
    assert!(
        matches!(grown, Err(Error::ItemTooLarge { .. })),
        "{grown:?}"
    );
}

/// `<>` holds for a missing attribute, in conditions and in filters.
async fn not_equal_holds_for_missing_attributes(table: Table) {
    table
        .put(&todo("ada", "1", "open", "2026-11-01"))
        .await
        .unwrap();
    table
        .put_if(
            &todo("ada", "1", "open", "2026-11-02"),
            Condition::compare("archived", Comparison::Ne, value(&true).unwrap()),
        )
        .await
        .unwrap();
    let refused = table
        .put_if(
            &todo("ada", "1", "open", "2026-11-03"),
            Condition::compare("archived", Comparison::Eq, value(&true).unwrap()),
        )
        .await;
    assert!(
        matches!(refused, Err(Error::ConditionFailed { .. })),
        "{refused:?}"
    );
    let found = table
        .query::<Todo>(Todo::partition("ada"))
        .filter(Condition::compare(
            "archived",
            Comparison::Ne,
            value(&true).unwrap(),
        ))
        .page()
        .await
        .unwrap();
    assert_eq!(found.items.len(), 1);
}

/// Numbers compare and add exactly, with 38 digits, as DynamoDB's do.
async fn exact_numbers(table: Table) {
    use svless::store::dynamo::Number;
    let n = |text: &str| text.parse::<Number>().unwrap();
    let ledger = Ledger {
        name: "a".into(),
        balance: n("12345678901234567890123456789.123456789"),
        wide: Number::from(340_282_366_920_938_463_463_374_607_431_768_211u128),
    };
    table.put(&ledger).await.unwrap();
    assert_eq!(
        table.get::<Ledger>(&Ledger::key("a")).await.unwrap(),
        Some(ledger)
    );
    let key = Ledger::key("a");
    table
        .update::<Ledger>(&key, Update::new().set("balance", &n("0.1")).unwrap(), None)
        .await
        .unwrap();
    let after: Ledger = table
        .update(&key, Update::new().add("balance", &n("0.2")).unwrap(), None)
        .await
        .unwrap();
    assert_eq!(after.balance.to_string(), "0.3");
    table
        .update::<Ledger>(
            &key,
            Update::new()
                .set("balance", &n("9007199254740992"))
                .unwrap(),
            None,
        )
        .await
        .unwrap();
    let after: Ledger = table
        .update(&key, Update::new().add("balance", &1).unwrap(), None)
        .await
        .unwrap();
    assert_eq!(after.balance.to_string(), "9007199254740993");
    // 2^53 + 1 is greater than 2^53 (as f64 they are equal).
    table
        .update::<Ledger>(
            &key,
            Update::new().set("wide", &Number::from(1u8)).unwrap(),
            Some(Condition::compare(
                "balance",
                Comparison::Gt,
                value(&n("9007199254740992")).unwrap(),
            )),
        )
        .await
        .unwrap();
}

/// Different key parts never make the same key, and a field stored under a key attribute is
/// refused instead of overwritten.
async fn keys_are_injective_and_fields_are_not_overwritten(table: Table) {
    let one = Line {
        a: "1#ITEM#2".into(),
        b: "3".into(),
        note: "first".into(),
    };
    let two = Line {
        a: "1".into(),
        b: "2#ITEM#3".into(),
        note: "second".into(),
    };
    table.put(&one).await.unwrap();
    table.put(&two).await.unwrap();
    assert_eq!(
        table
            .get::<Line>(&Line::key("1#ITEM#2", "3"))
            .await
            .unwrap(),
        Some(one)
    );
    assert_eq!(
        table
            .get::<Line>(&Line::key("1", "2#ITEM#3"))
            .await
            .unwrap(),
        Some(two)
    );
    let shadow = table
        .put(&Shadow {
            id: "s".into(),
            email_pk: "mine".into(),
        })
        .await;
    assert!(
        matches!(shadow, Err(Error::Validation { .. })),
        "{shadow:?}"
    );
}

/// A versioned entity written with `insert` at version 0 is modified without invented
/// conflicts.
async fn versioned_entities_written_at_version_zero(table: Table) {
    table
        .insert(&Counter {
            name: "fresh".into(),
            value: 5,
            version: 0,
        })
        .await
        .unwrap();
    let saved = table
        .modify::<Counter>(&Counter::key("fresh"), 3, |c| c.value += 1)
        .await
        .unwrap();
    assert_eq!(
        (saved.entity.value, saved.entity.version, saved.conflicts),
        (6, 1, 0)
    );
    // A second creator at version 0 conflicts.
    let again = table
        .save(&mut Counter {
            name: "fresh".into(),
            value: 0,
            version: 0,
        })
        .await;
    assert!(
        matches!(again, Err(Error::ConditionFailed { .. })),
        "{again:?}"
    );
}

/// A global index with an `INCLUDE` projection holds the keys and the included attributes
/// only: queries of it neither return nor filter on the others.
async fn global_index_projections_hold(table: Table) {
    table
        .put(&Photo {
            album: "a".into(),
            id: "p1".into(),
            state: "ready".into(),
            title: "Sunset".into(),
            secret: "s3cret".into(),
        })
        .await
        .unwrap();
    let page = table
        .query::<Photo>(Photo::by_state_partition("ready"))
        .page_as::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0]["title"], "Sunset");
    assert!(page.items[0].get("secret").is_none(), "{}", page.items[0]);
    let filtered = table
        .query::<Photo>(Photo::by_state_partition("ready"))
        .filter(Condition::eq("secret", value("s3cret").unwrap()))
        .page_as::<serde_json::Value>()
        .await
        .unwrap();
    assert!(filtered.items.is_empty(), "{:?}", filtered.items);
}

/// An optional key part keeps an entity out of an index while it is `None`; signed integers
/// sort as numbers.
async fn sparse_and_signed_key_parts(table: Table) {
    for (at, alarm) in [
        (-5i64, Some("hot")),
        (3, None),
        (-20, Some("hot")),
        (7, Some("hot")),
    ] {
        table
            .put(&Reading {
                sensor: "s1".into(),
                at,
                alarm: alarm.map(str::to_owned),
            })
            .await
            .unwrap();
    }
    let all: Vec<i64> = table
        .query::<Reading>(Reading::partition("s1"))
        .page()
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|r| r.at)
        .collect();
    assert_eq!(all, [-20, -5, 3, 7]);
    let alarms: Vec<i64> = table
        .query::<Reading>(Reading::gsi1_partition(Some("hot".to_owned())))
        .page()
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|r| r.at)
        .collect();
    assert_eq!(
        alarms,
        [-20, -5, 7],
        "the reading without an alarm is not in the index"
    );
}

conformance!(
    dynamodb_validations,
    not_equal_holds_for_missing_attributes,
    exact_numbers,
    keys_are_injective_and_fields_are_not_overwritten,
    versioned_entities_written_at_version_zero,
    global_index_projections_hold,
    sparse_and_signed_key_parts,
    insert_get_put_delete,
    item_collections,
    sort_key_conditions,
    pages_and_cursors,
    secondary_indexes,
    item_size_limit,
    updates_and_conditions,
    optimistic_locking,
    batches,
    transactions,
    backups,
    projections_and_sets,
    local_indexes,
);

/// 8 × 50 read-modify-write cycles with optimistic locking lose no update. moto's threaded server
/// does not make conditional writes atomic under concurrency (the bare SDK loses updates against
/// it too), so the DynamoDB run talks to the moto server that answers one request at a time:
/// each request is atomic there, as on DynamoDB, while the writers' cycles still interleave.
mod concurrent_increments {
    #[tokio::test]
    async fn memory_backend() {
        super::concurrent_increments(super::memory(super::app_table()).await).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dynamodb_backend() {
        let config = svless_tests::moto_serial_config().await;
        let table =
            super::Table::dynamodb(super::app_table(), aws_sdk_dynamodb::Client::new(&config));
        table.create().await.unwrap();
        super::concurrent_increments(table).await
    }
}

#[tokio::test]
async fn in_memory_pages_end_at_one_megabyte() {
    let table = memory(app_table()).await;
    for i in 0..4 {
        let mut big = todo("ada", &i.to_string(), "open", "2026-11-01");
        big.title = "x".repeat(390 * 1024);
        table.put(&big).await.unwrap();
    }
    let pages: Vec<_> = table
        .query::<Todo>(Todo::partition("ada"))
        .pages()
        .try_collect()
        .await
        .unwrap();
    let sizes: Vec<_> = pages.iter().map(|p| p.items.len()).collect();
    assert_eq!(sizes, [3, 1], "a page stops once 1 MB was read");
}

/// Counts the operations a DynamoDB client sends, by their `X-Amz-Target`.
#[derive(Debug, Default, Clone)]
struct CountCalls(std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, u32>>>);

impl aws_sdk_dynamodb::config::Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "CountCalls"
    }

    fn read_before_transmit(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        if let Some(target) = context.request().headers().get("x-amz-target") {
            let operation = target.rsplit('.').next().unwrap_or(target).to_owned();
            *self.0.lock().unwrap().entry(operation).or_default() += 1;
        }
        Ok(())
    }
}

fn thousand() -> (Vec<Todo>, Vec<ItemKey>) {
    let todos: Vec<Todo> = (0..1000)
        .map(|i| todo("ada", &format!("{i:04}"), "open", "2026-11-01"))
        .collect();
    let keys = todos
        .iter()
        .map(|t| Todo::key("ada", t.id.as_str()))
        .collect();
    (todos, keys)
}

#[tokio::test]
async fn a_thousand_keys_take_ten_batch_gets_on_dynamodb() {
    let config = svless_tests::moto_config().await;
    let calls = CountCalls::default();
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&config)
            .interceptor(calls.clone())
            .build(),
    );
    let table = Table::dynamodb(app_table(), client);
    table.create().await.unwrap();
    let (todos, keys) = thousand();
    table.batch_put(&todos).await.unwrap();
    let read: Vec<Todo> = table.batch_get(&keys).await.unwrap();
    assert_eq!(read.len(), 1000);
    let calls = calls.0.lock().unwrap().clone();
    assert_eq!(calls.get("BatchWriteItem"), Some(&40));
    assert_eq!(calls.get("BatchGetItem"), Some(&10), "{calls:?}");
}

#[tokio::test]
async fn unprocessed_items_and_keys_are_retried_until_none_remain() {
    let db = MemoryDb::new();
    let table = Table::memory(app_table(), &db);
    table.create().await.unwrap();
    let (todos, keys) = thousand();

    // The first 5 BatchWriteItem calls each leave half their items unprocessed.
    db.inject(Faults {
        unprocessed_calls: 5,
        unprocessed_fraction: 0.5,
        ..Faults::default()
    });
    table.batch_put(&todos).await.unwrap();
    assert_eq!(
        db.calls("BatchWriteItem"),
        40 + 5,
        "40 chunks of 25, and one retry per fault"
    );

    db.inject(Faults {
        unprocessed_calls: 3,
        unprocessed_fraction: 0.3,
        throttled_calls: 2,
    });
    let read: Vec<Todo> = table.batch_get(&keys).await.unwrap();
    assert_eq!(read, todos, "every item written, every key read");
    assert_eq!(
        db.calls("BatchGetItem"),
        10 + 3 + 2,
        "10 chunks of 100, plus a retry per unprocessed or throttled call"
    );

    // Faults that never clear end in a typed, retryable error instead of a hang.
    db.inject(Faults {
        unprocessed_calls: 1_000,
        unprocessed_fraction: 1.0,
        ..Faults::default()
    });
    let stuck = table.batch_get::<Todo>(&keys[..5]).await;
    assert!(
        matches!(&stuck, Err(e @ Error::Throttled { .. }) if e.is_retryable()),
        "{stuck:?}"
    );
}

/// What the stream handler saw.
#[derive(Clone, Default)]
struct Seen(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

#[svless::dynamodb_stream]
async fn on_todo_change(
    record: svless::source::dynamodb::StreamRecord<Todo>,
    svless::State(seen): svless::State<Seen>,
) {
    use svless::source::dynamodb::Change;
    let entry = match &record.change {
        Change::Insert { new } => format!("insert {} {}", new.id, new.status),
        Change::Modify { old, new } => {
            format!("modify {} {} -> {}", new.id, old.status, new.status)
        }
        Change::Remove { old, .. } => format!("remove {}", old.id),
    };
    seen.0.lock().unwrap().push(entry);
}

#[tokio::test]
async fn the_in_memory_change_feed_drives_stream_handlers() {
    let db = MemoryDb::new();
    let def = app_table().stream(svless::store::dynamo::StreamView::NewAndOldImages);
    let name = def.name.clone();
    let table = Table::memory(def, &db);
    table.create().await.unwrap();
    let changes = db.subscribe(&name);

    table
        .insert(&todo("ada", "1", "open", "2026-11-01"))
        .await
        .unwrap();
    table
        .update::<Todo>(
            &Todo::key("ada", "1"),
            Update::new().set("status", "done").unwrap(),
            None,
        )
        .await
        .unwrap();
    table
        .transaction()
        .insert(&todo("ada", "2", "open", "2026-11-02"))
        .unwrap()
        .delete(&Todo::key("ada", "1"), None)
        .unwrap()
        .commit()
        .await
        .unwrap();
    // A failed write changes nothing and says nothing.
    assert!(table.insert(&todo("ada", "2", "x", "x")).await.is_err());
    drop(table);
    drop(db);

    let seen = Seen::default();
    let app = svless::App::new().state(seen.clone()).on(on_todo_change);
    svless::store::dynamo::deliver_stream(&app, changes).await;
    assert_eq!(
        *seen.0.lock().unwrap(),
        [
            "insert 1 open",
            "modify 1 open -> done",
            "insert 2 open",
            "remove 1"
        ]
    );
}

#[tokio::test]
async fn change_records_have_the_documented_shape() {
    let db = MemoryDb::new();
    let def = app_table().stream(svless::store::dynamo::StreamView::NewAndOldImages);
    let name = def.name.clone();
    let table = Table::memory(def, &db);
    table.create().await.unwrap();
    let mut changes = db.subscribe(&name);
    table
        .put(&todo("ada", "1", "open", "2026-11-01"))
        .await
        .unwrap();
    table
        .put(&todo("ada", "1", "done", "2026-11-01"))
        .await
        .unwrap();
    let _insert = changes.try_recv().unwrap();
    let modify = changes.try_recv().unwrap().record();
    let fixture: serde_json::Value =
        serde_json::from_slice(&svless_tests::fixture("dynamodb-stream.json")).unwrap();
    let documented = &fixture["Records"][1];
    assert_eq!(documented["eventName"], "MODIFY");
    let members = |v: &serde_json::Value| {
        let mut m: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        m.sort();
        m
    };
    assert_eq!(members(&modify), members(documented));
    assert_eq!(
        members(&modify["dynamodb"]),
        members(&documented["dynamodb"])
    );
    assert_eq!(modify["dynamodb"]["OldImage"]["status"]["S"], "open");
    assert_eq!(modify["dynamodb"]["NewImage"]["status"]["S"], "done");
    assert_eq!(modify["dynamodb"]["Keys"]["sk"]["S"], "TODO#1");
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, svless::Entity)]
#[entity(pk = "SESSION#{token}", sk = "SESSION")]
struct Expiring {
    token: String,
    expires_at: u64,
}

#[svless::dynamodb_stream]
async fn on_session_end(
    record: svless::source::dynamodb::StreamRecord<Expiring>,
    svless::State(seen): svless::State<Seen>,
) {
    if let svless::source::dynamodb::Change::Remove { old, expired } = &record.change {
        seen.0
            .lock()
            .unwrap()
            .push(format!("{} expired={expired}", old.token));
    }
}

#[tokio::test]
async fn expired_items_leave_with_ttl_records() {
    let db = MemoryDb::new();
    let def = app_table()
        .ttl("expires_at")
        .stream(svless::store::dynamo::StreamView::NewAndOldImages);
    let name = def.name.clone();
    let table = Table::memory(def, &db);
    table.create().await.unwrap();
    let changes = db.subscribe(&name);
    let now = std::time::SystemTime::now();
    let epoch = now.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    for (token, expires_at) in [
        ("old", epoch - 60),
        ("new", epoch + 3600),
        ("gone", epoch - 1),
    ] {
        table
            .put(&Expiring {
                token: token.into(),
                expires_at,
            })
            .await
            .unwrap();
    }
    table.delete(&Expiring::key("gone")).await.unwrap();
    assert_eq!(db.expire(&name, now).unwrap(), 1);
    assert!(
        table
            .get::<Expiring>(&Expiring::key("old"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        table
            .get::<Expiring>(&Expiring::key("new"))
            .await
            .unwrap()
            .is_some()
    );
    drop(table);
    drop(db);
    let seen = Seen::default();
    let app = svless::App::new().state(seen.clone()).on(on_session_end);
    svless::store::dynamo::deliver_stream(&app, changes).await;
    assert_eq!(
        *seen.0.lock().unwrap(),
        ["gone expired=false", "old expired=true"]
    );
}

#[test]
fn repository_futures_can_be_spawned() {
    fn spawnable<T: Send + 'static>(_: T) {}
    let table = Table::memory(app_table(), &MemoryDb::new());
    let keys = vec![Todo::key("ada", "1")];
    spawnable({
        let table = table.clone();
        async move { table.batch_get::<Todo>(&keys).await }
    });
    spawnable({
        let table = table.clone();
        async move { table.batch_put(&[todo("ada", "1", "open", "x")]).await }
    });
    spawnable(async move {
        table
            .query::<Todo>(Todo::partition("ada"))
            .page()
            .await
            .map(|p| p.items.len())
    });
}
