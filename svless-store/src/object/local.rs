//! The local-directory backend: the embedded default for local runs.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::engine::Engine;
use super::memory::engine_store;
use super::notify::Changes;
use super::{
    BoxFuture, CopyOptions, DEFAULT_PART_SIZE, DeleteOutput, GetOptions, GetOutput, Key,
    LifecycleRule, ListPage, ListRequest, ObjectMeta, ObjectStore, PolicyDocument, PutBody,
    PutOptions, PutOutput, Result, Versioning, VersionsPage, VersionsRequest,
};

/// An object store in a local directory: objects, versions, metadata, the bucket policy and
/// lifecycle rules survive a restart. The semantics are [`MemoryStore`]'s.
///
/// Layout: `objects/<sha-256 of the key>/` holds `meta.json` (the key and its versions) and
/// one body file per version; `bucket.json` holds versioning, policy and lifecycle rules.
/// Every write goes to a temporary file that is synced and then renamed into place, so an
/// interrupted put leaves the previous object intact; bodies no version refers to are removed
/// when the store is opened. Keys that would leave a directory if read as a path (absolute,
/// with `.` or `..` segments, backslashes or NUL) are refused with
/// [`Error::InvalidKey`](super::Error::InvalidKey).
///
/// ```
/// use svless_store::object::{Key, LocalDirStore, ObjectStoreExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> svless_store::object::Result<()> {
/// # let dir = std::env::temp_dir().join(format!("svless-doc-{}", std::process::id()));
/// let store = LocalDirStore::open("uploads", &dir).await?;
/// store.put_bytes(&Key::new("a.txt")?, "kept").await?;
/// drop(store);
/// let reopened = LocalDirStore::open("uploads", &dir).await?;
/// assert_eq!(reopened.get_bytes(&Key::new("a.txt")?).await?, "kept");
/// assert!(reopened.put_bytes(&Key::new("../escape")?, "x").await.is_err());
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok(()) }
/// ```
///
/// [`MemoryStore`]: super::MemoryStore
pub struct LocalDirStore {
    engine: Engine,
    root: PathBuf,
}

impl LocalDirStore {
    /// Opens the bucket `bucket` kept in `root`, creating the directory if needed.
    pub async fn open(bucket: &str, root: impl AsRef<Path>) -> Result<Self> {
        Self::open_with_part_size(bucket, root, DEFAULT_PART_SIZE).await
    }

    /// As [`LocalDirStore::open`], with bodies above `part_size` (at least 5 MiB) given
    /// multipart ETags, as an `S3Store` with the same part size gives them.
    pub async fn open_with_part_size(
        bucket: &str,
        root: impl AsRef<Path>,
        part_size: usize,
    ) -> Result<Self> {
        let part_size = super::types::check_part_size(part_size)?;
        let root = root.as_ref().to_owned();
        Ok(LocalDirStore {
            engine: Engine::open_dir(bucket, &root, part_size).await?,
            root,
        })
    }

    /// A presigned URL on the local cloud's services port (see
    /// [`crate::local::set_presign_endpoint`]); without a local cloud, not supported.
    fn presign(
        &self,
        method: &str,
        key: &Key,
        content_type: Option<&str>,
        expires_in: std::time::Duration,
    ) -> Result<super::Presigned> {
        let Some(signer) = crate::local::presigner() else {
            return Err(super::Error::NotSupported {
                backend: self.engine.backend(),
                feature: "presigned URLs",
            });
        };
        if expires_in > super::presign::MAX_EXPIRES {
            return Err(super::Error::Validation {
                message: "a presigned URL is valid for at most seven days (604800 seconds)".into(),
            });
        }
        Ok(signer.presign(
            method,
            self.engine.bucket(),
            key.as_str(),
            content_type,
            expires_in,
            SystemTime::now(),
        ))
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Subscribes to the store's changes (see [`MemoryStore::subscribe`](super::MemoryStore::subscribe)).
    pub fn subscribe(&self) -> Changes {
        self.engine.subscribe()
    }

    /// Applies the bucket's lifecycle rules as of `now` (see
    /// [`MemoryStore::apply_lifecycle`](super::MemoryStore::apply_lifecycle)).
    pub async fn apply_lifecycle(&self, now: SystemTime) -> Result<()> {
        self.engine.apply_lifecycle(now).await
    }
}

impl std::fmt::Debug for LocalDirStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalDirStore")
            .field("bucket", &self.engine.bucket())
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

engine_store!(LocalDirStore);
