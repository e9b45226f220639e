//! The object store's conformance suite: the same cases, as plain `async fn`s, against the
//! in-memory backend, the local-directory backend and S3 (the moto server that
//! `scripts/test.sh` starts on loopback). Where backends differ, the difference is a flag in
//! [`Flags`], checked by the case, never a skipped test.

// The cases are plain `async fn`s called from the generated `#[tokio::test]`s.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::TryStreamExt;
use md5::{Digest, Md5};
use svless::policy::{Effect, Principal, Statement};
use svless::store::object::{
    ByteRange, CopyOptions, Error, GetOptions, Key, LifecycleRule, ListRequest, LocalDirStore,
    MIN_PART_SIZE, MemoryStore, NoncurrentExpiration, ObjectStore, ObjectStoreExt, PolicyDocument,
    PutBody, PutOptions, S3Store, StorageClass, Transition, Versioning, VersionsRequest,
};

/// How a backend (or the server standing in for S3) differs from S3.
#[derive(Debug, Clone, Copy)]
struct Flags {
    /// Presigned URLs (S3 only: they need S3's endpoint).
    presign: bool,
    /// `GetBucketVersioning` can be read. moto 5.2.5 answers it with a
    /// `GetBucketVersioningResponse` root element instead of S3's `VersioningConfiguration`,
    /// which the SDK refuses.
    versioning_state: bool,
    /// A put in a versioning-suspended bucket replaces only the `null` version and keeps the
    /// versions written while versioning was enabled, as S3 does; moto 5.2.5 drops them all.
    suspended_keeps_versions: bool,
    /// `NoncurrentVersionExpiration.NewerNoncurrentVersions` comes back from the server
    /// (moto 5.2.5 drops it; S3 keeps it).
    newer_noncurrent_versions: bool,
    /// Deleting a delete marker by its version id answers `x-amz-delete-marker: true`, as S3
    /// does; moto 5.2.5 leaves the header out.
    marker_removal_reported: bool,
    /// `ListObjectVersions` interleaves versions and delete markers newest first, as S3 does;
    /// moto 5.2.5 lists every version before every marker, with one-second times, so a
    /// put/delete/put within one second cannot come back in S3's order from it. (S3's own
    /// interleaving is kept: see the unit test on a response from the S3 API Reference.)
    versions_interleaved: bool,
}

const LOCAL: Flags = Flags {
    presign: false,
    versioning_state: true,
    suspended_keeps_versions: true,
    newer_noncurrent_versions: true,
    marker_removal_reported: true,
    versions_interleaved: true,
};

struct Backend {
    store: Box<dyn ObjectStore>,
    flags: Flags,
}

static BUCKETS: AtomicU32 = AtomicU32::new(0);

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        BUCKETS.fetch_add(1, Ordering::Relaxed)
    )
}

async fn memory() -> Backend {
    Backend {
        store: Box::new(MemoryStore::with_part_size("conformance", MIN_PART_SIZE).unwrap()),
        flags: LOCAL,
    }
}

async fn local() -> Backend {
    let dir = std::env::temp_dir().join(unique("svless-conformance"));
    Backend {
        store: Box::new(
            LocalDirStore::open_with_part_size("conformance", &dir, MIN_PART_SIZE)
                .await
                .unwrap(),
        ),
        flags: LOCAL,
    }
}

use svless_tests::s3_client;

async fn s3_store(client: aws_sdk_s3::Client) -> S3Store {
    let store = S3Store::builder(client, &unique("conformance"))
        .part_size(MIN_PART_SIZE)
        .unwrap()
        .concurrency(3)
        .build();
    store.create_bucket().await.unwrap();
    store.warm_up().await.unwrap();
    store
}

async fn s3() -> Backend {
    Backend {
        store: Box::new(s3_store(s3_client().await).await),
        flags: Flags {
            presign: true,
            versioning_state: false,
            suspended_keeps_versions: false,
            newer_noncurrent_versions: false,
            marker_removal_reported: false,
            versions_interleaved: false,
        },
    }
}

fn key(name: &str) -> Key {
    Key::new(name).unwrap()
}

fn md5_etag(body: &[u8]) -> String {
    format!("\"{}\"", hex::encode(Md5::digest(body)))
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

/// A stream of `chunks` chunks of `size` bytes of [`pattern`].
fn chunked(body: &[u8], size: usize) -> PutBody {
    let chunks: Vec<Result<Bytes, std::io::Error>> = body
        .chunks(size)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    PutBody::stream(futures_util::stream::iter(chunks))
}

// ---------------------------------------------------------------------------------------------
// The cases.

async fn put_get_head_round_trip(b: Backend) {
    let store = b.store.as_ref();
    let k = key("docs/report.csv");
    let options = PutOptions::new()
        .content_type("text/csv")
        .cache_control("max-age=60")
        .metadata("Owner", "u-42")
        .storage_class(StorageClass::StandardIa);
    let put = store.put(&k, "a,b\n1,2\n".into(), options).await.unwrap();
    assert_eq!(put.etag, md5_etag(b"a,b\n1,2\n"));
    assert_eq!(
        put.version_id, None,
        "an unversioned bucket gives no version ids"
    );

    assert_eq!(store.get_bytes(&k).await.unwrap(), "a,b\n1,2\n");
    let meta = store.head(&k, GetOptions::new()).await.unwrap();
    assert_eq!(meta.size, 8);
    assert_eq!(meta.etag, put.etag);
    assert_eq!(meta.content_type.as_deref(), Some("text/csv"));
    assert_eq!(meta.cache_control.as_deref(), Some("max-age=60"));
    assert_eq!(meta.metadata.get("owner").map(String::as_str), Some("u-42"));
    assert_eq!(meta.storage_class, StorageClass::StandardIa);

    let got = store.get(&k, GetOptions::new()).await.unwrap();
    assert_eq!(got.meta.size, 8);
    assert_eq!(got.meta.content_type.as_deref(), Some("text/csv"));
    assert!(got.range.is_none());

    // A replace.
    store.put_bytes(&k, "new").await.unwrap();
    assert_eq!(store.get_bytes(&k).await.unwrap(), "new");
    let meta = store.head(&k, GetOptions::new()).await.unwrap();
    // What the SDK sends for a body without a content type, and so what S3 stores.
    assert_eq!(
        meta.content_type.as_deref(),
        Some("application/octet-stream")
    );
    assert_eq!(meta.storage_class, StorageClass::Standard);
}

async fn storage_classes(b: Backend) {
    let store = b.store.as_ref();
    for class in [
        StorageClass::Standard,
        StorageClass::StandardIa,
        StorageClass::OnezoneIa,
        StorageClass::IntelligentTiering,
        StorageClass::GlacierIr,
        StorageClass::Glacier,
        StorageClass::DeepArchive,
    ] {
        let k = key(&format!("classes/{class}"));
        store
            .put(
                &k,
                "x".into(),
                PutOptions::new().storage_class(class.clone()),
            )
            .await
            .unwrap();
        let meta = store.head(&k, GetOptions::new()).await.unwrap();
        assert_eq!(meta.storage_class, class);
        let read = store.get(&k, GetOptions::new()).await;
        if class.is_archived() {
            assert!(
                matches!(read, Err(Error::Archived { .. })),
                "{class}: {read:?}"
            );
        } else {
            assert_eq!(read.unwrap().body.collect().await.unwrap(), "x");
        }
    }
}

async fn create_only_puts(b: Backend) {
    let store = b.store.as_ref();
    let k = key("once.txt");
    let once = PutOptions::new().create_only();
    store.put(&k, "first".into(), once.clone()).await.unwrap();
    let again = store.put(&k, "second".into(), once.clone()).await;
    assert!(
        matches!(again, Err(Error::PreconditionFailed { .. })),
        "{again:?}"
    );
    assert_eq!(store.get_bytes(&k).await.unwrap(), "first");
    store.delete(&k, None).await.unwrap();
    store.put(&k, "third".into(), once).await.unwrap();
    assert_eq!(store.get_bytes(&k).await.unwrap(), "third");
}

async fn read_range(
    store: &dyn ObjectStore,
    k: &Key,
    range: ByteRange,
) -> Result<(u64, u64, u64, Bytes), Error> {
    let out = store.get(k, GetOptions::new().range(range)).await?;
    let r = out.range.expect("a content range");
    assert_eq!(out.meta.size, 100);
    Ok((r.start, r.end, r.total, out.body.collect().await?))
}

async fn byte_ranges(b: Backend) {
    let store = b.store.as_ref();
    let k = key("range.bin");
    let body = pattern(100);
    store.put_bytes(&k, body.clone()).await.unwrap();

    let read = |range| read_range(store, &k, range);
    assert_eq!(
        read(ByteRange::Bounded(10, 19)).await.unwrap(),
        (10, 19, 100, Bytes::copy_from_slice(&body[10..20]))
    );
    assert_eq!(
        read(ByteRange::From(90)).await.unwrap(),
        (90, 99, 100, Bytes::copy_from_slice(&body[90..]))
    );
    assert_eq!(
        read(ByteRange::Suffix(5)).await.unwrap(),
        (95, 99, 100, Bytes::copy_from_slice(&body[95..]))
    );
    assert_eq!(
        read(ByteRange::Bounded(95, 500)).await.unwrap(),
        (95, 99, 100, Bytes::copy_from_slice(&body[95..]))
    );
    let outside = read(ByteRange::From(100)).await;
    assert!(
        matches!(outside, Err(Error::InvalidRange { .. })),
        "{outside:?}"
    );
}

async fn streamed_bodies(b: Backend) {
    let store = b.store.as_ref();
    let k = key("stream/one-mib.bin");
    let body = pattern(1 << 20);
    let put = store
        .put(&k, chunked(&body, 7919), PutOptions::new())
        .await
        .unwrap();
    assert_eq!(put.etag, md5_etag(&body), "one part: a plain MD5");
    let out = store.get(&k, GetOptions::new()).await.unwrap();
    let chunks: Vec<Bytes> = out.body.try_collect().await.unwrap();
    assert_eq!(chunks.concat(), body);
}

async fn multipart_above_the_part_size(b: Backend) {
    let store = b.store.as_ref();
    let k = key("big/eleven-mib.bin");
    let body = pattern(11 << 20);
    let put = store
        .put(
            &k,
            chunked(&body, 1 << 20),
            PutOptions::new().content_type("application/octet-stream"),
        )
        .await
        .unwrap();
    let mut digests = Vec::new();
    for part in body.chunks(MIN_PART_SIZE) {
        digests.extend_from_slice(&Md5::digest(part));
    }
    let expected = format!("\"{}-3\"", hex::encode(Md5::digest(&digests)));
    assert_eq!(put.etag, expected, "S3's multipart ETag, on every backend");
    assert_eq!(store.get_bytes(&k).await.unwrap(), body);
    let meta = store.head(&k, GetOptions::new()).await.unwrap();
    assert_eq!((meta.size, meta.etag), (body.len() as u64, expected));

    // From bytes in memory too.
    let put = store
        .put_bytes(&key("big/bytes.bin"), body.clone())
        .await
        .unwrap();
    assert!(put.etag.ends_with("-3\""), "{}", put.etag);
}

/// S3's ETag for a body stored with the suite's part size: a plain MD5 up to one part, else
/// the MD5 of the parts' MD5s with the part count.
fn expected_etag(body: &[u8]) -> String {
    if body.len() <= MIN_PART_SIZE {
        return md5_etag(body);
    }
    let mut digests = Vec::new();
    let mut count = 0;
    for part in body.chunks(MIN_PART_SIZE) {
        digests.extend_from_slice(&Md5::digest(part));
        count += 1;
    }
    format!("\"{}-{count}\"", hex::encode(Md5::digest(&digests)))
}

/// Cuts `body` at random points into chunks, with empty chunks sprinkled in (an HTTP body may
/// carry empty data frames) and chunk boundaries often on a part boundary.
fn random_chunks(rng: &mut svless_tests::Rng, body: &[u8]) -> Vec<Bytes> {
    let mut chunks = Vec::new();
    let mut at = 0;
    while at < body.len() {
        if rng.chance(1, 4) {
            chunks.push(Bytes::new());
        }
        let next_boundary = (at / MIN_PART_SIZE + 1) * MIN_PART_SIZE;
        let len = if rng.chance(1, 3) && next_boundary > at {
            next_boundary - at
        } else {
            1 + rng.below(2 * MIN_PART_SIZE as u64) as usize
        };
        let end = (at + len).min(body.len());
        chunks.push(Bytes::copy_from_slice(&body[at..end]));
        at = end;
    }
    if rng.chance(1, 2) {
        chunks.push(Bytes::new());
    }
    chunks
}

/// A put stores every byte or fails: streamed bodies cut at random points, with empty chunks
/// (the truncation of a 5 MiB + 25 bytes body after an empty chunk is the first case).
async fn random_chunkings_store_every_byte(b: Backend) {
    let store = b.store.as_ref();
    let seed = svless_tests::seed(0x5EED_0B1E);
    let mut rng = svless_tests::Rng::new(seed);
    let mut cases: Vec<(Vec<u8>, Vec<Bytes>)> = Vec::new();
    let regression = pattern(MIN_PART_SIZE + 25);
    cases.push((
        regression.clone(),
        vec![
            Bytes::copy_from_slice(&regression[..MIN_PART_SIZE]),
            Bytes::new(),
            Bytes::copy_from_slice(&regression[MIN_PART_SIZE..]),
        ],
    ));
    let sizes = [
        0,
        1,
        MIN_PART_SIZE - 1,
        MIN_PART_SIZE,
        MIN_PART_SIZE + 1,
        2 * MIN_PART_SIZE,
        2 * MIN_PART_SIZE + 7,
    ];
    for _ in 0..6 {
        let size = *rng.pick(&sizes);
        let body: Vec<u8> = (0..size).map(|_| rng.next_u64() as u8).collect();
        let chunks = random_chunks(&mut rng, &body);
        cases.push((body, chunks));
    }
    for (i, (body, chunks)) in cases.into_iter().enumerate() {
        let k = key(&format!("chunked/{i}.bin"));
        let shape: Vec<usize> = chunks.iter().map(Bytes::len).collect();
        let stream = futures_util::stream::iter(chunks.into_iter().map(Ok::<_, std::io::Error>));
        let put = store
            .put(&k, PutBody::stream(stream), PutOptions::new())
            .await
            .unwrap_or_else(|e| panic!("seed {seed}, case {i}, chunks {shape:?}: {e}"));
        let stored = store.get_bytes(&k).await.unwrap();
        assert!(
            stored == body,
            "seed {seed}, case {i}, chunks {shape:?}: stored {} of {} bytes",
            stored.len(),
            body.len()
        );
        assert_eq!(
            put.etag,
            expected_etag(&body),
            "seed {seed}, case {i}, chunks {shape:?}"
        );
        let meta = store.head(&k, GetOptions::new()).await.unwrap();
        assert_eq!((meta.size, meta.etag), (body.len() as u64, put.etag));
    }
}

async fn a_failing_body_writes_nothing(b: Backend) {
    let store = b.store.as_ref();
    let k = key("broken.bin");
    store.put_bytes(&k, "previous").await.unwrap();
    // Fails after two full parts: a multipart upload was under way on S3.
    let chunks = (0..3)
        .map(|i| {
            if i < 2 {
                Ok(Bytes::from(vec![1u8; MIN_PART_SIZE]))
            } else {
                Err(std::io::Error::other("the client went away"))
            }
        })
        .collect::<Vec<_>>();
    let put = store
        .put(
            &k,
            PutBody::stream(futures_util::stream::iter(chunks)),
            PutOptions::new(),
        )
        .await;
    assert!(matches!(put, Err(Error::Body { .. })), "{put:?}");
    assert_eq!(store.get_bytes(&k).await.unwrap(), "previous");
}

async fn deletes(b: Backend) {
    let store = b.store.as_ref();
    let k = key("gone.txt");
    store
        .delete(&k, None)
        .await
        .expect("deleting a missing key succeeds");
    store.put_bytes(&k, "x").await.unwrap();
    assert!(store.exists(&k).await.unwrap());
    let out = store.delete(&k, None).await.unwrap();
    assert!(!out.delete_marker);
    assert!(!store.exists(&k).await.unwrap());
    assert!(matches!(
        store.get(&k, GetOptions::new()).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        store.head(&k, GetOptions::new()).await,
        Err(Error::NotFound { .. })
    ));
}

async fn copies(b: Backend) {
    let store = b.store.as_ref();
    let src = key("copy/src.json");
    store
        .put(
            &src,
            "{}".into(),
            PutOptions::new()
                .content_type("application/json")
                .metadata("kind", "a"),
        )
        .await
        .unwrap();
    let kept = key("copy/kept.json");
    let out = store.copy(&src, &kept, CopyOptions::new()).await.unwrap();
    assert_eq!(out.etag, md5_etag(b"{}"));
    let meta = store.head(&kept, GetOptions::new()).await.unwrap();
    assert_eq!(meta.content_type.as_deref(), Some("application/json"));
    assert_eq!(meta.metadata.get("kind").map(String::as_str), Some("a"));
    assert_eq!(store.get_bytes(&kept).await.unwrap(), "{}");

    let replaced = key("copy/replaced.txt");
    store
        .copy(
            &src,
            &replaced,
            CopyOptions::new()
                .content_type("text/plain")
                .metadata("kind", "b")
                .storage_class(StorageClass::GlacierIr),
        )
        .await
        .unwrap();
    let meta = store.head(&replaced, GetOptions::new()).await.unwrap();
    assert_eq!(meta.content_type.as_deref(), Some("text/plain"));
    assert_eq!(meta.metadata.get("kind").map(String::as_str), Some("b"));
    assert_eq!(meta.storage_class, StorageClass::GlacierIr);

    let missing = store
        .copy(&key("copy/none"), &key("copy/x"), CopyOptions::new())
        .await;
    assert!(
        matches!(missing, Err(Error::NotFound { .. })),
        "{missing:?}"
    );
}

/// A put, a delete and a put within one second list as S3 lists them: newest first, the
/// marker between the versions.
async fn versions_of_one_second_keep_their_order(b: Backend) {
    let store = b.store.as_ref();
    store.set_versioning(true).await.unwrap();
    let k = key("quick/one.txt");
    let v1 = store
        .put_bytes(&k, "one")
        .await
        .unwrap()
        .version_id
        .unwrap();
    let marker = store.delete(&k, None).await.unwrap().version_id.unwrap();
    let v3 = store
        .put_bytes(&k, "three")
        .await
        .unwrap()
        .version_id
        .unwrap();
    let listed: Vec<String> = store
        .list_versions(VersionsRequest::prefix("quick/"))
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .into_iter()
        .flat_map(|p| p.versions)
        .map(|v| v.version_id)
        .collect();
    if b.flags.versions_interleaved {
        assert_eq!(listed, [v3, marker, v1]);
    } else {
        assert_eq!(listed[0], v3, "the latest first");
        assert_eq!(listed.len(), 3);
    }
}

/// Copies as S3 makes them: an archived source is `Archived`, a copy onto itself that changes
/// nothing is refused, replacing metadata replaces all of it.
async fn copy_rules(b: Backend) {
    let store = b.store.as_ref();
    let frozen = key("copy/frozen.bin");
    store
        .put(
            &frozen,
            "cold".into(),
            PutOptions::new().storage_class(StorageClass::Glacier),
        )
        .await
        .unwrap();
    let copy = store
        .copy(&frozen, &key("copy/thawed.bin"), CopyOptions::new())
        .await;
    assert!(matches!(copy, Err(Error::Archived { .. })), "{copy:?}");

    let src = key("copy/cached.txt");
    store
        .put(
            &src,
            "text".into(),
            PutOptions::new()
                .content_type("text/plain")
                .cache_control("max-age=60")
                .metadata("kind", "a"),
        )
        .await
        .unwrap();
    let same = store.copy(&src, &src, CopyOptions::new()).await;
    assert!(matches!(same, Err(Error::Validation { .. })), "{same:?}");
    // Changing the metadata of an object by copying it onto itself is allowed.
    store
        .copy(
            &src,
            &src,
            CopyOptions::new()
                .content_type("text/markdown")
                .metadata("kind", "b"),
        )
        .await
        .unwrap();
    let meta = store.head(&src, GetOptions::new()).await.unwrap();
    assert_eq!(meta.content_type.as_deref(), Some("text/markdown"));
    assert_eq!(meta.metadata.get("kind").map(String::as_str), Some("b"));
    assert_eq!(meta.cache_control, None, "REPLACE replaces all metadata");
}

/// Ranges S3 cannot parse read the whole object; metadata values are trimmed as HTTP headers.
async fn ranges_and_metadata_as_http_carries_them(b: Backend) {
    let store = b.store.as_ref();
    let k = key("http/ten.txt");
    store
        .put(
            &k,
            "0123456789".into(),
            PutOptions::new().metadata("note", "  padded value  "),
        )
        .await
        .unwrap();
    let whole = store
        .get(&k, GetOptions::new().range(ByteRange::Bounded(7, 3)))
        .await
        .unwrap();
    assert_eq!(whole.range, None);
    assert_eq!(whole.body.collect().await.unwrap(), "0123456789");
    let meta = store.head(&k, GetOptions::new()).await.unwrap();
    assert_eq!(
        meta.metadata.get("note").map(String::as_str),
        Some("padded value")
    );
    // A suffix of an empty object is the whole, empty object (RFC 9110 §14.1.1).
    let empty = key("http/empty.txt");
    store.put_bytes(&empty, "").await.unwrap();
    let out = store
        .get(&empty, GetOptions::new().range(ByteRange::Suffix(5)))
        .await
        .unwrap();
    assert_eq!((out.range, out.meta.size), (None, 0));
}

async fn listings(b: Backend) {
    let store = b.store.as_ref();
    let names = [
        "photos/2025/a.jpg",
        "photos/2026/b.jpg",
        "photos/2026/c.jpg",
        "photos/cover.jpg",
        "photos/readme.txt",
        "videos/x.mp4",
    ];
    for name in names {
        store.put_bytes(&key(name), name.to_owned()).await.unwrap();
    }
    // Everything, two per page.
    let pages: Vec<_> = store
        .list(ListRequest::all().page_size(2))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 3);
    let keys: Vec<_> = pages
        .iter()
        .flat_map(|p| p.objects.iter().map(|o| o.key.as_str()))
        .collect();
    assert_eq!(keys, names);
    assert_eq!(pages[0].objects[0].size, names[0].len() as u64);
    assert_eq!(pages[0].objects[0].etag, md5_etag(names[0].as_bytes()));

    // One level under photos/, with a page boundary inside the common prefixes.
    let pages: Vec<_> = store
        .list(ListRequest::prefix("photos/").delimiter("/").page_size(1))
        .try_collect()
        .await
        .unwrap();
    let prefixes: Vec<_> = pages
        .iter()
        .flat_map(|p| p.common_prefixes.iter().map(String::as_str))
        .collect();
    let objects: Vec<_> = pages
        .iter()
        .flat_map(|p| p.objects.iter().map(|o| o.key.as_str()))
        .collect();
    assert_eq!(prefixes, ["photos/2025/", "photos/2026/"]);
    assert_eq!(objects, ["photos/cover.jpg", "photos/readme.txt"]);
    assert_eq!(pages.len(), 4);

    let none: Vec<_> = store
        .list(ListRequest::prefix("music/"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(none.len(), 1);
    assert!(none[0].objects.is_empty() && none[0].next.is_none());
}

async fn keys_round_trip(b: Backend) {
    let store = b.store.as_ref();
    let names = [
        "uploads/my cat+1 été.jpg",
        "uploads/100%/pure?.txt",
        "uploads/日本語/ファイル.txt",
        "uploads/a&b=c;d,e.txt",
    ];
    for name in names {
        store.put_bytes(&key(name), name.to_owned()).await.unwrap();
        assert_eq!(store.get_bytes(&key(name)).await.unwrap(), name);
    }
    let listed: Vec<_> = store
        .list(ListRequest::prefix("uploads/"))
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .into_iter()
        .flat_map(|p| p.objects.into_iter().map(|o| o.key))
        .collect();
    let mut sorted = names.map(String::from).to_vec();
    sorted.sort();
    assert_eq!(listed, sorted, "listed in UTF-8 byte order");
    let copied = key("uploads/copy of my cat+1 été.jpg");
    store
        .copy(&key(names[0]), &copied, CopyOptions::new())
        .await
        .unwrap();
    assert_eq!(store.get_bytes(&copied).await.unwrap(), names[0]);
}

async fn versions_and_delete_markers(b: Backend) {
    let store = b.store.as_ref();
    if b.flags.versioning_state {
        assert_eq!(store.versioning().await.unwrap(), Versioning::Unversioned);
    }
    store.set_versioning(true).await.unwrap();
    if b.flags.versioning_state {
        assert_eq!(store.versioning().await.unwrap(), Versioning::Enabled);
    }

    let k = key("versioned/notes.txt");
    let v1 = store.put_bytes(&k, "one").await.unwrap();
    let v2 = store.put_bytes(&k, "two").await.unwrap();
    let (v1, v2) = (v1.version_id.unwrap(), v2.version_id.unwrap());
    assert_ne!(v1, v2);
    assert_eq!(store.get_bytes(&k).await.unwrap(), "two");
    let old = store.get(&k, GetOptions::new().version(&v1)).await.unwrap();
    assert_eq!(old.meta.version_id.as_deref(), Some(v1.as_str()));
    assert_eq!(old.body.collect().await.unwrap(), "one");

    // A delete adds a marker; the versions stay.
    let marker = store.delete(&k, None).await.unwrap();
    assert!(marker.delete_marker);
    let marker = marker.version_id.unwrap();
    assert!(!store.exists(&k).await.unwrap());
    let versions: Vec<_> = store
        .list_versions(VersionsRequest::prefix("versioned/"))
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .into_iter()
        .flat_map(|p| p.versions)
        .collect();
    let summary: Vec<_> = versions
        .iter()
        .map(|v| (v.version_id.as_str(), v.is_latest, v.delete_marker))
        .collect();
    assert_eq!(
        summary,
        [
            (marker.as_str(), true, true),
            (v2.as_str(), false, false),
            (v1.as_str(), false, false)
        ]
    );
    assert_eq!(versions[1].etag, md5_etag(b"two"));
    // Listing skips a key whose current version is a delete marker.
    let listed: Vec<_> = store
        .list(ListRequest::prefix("versioned/"))
        .try_collect()
        .await
        .unwrap();
    assert!(listed[0].objects.is_empty());

    // Removing the marker brings the object back; removing a version is for good.
    let out = store.delete(&k, Some(&marker)).await.unwrap();
    assert!(out.delete_marker || !b.flags.marker_removal_reported);
    assert_eq!(out.version_id.as_deref(), Some(marker.as_str()));
    assert_eq!(store.get_bytes(&k).await.unwrap(), "two");
    store.delete(&k, Some(&v2)).await.unwrap();
    assert_eq!(store.get_bytes(&k).await.unwrap(), "one");
    assert!(matches!(
        store.get(&k, GetOptions::new().version(&v2)).await,
        Err(Error::NotFound { .. })
    ));

    // Paging through versions, one per page.
    store.put_bytes(&k, "three").await.unwrap();
    let pages: Vec<_> = store
        .list_versions(VersionsRequest::prefix("versioned/").page_size(1))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 2);
    assert!(pages.iter().all(|p| p.versions.len() == 1));
}

async fn suspended_versioning(b: Backend) {
    let store = b.store.as_ref();
    store.set_versioning(true).await.unwrap();
    let k = key("suspended.txt");
    let kept = store
        .put_bytes(&k, "kept")
        .await
        .unwrap()
        .version_id
        .unwrap();
    store.set_versioning(false).await.unwrap();
    if b.flags.versioning_state {
        assert_eq!(store.versioning().await.unwrap(), Versioning::Suspended);
    }
    store.put_bytes(&k, "null one").await.unwrap();
    store.put_bytes(&k, "null two").await.unwrap();
    let versions: Vec<_> = store
        .list_versions(VersionsRequest::prefix("suspended"))
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .into_iter()
        .flat_map(|p| p.versions)
        .map(|v| v.version_id)
        .collect();
    assert_eq!(store.get_bytes(&k).await.unwrap(), "null two");
    if !b.flags.suspended_keeps_versions {
        assert_eq!(versions, ["null"]);
        return;
    }
    assert_eq!(
        versions,
        ["null".to_owned(), kept.clone()],
        "writes replace the null version"
    );
    assert_eq!(
        store
            .get(&k, GetOptions::new().version(&kept))
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap(),
        "kept"
    );
}

async fn bucket_policies(b: Backend) {
    let store = b.store.as_ref();
    assert_eq!(store.policy().await.unwrap(), None);
    let bucket = store.bucket().to_owned();
    let policy = PolicyDocument::new(vec![
        Statement::new(Effect::Allow)
            .sid("PublicThumbnails")
            .principal(Principal::Any("*".into()))
            .action("s3:GetObject")
            .resource(format!("arn:aws:s3:::{bucket}/thumbnails/*").as_str()),
    ]);
    store.put_policy(&policy).await.unwrap();
    assert_eq!(store.policy().await.unwrap(), Some(policy));
    store.delete_policy().await.unwrap();
    assert_eq!(store.policy().await.unwrap(), None);
    store
        .delete_policy()
        .await
        .expect("deleting no policy succeeds");
}

async fn lifecycle_rules(b: Backend) {
    let store = b.store.as_ref();
    assert!(store.lifecycle().await.unwrap().is_empty());
    let rules = vec![
        LifecycleRule::new("tiering", "uploads/")
            .transition(Transition {
                days: 30,
                storage_class: StorageClass::StandardIa,
            })
            .transition(Transition {
                days: 90,
                storage_class: StorageClass::Glacier,
            })
            .noncurrent_expiration(NoncurrentExpiration {
                noncurrent_days: 30,
                newer_noncurrent_versions: Some(3),
            })
            .abort_incomplete_multipart_uploads(7),
        LifecycleRule::new("tmp", "tmp/").expiration_days(1),
    ];
    store.put_lifecycle(&rules).await.unwrap();
    let mut expected = rules.clone();
    if !b.flags.newer_noncurrent_versions {
        for rule in &mut expected {
            if let Some(e) = rule.noncurrent_expiration.as_mut() {
                e.newer_noncurrent_versions = None;
            }
        }
    }
    assert_eq!(store.lifecycle().await.unwrap(), expected);
    store.put_lifecycle(&[]).await.unwrap();
    assert!(store.lifecycle().await.unwrap().is_empty());
}

async fn presigned_urls(b: Backend) {
    let store = b.store.as_ref();
    let k = key("browser/upload me.png");
    let put = store
        .presign_put(&k, "image/png", Duration::from_secs(600))
        .await;
    let get = store.presign_get(&k, Duration::from_secs(600)).await;
    if !b.flags.presign {
        assert!(
            matches!(
                put,
                Err(Error::NotSupported {
                    feature: "presigned URLs",
                    ..
                })
            ),
            "{put:?}"
        );
        assert!(matches!(get, Err(Error::NotSupported { .. })));
        return;
    }
    let (put, get) = (put.unwrap(), get.unwrap());
    assert_eq!(put.method, "PUT");
    assert_eq!(get.method, "GET");
    assert!(
        put.headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("content-type") && v == "image/png"),
        "{:?}",
        put.headers
    );
    for (presigned, method) in [(&put, "PUT"), (&get, "GET")] {
        let query = sigv4::query(&presigned.url);
        assert_eq!(query["X-Amz-Algorithm"], "AWS4-HMAC-SHA256");
        assert_eq!(query["X-Amz-Expires"], "600");
        assert!(query["X-Amz-Credential"].starts_with("test/"));
        assert!(query["X-Amz-Credential"].ends_with("/us-east-1/s3/aws4_request"));
        sigv4::verify(method, &presigned.url, &presigned.headers, "test")
            .unwrap_or_else(|e| panic!("{method} signature: {e}"));
        // A tampered URL no longer carries a valid signature.
        let tampered = presigned
            .url
            .replace("X-Amz-Expires=600", "X-Amz-Expires=999999");
        assert!(sigv4::verify(method, &tampered, &presigned.headers, "test").is_err());
        // The local cloud's verifier accepts what the AWS SDK signed with the same secret, and
        // refuses the tampered URL: it checks signatures as S3 does.
        let (origin, rest) = presigned.url.split_at(
            presigned.url[8..]
                .find('/')
                .map_or(presigned.url.len(), |i| i + 8),
        );
        let (path, query) = rest.split_once('?').expect("a query");
        let host = origin.split_once("://").expect("a scheme").1.to_owned();
        let mut headers = vec![("host".to_owned(), host)];
        headers.extend(
            presigned
                .headers
                .iter()
                .map(|(n, v)| (n.to_ascii_lowercase(), v.clone())),
        );
        let local = svless_store::object::presign::Signer::with_secret(origin, "test");
        let now = std::time::SystemTime::now();
        local
            .verify(method, path, query, &headers, now)
            .unwrap_or_else(|e| {
                panic!("{method}: the local verifier refused the SDK's URL: {e:?}")
            });
        let (_, tampered_query) = tampered.split_once('?').expect("a query");
        assert!(
            local
                .verify(method, path, tampered_query, &headers, now)
                .is_err()
        );
    }
    let put_signed: Vec<_> = sigv4::query(&put.url)["X-Amz-SignedHeaders"]
        .split(';')
        .map(str::to_owned)
        .collect();
    assert!(
        put_signed.contains(&"content-type".to_owned()),
        "{put_signed:?}"
    );

    // And they work: a browser-style PUT and GET with nothing but the URL.
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<Bytes>>();
    let mut request = hyper::Request::put(put.url.as_str());
    for (name, value) in &put.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let response = client
        .request(
            request
                .body(http_body_util::Full::new(Bytes::from_static(b"PNG!")))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = client
        .request(
            hyper::Request::get(get.url.as_str())
                .body(http_body_util::Full::new(Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    use http_body_util::BodyExt;
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "PNG!");
    let meta = store.head(&k, GetOptions::new()).await.unwrap();
    assert_eq!(meta.content_type.as_deref(), Some("image/png"));
}

async fn invalid_keys(b: Backend) {
    let _ = b;
    assert!(matches!(Key::new(""), Err(Error::InvalidKey { .. })));
    assert!(matches!(
        Key::new("k".repeat(1025)),
        Err(Error::InvalidKey { .. })
    ));
    let longest = Key::new("é".repeat(512)).expect("1,024 bytes is the limit");
    b.store.put_bytes(&longest, "x").await.unwrap();
    assert_eq!(b.store.get_bytes(&longest).await.unwrap(), "x");
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod memory_backend {
            $( #[tokio::test] async fn $case() { super::$case(super::memory().await).await } )*
        }
        mod local_directory_backend {
            $( #[tokio::test] async fn $case() { super::$case(super::local().await).await } )*
        }
        mod s3_backend {
            $( #[tokio::test] async fn $case() { super::$case(super::s3().await).await } )*
        }
    };
}

conformance!(
    put_get_head_round_trip,
    storage_classes,
    create_only_puts,
    byte_ranges,
    streamed_bodies,
    multipart_above_the_part_size,
    random_chunkings_store_every_byte,
    a_failing_body_writes_nothing,
    deletes,
    copies,
    listings,
    keys_round_trip,
    versions_and_delete_markers,
    versions_of_one_second_keep_their_order,
    copy_rules,
    ranges_and_metadata_as_http_carries_them,
    suspended_versioning,
    bucket_policies,
    lifecycle_rules,
    presigned_urls,
    invalid_keys,
);

/// An independent check of SigV4 query signatures (AWS General Reference, "Create a signed
/// AWS API request", query-string authentication), so a presigned URL is verified here even
/// though the local server does not check it.
mod sigv4 {
    use std::collections::BTreeMap;

    use hmac::{Hmac, Mac};
    use sha2::{Digest, Sha256};

    pub(super) fn query(url: &str) -> BTreeMap<String, String> {
        let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (percent_decode(k), percent_decode(v)))
            .collect()
    }

    fn percent_decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%'
                && i + 2 < bytes.len()
                && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
            {
                out.push(b);
                i += 3;
                continue;
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    fn hmac(key: &[u8], data: &str) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
        mac.update(data.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// Recomputes the signature from the URL's own parameters and the secret key.
    pub(super) fn verify(
        method: &str,
        url: &str,
        headers: &[(String, String)],
        secret: &str,
    ) -> Result<(), String> {
        let (base, raw_query) = url.split_once('?').ok_or("no query")?;
        let rest = base.split_once("://").ok_or("no scheme")?.1;
        let (host, path) = rest.split_at(rest.find('/').ok_or("no path")?);
        let params = query(url);
        let signature = params.get("X-Amz-Signature").ok_or("no signature")?;
        let date = params.get("X-Amz-Date").ok_or("no date")?;
        let credential = params.get("X-Amz-Credential").ok_or("no credential")?;
        let signed_headers = params
            .get("X-Amz-SignedHeaders")
            .ok_or("no signed headers")?;
        let scope = credential.split_once('/').ok_or("bad credential")?.1;
        let mut pairs: Vec<(&str, &str)> = raw_query
            .split('&')
            .filter_map(|p| p.split_once('='))
            .filter(|(k, _)| *k != "X-Amz-Signature")
            .collect();
        pairs.sort();
        let canonical_query = pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let header_value = |name: &str| -> Result<String, String> {
            if name == "host" {
                return Ok(host.to_owned());
            }
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_owned())
                .ok_or(format!("signed header {name} missing"))
        };
        let mut canonical_headers = String::new();
        for name in signed_headers.split(';') {
            canonical_headers.push_str(&format!("{name}:{}\n", header_value(name)?));
        }
        let canonical_request = format!(
            "{method}\n{path}\n{canonical_query}\n{canonical_headers}\n{signed_headers}\nUNSIGNED-PAYLOAD"
        );
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256\n{date}\n{scope}\n{}",
            hex::encode(Sha256::digest(canonical_request.as_bytes()))
        );
        let mut parts = scope.split('/');
        let (day, region, service) = (
            parts.next().ok_or("scope")?,
            parts.next().ok_or("scope")?,
            parts.next().ok_or("scope")?,
        );
        let k_date = hmac(format!("AWS4{secret}").as_bytes(), day);
        let k_region = hmac(&k_date, region);
        let k_service = hmac(&k_region, service);
        let k_signing = hmac(&k_service, "aws4_request");
        let expected = hex::encode(hmac(&k_signing, &string_to_sign));
        if &expected == signature {
            Ok(())
        } else {
            Err(format!(
                "signature mismatch for canonical request:\n{canonical_request}"
            ))
        }
    }
}
