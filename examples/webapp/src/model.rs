//! The single table: every entity of the application, its keys and its indexes.
//!
//! | entity | `pk` | `sk` | `gsi1pk` / `gsi1sk` | `gsi2pk` / `gsi2sk` | `lsi1sk` |
//! | --- | --- | --- | --- | --- | --- |
//! | [`User`] | `USER#{id}` | `PROFILE` | | | |
//! | [`EmailOwner`] | `EMAIL#{email}` | `EMAIL` | | | |
//! | [`Album`] | `ALBUM#{id}` | `ALBUM` | | | |
//! | [`Membership`] (album → member) | `ALBUM#{album}` | `MEMBER#{user}` | | | |
//! | [`AlbumLink`] (member → album) | `USER#{user}` | `ALBUM#{album}` | `MEMBEROF#{user}` / `{joined_at}#{album}` | | |
//! | [`Photo`] | `ALBUM#{album}` | `PHOTO#{id}` | | `PHOTOS#{status}` / `{uploaded_at}#{id}` | `{uploaded_at}` |
//! | [`Comment`] | `ALBUM#{album}` | `COMMENT#{at}#{id}` | | | |
//! | [`UploadTicket`] | `TICKET#{photo}` | `TICKET` | | `TICKETS` / `{expires}` | |
//! | [`Connection`] | `CONN#{connection}` | `CONN` | | | |
//! | [`Subscription`] | `ALBUM#{album}` | `SUB#{connection}` | `CONN#{connection}` / `{album}` | | |
//!
//! - An album is one item collection: the album, its members, photos, comments and live
//!   subscribers come back from one partition.
//! - `gsi1` answers "the albums I belong to, newest first" (a member's links), and "what is this
//!   connection subscribed to" (for `$disconnect`).
//! - `gsi2` answers "photos in a status, oldest first": the moderation queue and the nightly
//!   sweep of uploads that never finished; and "upload tickets by expiry".
//! - `lsi1` orders an album's photos by upload date (a local index: same partition).
//! - Tickets and subscriptions carry a time to live (`expires_at`, epoch seconds).

use serde::{Deserialize, Serialize};
use svless::store::dynamo::{DateTime, Projection, StreamView, TableDef, Utc, Versioned};

/// The table's definition (the deployment template declares the same).
pub fn table_def(name: &str) -> TableDef {
    TableDef::new(name)
        .global_index("gsi1", "gsi1pk", Some("gsi1sk"), Projection::All)
        .global_index("gsi2", "gsi2pk", Some("gsi2sk"), Projection::All)
        .local_index("lsi1", "lsi1sk", Projection::All)
        .ttl("expires_at")
        .stream(StreamView::NewAndOldImages)
}

/// Someone who has signed in; `id` is the Cognito `sub`.
#[derive(Debug, Clone, Serialize, Deserialize, svless::Entity)]
#[entity(pk = "USER#{id}", sk = "PROFILE")]
pub struct User {
    /// The user's `sub`.
    pub id: String,
    /// The e-mail address (lower case).
    pub email: String,
    /// The name shown to others.
    pub name: String,
    /// The first sign-in.
    pub created_at: DateTime<Utc>,
}

/// Which user an e-mail address belongs to: one item per address, so invitations find users and
/// an address belongs to one user only.
#[derive(Debug, Clone, Serialize, Deserialize, svless::Entity)]
#[entity(pk = "EMAIL#{email}", sk = "EMAIL")]
pub struct EmailOwner {
    /// The address (lower case).
    pub email: String,
    /// The user's `sub`.
    pub user: String,
}

/// An album.
#[derive(Debug, Clone, Serialize, Deserialize, svless::Entity)]
#[entity(pk = "ALBUM#{id}", sk = "ALBUM")]
pub struct Album {
    /// The album's id.
    pub id: String,
    /// The owner's `sub`.
    pub owner: String,
    /// The title.
    pub title: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// Photos that are ready.
    #[serde(default)]
    pub photo_count: u64,
    /// Members, the owner included.
    #[serde(default)]
    pub member_count: u64,
    /// The optimistic-locking version.
    #[serde(default)]
    pub version: u64,
}

impl Versioned for Album {
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, version: u64) {
        self.version = version;
    }
}

/// The owner, or a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Made the album.
    Owner,
    /// Invited.
    Member,
}

/// A member of an album, in the album's partition.
#[derive(Debug, Clone, Serialize, Deserialize, svless::Entity)]
#[entity(pk = "ALBUM#{album}", sk = "MEMBER#{user}")]
pub struct Membership {
    /// The album.
    pub album: String,
    /// The member's `sub`.
    pub user: String,
    /// The member's e-mail address.
    pub email: String,
    /// The member's name.
    pub name: String,
    /// Owner or member.
    pub role: Role,
    /// Photos of this member that a moderator approved (members with none are new: their
    /// photos are moderated).
    #[serde(default)]
    pub approved_photos: u64,
    /// When they joined.
    pub joined_at: DateTime<Utc>,
}

/// The same membership from the member's side: "the albums I belong to", newest first.
#[derive(Debug, Clone, Serialize, Deserialize, svless::Entity)]
#[entity(pk = "USER#{user}", sk = "ALBUM#{album}")]
#[entity(index = "gsi1", pk = "MEMBEROF#{user}", sk = "{joined_at}#{album}")]
pub struct AlbumLink {
    /// The member's `sub`.
    pub user: String,
    /// The album.
    pub album: String,
    /// The album's title when the member joined (the album item is the truth).
    pub title: String,
    /// Owner or member.
    pub role: Role,
    /// When they joined.
    pub joined_at: DateTime<Utc>,
}

/// Where a photo is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PhotoStatus {
    /// An upload URL was handed out; nothing has arrived yet.
    Uploading,
    /// Arrived; the workflow is running.
    Processing,
    /// Waiting for a moderator.
    Moderation,
    /// Thumbnails made, visible to members.
    Ready,
    /// Refused: too large, not an image, unreadable, or rejected by a moderator.
    Rejected,
}

impl PhotoStatus {
    /// The status as stored and as index keys hold it.
    pub fn as_str(self) -> &'static str {
        match self {
            PhotoStatus::Uploading => "uploading",
            PhotoStatus::Processing => "processing",
            PhotoStatus::Moderation => "moderation",
            PhotoStatus::Ready => "ready",
            PhotoStatus::Rejected => "rejected",
        }
    }
}

/// One thumbnail of a photo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Thumbnail {
    /// The longest side in pixels.
    pub size: u32,
    /// The JPEG's object key.
    pub jpeg: String,
    /// The WebP's object key.
    pub webp: String,
    /// Width and height.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// What the photo itself says.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Metadata {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The image type (`image/jpeg`, ...).
    pub content_type: String,
    /// EXIF `DateTimeOriginal`, as written by the camera.
    pub taken_at: Option<String>,
    /// EXIF `Make` and `Model`.
    pub camera: Option<String>,
}

/// A photo.
#[derive(Debug, Clone, Serialize, Deserialize, svless::Entity)]
#[entity(pk = "ALBUM#{album}", sk = "PHOTO#{id}")]
#[entity(index = "gsi2", pk = "PHOTOS#{status_key}", sk = "{uploaded_at}#{id}")]
#[entity(index = "lsi1", sk = "{uploaded_at}")]
pub struct Photo {
    /// The album.
    pub album: String,
    /// The photo's id.
    pub id: String,
    /// Who uploaded it.
    pub owner: String,
    /// The uploader's name.
    pub owner_name: String,
    /// The status as stored (`status_key` mirrors it for the index).
    pub status: PhotoStatus,
    /// The status, as the `gsi2` key holds it.
    pub status_key: String,
    /// The file name the browser gave.
    pub file_name: String,
    /// The content type the browser declared.
    pub content_type: String,
    /// The size the browser declared.
    pub declared_size: u64,
    /// When the upload URL was handed out.
    pub uploaded_at: DateTime<Utc>,
    /// The original's object key.
    pub key: String,
    /// Thumbnails, smallest first, once ready.
    #[serde(default)]
    pub thumbnails: Vec<Thumbnail>,
    /// What the image says, once processed.
    #[serde(default)]
    pub metadata: Option<Metadata>,
    /// Why it was rejected.
    #[serde(default)]
    pub reason: Option<String>,
    /// The workflow's task token while a moderator decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_token: Option<String>,
    /// The optimistic-locking version.
    #[serde(default)]
    pub version: u64,
}

impl Photo {
    /// Sets the status and its index key together.
    pub fn set_status(&mut self, status: PhotoStatus) {
        self.status = status;
        self.status_key = status.as_str().to_owned();
    }
}

impl Versioned for Photo {
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, version: u64) {
        self.version = version;
    }
}

/// A comment on an album, in time order.
#[derive(Debug, Clone, Serialize, Deserialize, svless::Entity, schemars::JsonSchema)]
#[entity(pk = "ALBUM#{album}", sk = "COMMENT#{at}#{id}")]
pub struct Comment {
    /// The album.
    pub album: String,
    /// When it was written.
    pub at: DateTime<Utc>,
    /// The comment's id.
    pub id: String,
    /// The author's `sub`.
    pub author: String,
    /// The author's name.
    pub author_name: String,
    /// The text.
    pub text: String,
}

/// An upload URL handed out and not used yet; DynamoDB's TTL removes it after it expires, and
/// the nightly sweep removes what TTL has not yet.
#[derive(Debug, Clone, Serialize, Deserialize, svless::Entity)]
#[entity(pk = "TICKET#{photo}", sk = "TICKET")]
#[entity(index = "gsi2", pk = "TICKETS", sk = "{expires}")]
pub struct UploadTicket {
    /// The photo it is for.
    pub photo: String,
    /// The album.
    pub album: String,
    /// The uploader.
    pub user: String,
    /// The object key the URL writes.
    pub key: String,
    /// When the URL expires.
    pub expires: DateTime<Utc>,
    /// The same, in epoch seconds, for DynamoDB's TTL.
    pub expires_at: i64,
}

/// A WebSocket connection watching an album.
#[derive(Debug, Clone, Serialize, Deserialize, svless::Entity)]
#[entity(pk = "ALBUM#{album}", sk = "SUB#{connection}")]
#[entity(index = "gsi1", pk = "CONN#{connection}", sk = "{album}")]
pub struct Subscription {
    /// The album.
    pub album: String,
    /// The API Gateway connection id.
    pub connection: String,
    /// The subscriber.
    pub user: String,
    /// When to forget it (API Gateway closes a connection after two hours).
    pub expires_at: i64,
}

/// A WebSocket connection and who opened it.
#[derive(Debug, Clone, Serialize, Deserialize, svless::Entity)]
#[entity(pk = "CONN#{connection}", sk = "CONN")]
pub struct Connection {
    /// The API Gateway connection id.
    pub connection: String,
    /// Who connected (the ID token's `sub`).
    pub user: String,
    /// When to forget it.
    pub expires_at: i64,
}

/// A new id, 26 hex digits: the time in milliseconds and a sequence number (16 digits, never
/// repeating or going back within a process, so ids made one after the other sort in that
/// order), then 40 random bits from the operating system's generator.
pub fn new_id() -> Result<String, getrandom::Error> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0) << 16;
    let mut previous = LAST.load(Ordering::Relaxed);
    let stamp = loop {
        let next = now.max(previous + 1);
        match LAST.compare_exchange_weak(previous, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => break next,
            Err(seen) => previous = seen,
        }
    };
    let mut random = [0u8; 5];
    getrandom::fill(&mut random)?;
    let mut id = format!("{stamp:016x}");
    for b in random {
        id.push_str(&format!("{b:02x}"));
    }
    Ok(id)
}
