//! The embedded defaults of a local run, shared by the app and the local cloud: one data
//! directory, one table database kept in it, one object store per bucket kept in it.
//!
//! An app that builds its stores here reads and writes the same data that the local cloud
//! watches to drive `#[svless::s3]` and `#[svless::dynamodb_stream]` handlers, whichever of the
//! two opens a store first.
//!
//! The data directory is `SVLESS_DATA_DIR` when set, else `.svless` in the working directory
//! (or what [`set_data_dir`] chose before the first store was opened).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = std::env::temp_dir().join(format!("svless-doc-local-{}", std::process::id()));
//! svless_store::local::set_data_dir(&dir)?;
//! let uploads = svless_store::local::bucket("uploads").await?;
//! let db = svless_store::local::tables()?;
//! # drop((uploads, db));
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::mpsc;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

use crate::dynamo::MemoryDb;
use crate::object::presign::Signer;
use crate::object::{Change, Changes, LocalDirStore};

#[derive(Default)]
struct Registry {
    dir: Option<PathBuf>,
    signer: Option<Signer>,
    tables: Option<MemoryDb>,
    buckets: HashMap<String, Arc<LocalDirStore>>,
    watchers: Vec<mpsc::UnboundedSender<Change>>,
}

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Why the data directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    /// Another directory is in use already: stores were opened before this call.
    #[error(
        "the data directory is {in_use} already (stores were opened); choose it before opening any"
    )]
    InUse {
        /// The directory in use.
        in_use: PathBuf,
    },
    /// The directory cannot be created or written.
    #[error("the data directory {dir} is not writable: {source}")]
    NotWritable {
        /// The directory.
        dir: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
}

/// The data directory of this process.
///
/// ```
/// let dir = svless_store::local::data_dir();
/// assert!(!dir.as_os_str().is_empty());
/// ```
pub fn data_dir() -> PathBuf {
    let mut registry = registry();
    registry
        .dir
        .get_or_insert_with(|| {
            std::env::var_os("SVLESS_DATA_DIR")
                .filter(|d| !d.is_empty())
                .map_or_else(|| PathBuf::from(".svless"), PathBuf::from)
        })
        .clone()
}

/// Chooses the data directory (creating it and checking that it is writable); an error if
/// stores are open in another one already.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("svless-doc-set-{}", std::process::id()));
/// svless_store::local::set_data_dir(&dir).expect("a writable directory");
/// assert_eq!(svless_store::local::data_dir(), dir);
/// # std::fs::remove_dir_all(&dir).ok();
/// ```
pub fn set_data_dir(dir: impl AsRef<Path>) -> Result<(), DataDirError> {
    let dir = dir.as_ref().to_owned();
    check_writable(&dir)?;
    let mut registry = registry();
    let opened = registry.tables.is_some() || !registry.buckets.is_empty();
    match &registry.dir {
        Some(current) if opened && *current != dir => Err(DataDirError::InUse {
            in_use: current.clone(),
        }),
        _ => {
            registry.dir = Some(dir);
            Ok(())
        }
    }
}

/// Creates `dir` and writes a file in it, so an unusable directory is named at start-up.
///
/// ```
/// let err = svless_store::local::check_writable(std::path::Path::new("/proc/svless-cannot-be-here"));
/// assert!(err.is_err());
/// ```
pub fn check_writable(dir: &Path) -> Result<(), DataDirError> {
    let not_writable = |source| DataDirError::NotWritable {
        dir: dir.to_owned(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(not_writable)?;
    let probe = dir.join(".svless-write-check");
    std::fs::write(&probe, b"ok").map_err(not_writable)?;
    std::fs::remove_file(&probe).map_err(not_writable)?;
    Ok(())
}

/// The table database of the data directory (`<data dir>/tables`), opened once per process;
/// every clone shares its tables and its change feed.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("svless-doc-tables-{}", std::process::id()));
/// # svless_store::local::set_data_dir(&dir).expect("a directory");
/// let db = svless_store::local::tables().expect("the data directory is writable");
/// # std::fs::remove_dir_all(&dir).ok();
/// ```
pub fn tables() -> std::io::Result<MemoryDb> {
    let dir = data_dir();
    let mut registry = registry();
    if let Some(db) = &registry.tables {
        return Ok(db.clone());
    }
    let db = MemoryDb::open(dir.join("tables"))?;
    registry.tables = Some(db.clone());
    Ok(db)
}

/// The object store of `bucket` in the data directory (`<data dir>/objects/<bucket>`), opened
/// once per process.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> svless_store::object::Result<()> {
/// # let dir = std::env::temp_dir().join(format!("svless-doc-bucket-{}", std::process::id()));
/// # svless_store::local::set_data_dir(&dir).expect("a directory");
/// let photos = svless_store::local::bucket("photos").await?;
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok(()) }
/// ```
pub async fn bucket(bucket: &str) -> crate::object::Result<Arc<LocalDirStore>> {
    if let Some(store) = registry().buckets.get(bucket) {
        return Ok(store.clone());
    }
    let root = data_dir().join("objects").join(bucket);
    let store = Arc::new(LocalDirStore::open(bucket, &root).await?);
    let mut registry = registry();
    // Another task may have opened it meanwhile: keep the first.
    if let Some(store) = registry.buckets.get(bucket) {
        return Ok(store.clone());
    }
    for watcher in &registry.watchers {
        forward(store.subscribe(), watcher.clone());
    }
    registry.buckets.insert(bucket.to_owned(), store.clone());
    Ok(store)
}

/// The changes of every bucket opened through [`bucket`], now and later.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let mut changes = svless_store::local::watch_objects();
/// assert!(changes.try_recv().is_none());
/// # }
/// ```
pub fn watch_objects() -> Changes {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut registry = registry();
    for store in registry.buckets.values() {
        forward(store.subscribe(), tx.clone());
    }
    registry.watchers.push(tx);
    Changes(rx)
}

fn forward(mut changes: Changes, to: mpsc::UnboundedSender<Change>) {
    tokio::spawn(async move {
        while let Some(change) = changes.recv().await {
            if to.send(change).is_err() {
                break;
            }
        }
    });
}

/// Serves presigned URLs of the local buckets at `endpoint` (the local cloud's services port):
/// from now on [`LocalDirStore::presign_get`](crate::object::ObjectStore::presign_get) and
/// `presign_put` sign URLs there, with a secret made for this process.
///
/// ```
/// svless_store::local::set_presign_endpoint("http://127.0.0.1:3001");
/// assert!(svless_store::local::presigner().is_some());
/// ```
pub fn set_presign_endpoint(endpoint: &str) {
    registry().signer = Some(Signer::new(endpoint));
}

/// The signer of the local buckets' presigned URLs, once the local cloud has set one.
///
/// ```
/// # svless_store::local::set_presign_endpoint("http://127.0.0.1:3001");
/// let signer = svless_store::local::presigner().expect("set above");
/// ```
pub fn presigner() -> Option<Signer> {
    registry().signer.clone()
}

/// Whether this process runs on AWS Lambda (the Lambda Runtime API is there).
fn on_lambda() -> bool {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some()
}

/// The table `def` where the app runs: on Lambda, DynamoDB through the process's shared SDK
/// configuration ([`svless_core::aws::config`], feature `dynamodb`); elsewhere the local tables of the data directory, the
/// table created if it is not there yet. The same code serves both.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// # let dir = std::env::temp_dir().join(format!("svless-doc-auto-table-{}", std::process::id()));
/// # svless_store::local::set_data_dir(&dir)?;
/// use svless_store::dynamo::TableDef;
/// let todos = svless_store::local::table(TableDef::simple("todos", "pk")).await?;
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok(()) }
/// ```
pub async fn table(def: crate::dynamo::TableDef) -> Result<crate::dynamo::Table, BoxError> {
    if on_lambda() {
        #[cfg(feature = "dynamodb")]
        {
            let config = svless_core::aws::config().await;
            return Ok(crate::dynamo::Table::dynamodb(
                def,
                aws_sdk_dynamodb::Client::new(config),
            ));
        }
        #[cfg(not(feature = "dynamodb"))]
        return Err("on Lambda the table needs svless-store's `dynamodb` feature".into());
    }
    let table = crate::dynamo::Table::memory(def, &tables()?);
    match table.create().await {
        Ok(()) | Err(crate::dynamo::Error::Validation { .. }) => Ok(table),
        Err(other) => Err(other.into()),
    }
}

/// The object store of `bucket` where the app runs: on Lambda, S3 through the process's shared
/// SDK configuration ([`svless_core::aws::config`], feature `s3`); elsewhere the bucket's directory in the data directory.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// # let dir = std::env::temp_dir().join(format!("svless-doc-auto-bucket-{}", std::process::id()));
/// # svless_store::local::set_data_dir(&dir)?;
/// let photos = svless_store::local::object_store("photos").await?;
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok(()) }
/// ```
pub async fn object_store(name: &str) -> Result<Arc<dyn crate::object::ObjectStore>, BoxError> {
    if on_lambda() {
        #[cfg(feature = "s3")]
        {
            let config = svless_core::aws::config().await;
            return Ok(Arc::new(crate::object::S3Store::new(
                aws_sdk_s3::Client::new(config),
                name,
            )));
        }
        #[cfg(not(feature = "s3"))]
        return Err("on Lambda the bucket needs svless-store's `s3` feature".into());
    }
    Ok(bucket(name).await?)
}
