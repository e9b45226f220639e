//! The options and results of the store's operations.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::{ByteStream, Error};

/// An S3 storage class.
///
/// ```
/// use svless_store::object::StorageClass;
/// assert_eq!(StorageClass::GlacierIr.as_str(), "GLACIER_IR");
/// assert_eq!("DEEP_ARCHIVE".parse::<StorageClass>().unwrap(), StorageClass::DeepArchive);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub enum StorageClass {
    /// `STANDARD`, the default.
    #[default]
    Standard,
    /// `STANDARD_IA`: infrequent access.
    StandardIa,
    /// `ONEZONE_IA`: infrequent access in one Availability Zone.
    OnezoneIa,
    /// `INTELLIGENT_TIERING`.
    IntelligentTiering,
    /// `GLACIER_IR`: Glacier Instant Retrieval, readable at once.
    GlacierIr,
    /// `GLACIER`: Glacier Flexible Retrieval; reads need a restore.
    Glacier,
    /// `DEEP_ARCHIVE`; reads need a restore.
    DeepArchive,
    /// A class this version does not name (S3 adds them), as S3 spells it.
    Other(String),
}

impl StorageClass {
    /// The name S3 uses.
    pub fn as_str(&self) -> &str {
        match self {
            StorageClass::Standard => "STANDARD",
            StorageClass::StandardIa => "STANDARD_IA",
            StorageClass::OnezoneIa => "ONEZONE_IA",
            StorageClass::IntelligentTiering => "INTELLIGENT_TIERING",
            StorageClass::GlacierIr => "GLACIER_IR",
            StorageClass::Glacier => "GLACIER",
            StorageClass::DeepArchive => "DEEP_ARCHIVE",
            StorageClass::Other(name) => name,
        }
    }

    /// Whether objects of this class must be restored before they can be read.
    pub fn is_archived(&self) -> bool {
        matches!(self, StorageClass::Glacier | StorageClass::DeepArchive)
    }
}

impl fmt::Display for StorageClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StorageClass {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "STANDARD" | "" => StorageClass::Standard,
            "STANDARD_IA" => StorageClass::StandardIa,
            "ONEZONE_IA" => StorageClass::OnezoneIa,
            "INTELLIGENT_TIERING" => StorageClass::IntelligentTiering,
            "GLACIER_IR" => StorageClass::GlacierIr,
            "GLACIER" => StorageClass::Glacier,
            "DEEP_ARCHIVE" => StorageClass::DeepArchive,
            other => StorageClass::Other(other.to_owned()),
        })
    }
}

/// How to write an object.
///
/// ```
/// use svless_store::object::{PutOptions, StorageClass};
/// let options = PutOptions::new()
///     .content_type("image/png")
///     .cache_control("max-age=86400")
///     .metadata("uploaded-by", "u-42")
///     .storage_class(StorageClass::IntelligentTiering)
///     .create_only();
/// assert!(options.create_only);
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct PutOptions {
    /// `Content-Type` (`application/octet-stream` when absent: what the SDK sends for a body without one).
    pub content_type: Option<String>,
    /// `Cache-Control`.
    pub cache_control: Option<String>,
    /// User metadata (`x-amz-meta-*`); S3 lower-cases the names.
    pub metadata: BTreeMap<String, String>,
    /// The storage class (`STANDARD` when absent).
    pub storage_class: Option<StorageClass>,
    /// Write only if no object exists under the key (`If-None-Match: *`); otherwise
    /// [`Error::PreconditionFailed`].
    pub create_only: bool,
}

impl PutOptions {
    /// No options: replace whatever is there, S3's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the content type.
    pub fn content_type(mut self, content_type: &str) -> Self {
        self.content_type = Some(content_type.to_owned());
        self
    }

    /// Sets the cache control header.
    pub fn cache_control(mut self, cache_control: &str) -> Self {
        self.cache_control = Some(cache_control.to_owned());
        self
    }

    /// Adds one user metadata entry (the name is lower-cased, as S3 does).
    pub fn metadata(mut self, name: &str, value: &str) -> Self {
        self.metadata
            .insert(name.to_ascii_lowercase(), value.to_owned());
        self
    }

    /// Sets the storage class.
    pub fn storage_class(mut self, storage_class: StorageClass) -> Self {
        self.storage_class = Some(storage_class);
        self
    }

    /// Writes only if the key holds no object.
    pub fn create_only(mut self) -> Self {
        self.create_only = true;
        self
    }
}

/// What a put or copy wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PutOutput {
    /// The ETag, quoted as S3 sends it: the MD5 of the body, or for a multipart upload the
    /// MD5 of the parts' MD5s followed by `-` and the number of parts.
    pub etag: String,
    /// The new version's id in a versioned bucket.
    pub version_id: Option<String>,
}

/// A byte range to read.
///
/// ```
/// use svless_store::object::ByteRange;
/// assert_eq!(ByteRange::Bounded(0, 99).header(), "bytes=0-99");
/// assert_eq!(ByteRange::From(100).header(), "bytes=100-");
/// assert_eq!(ByteRange::Suffix(10).header(), "bytes=-10");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// Bytes `start..=end` (clipped to the object's end). With `start > end` the range is not
    /// one S3 can parse, and S3 answers with the whole object, as every backend does.
    Bounded(u64, u64),
    /// From `start` to the end.
    From(u64),
    /// The last `n` bytes.
    Suffix(u64),
}

impl ByteRange {
    /// The HTTP `Range` header value.
    pub fn header(&self) -> String {
        match self {
            ByteRange::Bounded(start, end) => format!("bytes={start}-{end}"),
            ByteRange::From(start) => format!("bytes={start}-"),
            ByteRange::Suffix(n) => format!("bytes=-{n}"),
        }
    }

    /// The inclusive byte positions this range selects in an object of `size` bytes, or
    /// `None` when it selects nothing (S3 answers 416).
    pub fn resolve(&self, size: u64) -> Option<(u64, u64)> {
        match *self {
            ByteRange::Bounded(start, end) if start <= end && start < size => {
                Some((start, end.min(size - 1)))
            }
            ByteRange::From(start) if start < size => Some((start, size - 1)),
            ByteRange::Suffix(n) if n > 0 && size > 0 => Some((size.saturating_sub(n), size - 1)),
            _ => None,
        }
    }
}

/// Which object (version) to read, and which part of it.
///
/// ```
/// use svless_store::object::{ByteRange, GetOptions};
/// let options = GetOptions::new().range(ByteRange::Suffix(1024)).version("3HL4kqtJlcpXroDTDmJ");
/// assert_eq!(options.version_id.as_deref(), Some("3HL4kqtJlcpXroDTDmJ"));
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct GetOptions {
    /// A byte range; the whole object when absent.
    pub range: Option<ByteRange>,
    /// A specific version; the current one when absent.
    pub version_id: Option<String>,
}

impl GetOptions {
    /// The current version, whole.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads only `range`.
    pub fn range(mut self, range: ByteRange) -> Self {
        self.range = Some(range);
        self
    }

    /// Reads the version `version_id`.
    pub fn version(mut self, version_id: &str) -> Self {
        self.version_id = Some(version_id.to_owned());
        self
    }
}

/// An object's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectMeta {
    /// The object's size in bytes (the whole object, also for a range read).
    pub size: u64,
    /// The ETag, quoted.
    pub etag: String,
    /// When it was written.
    pub last_modified: SystemTime,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Cache-Control`.
    pub cache_control: Option<String>,
    /// User metadata, names lower-cased.
    pub metadata: BTreeMap<String, String>,
    /// The storage class.
    pub storage_class: StorageClass,
    /// The version id, in a bucket that has had versioning enabled.
    pub version_id: Option<String>,
}

/// The byte positions a range read returned, as in `Content-Range: bytes 0-99/1000`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentRange {
    /// The first byte.
    pub start: u64,
    /// The last byte (inclusive).
    pub end: u64,
    /// The object's size.
    pub total: u64,
}

impl ContentRange {
    /// Parses a `Content-Range` header value.
    ///
    /// ```
    /// use svless_store::object::ContentRange;
    /// let range = ContentRange::parse("bytes 0-99/1000").unwrap();
    /// assert_eq!((range.start, range.end, range.total), (0, 99, 1000));
    /// ```
    pub fn parse(header: &str) -> Option<Self> {
        let rest = header.strip_prefix("bytes ")?;
        let (span, total) = rest.split_once('/')?;
        let (start, end) = span.split_once('-')?;
        Some(ContentRange {
            start: start.parse().ok()?,
            end: end.parse().ok()?,
            total: total.parse().ok()?,
        })
    }
}

/// A read: the object's metadata and its body as a stream.
#[non_exhaustive]
pub struct GetOutput {
    /// The object's metadata.
    pub meta: ObjectMeta,
    /// The part returned, for a range read.
    pub range: Option<ContentRange>,
    /// The body (the range's bytes for a range read).
    pub body: ByteStream,
}

impl fmt::Debug for GetOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GetOutput")
            .field("meta", &self.meta)
            .field("range", &self.range)
            .finish_non_exhaustive()
    }
}

/// What a delete did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct DeleteOutput {
    /// The version removed, or the delete marker's version id.
    pub version_id: Option<String>,
    /// Whether a delete marker was created (versioned bucket, no version given) or removed.
    pub delete_marker: bool,
}

/// How to copy an object.
///
/// ```
/// use svless_store::object::{CopyOptions, StorageClass};
/// let options = CopyOptions::new().storage_class(StorageClass::GlacierIr).content_type("image/webp");
/// assert!(options.content_type.is_some());
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CopyOptions {
    /// Copy this version of the source instead of the current one.
    pub source_version_id: Option<String>,
    /// Replace the content type and metadata instead of copying them (S3's
    /// `MetadataDirective: REPLACE`).
    pub content_type: Option<String>,
    /// With `content_type`: the new user metadata.
    pub metadata: BTreeMap<String, String>,
    /// The copy's storage class (`STANDARD` when absent, as on S3).
    pub storage_class: Option<StorageClass>,
}

impl CopyOptions {
    /// Copy the current version, its metadata, into `STANDARD`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Copies the version `version_id` of the source.
    pub fn source_version(mut self, version_id: &str) -> Self {
        self.source_version_id = Some(version_id.to_owned());
        self
    }

    /// Replaces the content type (and the user metadata, with [`CopyOptions::metadata`]).
    pub fn content_type(mut self, content_type: &str) -> Self {
        self.content_type = Some(content_type.to_owned());
        self
    }

    /// Adds one user metadata entry to the replacement metadata.
    pub fn metadata(mut self, name: &str, value: &str) -> Self {
        self.metadata
            .insert(name.to_ascii_lowercase(), value.to_owned());
        self
    }

    /// Sets the copy's storage class.
    pub fn storage_class(mut self, storage_class: StorageClass) -> Self {
        self.storage_class = Some(storage_class);
        self
    }
}

/// A listing: keys under a prefix, optionally grouped at a delimiter.
///
/// ```
/// use svless_store::object::ListRequest;
/// // The "folders" directly under photos/: common prefixes such as photos/2026/.
/// let request = ListRequest::prefix("photos/").delimiter("/").page_size(100);
/// assert_eq!(request.page_size, 100);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ListRequest {
    /// Only keys that start with this.
    pub prefix: String,
    /// Keys containing this after the prefix are rolled up into one common prefix.
    pub delimiter: Option<String>,
    /// Keys plus common prefixes per page, 1 to 1,000.
    pub page_size: u16,
}

impl Default for ListRequest {
    fn default() -> Self {
        ListRequest {
            prefix: String::new(),
            delimiter: None,
            page_size: 1000,
        }
    }
}

impl ListRequest {
    /// Every key, 1,000 per page.
    pub fn all() -> Self {
        Self::default()
    }

    /// Keys under `prefix`.
    pub fn prefix(prefix: &str) -> Self {
        ListRequest {
            prefix: prefix.to_owned(),
            ..Self::default()
        }
    }

    /// Groups keys at `delimiter` (usually `/`).
    pub fn delimiter(mut self, delimiter: &str) -> Self {
        self.delimiter = Some(delimiter.to_owned());
        self
    }

    /// Entries per page, clamped to 1..=1000.
    pub fn page_size(mut self, page_size: u16) -> Self {
        self.page_size = page_size.clamp(1, 1000);
        self
    }
}

/// One object in a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectSummary {
    /// The key.
    pub key: String,
    /// The size in bytes.
    pub size: u64,
    /// The ETag, quoted.
    pub etag: String,
    /// When it was written.
    pub last_modified: SystemTime,
    /// The storage class.
    pub storage_class: StorageClass,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ListPage {
    /// The objects, in key order (UTF-8 bytes).
    pub objects: Vec<ObjectSummary>,
    /// The common prefixes, in order, each ending with the delimiter.
    pub common_prefixes: Vec<String>,
    /// The cursor of the next page; `None` on the last page.
    pub next: Option<String>,
}

/// A listing of versions under a prefix.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VersionsRequest {
    /// Only keys that start with this.
    pub prefix: String,
    /// Versions per page, 1 to 1,000.
    pub page_size: u16,
}

impl Default for VersionsRequest {
    fn default() -> Self {
        VersionsRequest {
            prefix: String::new(),
            page_size: 1000,
        }
    }
}

impl VersionsRequest {
    /// The versions of keys under `prefix`.
    ///
    /// ```
    /// use svless_store::object::VersionsRequest;
    /// let request = VersionsRequest::prefix("invoices/").page_size(50);
    /// assert_eq!(request.prefix, "invoices/");
    /// ```
    pub fn prefix(prefix: &str) -> Self {
        VersionsRequest {
            prefix: prefix.to_owned(),
            ..Self::default()
        }
    }

    /// Versions per page, clamped to 1..=1000.
    pub fn page_size(mut self, page_size: u16) -> Self {
        self.page_size = page_size.clamp(1, 1000);
        self
    }
}

/// One version or delete marker.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VersionSummary {
    /// The key.
    pub key: String,
    /// The version id (`"null"` for the version written while versioning was off).
    pub version_id: String,
    /// Whether this is the key's current version.
    pub is_latest: bool,
    /// Whether this is a delete marker (no body, size 0).
    pub delete_marker: bool,
    /// The size in bytes.
    pub size: u64,
    /// The ETag, quoted (empty for delete markers).
    pub etag: String,
    /// When it was written.
    pub last_modified: SystemTime,
}

/// One page of versions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct VersionsPage {
    /// Versions in key order, newest first within a key.
    pub versions: Vec<VersionSummary>,
    /// The cursor of the next page; `None` on the last page.
    pub next: Option<String>,
}

/// A bucket's versioning state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Versioning {
    /// Never enabled: one version per key, no version ids.
    #[default]
    Unversioned,
    /// Every write adds a version; deletes add delete markers.
    Enabled,
    /// Enabled once, now suspended: writes replace the `null` version.
    Suspended,
}

/// A presigned request: what a browser sends to S3 without credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Presigned {
    /// `GET` or `PUT`.
    pub method: String,
    /// The URL with the signature in its query.
    pub url: String,
    /// Headers the request must carry exactly (for a PUT: `content-type`).
    pub headers: Vec<(String, String)>,
}

pub(crate) fn check_part_size(part_size: usize) -> Result<usize, Error> {
    if part_size < super::MIN_PART_SIZE {
        return Err(Error::Validation {
            message: format!(
                "a part size of {part_size} bytes is below S3's minimum of 5 MiB ({} bytes)",
                super::MIN_PART_SIZE
            ),
        });
    }
    Ok(part_size)
}

pub(crate) fn invalid_cursor() -> Error {
    Error::Validation {
        message: "the listing cursor is not one this store gave out".into(),
    }
}

/// Text written as hex in a cursor.
pub(crate) fn hex_text(hex: &str) -> Result<String, Error> {
    hex::decode(hex)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(invalid_cursor)
}

/// Where a listing of versions ended: S3's key and version-id markers, one cursor format for
/// every backend.
pub(crate) struct VersionCursor {
    pub(crate) key: String,
    pub(crate) version_id: String,
}

impl VersionCursor {
    pub(crate) fn encode(&self) -> String {
        format!(
            "{}.{}",
            hex::encode(&self.key),
            hex::encode(&self.version_id)
        )
    }

    pub(crate) fn decode(cursor: &str) -> Result<Self, Error> {
        let (key, version) = cursor.split_once('.').ok_or_else(invalid_cursor)?;
        Ok(VersionCursor {
            key: hex_text(key)?,
            version_id: hex_text(version)?,
        })
    }
}
