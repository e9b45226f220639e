//! What only the local backends do: change notifications that drive `#[svless::s3]` handlers
//! as Lambda would, lifecycle rules applied on demand, and for the local directory: keys that
//! would escape its root refused, objects that survive a restart, interrupted writes that
//! leave the previous object intact.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use svless::source::s3::{Created, ObjectEvent, Removed, S3Object};
use svless::store::object::{
    Change, CopyOptions, DEFAULT_PART_SIZE, Error, GetOptions, Key, LifecycleRule, LocalDirStore,
    MemoryStore, NoncurrentExpiration, ObjectStore, ObjectStoreExt, PutOptions, StorageClass,
    Transition, Versioning, VersionsRequest, deliver,
};
use svless::{App, State};

fn key(name: &str) -> Key {
    Key::new(name).expect("a valid key")
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("svless-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// What the S3 handler saw.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<S3Object>>>);

impl Seen {
    fn all(&self) -> Vec<S3Object> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

#[svless::s3(prefix = "uploads/")]
async fn on_upload(object: S3Object, State(seen): State<Seen>) {
    seen.0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(object);
}

async fn drain(changes: &mut svless::store::object::Changes) -> Vec<Change> {
    let mut out = Vec::new();
    while let Some(change) = changes.try_recv() {
        out.push(change);
    }
    out
}

/// Every kind of change, with what S3's record carries, in order, from either local backend.
async fn changes_carry_s3_records(
    store: &dyn ObjectStore,
    mut changes: svless::store::object::Changes,
) {
    store.set_versioning(true).await.expect("versioning");
    let k = key("uploads/my cat+1 été.jpg");
    let put = store.put_bytes(&k, "meow").await.expect("put");
    store
        .copy(&k, &key("uploads/copy.jpg"), CopyOptions::new())
        .await
        .expect("copy");
    store
        .put_bytes(&key("uploads/big.bin"), vec![0u8; DEFAULT_PART_SIZE + 1])
        .await
        .expect("multipart put");
    let marker = store.delete(&k, None).await.expect("delete");
    store
        .delete(&k, put.version_id.as_deref())
        .await
        .expect("delete a version");

    let seen = drain(&mut changes).await;
    let kinds: Vec<_> = seen.iter().map(|c| c.kind.name()).collect();
    assert_eq!(
        kinds,
        [
            "ObjectCreated:Put",
            "ObjectCreated:Copy",
            "ObjectCreated:CompleteMultipartUpload",
            "ObjectRemoved:DeleteMarkerCreated",
            "ObjectRemoved:Delete"
        ]
    );
    let first = &seen[0];
    assert_eq!(first.bucket, store.bucket());
    assert_eq!(first.key, k.as_str());
    assert_eq!(first.size, Some(4));
    assert_eq!(first.etag.as_deref(), Some(put.etag.trim_matches('"')));
    assert_eq!(first.version_id, put.version_id);
    assert_eq!(seen[3].version_id, marker.version_id);
    assert_eq!(seen[3].size, None);
    let sequencers: Vec<_> = seen.iter().map(|c| c.sequencer.clone()).collect();
    let mut sorted = sequencers.clone();
    sorted.sort();
    assert_eq!(sequencers, sorted, "sequencers grow");
    assert!(sequencers.iter().all(|s| s.len() == sequencers[0].len()));

    // The record is S3's: the key form-encoded, the ETag without quotes.
    let record = first.record();
    assert_eq!(record["eventSource"], "aws:s3");
    assert_eq!(record["eventName"], "ObjectCreated:Put");
    assert_eq!(
        record["s3"]["object"]["key"],
        "uploads/my+cat%2B1+%C3%A9t%C3%A9.jpg"
    );
    assert_eq!(
        record["s3"]["bucket"]["arn"],
        format!("arn:aws:s3:::{}", store.bucket())
    );
}

#[tokio::test]
async fn memory_changes_carry_s3_records() {
    let store = MemoryStore::new("uploads-bucket");
    let changes = store.subscribe();
    changes_carry_s3_records(&store, changes).await;
}

#[tokio::test]
async fn local_directory_changes_carry_s3_records() {
    let store = LocalDirStore::open("uploads-bucket", temp_dir("changes"))
        .await
        .expect("open");
    let changes = store.subscribe();
    changes_carry_s3_records(&store, changes).await;
}

#[tokio::test]
async fn changes_drive_s3_handlers_as_lambda_would() {
    let seen = Seen::default();
    let app = App::new().state(seen.clone()).on(on_upload);
    let store = LocalDirStore::open("photos", temp_dir("deliver"))
        .await
        .expect("open");
    let changes = store.subscribe();
    let k = key("uploads/my cat+1 été.jpg");
    let put = store
        .put(
            &k,
            "meow".into(),
            PutOptions::new().content_type("image/jpeg"),
        )
        .await
        .expect("put");
    store
        .put_bytes(&key("elsewhere/ignored.txt"), "x")
        .await
        .expect("put");
    store.delete(&k, None).await.expect("delete");
    drop(store); // the subscription ends, so `deliver` returns
    deliver(&app, changes).await;

    let objects = seen.all();
    assert_eq!(objects.len(), 2, "{objects:?}");
    assert_eq!(objects[0].bucket, "photos");
    assert_eq!(
        objects[0].key, "uploads/my cat+1 été.jpg",
        "the key round-trips S3's encoding"
    );
    assert_eq!(objects[0].size, Some(4));
    assert_eq!(objects[0].etag.as_deref(), Some(put.etag.trim_matches('"')));
    assert_eq!(objects[0].event, ObjectEvent::Created(Created::Put));
    assert_eq!(objects[1].event, ObjectEvent::Removed(Removed::Delete));
}

#[tokio::test]
async fn the_local_directory_refuses_keys_that_escape_its_root() {
    let root = temp_dir("escape");
    let store = LocalDirStore::open("b", &root).await.expect("open");
    for name in [
        "../outside",
        "a/../../outside",
        "/etc/passwd",
        "a/./b",
        "a\\..\\b",
        "..",
    ] {
        let k = key(name);
        let put = store.put_bytes(&k, "x").await;
        assert!(
            matches!(put, Err(Error::InvalidKey { .. })),
            "{name}: {put:?}"
        );
        assert!(matches!(
            store.get(&k, GetOptions::new()).await,
            Err(Error::InvalidKey { .. })
        ));
        assert!(matches!(
            store.copy(&key("x"), &k, CopyOptions::new()).await,
            Err(Error::InvalidKey { .. })
        ));
    }
    assert!(!root.parent().expect("a parent").join("outside").exists());
    // Names that only look like it are fine.
    store
        .put_bytes(&key("a/b..c/..d"), "ok")
        .await
        .expect("put");
    // The memory backend has no root to escape: S3 accepts such keys, and so does it.
    MemoryStore::new("b")
        .put_bytes(&key("../outside"), "x")
        .await
        .expect("memory put");
}

#[tokio::test]
async fn the_local_directory_survives_a_restart() {
    let root = temp_dir("restart");
    let policy = svless::policy::PolicyDocument::new(vec![
        svless::policy::Statement::new(svless::policy::Effect::Deny)
            .action("s3:DeleteObject")
            .resource("arn:aws:s3:::b/*"),
    ]);
    let rules = vec![LifecycleRule::new("tmp", "tmp/").expiration_days(1)];
    let (v1, v2) = {
        let store = LocalDirStore::open("b", &root).await.expect("open");
        store.set_versioning(true).await.expect("versioning");
        store.put_policy(&policy).await.expect("policy");
        store.put_lifecycle(&rules).await.expect("lifecycle");
        let k = key("notes/a.txt");
        let v1 = store
            .put(&k, "one".into(), PutOptions::new().metadata("n", "1"))
            .await
            .expect("put");
        let v2 = store.put_bytes(&k, "two").await.expect("put");
        store.put_bytes(&key("other.txt"), "x").await.expect("put");
        store.delete(&key("other.txt"), None).await.expect("delete");
        (
            v1.version_id.expect("a version"),
            v2.version_id.expect("a version"),
        )
    };
    let store = LocalDirStore::open("b", &root).await.expect("reopen");
    assert_eq!(
        store.versioning().await.expect("state"),
        Versioning::Enabled
    );
    assert_eq!(store.policy().await.expect("policy"), Some(policy));
    assert_eq!(store.lifecycle().await.expect("rules"), rules);
    let k = key("notes/a.txt");
    assert_eq!(store.get_bytes(&k).await.expect("get"), "two");
    let old = store
        .get(&k, GetOptions::new().version(&v1))
        .await
        .expect("old version");
    assert_eq!(old.meta.metadata.get("n").map(String::as_str), Some("1"));
    assert_eq!(old.body.collect().await.expect("body"), "one");
    let versions: Vec<_> = futures_util::TryStreamExt::try_collect::<Vec<_>>(
        store.list_versions(VersionsRequest::default()),
    )
    .await
    .expect("versions")
    .into_iter()
    .flat_map(|p| p.versions)
    .map(|v| {
        (
            v.key,
            v.version_id == v2 || v.version_id == v1,
            v.delete_marker,
        )
    })
    .collect();
    assert_eq!(
        versions,
        [
            ("notes/a.txt".to_owned(), true, false),
            ("notes/a.txt".to_owned(), true, false),
            ("other.txt".to_owned(), false, true),
            ("other.txt".to_owned(), false, false)
        ]
    );
}

#[tokio::test]
async fn leftovers_of_an_interrupted_write_are_ignored_and_removed() {
    let root = temp_dir("interrupted");
    let k = key("report.csv");
    {
        let store = LocalDirStore::open("b", &root).await.expect("open");
        store.put_bytes(&k, "complete").await.expect("put");
    }
    // A crash mid-put leaves a temporary body; a crash between renames, a body no version
    // names and a half-written meta.json beside the real one.
    std::fs::write(root.join("tmp").join("00000000000000ff.part"), "half").expect("write");
    let key_dir = std::fs::read_dir(root.join("objects"))
        .expect("objects")
        .next()
        .expect("one key")
        .expect("entry")
        .path();
    std::fs::write(key_dir.join("00000000000000ff.data"), "orphan").expect("write");
    std::fs::write(key_dir.join("meta.json.tmp"), "{\"key\": \"repo").expect("write");

    let store = LocalDirStore::open("b", &root).await.expect("reopen");
    assert_eq!(store.get_bytes(&k).await.expect("get"), "complete");
    assert_eq!(std::fs::read_dir(root.join("tmp")).expect("tmp").count(), 0);
    let mut files: Vec<_> = std::fs::read_dir(&key_dir)
        .expect("key dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "meta.json and the one body: {files:?}");
    assert!(files.contains(&"meta.json".to_owned()));
}

#[tokio::test]
async fn lifecycle_rules_apply_on_demand() {
    let store = MemoryStore::new("logs");
    let mut changes = store.subscribe();
    store.set_versioning(true).await.expect("versioning");
    store
        .put_lifecycle(&[
            LifecycleRule::new("tiering", "app/")
                .transition(Transition {
                    days: 30,
                    storage_class: StorageClass::StandardIa,
                })
                .transition(Transition {
                    days: 90,
                    storage_class: StorageClass::GlacierIr,
                })
                .noncurrent_expiration(NoncurrentExpiration {
                    noncurrent_days: 7,
                    newer_noncurrent_versions: Some(1),
                }),
            LifecycleRule::new("tmp", "tmp/").expiration_days(1),
            LifecycleRule::new("off", "").expiration_days(1).disabled(),
        ])
        .await
        .expect("rules");
    let log = key("app/today.log");
    for body in ["v1", "v2", "v3"] {
        store.put_bytes(&log, body).await.expect("put");
    }
    store
        .put_bytes(&key("tmp/scratch"), "x")
        .await
        .expect("put");
    store.put_bytes(&key("keep.txt"), "x").await.expect("put");
    drain(&mut changes).await;

    let day = Duration::from_secs(86_400);
    store
        .apply_lifecycle(SystemTime::now() + day * 31)
        .await
        .expect("apply");
    let meta = store.head(&log, GetOptions::new()).await.expect("head");
    assert_eq!(meta.storage_class, StorageClass::StandardIa);
    assert!(
        !store.exists(&key("tmp/scratch")).await.expect("exists"),
        "expired"
    );
    assert!(
        store.exists(&key("keep.txt")).await.expect("exists"),
        "a disabled rule"
    );
    let versions: Vec<_> = futures_util::TryStreamExt::try_collect::<Vec<_>>(
        store.list_versions(VersionsRequest::prefix("app/")),
    )
    .await
    .expect("versions")
    .into_iter()
    .flat_map(|p| p.versions)
    .collect();
    assert_eq!(
        versions.len(),
        2,
        "one noncurrent version kept: {versions:?}"
    );
    let kinds: Vec<_> = drain(&mut changes)
        .await
        .into_iter()
        .map(|c| format!("{} {}", c.kind.name(), c.key))
        .collect();
    assert!(
        kinds.contains(&"LifecycleTransition app/today.log".to_owned()),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&"LifecycleExpiration:DeleteMarkerCreated tmp/scratch".to_owned()),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&"LifecycleExpiration:Delete app/today.log".to_owned()),
        "{kinds:?}"
    );

    store
        .apply_lifecycle(SystemTime::now() + day * 91)
        .await
        .expect("apply");
    let meta = store.head(&log, GetOptions::new()).await.expect("head");
    assert_eq!(meta.storage_class, StorageClass::GlacierIr);
}

/// Every member path of a JSON value (`s3.object.key`), for comparing shapes.
fn paths(value: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
    if let serde_json::Value::Object(map) = value {
        for (name, child) in map {
            let path = format!("{prefix}{name}");
            paths(child, &format!("{path}."), out);
            out.push(path);
        }
    }
    out.sort();
}

#[tokio::test]
async fn change_records_have_the_shape_of_the_documented_s3_record() {
    let fixture: serde_json::Value =
        serde_json::from_slice(&svless_tests::fixture("s3-put-encoded-key.json")).expect("JSON");
    let documented = &fixture["Records"][0];
    let store = MemoryStore::new("bucket");
    let mut changes = store.subscribe();
    store.set_versioning(true).await.expect("versioning");
    store.put_bytes(&key("a b.txt"), "x").await.expect("put");
    let record = changes.try_recv().expect("a change").record();
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    paths(&record, "", &mut ours);
    paths(documented, "", &mut theirs);
    // The documented example is of an unversioned bucket; ours adds the version id.
    ours.retain(|p| p != "s3.object.versionId");
    assert_eq!(ours, theirs);
    assert_eq!(record["eventVersion"], documented["eventVersion"]);
    assert_eq!(record["eventSource"], documented["eventSource"]);
}
