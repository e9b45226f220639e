//! Storage for svless applications.
//!
//! [`object`] is an object store with one interface over three backends: Amazon S3
//! ([`object::S3Store`], feature `s3`), memory ([`object::MemoryStore`], for unit tests) and a
//! local directory ([`object::LocalDirStore`], the embedded default for local runs: objects
//! survive a restart). The two local backends keep S3's semantics — ETags, versions and delete
//! markers, storage classes, create-only puts, lifecycle rules — and announce their changes as
//! S3 event records, so a local run can drive `#[svless::s3]` handlers.
//!
//! ```
//! use svless_store::object::{Key, MemoryStore, ObjectStoreExt};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), svless_store::object::Error> {
//! let store = MemoryStore::new("uploads");
//! let key = Key::new("photos/cat.jpg")?;
//! store.put_bytes(&key, "meow").await?;
//! assert_eq!(store.get_bytes(&key).await?, "meow");
//! # Ok(()) }
//! ```

pub mod delivery;
pub mod dynamo;
pub mod local;
pub mod object;
