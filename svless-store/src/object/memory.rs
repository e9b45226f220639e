//! The in-memory backend: for unit tests.

use std::time::SystemTime;

use super::engine::Engine;
use super::notify::Changes;
use super::{
    BoxFuture, CopyOptions, DEFAULT_PART_SIZE, DeleteOutput, GetOptions, GetOutput, Key,
    LifecycleRule, ListPage, ListRequest, ObjectMeta, ObjectStore, PolicyDocument, PutBody,
    PutOptions, PutOutput, Result, Versioning, VersionsPage, VersionsRequest,
};

/// An object store in memory, with S3's semantics: MD5 ETags (multipart ETags above the part
/// size), versions and delete markers, create-only puts, byte ranges, listings with common
/// prefixes, stored bucket policies and lifecycle rules, and change notifications.
///
/// ```
/// use svless_store::object::{Key, MemoryStore, ObjectStore, ObjectStoreExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> svless_store::object::Result<()> {
/// let store = MemoryStore::new("uploads");
/// store.set_versioning(true).await?;
/// let key = Key::new("notes.txt")?;
/// let first = store.put_bytes(&key, "v1").await?;
/// store.put_bytes(&key, "v2").await?;
/// let old = store.get(&key, svless_store::object::GetOptions::new().version(first.version_id.as_deref().unwrap())).await?;
/// assert_eq!(old.body.collect().await?, "v1");
/// # Ok(()) }
/// ```
pub struct MemoryStore {
    engine: Engine,
}

impl MemoryStore {
    /// Memory buckets have no URL: presigning is not supported.
    fn presign(
        &self,
        _method: &str,
        _key: &Key,
        _content_type: Option<&str>,
        _expires_in: std::time::Duration,
    ) -> Result<super::Presigned> {
        Err(super::Error::NotSupported {
            backend: self.engine.backend(),
            feature: "presigned URLs",
        })
    }

    /// An empty bucket named `bucket`.
    pub fn new(bucket: &str) -> Self {
        MemoryStore {
            engine: Engine::memory(bucket, DEFAULT_PART_SIZE),
        }
    }

    /// An empty bucket whose bodies above `part_size` get multipart ETags, as an [`S3Store`]
    /// with the same part size would give them (at least 5 MiB).
    ///
    /// [`S3Store`]: super::S3Store
    pub fn with_part_size(bucket: &str, part_size: usize) -> Result<Self> {
        Ok(MemoryStore {
            engine: Engine::memory(bucket, super::types::check_part_size(part_size)?),
        })
    }

    /// Subscribes to the store's changes, which carry what S3's event records carry; pass
    /// them to [`deliver`](super::deliver) to drive `#[svless::s3]` handlers.
    pub fn subscribe(&self) -> Changes {
        self.engine.subscribe()
    }

    /// Applies the bucket's lifecycle rules as of `now`, as S3 does once a day.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use svless_store::object::*;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<()> {
    /// let store = MemoryStore::new("logs");
    /// store.put_lifecycle(&[LifecycleRule::new("cold", "").transition(Transition { days: 30, storage_class: StorageClass::GlacierIr })]).await?;
    /// let key = Key::new("app.log")?;
    /// store.put_bytes(&key, "...").await?;
    /// store.apply_lifecycle(SystemTime::now() + Duration::from_secs(31 * 86_400)).await?;
    /// assert_eq!(store.head(&key, GetOptions::new()).await?.storage_class, StorageClass::GlacierIr);
    /// # Ok(()) }
    /// ```
    pub async fn apply_lifecycle(&self, now: SystemTime) -> Result<()> {
        self.engine.apply_lifecycle(now).await
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("bucket", &self.engine.bucket())
            .finish_non_exhaustive()
    }
}

macro_rules! engine_store {
    ($store:ty) => {
        impl ObjectStore for $store {
            fn bucket(&self) -> &str {
                self.engine.bucket()
            }

            fn backend(&self) -> &'static str {
                self.engine.backend()
            }

            fn presign_get<'a>(
                &'a self,
                key: &'a Key,
                expires_in: std::time::Duration,
            ) -> BoxFuture<'a, Result<super::Presigned>> {
                Box::pin(async move { self.presign("GET", key, None, expires_in) })
            }

            fn presign_put<'a>(
                &'a self,
                key: &'a Key,
                content_type: &'a str,
                expires_in: std::time::Duration,
            ) -> BoxFuture<'a, Result<super::Presigned>> {
                Box::pin(async move { self.presign("PUT", key, Some(content_type), expires_in) })
            }

            fn put<'a>(
                &'a self,
                key: &'a Key,
                body: PutBody,
                options: PutOptions,
            ) -> BoxFuture<'a, Result<PutOutput>> {
                Box::pin(self.engine.put(key, body, options))
            }

            fn get<'a>(
                &'a self,
                key: &'a Key,
                options: GetOptions,
            ) -> BoxFuture<'a, Result<GetOutput>> {
                Box::pin(self.engine.get(key, options))
            }

            fn head<'a>(
                &'a self,
                key: &'a Key,
                options: GetOptions,
            ) -> BoxFuture<'a, Result<ObjectMeta>> {
                Box::pin(async move { self.engine.head(key, &options).await })
            }

            fn delete<'a>(
                &'a self,
                key: &'a Key,
                version_id: Option<&'a str>,
            ) -> BoxFuture<'a, Result<DeleteOutput>> {
                Box::pin(self.engine.delete(key, version_id))
            }

            fn copy<'a>(
                &'a self,
                from: &'a Key,
                to: &'a Key,
                options: CopyOptions,
            ) -> BoxFuture<'a, Result<PutOutput>> {
                Box::pin(self.engine.copy(from, to, options))
            }

            fn list_page<'a>(
                &'a self,
                request: &'a ListRequest,
                cursor: Option<&'a str>,
            ) -> BoxFuture<'a, Result<ListPage>> {
                Box::pin(self.engine.list_page(request, cursor))
            }

            fn list_versions_page<'a>(
                &'a self,
                request: &'a VersionsRequest,
                cursor: Option<&'a str>,
            ) -> BoxFuture<'a, Result<VersionsPage>> {
                Box::pin(self.engine.list_versions_page(request, cursor))
            }

            fn set_versioning(&self, enabled: bool) -> BoxFuture<'_, Result<()>> {
                Box::pin(self.engine.set_versioning(enabled))
            }

            fn versioning(&self) -> BoxFuture<'_, Result<Versioning>> {
                Box::pin(async move { Ok(self.engine.versioning().await) })
            }

            fn policy(&self) -> BoxFuture<'_, Result<Option<PolicyDocument>>> {
                Box::pin(async move { Ok(self.engine.policy().await) })
            }

            fn put_policy<'a>(&'a self, policy: &'a PolicyDocument) -> BoxFuture<'a, Result<()>> {
                Box::pin(self.engine.set_policy(Some(policy.clone())))
            }

            fn delete_policy(&self) -> BoxFuture<'_, Result<()>> {
                Box::pin(self.engine.set_policy(None))
            }

            fn lifecycle(&self) -> BoxFuture<'_, Result<Vec<LifecycleRule>>> {
                Box::pin(async move { Ok(self.engine.lifecycle().await) })
            }

            fn put_lifecycle<'a>(
                &'a self,
                rules: &'a [LifecycleRule],
            ) -> BoxFuture<'a, Result<()>> {
                Box::pin(self.engine.set_lifecycle(rules))
            }
        }
    };
}

pub(crate) use engine_store;

engine_store!(MemoryStore);
