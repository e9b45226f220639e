//! S3's semantics for the two local backends: versions and delete markers, create-only puts,
//! multipart ETags, listings, lifecycle rules and change notifications. Bodies live in memory
//! or in files; [`Engine`] does not care which beyond [`Blob`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex as SyncMutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use svless_core::source::s3::{Created, ObjectEvent, Removed};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::sync::{Mutex, mpsc};

use super::notify::{Change, Changes};
use super::types::{VersionCursor, hex_text, invalid_cursor};
use super::{
    ByteRange, ByteStream, ContentRange, CopyOptions, DeleteOutput, Error, GetOptions, GetOutput,
    Key, LifecycleRule, ListPage, ListRequest, ObjectMeta, ObjectSummary, PolicyDocument, PutBody,
    PutOptions, PutOutput, Result, StorageClass, VersionSummary, Versioning, VersionsPage,
    VersionsRequest,
};

const NULL_VERSION: &str = "null";
const READ_CHUNK: usize = 64 * 1024;

/// Where the bodies are.
pub(crate) enum Store {
    Memory,
    Dir(PathBuf),
}

/// One version of a key (or a delete marker), as persisted in a local directory's `meta.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Version {
    id: String,
    delete_marker: bool,
    size: u64,
    etag: String,
    /// Milliseconds since the epoch.
    modified: u64,
    content_type: Option<String>,
    cache_control: Option<String>,
    metadata: BTreeMap<String, String>,
    storage_class: StorageClass,
    /// The body file's name in the key's directory (local directory).
    file: Option<String>,
    /// The body (memory).
    #[serde(skip)]
    data: Option<Bytes>,
}

impl Version {
    fn modified(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.modified)
    }
}

/// The id of a new version: unique while versioning is enabled, `null` otherwise.
fn new_version_id(versioning: Versioning, tick: u64) -> String {
    match versioning {
        Versioning::Enabled => format!("{tick:032x}"),
        _ => NULL_VERSION.to_owned(),
    }
}

/// Makes a delete marker the current version (written at `modified`, in milliseconds). While
/// versioning is suspended the marker takes the `null` version's place; that version is
/// returned so its body can be removed.
fn push_marker(
    versions: &mut Vec<Version>,
    versioning: Versioning,
    tick: u64,
    modified: u64,
) -> (Version, Option<Version>) {
    let replaced = if versioning == Versioning::Suspended {
        versions
            .iter()
            .position(|v| v.id == NULL_VERSION)
            .map(|i| versions.remove(i))
    } else {
        None
    };
    let marker = Version {
        id: new_version_id(versioning, tick),
        delete_marker: true,
        size: 0,
        etag: String::new(),
        modified,
        content_type: None,
        cache_control: None,
        metadata: BTreeMap::new(),
        storage_class: StorageClass::Standard,
        file: None,
        data: None,
    };
    versions.insert(0, marker.clone());
    (marker, replaced)
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct BucketConfig {
    versioning: Versioning,
    policy: Option<PolicyDocument>,
    lifecycle: Vec<LifecycleRule>,
}

#[derive(Debug, Serialize, Deserialize)]
struct KeyFile {
    key: String,
    versions: Vec<Version>,
}

struct State {
    /// Versions of each key, newest first.
    objects: BTreeMap<String, Vec<Version>>,
    config: BucketConfig,
    /// The last tick handed out (nanoseconds since the epoch, strictly increasing).
    tick: u64,
}

/// The body of one version, read under the lock so a concurrent delete cannot take it away.
enum Blob {
    Memory(Bytes),
    File(tokio::fs::File),
}

pub(crate) struct Engine {
    bucket: String,
    backend: &'static str,
    store: Store,
    part_size: usize,
    state: Mutex<State>,
    subscribers: SyncMutex<Vec<mpsc::UnboundedSender<Change>>>,
}

/// A written body before it is committed: its size, ETag and where it is.
struct Written {
    size: u64,
    etag: String,
    parts: usize,
    data: Option<Bytes>,
    temp: Option<PathBuf>,
}

fn io_error(operation: &'static str) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::Backend {
        backend: "local directory",
        operation,
        source: Box::new(source),
    }
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn quoted_md5(digest: &[u8]) -> String {
    format!("\"{}\"", hex::encode(digest))
}

/// Hashes a body as S3 does: the MD5 of the whole, and the MD5s of its `part_size` parts for
/// the ETag of a multipart upload (`md5(md5(part 1) ‖ md5(part 2) ‖ …)-N`).
struct Hasher {
    part_size: usize,
    whole: Md5,
    part: Md5,
    in_part: usize,
    part_digests: Vec<u8>,
    parts: usize,
    size: u64,
}

impl Hasher {
    fn new(part_size: usize) -> Self {
        Hasher {
            part_size,
            whole: Md5::new(),
            part: Md5::new(),
            in_part: 0,
            part_digests: Vec::new(),
            parts: 0,
            size: 0,
        }
    }

    fn update(&mut self, mut chunk: &[u8]) {
        self.whole.update(chunk);
        self.size += chunk.len() as u64;
        while !chunk.is_empty() {
            let take = (self.part_size - self.in_part).min(chunk.len());
            self.part.update(&chunk[..take]);
            self.in_part += take;
            chunk = &chunk[take..];
            if self.in_part == self.part_size {
                self.close_part();
            }
        }
    }

    fn close_part(&mut self) {
        let digest = std::mem::take(&mut self.part).finalize();
        self.part_digests.extend_from_slice(&digest);
        self.parts += 1;
        self.in_part = 0;
    }

    /// The ETag and the number of parts (1 when the body fits in one part).
    fn finish(mut self) -> (String, usize) {
        if self.size <= self.part_size as u64 {
            return (quoted_md5(&self.whole.finalize()), 1);
        }
        if self.in_part > 0 {
            self.close_part();
        }
        let digest = Md5::digest(&self.part_digests);
        (
            format!("\"{}-{}\"", hex::encode(digest), self.parts),
            self.parts,
        )
    }
}

impl Engine {
    pub(crate) fn memory(bucket: &str, part_size: usize) -> Self {
        Engine::with(
            bucket,
            "memory",
            Store::Memory,
            part_size,
            BTreeMap::new(),
            BucketConfig::default(),
        )
    }

    /// Opens (or creates) a bucket in a directory, reading back what an earlier run wrote.
    pub(crate) async fn open_dir(bucket: &str, root: &Path, part_size: usize) -> Result<Self> {
        tokio::fs::create_dir_all(root.join("objects"))
            .await
            .map_err(io_error("create_dir"))?;
        // Temporary files of interrupted writes are never part of an object.
        let _ = tokio::fs::remove_dir_all(root.join("tmp")).await;
        tokio::fs::create_dir_all(root.join("tmp"))
            .await
            .map_err(io_error("create_dir"))?;
        let config = match tokio::fs::read(root.join("bucket.json")).await {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::Backend {
                backend: "local directory",
                operation: "read bucket.json",
                source: Box::new(e),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BucketConfig::default(),
            Err(e) => return Err(io_error("read bucket.json")(e)),
        };
        let mut objects = BTreeMap::new();
        let mut dirs = tokio::fs::read_dir(root.join("objects"))
            .await
            .map_err(io_error("read_dir"))?;
        while let Some(entry) = dirs.next_entry().await.map_err(io_error("read_dir"))? {
            let dir = entry.path();
            let file: KeyFile = match tokio::fs::read(dir.join("meta.json")).await {
                Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::Backend {
                    backend: "local directory",
                    operation: "read meta.json",
                    source: Box::new(e),
                })?,
                // A directory whose first write never committed.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let _ = tokio::fs::remove_dir_all(&dir).await;
                    continue;
                }
                Err(e) => return Err(io_error("read meta.json")(e)),
            };
            remove_unreferenced(&dir, &file.versions).await?;
            if !file.versions.is_empty() {
                objects.insert(file.key, file.versions);
            }
        }
        Ok(Engine::with(
            bucket,
            "local directory",
            Store::Dir(root.to_owned()),
            part_size,
            objects,
            config,
        ))
    }

    fn with(
        bucket: &str,
        backend: &'static str,
        store: Store,
        part_size: usize,
        objects: BTreeMap<String, Vec<Version>>,
        config: BucketConfig,
    ) -> Self {
        Engine {
            bucket: bucket.to_owned(),
            backend,
            store,
            part_size,
            state: Mutex::new(State {
                objects,
                config,
                tick: 0,
            }),
            subscribers: SyncMutex::new(Vec::new()),
        }
    }

    pub(crate) fn bucket(&self) -> &str {
        &self.bucket
    }

    pub(crate) fn backend(&self) -> &'static str {
        self.backend
    }

    pub(crate) fn subscribe(&self) -> Changes {
        let (tx, rx) = mpsc::unbounded_channel();
        if let Ok(mut subscribers) = self.subscribers.lock() {
            subscribers.push(tx);
        }
        Changes(rx)
    }

    fn notify(&self, kind: ObjectEvent, key: &str, version: &Version, versioned: bool, tick: u64) {
        let Ok(mut subscribers) = self.subscribers.lock() else {
            return;
        };
        if subscribers.is_empty() {
            return;
        }
        let created = matches!(
            kind,
            ObjectEvent::Created(_) | ObjectEvent::LifecycleTransition
        );
        let change = Change {
            kind,
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            size: created.then_some(version.size),
            etag: created.then(|| version.etag.trim_matches('"').to_owned()),
            version_id: versioned.then(|| version.id.clone()),
            sequencer: format!("{tick:016X}"),
            time: DateTime::<Utc>::from(SystemTime::now()),
        };
        subscribers.retain(|tx| tx.send(change.clone()).is_ok());
    }

    fn check_key(&self, key: &Key) -> Result<()> {
        if matches!(self.store, Store::Dir(_)) && key.escapes_root() {
            return Err(Error::InvalidKey {
                reason: format!(
                    "`{key}` is absolute or has a `.` or `..` segment, a backslash or NUL: the local \
                     directory backend refuses keys that would not stay inside its root"
                ),
            });
        }
        Ok(())
    }

    fn key_dir(&self, key: &str) -> Option<PathBuf> {
        match &self.store {
            Store::Memory => None,
            Store::Dir(root) => {
                let digest = sha2::Sha256::digest(key.as_bytes());
                Some(root.join("objects").join(hex::encode(digest)))
            }
        }
    }

    fn temp_path(&self, tick: u64) -> Option<PathBuf> {
        match &self.store {
            Store::Memory => None,
            Store::Dir(root) => Some(root.join("tmp").join(format!("{tick:016x}.part"))),
        }
    }

    async fn next_tick(&self) -> u64 {
        let mut state = self.state.lock().await;
        tick(&mut state)
    }

    /// Writes the body to memory or to a temporary file, hashing it on the way.
    async fn write_body(&self, mut body: PutBody) -> Result<Written> {
        let mut hasher = Hasher::new(self.part_size);
        match self.temp_path(self.next_tick().await) {
            None => {
                let mut data = BytesMut::new();
                while let Some(chunk) = body.next_chunk().await? {
                    hasher.update(&chunk);
                    data.extend_from_slice(&chunk);
                }
                let size = hasher.size;
                let (etag, parts) = hasher.finish();
                Ok(Written {
                    size,
                    etag,
                    parts,
                    data: Some(data.freeze()),
                    temp: None,
                })
            }
            Some(temp) => {
                let result = async {
                    let mut file = tokio::fs::File::create(&temp)
                        .await
                        .map_err(io_error("create"))?;
                    while let Some(chunk) = body.next_chunk().await? {
                        hasher.update(&chunk);
                        file.write_all(&chunk).await.map_err(io_error("write"))?;
                    }
                    file.sync_all().await.map_err(io_error("fsync"))?;
                    Ok(())
                }
                .await;
                if let Err(error) = result {
                    let _ = tokio::fs::remove_file(&temp).await;
                    return Err(error);
                }
                let size = hasher.size;
                let (etag, parts) = hasher.finish();
                Ok(Written {
                    size,
                    etag,
                    parts,
                    data: None,
                    temp: Some(temp),
                })
            }
        }
    }

    pub(crate) async fn put(
        &self,
        key: &Key,
        body: PutBody,
        options: PutOptions,
    ) -> Result<PutOutput> {
        self.check_key(key)?;
        let written = self.write_body(body).await?;
        let kind = if written.parts > 1 {
            Created::CompleteMultipartUpload
        } else {
            Created::Put
        };
        let version = Version {
            id: String::new(),
            delete_marker: false,
            size: written.size,
            etag: written.etag.clone(),
            modified: now_millis(),
            content_type: Some(
                options
                    .content_type
                    .unwrap_or_else(|| "application/octet-stream".to_owned()),
            ),
            cache_control: options.cache_control,
            metadata: trimmed(options.metadata),
            storage_class: options.storage_class.unwrap_or_default(),
            file: None,
            data: written.data.clone(),
        };
        self.commit(
            key,
            version,
            written.temp,
            options.create_only,
            ObjectEvent::Created(kind),
        )
        .await
    }

    /// Adds a version (the body already written) under the lock: create-only check, version
    /// id, replacing the `null` version, persisting, notifying.
    async fn commit(
        &self,
        key: &Key,
        mut version: Version,
        temp: Option<PathBuf>,
        create_only: bool,
        kind: ObjectEvent,
    ) -> Result<PutOutput> {
        let mut state = self.state.lock().await;
        let exists = state
            .objects
            .get(key.as_str())
            .and_then(|versions| versions.first())
            .is_some_and(|latest| !latest.delete_marker);
        if create_only && exists {
            drop(state);
            if let Some(temp) = temp {
                let _ = tokio::fs::remove_file(temp).await;
            }
            return Err(Error::PreconditionFailed {
                key: key.to_string(),
            });
        }
        let tick = tick(&mut state);
        let versioning = state.config.versioning;
        version.id = new_version_id(versioning, tick);
        if let Some(temp) = &temp {
            let dir = self
                .key_dir(key.as_str())
                .ok_or_else(|| Error::Validation {
                    message: "a file body in a memory store".into(),
                })?;
            tokio::fs::create_dir_all(&dir)
                .await
                .map_err(io_error("create_dir"))?;
            let name = format!("{tick:016x}.data");
            tokio::fs::rename(temp, dir.join(&name))
                .await
                .map_err(io_error("rename"))?;
            version.file = Some(name);
        }
        let versions = state.objects.entry(key.to_string()).or_default();
        let replaced = if versioning == Versioning::Enabled {
            None
        } else {
            versions
                .iter()
                .position(|v| v.id == NULL_VERSION)
                .map(|i| versions.remove(i))
        };
        versions.insert(0, version.clone());
        let snapshot = versions.clone();
        self.persist(key.as_str(), &snapshot).await?;
        if let Some(old) = replaced {
            self.remove_body(key.as_str(), &old).await;
        }
        let versioned = versioning != Versioning::Unversioned;
        self.notify(kind, key.as_str(), &version, versioned, tick);
        Ok(PutOutput {
            etag: version.etag,
            version_id: versioned.then_some(version.id),
        })
    }

    /// Writes a key's versions to its `meta.json` atomically (temporary file, then rename).
    async fn persist(&self, key: &str, versions: &[Version]) -> Result<()> {
        let Some(dir) = self.key_dir(key) else {
            return Ok(());
        };
        if versions.is_empty() {
            return match tokio::fs::remove_dir_all(&dir).await {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(io_error("remove_dir")(e))
                }
                _ => Ok(()),
            };
        }
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(io_error("create_dir"))?;
        let file = KeyFile {
            key: key.to_owned(),
            versions: versions.to_vec(),
        };
        let json = serde_json::to_vec(&file).map_err(|e| Error::Backend {
            backend: "local directory",
            operation: "write meta.json",
            source: Box::new(e),
        })?;
        write_atomically(&dir.join("meta.json"), &json).await
    }

    async fn persist_config(&self, config: &BucketConfig) -> Result<()> {
        let Store::Dir(root) = &self.store else {
            return Ok(());
        };
        let json = serde_json::to_vec_pretty(config).map_err(|e| Error::Backend {
            backend: "local directory",
            operation: "write bucket.json",
            source: Box::new(e),
        })?;
        write_atomically(&root.join("bucket.json"), &json).await
    }

    async fn remove_body(&self, key: &str, version: &Version) {
        if let (Some(dir), Some(file)) = (self.key_dir(key), &version.file) {
            let _ = tokio::fs::remove_file(dir.join(file)).await;
        }
    }

    /// Finds the version to read: the latest, or the one named; refuses delete markers.
    fn find<'s>(state: &'s State, key: &Key, version_id: Option<&str>) -> Result<&'s Version> {
        let not_found = || Error::NotFound {
            key: key.to_string(),
        };
        let versions = state.objects.get(key.as_str()).ok_or_else(not_found)?;
        let version = match version_id {
            None => versions.first(),
            Some(id) => versions.iter().find(|v| v.id == id),
        }
        .ok_or_else(not_found)?;
        if version.delete_marker {
            return Err(not_found());
        }
        Ok(version)
    }

    fn meta(version: &Version, versioned: bool) -> ObjectMeta {
        ObjectMeta {
            size: version.size,
            etag: version.etag.clone(),
            last_modified: version.modified(),
            content_type: version.content_type.clone(),
            cache_control: version.cache_control.clone(),
            metadata: version.metadata.clone(),
            storage_class: version.storage_class.clone(),
            version_id: versioned.then(|| version.id.clone()),
        }
    }

    pub(crate) async fn head(&self, key: &Key, options: &GetOptions) -> Result<ObjectMeta> {
        self.check_key(key)?;
        let state = self.state.lock().await;
        let version = Self::find(&state, key, options.version_id.as_deref())?;
        Ok(Self::meta(
            version,
            state.config.versioning != Versioning::Unversioned,
        ))
    }

    async fn open_blob(&self, key: &str, version: &Version) -> Result<Blob> {
        match (&version.data, self.key_dir(key), &version.file) {
            (Some(data), _, _) => Ok(Blob::Memory(data.clone())),
            (None, Some(dir), Some(file)) => Ok(Blob::File(
                tokio::fs::File::open(dir.join(file))
                    .await
                    .map_err(io_error("open"))?,
            )),
            _ => Ok(Blob::Memory(Bytes::new())),
        }
    }

    pub(crate) async fn get(&self, key: &Key, options: GetOptions) -> Result<GetOutput> {
        self.check_key(key)?;
        let (meta, blob) = {
            let state = self.state.lock().await;
            let version = Self::find(&state, key, options.version_id.as_deref())?;
            let meta = Self::meta(version, state.config.versioning != Versioning::Unversioned);
            (meta, self.open_blob(key.as_str(), version).await?)
        };
        if meta.storage_class.is_archived() {
            return Err(Error::Archived {
                key: key.to_string(),
                storage_class: meta.storage_class.to_string(),
            });
        }
        // S3 ignores a range it cannot parse (`bytes=7-3`) and sends the whole object; a suffix
        // of an empty object is the whole (empty) object (RFC 9110 §14.1.1: the one range an
        // empty representation satisfies).
        let requested = options.range.filter(|r| match *r {
            ByteRange::Bounded(start, end) => start <= end,
            ByteRange::Suffix(n) => !(n > 0 && meta.size == 0),
            ByteRange::From(_) => true,
        });
        let (range, start, len) = match requested {
            None => (None, 0, meta.size),
            Some(range) => {
                let (start, end) = range
                    .resolve(meta.size)
                    .ok_or_else(|| Error::InvalidRange {
                        key: key.to_string(),
                        size: meta.size,
                    })?;
                let content = ContentRange {
                    start,
                    end,
                    total: meta.size,
                };
                (Some(content), start, end - start + 1)
            }
        };
        let body = match blob {
            Blob::Memory(data) => {
                let (start, len) = (start as usize, len as usize);
                ByteStream::from_bytes(data.slice(start..start + len))
            }
            Blob::File(mut file) => {
                file.seek(std::io::SeekFrom::Start(start))
                    .await
                    .map_err(io_error("seek"))?;
                file_stream(file.take(len))
            }
        };
        Ok(GetOutput { meta, range, body })
    }

    pub(crate) async fn delete(&self, key: &Key, version_id: Option<&str>) -> Result<DeleteOutput> {
        self.check_key(key)?;
        let mut state = self.state.lock().await;
        let versioning = state.config.versioning;
        let tick = tick(&mut state);
        let versions = state.objects.entry(key.to_string()).or_default();
        let mut removed = Vec::new();
        let (output, event, event_version) = match (version_id, versioning) {
            (Some(id), _) => {
                let Some(i) = versions.iter().position(|v| v.id == id) else {
                    if versions.is_empty() {
                        state.objects.remove(key.as_str());
                    }
                    return Ok(DeleteOutput {
                        version_id: Some(id.to_owned()),
                        delete_marker: false,
                    });
                };
                let version = versions.remove(i);
                removed.push(version.clone());
                let output = DeleteOutput {
                    version_id: Some(version.id.clone()),
                    delete_marker: version.delete_marker,
                };
                (output, Removed::Delete, version)
            }
            (None, Versioning::Unversioned) => {
                if versions.is_empty() {
                    state.objects.remove(key.as_str());
                    return Ok(DeleteOutput::default());
                }
                removed.append(versions);
                let version = removed[0].clone();
                (DeleteOutput::default(), Removed::Delete, version)
            }
            (None, _) => {
                let (marker, replaced) = push_marker(versions, versioning, tick, now_millis());
                removed.extend(replaced);
                let output = DeleteOutput {
                    version_id: Some(marker.id.clone()),
                    delete_marker: true,
                };
                (output, Removed::DeleteMarkerCreated, marker)
            }
        };
        let snapshot = versions.clone();
        if snapshot.is_empty() {
            state.objects.remove(key.as_str());
        }
        self.persist(key.as_str(), &snapshot).await?;
        for version in &removed {
            self.remove_body(key.as_str(), version).await;
        }
        let versioned = versioning != Versioning::Unversioned;
        self.notify(
            ObjectEvent::Removed(event),
            key.as_str(),
            &event_version,
            versioned,
            tick,
        );
        Ok(output)
    }

    pub(crate) async fn copy(
        &self,
        from: &Key,
        to: &Key,
        options: CopyOptions,
    ) -> Result<PutOutput> {
        self.check_key(from)?;
        self.check_key(to)?;
        let (source, blob) = {
            let state = self.state.lock().await;
            let version = Self::find(&state, from, options.source_version_id.as_deref())?;
            (
                version.clone(),
                self.open_blob(from.as_str(), version).await?,
            )
        };
        if source.storage_class.is_archived() {
            return Err(Error::Archived {
                key: from.to_string(),
                storage_class: source.storage_class.to_string(),
            });
        }
        // S3 refuses a copy onto itself that changes nothing (400 InvalidRequest).
        if from == to
            && options.source_version_id.is_none()
            && options.content_type.is_none()
            && options.storage_class.is_none()
        {
            return Err(Error::Validation {
                message: format!(
                    "This copy request is illegal because it is trying to copy `{from}` to itself without changing the object's metadata or storage class"
                ),
            });
        }
        // A copy is written in one piece: its ETag is the MD5 of the body.
        let mut hasher = Hasher::new(usize::MAX);
        let (data, temp) = match blob {
            Blob::Memory(data) => {
                hasher.update(&data);
                (Some(data), None)
            }
            Blob::File(mut file) => {
                let temp = self.temp_path(self.next_tick().await);
                let temp = temp.ok_or_else(|| Error::Validation {
                    message: "a file body in a memory store".into(),
                })?;
                let result = async {
                    let mut out = tokio::fs::File::create(&temp)
                        .await
                        .map_err(io_error("create"))?;
                    let mut buffer = vec![0; READ_CHUNK];
                    loop {
                        let n = file.read(&mut buffer).await.map_err(io_error("read"))?;
                        if n == 0 {
                            break;
                        }
                        hasher.update(&buffer[..n]);
                        out.write_all(&buffer[..n])
                            .await
                            .map_err(io_error("write"))?;
                    }
                    out.sync_all().await.map_err(io_error("fsync"))
                }
                .await;
                if let Err(error) = result {
                    let _ = tokio::fs::remove_file(&temp).await;
                    return Err(error);
                }
                (None, Some(temp))
            }
        };
        let (etag, _) = hasher.finish();
        // Replacing metadata (S3's `MetadataDirective: REPLACE`) replaces all of it: what the
        // copy does not set, such as `Cache-Control`, is gone.
        let (content_type, cache_control, metadata) = match options.content_type {
            Some(content_type) => (Some(content_type), None, trimmed(options.metadata)),
            None => (source.content_type, source.cache_control, source.metadata),
        };
        let version = Version {
            id: String::new(),
            delete_marker: false,
            size: source.size,
            etag,
            modified: now_millis(),
            content_type,
            cache_control,
            metadata,
            storage_class: options.storage_class.unwrap_or_default(),
            file: None,
            data,
        };
        self.commit(
            to,
            version,
            temp,
            false,
            ObjectEvent::Created(Created::Copy),
        )
        .await
    }

    pub(crate) async fn list_page(
        &self,
        request: &ListRequest,
        cursor: Option<&str>,
    ) -> Result<ListPage> {
        let after = cursor.map(Cursor::decode).transpose()?;
        let state = self.state.lock().await;
        let page_size = usize::from(request.page_size.clamp(1, 1000));
        let mut page = ListPage::default();
        let mut last: Option<Cursor> = None;
        let mut count = 0;
        let start = match &after {
            Some(Cursor::Key(key)) | Some(Cursor::Prefix(key)) => key.clone(),
            _ => request.prefix.clone(),
        };
        for (key, versions) in state.objects.range(start..) {
            if !key.starts_with(&request.prefix) {
                if key.as_str() > request.prefix.as_str() {
                    break;
                }
                continue;
            }
            match &after {
                Some(Cursor::Key(k)) if key <= k => continue,
                Some(Cursor::Prefix(p)) if key.starts_with(p.as_str()) => continue,
                _ => {}
            }
            let Some(latest) = versions.first().filter(|v| !v.delete_marker) else {
                continue;
            };
            let common = request
                .delimiter
                .as_deref()
                .filter(|d| !d.is_empty())
                .and_then(|d| {
                    let rest = &key[request.prefix.len()..];
                    rest.find(d)
                        .map(|i| key[..request.prefix.len() + i + d.len()].to_owned())
                });
            if let Some(common) = common {
                if matches!(&last, Some(Cursor::Prefix(p)) if *p == common) {
                    continue;
                }
                if count == page_size {
                    page.next = last.map(|c| c.encode());
                    break;
                }
                page.common_prefixes.push(common.clone());
                last = Some(Cursor::Prefix(common));
            } else {
                if count == page_size {
                    page.next = last.map(|c| c.encode());
                    break;
                }
                page.objects.push(ObjectSummary {
                    key: key.clone(),
                    size: latest.size,
                    etag: latest.etag.clone(),
                    last_modified: latest.modified(),
                    storage_class: latest.storage_class.clone(),
                });
                last = Some(Cursor::Key(key.clone()));
            }
            count += 1;
        }
        Ok(page)
    }

    pub(crate) async fn list_versions_page(
        &self,
        request: &VersionsRequest,
        cursor: Option<&str>,
    ) -> Result<VersionsPage> {
        let after = cursor.map(VersionCursor::decode).transpose()?;
        let state = self.state.lock().await;
        let page_size = usize::from(request.page_size.clamp(1, 1000));
        let mut page = VersionsPage::default();
        let start = after
            .as_ref()
            .map(|c| c.key.clone())
            .unwrap_or_else(|| request.prefix.clone());
        'keys: for (key, versions) in state.objects.range(start..) {
            if !key.starts_with(&request.prefix) {
                if key.as_str() > request.prefix.as_str() {
                    break;
                }
                continue;
            }
            let mut skip_to = 0;
            if let Some(c) = &after
                && *key == c.key
            {
                match versions.iter().position(|v| v.id == c.version_id) {
                    Some(i) => skip_to = i + 1,
                    None => continue,
                }
            }
            for (i, version) in versions.iter().enumerate().skip(skip_to) {
                if page.versions.len() == page_size {
                    if let Some(last) = page.versions.last() {
                        page.next = Some(
                            VersionCursor {
                                key: last.key.clone(),
                                version_id: last.version_id.clone(),
                            }
                            .encode(),
                        );
                    }
                    break 'keys;
                }
                page.versions.push(VersionSummary {
                    key: key.clone(),
                    version_id: version.id.clone(),
                    is_latest: i == 0,
                    delete_marker: version.delete_marker,
                    size: version.size,
                    etag: version.etag.clone(),
                    last_modified: version.modified(),
                });
            }
        }
        Ok(page)
    }

    pub(crate) async fn set_versioning(&self, enabled: bool) -> Result<()> {
        let mut state = self.state.lock().await;
        // S3 accepts suspending a bucket that was never versioned; it then reports Suspended.
        state.config.versioning = if enabled {
            Versioning::Enabled
        } else {
            Versioning::Suspended
        };
        self.persist_config(&state.config).await
    }

    pub(crate) async fn versioning(&self) -> Versioning {
        self.state.lock().await.config.versioning
    }

    pub(crate) async fn policy(&self) -> Option<PolicyDocument> {
        self.state.lock().await.config.policy.clone()
    }

    pub(crate) async fn set_policy(&self, policy: Option<PolicyDocument>) -> Result<()> {
        let mut state = self.state.lock().await;
        state.config.policy = policy;
        self.persist_config(&state.config).await
    }

    pub(crate) async fn lifecycle(&self) -> Vec<LifecycleRule> {
        self.state.lock().await.config.lifecycle.clone()
    }

    pub(crate) async fn set_lifecycle(&self, rules: &[LifecycleRule]) -> Result<()> {
        for rule in rules {
            if rule.id.is_empty() || rule.id.len() > 255 {
                return Err(Error::Validation {
                    message: "a lifecycle rule id is 1 to 255 characters".into(),
                });
            }
        }
        let mut state = self.state.lock().await;
        state.config.lifecycle = rules.to_vec();
        self.persist_config(&state.config).await
    }

    /// Applies the lifecycle rules as S3 would at `now`: transitions and expirations of
    /// current versions, transitions and removal of noncurrent ones. Days are counted from
    /// when a version was written (or, for a noncurrent one, replaced), in whole days.
    pub(crate) async fn apply_lifecycle(&self, now: SystemTime) -> Result<()> {
        let mut state = self.state.lock().await;
        let rules: Vec<LifecycleRule> = state
            .config
            .lifecycle
            .iter()
            .filter(|r| r.enabled)
            .cloned()
            .collect();
        let versioning = state.config.versioning;
        let versioned = versioning != Versioning::Unversioned;
        let days = |since: SystemTime| -> u64 {
            now.duration_since(since)
                .map(|d| d.as_secs() / 86_400)
                .unwrap_or(0)
        };
        let keys: Vec<String> = state.objects.keys().cloned().collect();
        for key in keys {
            let mut events: Vec<(ObjectEvent, Version)> = Vec::new();
            let mut removed: Vec<Version> = Vec::new();
            let tick = tick(&mut state);
            let Some(versions) = state.objects.get_mut(&key) else {
                continue;
            };
            for rule in rules.iter().filter(|r| key.starts_with(&r.prefix)) {
                // The current version.
                if let Some(current) = versions.first_mut().filter(|v| !v.delete_marker) {
                    let age = days(current.modified());
                    if let Some(t) = rule
                        .transitions
                        .iter()
                        .filter(|t| u64::from(t.days) <= age)
                        .max_by_key(|t| t.days)
                        && current.storage_class != t.storage_class
                    {
                        current.storage_class = t.storage_class.clone();
                        events.push((ObjectEvent::LifecycleTransition, current.clone()));
                    }
                    if rule.expiration_days.is_some_and(|d| u64::from(d) <= age) {
                        if versioned {
                            let at = now
                                .duration_since(UNIX_EPOCH)
                                .map(|d| d.as_millis() as u64)
                                .unwrap_or(0);
                            let (marker, replaced) = push_marker(versions, versioning, tick, at);
                            removed.extend(replaced);
                            events.push((
                                ObjectEvent::LifecycleExpiration(Removed::DeleteMarkerCreated),
                                marker,
                            ));
                        } else {
                            let gone = versions.remove(0);
                            events.push((
                                ObjectEvent::LifecycleExpiration(Removed::Delete),
                                gone.clone(),
                            ));
                            removed.push(gone);
                        }
                    }
                }
                // Noncurrent versions: each became noncurrent when the next newer one was written.
                let mut noncurrent_seen = 0u32;
                let mut i = 1;
                while i < versions.len() {
                    let since = versions[i - 1].modified();
                    let age = days(since);
                    noncurrent_seen += 1;
                    let expire = rule.noncurrent_expiration.as_ref().is_some_and(|e| {
                        u64::from(e.noncurrent_days) <= age
                            && e.newer_noncurrent_versions
                                .is_none_or(|keep| noncurrent_seen > keep)
                    });
                    if expire {
                        let gone = versions.remove(i);
                        events.push((
                            ObjectEvent::LifecycleExpiration(Removed::Delete),
                            gone.clone(),
                        ));
                        removed.push(gone);
                        continue;
                    }
                    if let Some(t) = rule
                        .noncurrent_transitions
                        .iter()
                        .filter(|t| u64::from(t.noncurrent_days) <= age)
                        .max_by_key(|t| t.noncurrent_days)
                        && !versions[i].delete_marker
                        && versions[i].storage_class != t.storage_class
                    {
                        versions[i].storage_class = t.storage_class.clone();
                        events.push((ObjectEvent::LifecycleTransition, versions[i].clone()));
                    }
                    i += 1;
                }
            }
            if events.is_empty() {
                continue;
            }
            let snapshot = versions.clone();
            if snapshot.is_empty() {
                state.objects.remove(&key);
            }
            self.persist(&key, &snapshot).await?;
            for version in &removed {
                self.remove_body(&key, version).await;
            }
            for (kind, version) in events {
                self.notify(kind, &key, &version, versioned, tick);
            }
        }
        Ok(())
    }
}

fn tick(state: &mut State) -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    state.tick = now.max(state.tick + 1);
    state.tick
}

/// Removes body files that no version refers to (left by a write interrupted after the body
/// was renamed into place but before `meta.json` was).
async fn remove_unreferenced(dir: &Path, versions: &[Version]) -> Result<()> {
    let mut entries = tokio::fs::read_dir(dir)
        .await
        .map_err(io_error("read_dir"))?;
    while let Some(entry) = entries.next_entry().await.map_err(io_error("read_dir"))? {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name == "meta.json" {
            continue;
        }
        if !versions.iter().any(|v| v.file.as_deref() == Some(&*name)) {
            let _ = tokio::fs::remove_file(entry.path()).await;
        }
    }
    Ok(())
}

/// Writes a file so a reader sees the old content or the new, never a part: a temporary file
/// in the same directory, synced, then renamed over the old one.
async fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let temp = path.with_extension("json.tmp");
    let mut file = tokio::fs::File::create(&temp)
        .await
        .map_err(io_error("create"))?;
    file.write_all(bytes).await.map_err(io_error("write"))?;
    file.sync_all().await.map_err(io_error("fsync"))?;
    drop(file);
    tokio::fs::rename(&temp, path)
        .await
        .map_err(io_error("rename"))
}

fn file_stream(reader: tokio::io::Take<tokio::fs::File>) -> ByteStream {
    ByteStream::new(futures_util::stream::try_unfold(
        reader,
        |mut reader| async move {
            let mut buffer = BytesMut::with_capacity(READ_CHUNK);
            let n = reader
                .read_buf(&mut buffer)
                .await
                .map_err(io_error("read"))?;
            if n == 0 {
                Ok(None)
            } else {
                Ok(Some((buffer.freeze(), reader)))
            }
        },
    ))
}

/// Where a listing page ended: after a key, or after every key under a common prefix.
enum Cursor {
    Key(String),
    Prefix(String),
}

impl Cursor {
    fn encode(&self) -> String {
        match self {
            Cursor::Key(key) => format!("k{}", hex::encode(key)),
            Cursor::Prefix(prefix) => format!("p{}", hex::encode(prefix)),
        }
    }

    fn decode(cursor: &str) -> Result<Self> {
        match cursor.split_at_checked(1) {
            Some(("k", rest)) => Ok(Cursor::Key(hex_text(rest)?)),
            Some(("p", rest)) => Ok(Cursor::Prefix(hex_text(rest)?)),
            _ => Err(invalid_cursor()),
        }
    }
}

/// User metadata as S3 keeps it: values travel as HTTP headers, whose leading and trailing
/// white space is not part of the value.
fn trimmed(metadata: BTreeMap<String, String>) -> BTreeMap<String, String> {
    metadata
        .into_iter()
        .map(|(name, value)| (name, value.trim().to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_etags_hash_the_parts_md5s() {
        let part = 5 * 1024 * 1024;
        let body = vec![7u8; part * 2 + 10];
        let mut hasher = Hasher::new(part);
        hasher.update(&body[..3]);
        hasher.update(&body[3..]);
        let (etag, parts) = hasher.finish();
        let mut digests = Vec::new();
        for chunk in body.chunks(part) {
            digests.extend_from_slice(&Md5::digest(chunk));
        }
        assert_eq!(parts, 3);
        assert_eq!(
            etag,
            format!("\"{}-3\"", hex::encode(Md5::digest(&digests)))
        );
    }

    #[test]
    fn a_body_of_one_part_has_a_plain_md5_etag() {
        let mut hasher = Hasher::new(5);
        hasher.update(b"hello");
        assert_eq!(
            hasher.finish(),
            ("\"5d41402abc4b2a76b9719d911017c592\"".into(), 1)
        );
    }

    #[test]
    fn cursors_refuse_what_they_did_not_make() {
        assert!(Cursor::decode("kzz").is_err());
        assert!(Cursor::decode("").is_err());
        assert!(Cursor::decode("x00").is_err());
        assert!(
            matches!(Cursor::decode(&Cursor::Key("a/b".into()).encode()), Ok(Cursor::Key(k)) if k == "a/b")
        );
        assert!(VersionCursor::decode("nodot").is_err());
    }
}
