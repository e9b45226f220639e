//! Streams a large object up (multipart) and down through the object store and reports the
//! process's peak RSS growth, against the naive peer of reading the object whole into memory.
//!
//! ```text
//! SVLESS_MOTO_ENDPOINT=http://127.0.0.1:5123 cargo run --release -p svless-benches --bin object_rss [MiB]
//! ```
//!
//! Without `SVLESS_MOTO_ENDPOINT` only the local-directory backend is measured.

use std::time::Instant;

use bytes::Bytes;
use futures_util::StreamExt;
use md5::{Digest, Md5};
use svless::store::object::{
    GetOptions, Key, LocalDirStore, ObjectStore, ObjectStoreExt, PutBody, PutOptions, S3Store,
};

const CHUNK: usize = 64 * 1024;

/// A field of `/proc/self/status`, in KiB.
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with(field))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// Resets the peak RSS to the current RSS (Linux: `clear_refs` 5).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The body: `size` bytes made chunk by chunk, never held whole.
fn body(size: usize) -> PutBody {
    let chunks = (0..size.div_ceil(CHUNK)).map(move |i| {
        let len = CHUNK.min(size - i * CHUNK);
        let chunk: Vec<u8> = (0..len).map(|j| ((i * CHUNK + j) % 251) as u8).collect();
        Ok::<_, std::io::Error>(Bytes::from(chunk))
    });
    PutBody::stream(futures_util::stream::iter(chunks))
}

fn expected_md5(size: usize) -> Vec<u8> {
    let mut md5 = Md5::new();
    for i in 0..size.div_ceil(CHUNK) {
        let len = CHUNK.min(size - i * CHUNK);
        let chunk: Vec<u8> = (0..len).map(|j| ((i * CHUNK + j) % 251) as u8).collect();
        md5.update(&chunk);
    }
    md5.finalize().to_vec()
}

struct Figures {
    streamed_mib: f64,
    whole_mib: f64,
    seconds: f64,
}

async fn measure(store: &dyn ObjectStore, size: usize, expected: &[u8]) -> Figures {
    let key = Key::new("bench/large.bin").expect("a key");
    let start = Instant::now();
    reset_peak();
    let base = status_kib("VmRSS:");
    store
        .put(&key, body(size), PutOptions::new())
        .await
        .expect("the upload");
    let mut stream = store
        .get(&key, GetOptions::new())
        .await
        .expect("the download")
        .body;
    let mut md5 = Md5::new();
    let mut read = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.expect("a chunk");
        read += chunk.len();
        md5.update(&chunk);
    }
    assert_eq!(read, size, "the whole object came back");
    assert_eq!(
        md5.finalize().as_slice(),
        expected,
        "the same bytes came back"
    );
    let streamed = status_kib("VmHWM:").saturating_sub(base);
    let seconds = start.elapsed().as_secs_f64();

    // The peer: read the object whole, as `collect()` on an SDK body does.
    reset_peak();
    let base = status_kib("VmRSS:");
    let whole = store.get_bytes(&key).await.expect("the whole object");
    assert_eq!(whole.len(), size);
    let whole_growth = status_kib("VmHWM:").saturating_sub(base);
    drop(whole);
    store.delete(&key, None).await.expect("the delete");
    Figures {
        streamed_mib: streamed as f64 / 1024.0,
        whole_mib: whole_growth as f64 / 1024.0,
        seconds,
    }
}

fn report(name: &str, size: usize, f: &Figures) {
    println!(
        "{name:<16} {:>4} MiB up+down in {:>5.1} s: peak RSS growth {:>6.1} MiB streamed, {:>6.1} MiB read whole ({:.1}x less)",
        size >> 20,
        f.seconds,
        f.streamed_mib,
        f.whole_mib,
        f.whole_mib / f.streamed_mib.max(0.1)
    );
}

#[tokio::main]
async fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(256);
    let size = mib << 20;
    let expected = expected_md5(size);

    let dir = std::env::temp_dir().join(format!("svless-object-rss-{}", std::process::id()));
    let local = LocalDirStore::open("bench", &dir)
        .await
        .expect("a directory");
    let figures = measure(&local, size, &expected).await;
    report("local directory", size, &figures);
    let _ = std::fs::remove_dir_all(&dir);

    if let Ok(endpoint) = std::env::var("SVLESS_MOTO_ENDPOINT") {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_credential_types::Credentials::new(
                "bench", "bench", None, None, "bench",
            ))
            .load()
            .await;
        let client = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(true)
                .build(),
        );
        let store = S3Store::new(client, &format!("object-rss-{}", std::process::id()));
        store.create_bucket().await.expect("a bucket");
        let figures = measure(&store, size, &expected).await;
        report("s3 (moto)", size, &figures);
        if figures.streamed_mib >= 64.0 {
            eprintln!("peak RSS growth above the 64 MiB target");
            std::process::exit(1);
        }
    }
}
