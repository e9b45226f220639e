//! One object-store interface over S3, memory and a local directory.
//!
//! [`ObjectStore`] has six required operations (put, get, head, delete, copy, one page of a
//! listing) and optional ones for versioning, bucket policies, lifecycle rules and presigned
//! URLs, which a backend that lacks them answers with [`Error::NotSupported`] naming the
//! feature. [`ObjectStoreExt`] adds the conveniences: whole-body puts and gets, listings as
//! streams of pages.
//!
//! | | [`S3Store`] | [`MemoryStore`] | [`LocalDirStore`] |
//! | --- | --- | --- | --- |
//! | objects, ranges, copy, listing | yes | yes | yes |
//! | create-only puts (`If-None-Match: *`) | yes | yes | yes |
//! | multipart above a threshold | concurrent parts, aborted on failure | same ETags, one write | same ETags, one write |
//! | versioning, delete markers | yes | yes | yes |
//! | bucket policy, lifecycle rules | stored and applied by S3 | stored; [`MemoryStore::apply_lifecycle`] | stored; [`LocalDirStore::apply_lifecycle`] |
//! | presigned URLs | yes | [`Error::NotSupported`] | [`Error::NotSupported`] |
//! | change notifications | S3 event notifications | [`MemoryStore::subscribe`] | [`LocalDirStore::subscribe`] |
//!
//! ```
//! use svless_store::object::{Key, MemoryStore, ObjectStore, ObjectStoreExt, PutOptions, StorageClass};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), svless_store::object::Error> {
//! let store = MemoryStore::new("reports");
//! let key = Key::new("2026/11/summary.csv")?;
//! let options = PutOptions::new()
//!     .content_type("text/csv")
//!     .storage_class(StorageClass::StandardIa)
//!     .create_only();
//! store.put(&key, "a,b\n1,2\n".into(), options.clone()).await?;
//! // A second create-only put fails instead of replacing the report.
//! assert!(store.put(&key, "x".into(), options).await.is_err());
//! let meta = store.head(&key, Default::default()).await?;
//! assert_eq!(meta.content_type.as_deref(), Some("text/csv"));
//! # Ok(()) }
//! ```

mod body;
mod engine;
mod error;
mod ext;
mod key;
mod lifecycle;
mod local;
mod memory;
mod notify;
pub mod presign;
#[cfg(feature = "s3")]
mod s3;
mod types;

pub use body::{ByteStream, PutBody};
pub use error::Error;
pub use ext::ObjectStoreExt;
pub use key::{Key, MAX_KEY_BYTES};
pub use lifecycle::{LifecycleRule, NoncurrentExpiration, Transition};
pub use local::LocalDirStore;
pub use memory::MemoryStore;
pub use notify::{Change, ChangeKind, Changes, deliver, deliver_with};
#[cfg(feature = "s3")]
pub use s3::{S3Store, S3StoreBuilder};
pub use svless_core::policy::PolicyDocument;
pub use types::{
    ByteRange, ContentRange, CopyOptions, DeleteOutput, GetOptions, GetOutput, ListPage,
    ListRequest, ObjectMeta, ObjectSummary, Presigned, PutOptions, PutOutput, StorageClass,
    VersionSummary, Versioning, VersionsPage, VersionsRequest,
};

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// A boxed future, as the [`ObjectStore`] methods return (the trait stays usable as
/// `dyn ObjectStore`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The result of a store operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Multipart uploads start at 8 MiB by default, in parts of 8 MiB, as the AWS CLI does.
pub const DEFAULT_PART_SIZE: usize = 8 * 1024 * 1024;

/// S3 refuses parts smaller than 5 MiB, but for the last.
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;

/// An object store: one bucket.
///
/// The required methods are the object operations; the bucket-level ones have defaults that
/// answer [`Error::NotSupported`]. Use it as `Arc<dyn ObjectStore>` in application state to
/// choose the backend at start-up (S3 on Lambda, a local directory on a laptop).
///
/// ```
/// use std::sync::Arc;
/// use svless_store::object::{Key, MemoryStore, ObjectStore, ObjectStoreExt};
///
/// async fn archive(store: &dyn ObjectStore, name: &str, text: String) -> svless_store::object::Result<String> {
///     let key = Key::new(format!("archive/{name}"))?;
///     Ok(store.put_bytes(&key, text).await?.etag)
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> svless_store::object::Result<()> {
/// let store: Arc<dyn ObjectStore> = Arc::new(MemoryStore::new("docs"));
/// let etag = archive(store.as_ref(), "a.txt", "hello".into()).await?;
/// assert_eq!(etag, "\"5d41402abc4b2a76b9719d911017c592\""); // MD5, quoted, as S3 gives it
/// # Ok(()) }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an object store",
    note = "use `MemoryStore`, `LocalDirStore` or `S3Store`, or implement `svless_store::object::ObjectStore`"
)]
pub trait ObjectStore: Send + Sync {
    /// The bucket's name, as event records carry it.
    fn bucket(&self) -> &str;

    /// Writes an object from bytes or a stream. Above the store's multipart threshold the
    /// body is written in parts (see [`S3StoreBuilder::part_size`]).
    fn put<'a>(
        &'a self,
        key: &'a Key,
        body: PutBody,
        options: PutOptions,
    ) -> BoxFuture<'a, Result<PutOutput>>;

    /// Reads an object (or a byte range of it) as a stream.
    fn get<'a>(&'a self, key: &'a Key, options: GetOptions) -> BoxFuture<'a, Result<GetOutput>>;

    /// Reads an object's metadata. The range in `options` is ignored.
    fn head<'a>(&'a self, key: &'a Key, options: GetOptions) -> BoxFuture<'a, Result<ObjectMeta>>;

    /// Deletes an object, or one version of it. Deleting a missing key succeeds, as on S3; in
    /// a versioned bucket, deleting without a version adds a delete marker.
    fn delete<'a>(
        &'a self,
        key: &'a Key,
        version_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<DeleteOutput>>;

    /// Copies an object within the bucket.
    fn copy<'a>(
        &'a self,
        from: &'a Key,
        to: &'a Key,
        options: CopyOptions,
    ) -> BoxFuture<'a, Result<PutOutput>>;

    /// One page of a listing; `cursor` is the previous page's [`ListPage::next`].
    fn list_page<'a>(
        &'a self,
        request: &'a ListRequest,
        cursor: Option<&'a str>,
    ) -> BoxFuture<'a, Result<ListPage>>;

    /// One page of a listing of versions and delete markers, newest first within a key.
    fn list_versions_page<'a>(
        &'a self,
        request: &'a VersionsRequest,
        cursor: Option<&'a str>,
    ) -> BoxFuture<'a, Result<VersionsPage>> {
        let _ = (request, cursor);
        not_supported(self.backend(), "versioning")
    }

    /// Enables or suspends versioning.
    fn set_versioning(&self, enabled: bool) -> BoxFuture<'_, Result<()>> {
        let _ = enabled;
        not_supported(self.backend(), "versioning")
    }

    /// The bucket's versioning state.
    fn versioning(&self) -> BoxFuture<'_, Result<Versioning>> {
        not_supported(self.backend(), "versioning")
    }

    /// The bucket policy, if there is one.
    fn policy(&self) -> BoxFuture<'_, Result<Option<PolicyDocument>>> {
        not_supported(self.backend(), "bucket policies")
    }

    /// Replaces the bucket policy.
    fn put_policy<'a>(&'a self, policy: &'a PolicyDocument) -> BoxFuture<'a, Result<()>> {
        let _ = policy;
        not_supported(self.backend(), "bucket policies")
    }

    /// Removes the bucket policy (succeeds when there is none).
    fn delete_policy(&self) -> BoxFuture<'_, Result<()>> {
        not_supported(self.backend(), "bucket policies")
    }

    /// The bucket's lifecycle rules (empty when there are none).
    fn lifecycle(&self) -> BoxFuture<'_, Result<Vec<LifecycleRule>>> {
        not_supported(self.backend(), "lifecycle rules")
    }

    /// Replaces the bucket's lifecycle rules; an empty list removes them.
    fn put_lifecycle<'a>(&'a self, rules: &'a [LifecycleRule]) -> BoxFuture<'a, Result<()>> {
        let _ = rules;
        not_supported(self.backend(), "lifecycle rules")
    }

    /// A presigned `GET` of the object, valid for `expires_in`.
    fn presign_get<'a>(
        &'a self,
        key: &'a Key,
        expires_in: Duration,
    ) -> BoxFuture<'a, Result<Presigned>> {
        let _ = (key, expires_in);
        not_supported(self.backend(), "presigned URLs")
    }

    /// A presigned `PUT` of the object with a fixed content type, valid for `expires_in`: the
    /// browser must send that `Content-Type`.
    fn presign_put<'a>(
        &'a self,
        key: &'a Key,
        content_type: &'a str,
        expires_in: Duration,
    ) -> BoxFuture<'a, Result<Presigned>> {
        let _ = (key, content_type, expires_in);
        not_supported(self.backend(), "presigned URLs")
    }

    /// The backend's name (`"s3"`, `"memory"`, `"local directory"`), as errors name it.
    fn backend(&self) -> &'static str;
}

fn not_supported<'a, T: Send + 'a>(
    backend: &'static str,
    feature: &'static str,
) -> BoxFuture<'a, Result<T>> {
    Box::pin(async move { Err(Error::NotSupported { backend, feature }) })
}
