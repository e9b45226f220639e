//! Photo processing: the S3 notification that starts the workflow, and the workflow's tasks
//! (`statemachine/photo.asl.json`).
//!
//! | state | task | errors |
//! | --- | --- | --- |
//! | Validate | `validate-photo`: size, image type by its magic bytes, whether to moderate | `Photo.TooLarge`, `Photo.UnsupportedType`, `Photo.Gone` |
//! | Process → Thumbnails (Map over sizes) | `make-thumbnail`: a JPEG and a WebP per size | `Photo.Corrupt` |
//! | Process → Metadata | `read-metadata`: dimensions, EXIF date and camera | `Photo.Corrupt` |
//! | Moderate (`.waitForTaskToken`) | `request-moderation`: the photo waits; `POST /moderation/...` answers | |
//! | MarkReady | `finish-photo`: ready, and the album's count, in one transaction | |
//! | Reject | `reject-photo`: rejected, with the reason | |
//!
//! `Photo.Unavailable` (a store that did not answer) is retried with backoff.

use crate::Services;
use crate::model::{Album, Membership, Metadata, Photo, PhotoStatus, Thumbnail, UploadTicket};
use serde::{Deserialize, Serialize};
use std::io::Cursor;
use svless::metrics::Unit;
use svless::source::s3::S3Object;
use svless::source::task::WithToken;
use svless::store::dynamo::{Condition, Error as DbError, Update, Utc, value};
use svless::store::object::{Key, ObjectStoreExt as _, PutBody, PutOptions};
use svless::{App, Metrics, State};

/// The thumbnail sizes, longest side in pixels.
pub const THUMBNAIL_SIZES: [u32; 3] = [160, 480, 1280];

/// The largest image, in pixels per side, the workflow decodes (a small file can describe a
/// huge image).
pub const MAX_SIDE: u32 = 12_000;

/// Adds the upload handler and the workflow's tasks.
pub fn handlers(app: App<Services>) -> App<Services> {
    app.on(on_upload)
        .on(validate)
        .on(make_thumbnail)
        .on(read_metadata)
        .on(request_moderation)
        .on(finish)
        .on(reject)
}

/// What can go wrong with a photo, by the names the workflow's `Retry` and `Catch` use.
#[derive(Debug, thiserror::Error, svless::IntoNamedError)]
pub enum PhotoError {
    /// Over the size limit.
    #[error("the file is {size} bytes; photos are at most {max} bytes")]
    #[error_type("Photo.TooLarge")]
    TooLarge {
        /// The file's size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// Not a JPEG, PNG or WebP image.
    #[error("the file is not a JPEG, PNG or WebP image ({0})")]
    #[error_type("Photo.UnsupportedType")]
    UnsupportedType(String),
    /// An image that does not decode.
    #[error("the image cannot be read: {0}")]
    #[error_type("Photo.Corrupt")]
    Corrupt(String),
    /// The photo was deleted while it was processed.
    #[error("the photo {0} is gone")]
    #[error_type("Photo.Gone")]
    Gone(String),
    /// A store did not answer; worth retrying.
    #[error("a store did not answer: {0}")]
    #[error_type("Photo.Unavailable")]
    Unavailable(String),
}

impl From<DbError> for PhotoError {
    fn from(err: DbError) -> Self {
        PhotoError::Unavailable(err.to_string())
    }
}

impl From<svless::store::object::Error> for PhotoError {
    fn from(err: svless::store::object::Error) -> Self {
        PhotoError::Unavailable(err.to_string())
    }
}

fn key(text: &str) -> Result<Key, PhotoError> {
    Key::new(text).map_err(|e| PhotoError::Unavailable(format!("the key {text}: {e}")))
}

/// `uploads/{album}/{photo}` → album and photo.
pub fn parse_upload_key(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix("uploads/")?;
    let (album, photo) = rest.split_once('/')?;
    let ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
    (ok(album) && ok(photo)).then_some((album, photo))
}

/// The workflow's input.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Arrived {
    /// The album.
    pub album: String,
    /// The photo.
    pub photo: String,
    /// The original's key.
    pub key: String,
}

/// A file arrived under `uploads/`: the photo moves on to processing and its workflow starts
/// (named after the photo, so a repeated notification starts it once). A file without a
/// ticket — its URL expired, or it was never handed out — is deleted.
#[svless::s3(prefix = "uploads/", events = "ObjectCreated:*")]
pub async fn on_upload(
    object: S3Object,
    State(services): State<Services>,
    metrics: Metrics,
) -> Result<(), PhotoError> {
    let Some((album, photo)) = parse_upload_key(&object.key) else {
        tracing::warn!(key = %object.key, "a file outside the upload layout is left alone");
        return Ok(());
    };
    let ticket: Option<UploadTicket> = services
        .table
        .get_consistent(&UploadTicket::key(photo))
        .await?;
    let Some(ticket) = ticket.filter(|t| t.key == object.key && t.album == album) else {
        tracing::warn!(key = %object.key, "a file without an upload ticket is deleted");
        services.photos.delete(&key(&object.key)?, None).await?;
        return Ok(());
    };
    let input = Arrived {
        album: album.to_owned(),
        photo: photo.to_owned(),
        key: object.key.clone(),
    };
    let input =
        serde_json::to_string(&input).map_err(|e| PhotoError::Unavailable(e.to_string()))?;
    let started = services
        .sfn()
        .start_execution()
        .state_machine_arn(&services.settings.workflow_arn)
        .name(photo)
        .input(input)
        .send()
        .await;
    match started {
        Ok(_) => {}
        Err(err) => {
            let err = aws_sdk_sfn::Error::from(err);
            if !matches!(err, aws_sdk_sfn::Error::ExecutionAlreadyExists(_)) {
                return Err(PhotoError::Unavailable(format!(
                    "the workflow did not start: {err}"
                )));
            }
        }
    }
    // The ticket is used; the photo is processing unless the workflow got further already.
    let current: Option<Photo> = services
        .table
        .get_consistent(&Photo::key(album, photo))
        .await?;
    let mut transaction = services
        .table
        .transaction()
        .delete(&UploadTicket::key(photo), None)?;
    if let Some(mut current) = current.filter(|p| p.status == PhotoStatus::Uploading) {
        let read = current.version;
        current.set_status(PhotoStatus::Processing);
        current.version = read + 1;
        transaction = transaction.put_if(&current, Condition::eq("version", value(&read)?))?;
    }
    match transaction.commit().await {
        Ok(()) | Err(DbError::TransactionCancelled { .. }) => {}
        Err(other) => return Err(other.into()),
    }
    metrics.dimension("Workflow", crate::WORKFLOW_NAME);
    metrics.count("PhotosUploaded", 1.0);
    tracing::info!(album, photo, user = %ticket.user, "a photo arrived; its workflow runs");
    Ok(())
}

/// What `validate-photo` hands on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Validated {
    /// The album.
    pub album: String,
    /// The photo.
    pub photo: String,
    /// The original's key.
    pub key: String,
    /// The image type, from the file's bytes.
    pub content_type: String,
    /// The file's size.
    pub size: u64,
    /// Whether a moderator must see it first.
    pub moderate: bool,
    /// The thumbnail sizes to make.
    pub sizes: Vec<u32>,
}

/// The image type a file's first bytes say it is.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [0xFF, 0xD8, 0xFF, ..] => Some("image/jpeg"),
        [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some("image/png"),
        [
            b'R',
            b'I',
            b'F',
            b'F',
            _,
            _,
            _,
            _,
            b'W',
            b'E',
            b'B',
            b'P',
            ..,
        ] => Some("image/webp"),
        _ => None,
    }
}

/// Checks the file: its size, its type by its bytes; decides on moderation (the uploader is
/// not the owner, and no photo of theirs was approved in this album yet).
#[svless::task(name = "validate-photo")]
pub async fn validate(
    input: Arrived,
    State(services): State<Services>,
) -> Result<Validated, PhotoError> {
    let photo: Option<Photo> = services
        .table
        .get_consistent(&Photo::key(&input.album, &input.photo))
        .await?;
    let Some(photo) = photo else {
        return Err(PhotoError::Gone(input.photo));
    };
    let object = key(&input.key)?;
    let meta = match services
        .photos
        .head(&object, svless::store::object::GetOptions::default())
        .await
    {
        Ok(meta) => meta,
        Err(svless::store::object::Error::NotFound { .. }) => {
            return Err(PhotoError::Gone(input.photo));
        }
        Err(other) => return Err(other.into()),
    };
    let max = services.settings.max_photo_bytes;
    if meta.size > max {
        return Err(PhotoError::TooLarge {
            size: meta.size,
            max,
        });
    }
    let head = services
        .photos
        .get(
            &object,
            svless::store::object::GetOptions::new()
                .range(svless::store::object::ByteRange::Bounded(0, 15)),
        )
        .await?
        .body
        .collect()
        .await?;
    let Some(content_type) = sniff(&head) else {
        return Err(PhotoError::UnsupportedType(format!(
            "it begins {:02x?}",
            &head[..head.len().min(4)]
        )));
    };
    let album: Option<Album> = services.table.get(&Album::key(&input.album)).await?;
    let Some(album) = album else {
        return Err(PhotoError::Gone(input.photo));
    };
    let membership: Option<Membership> = services
        .table
        .get_consistent(&Membership::key(&input.album, &photo.owner))
        .await?;
    let trusted = photo.owner == album.owner || membership.is_some_and(|m| m.approved_photos > 0);
    Ok(Validated {
        album: input.album,
        photo: input.photo,
        key: input.key,
        content_type: content_type.to_owned(),
        size: meta.size,
        moderate: !trusted,
        sizes: THUMBNAIL_SIZES.to_vec(),
    })
}

/// One item of the thumbnails Map.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ThumbnailJob {
    /// The album.
    pub album: String,
    /// The photo.
    pub photo: String,
    /// The original's key.
    pub key: String,
    /// The longest side.
    pub size: u32,
}

fn decode(bytes: &[u8]) -> Result<image::DynamicImage, PhotoError> {
    let mut reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| PhotoError::Corrupt(e.to_string()))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    reader
        .decode()
        .map_err(|e| PhotoError::Corrupt(e.to_string()))
}

/// Resizes to `size` on the longest side (never up) and encodes a JPEG (quality 82) and a
/// lossless WebP.
pub fn render_thumbnail(
    bytes: &[u8],
    size: u32,
) -> Result<(Vec<u8>, Vec<u8>, u32, u32), PhotoError> {
    let image = decode(bytes)?;
    let small = if image.width() > size || image.height() > size {
        image.thumbnail(size, size)
    } else {
        image
    };
    let rgb = small.to_rgb8();
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 82)
        .encode_image(&rgb)
        .map_err(|e| PhotoError::Corrupt(e.to_string()))?;
    let mut webp = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut webp)
        .encode(
            rgb.as_raw(),
            rgb.width(),
            rgb.height(),
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|e| PhotoError::Corrupt(e.to_string()))?;
    Ok((jpeg, webp, rgb.width(), rgb.height()))
}

/// Makes one size's thumbnails.
#[svless::task(name = "make-thumbnail")]
pub async fn make_thumbnail(
    job: ThumbnailJob,
    State(services): State<Services>,
    metrics: Metrics,
) -> Result<Thumbnail, PhotoError> {
    let bytes = services.photos.get_bytes(&key(&job.key)?).await?;
    let size = job.size;
    let rendered = tokio::task::spawn_blocking(move || render_thumbnail(&bytes, size))
        .await
        .map_err(|e| PhotoError::Unavailable(format!("the resize stopped: {e}")))?;
    let (jpeg, webp, width, height) = match rendered {
        Ok(done) => done,
        Err(err) => {
            metrics.count("ThumbnailsFailed", 1.0);
            return Err(err);
        }
    };
    let base = format!("thumbs/{}/{}/{}", job.album, job.photo, job.size);
    let jpeg_key = format!("{base}.jpg");
    let webp_key = format!("{base}.webp");
    services
        .photos
        .put(
            &key(&jpeg_key)?,
            PutBody::Bytes(jpeg.into()),
            PutOptions::new().content_type("image/jpeg"),
        )
        .await?;
    services
        .photos
        .put(
            &key(&webp_key)?,
            PutBody::Bytes(webp.into()),
            PutOptions::new().content_type("image/webp"),
        )
        .await?;
    Ok(Thumbnail {
        size: job.size,
        jpeg: jpeg_key,
        webp: webp_key,
        width,
        height,
    })
}

/// Reads dimensions and the EXIF date and camera.
pub fn read_image_metadata(bytes: &[u8]) -> Result<Metadata, PhotoError> {
    let content_type = sniff(bytes)
        .ok_or_else(|| PhotoError::UnsupportedType("not an image".into()))?
        .to_owned();
    let (width, height) = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| PhotoError::Corrupt(e.to_string()))?
        .into_dimensions()
        .map_err(|e| PhotoError::Corrupt(e.to_string()))?;
    let mut metadata = Metadata {
        width,
        height,
        content_type,
        taken_at: None,
        camera: None,
    };
    if let Ok(exif) = exif::Reader::new().read_from_container(&mut Cursor::new(bytes)) {
        let text = |tag| {
            exif.get_field(tag, exif::In::PRIMARY)
                .map(|f| {
                    f.display_value()
                        .to_string()
                        .trim_matches('"')
                        .trim()
                        .to_owned()
                })
                .filter(|s| !s.is_empty())
        };
        metadata.taken_at = text(exif::Tag::DateTimeOriginal).or_else(|| text(exif::Tag::DateTime));
        metadata.camera = match (text(exif::Tag::Make), text(exif::Tag::Model)) {
            (Some(make), Some(model)) if model.starts_with(&make) => Some(model),
            (Some(make), Some(model)) => Some(format!("{make} {model}")),
            (make, model) => make.or(model),
        };
    }
    Ok(metadata)
}

/// Reads the photo's metadata.
#[svless::task(name = "read-metadata")]
pub async fn read_metadata(
    input: Validated,
    State(services): State<Services>,
) -> Result<Metadata, PhotoError> {
    let bytes = services.photos.get_bytes(&key(&input.key)?).await?;
    tokio::task::spawn_blocking(move || read_image_metadata(&bytes))
        .await
        .map_err(|e| PhotoError::Unavailable(format!("reading stopped: {e}")))?
}

/// What the last states get.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Processed {
    /// The album.
    pub album: String,
    /// The photo.
    pub photo: String,
    /// The thumbnails made.
    pub thumbnails: Vec<Thumbnail>,
    /// The metadata read.
    pub metadata: Metadata,
    /// When the workflow started (`$$.Execution.StartTime`), for `ProcessingMilliseconds`.
    #[serde(default)]
    pub started: Option<String>,
}

/// The photo waits for a moderator, its thumbnails visible to admins; the token is kept on the
/// photo for `POST /moderation/...` to answer with.
#[svless::task(name = "request-moderation")]
pub async fn request_moderation(
    input: WithToken<Processed>,
    State(services): State<Services>,
) -> Result<(), PhotoError> {
    let processed = input.input;
    let token = input.task_token.as_str().to_owned();
    let changed = services
        .table
        .modify::<Photo>(
            &Photo::key(&processed.album, &processed.photo),
            8,
            |photo| {
                photo.set_status(PhotoStatus::Moderation);
                photo.task_token = Some(token.clone());
                photo.thumbnails = processed.thumbnails.clone();
                photo.metadata = Some(processed.metadata.clone());
            },
        )
        .await;
    match changed {
        Ok(_) => Ok(()),
        Err(DbError::NotFound) => Err(PhotoError::Gone(processed.photo)),
        Err(other) => Err(other.into()),
    }
}

/// What `finish-photo` and `reject-photo` answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    /// The photo.
    pub photo: String,
    /// ready, rejected, or gone.
    pub status: String,
}

/// The photo is ready: status, thumbnails, metadata, and the album's count in one transaction.
#[svless::task(name = "finish-photo")]
pub async fn finish(
    input: Processed,
    State(services): State<Services>,
    metrics: Metrics,
) -> Result<Outcome, PhotoError> {
    let photo_key = Photo::key(&input.album, &input.photo);
    let current: Option<Photo> = services.table.get_consistent(&photo_key).await?;
    let Some(current) = current else {
        // Deleted while it was processed: the thumbnails made since go too.
        if let Err(err) = remove_files(&services, &input.album, &input.photo, None).await {
            tracing::warn!(error = %err, "thumbnails of a deleted photo stay");
        }
        return Ok(Outcome {
            photo: input.photo,
            status: "gone".into(),
        });
    };
    if current.status == PhotoStatus::Ready {
        // A retry after the write went through.
        return Ok(Outcome {
            photo: input.photo,
            status: "ready".into(),
        });
    }
    let mut ready = current.clone();
    ready.set_status(PhotoStatus::Ready);
    ready.thumbnails = input.thumbnails.clone();
    ready.metadata = Some(input.metadata.clone());
    ready.task_token = None;
    ready.version = current.version + 1;
    let written = services
        .table
        .transaction()
        .put_if(&ready, Condition::eq("version", value(&current.version)?))?
        .update(
            &Album::key(&input.album),
            Update::new().add("photo_count", &1)?,
            Some(Condition::exists("id")),
        )?
        .commit()
        .await;
    match written {
        Ok(()) => {}
        Err(DbError::TransactionCancelled { .. }) => {
            // Deleted (with its album, or by itself) or changed meanwhile: the next attempt
            // reads it again.
            return Err(PhotoError::Unavailable(
                "the photo changed while it was marked ready".into(),
            ));
        }
        Err(other) => return Err(other.into()),
    }
    if let Some(started) = input
        .started
        .as_deref()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
    {
        let elapsed = Utc::now().signed_duration_since(started).num_milliseconds();
        metrics.dimension("Workflow", crate::WORKFLOW_NAME);
        metrics.add(
            "ProcessingMilliseconds",
            Unit::Milliseconds,
            elapsed.max(0) as f64,
        );
    }
    Ok(Outcome {
        photo: input.photo,
        status: "ready".into(),
    })
}

/// Deletes a photo's files: every thumbnail under `thumbs/{album}/{photo}/` (those of a run that
/// failed half-way too) and, when given, the original.
pub async fn remove_files(
    services: &Services,
    album: &str,
    photo: &str,
    original: Option<&str>,
) -> Result<(), PhotoError> {
    use futures_util::TryStreamExt as _;
    let prefix = format!("thumbs/{album}/{photo}/");
    let mut pages = std::pin::pin!(
        services
            .photos
            .list(svless::store::object::ListRequest::prefix(&prefix))
    );
    while let Some(page) = pages.try_next().await? {
        for object in &page.objects {
            services.photos.delete(&key(&object.key)?, None).await?;
        }
    }
    if let Some(original) = original {
        services.photos.delete(&key(original)?, None).await?;
    }
    Ok(())
}

/// The error a state caught (`{"Error": ..., "Cause": ...}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Caught {
    /// The error name.
    #[serde(rename = "Error")]
    pub error: String,
    /// The cause: for a Lambda task, the function's error as JSON.
    #[serde(rename = "Cause", default)]
    pub cause: Option<String>,
}

impl Caught {
    /// The message to show: the function's `errorMessage` when the cause carries one.
    pub fn reason(&self) -> String {
        let cause = self.cause.as_deref().unwrap_or_default();
        let message = serde_json::from_str::<serde_json::Value>(cause)
            .ok()
            .and_then(|v| {
                v.get("errorMessage")
                    .and_then(|m| m.as_str())
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| cause.to_owned());
        match self.error.as_str() {
            "States.Timeout" => "no moderator decided in time".into(),
            _ if message.is_empty() => self.error.clone(),
            _ => message,
        }
    }
}

/// The input of `reject-photo`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rejection {
    /// The album.
    pub album: String,
    /// The photo.
    pub photo: String,
    /// What was caught.
    pub error: Caught,
}

/// The photo is rejected, with the reason; its files go.
#[svless::task(name = "reject-photo")]
pub async fn reject(
    input: Rejection,
    State(services): State<Services>,
    metrics: Metrics,
) -> Result<Outcome, PhotoError> {
    let reason = input.error.reason();
    let photo_key = Photo::key(&input.album, &input.photo);
    let current: Option<Photo> = services.table.get_consistent(&photo_key).await?;
    let Some(current) = current else {
        return Ok(Outcome {
            photo: input.photo,
            status: "gone".into(),
        });
    };
    let changed = services
        .table
        .modify::<Photo>(&photo_key, 8, |photo| {
            photo.set_status(PhotoStatus::Rejected);
            photo.reason = Some(reason.clone());
            photo.thumbnails = Vec::new();
            photo.task_token = None;
        })
        .await;
    match changed {
        Ok(_) | Err(DbError::NotFound) => {}
        Err(other) => return Err(other.into()),
    }
    metrics.dimension("Reason", &input.error.error);
    metrics.count("PhotosRejected", 1.0);
    // Every file of the photo goes: the original, and thumbnails made before the failure.
    remove_files(&services, &input.album, &input.photo, Some(&current.key)).await?;
    Ok(Outcome {
        photo: input.photo,
        status: "rejected".into(),
    })
}
