//! The nightly clean-up (an EventBridge schedule): upload tickets whose URL expired without a
//! file, with their `uploading` photos, and files under `uploads/` that no photo owns (older
//! than a day). Connections and subscriptions carry a TTL (`expires_at`) for DynamoDB to
//! remove; `$disconnect` removes them first.

use crate::Services;
use crate::model::{Photo, PhotoStatus, UploadTicket};
use crate::workflow::parse_upload_key;
use futures_util::TryStreamExt as _;
use serde::Serialize;
use std::time::{Duration, SystemTime};
use svless::source::eventbridge::Scheduled;
use svless::store::dynamo::{Error as DbError, SortKey, Utc};
use svless::store::object::{Key, ListRequest, ObjectStoreExt as _};
use svless::{App, Metrics, State};

/// How old a file without a photo must be before it is removed (uploads in flight are younger).
pub const ORPHAN_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// Adds the schedule's handler.
pub fn handlers(app: App<Services>) -> App<Services> {
    app.on(nightly)
}

/// What one sweep removed.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Swept {
    /// Upload tickets past their expiry.
    pub tickets: usize,
    /// Photos whose file never arrived.
    pub abandoned_photos: usize,
    /// Files under `uploads/` without a photo.
    pub orphaned_files: usize,
}

/// Why a sweep stopped; the schedule's next run starts over.
#[derive(Debug, thiserror::Error, svless::IntoNamedError)]
pub enum SweepError {
    /// The table did not answer.
    #[error("the table did not answer: {0}")]
    #[error_type("Sweep.StoreUnavailable")]
    Table(#[from] DbError),
    /// The bucket did not answer.
    #[error("the bucket did not answer: {0}")]
    #[error_type("Sweep.BucketUnavailable")]
    Bucket(#[from] svless::store::object::Error),
}

/// Runs every night (`cron(0 3 * * ? *)`).
#[svless::event(source = "aws.events", detail_type = "Scheduled Event")]
pub async fn nightly(
    _event: Scheduled,
    State(services): State<Services>,
    metrics: Metrics,
) -> Result<(), SweepError> {
    let swept = sweep(&services, SystemTime::now()).await?;
    metrics.count(
        "UploadsSwept",
        (swept.abandoned_photos + swept.orphaned_files) as f64,
    );
    tracing::info!(?swept, "the nightly sweep is done");
    Ok(())
}

/// One sweep as of `now`.
pub async fn sweep(services: &Services, now: SystemTime) -> Result<Swept, SweepError> {
    let mut swept = Swept::default();
    let now_utc: chrono::DateTime<Utc> = now.into();
    let cutoff = now_utc.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    loop {
        let expired = services
            .table
            .query::<UploadTicket>(UploadTicket::gsi2_partition())
            .sort_key(SortKey::Lt(cutoff.clone()))
            .limit(100)
            .page()
            .await?;
        if expired.items.is_empty() {
            break;
        }
        for ticket in &expired.items {
            let photo: Option<Photo> = services
                .table
                .get_consistent(&Photo::key(&ticket.album, &ticket.photo))
                .await?;
            if let Some(photo) = photo.filter(|p| p.status == PhotoStatus::Uploading) {
                services
                    .table
                    .delete(&Photo::key(&photo.album, &photo.id))
                    .await?;
                swept.abandoned_photos += 1;
                if let Ok(key) = Key::new(&ticket.key) {
                    services.photos.delete(&key, None).await?;
                }
            }
            services
                .table
                .delete(&UploadTicket::key(&ticket.photo))
                .await?;
            swept.tickets += 1;
        }
    }
    let mut pages = std::pin::pin!(services.photos.list(ListRequest::prefix("uploads/")));
    while let Some(page) = pages.try_next().await? {
        for object in &page.objects {
            let old = now
                .duration_since(object.last_modified)
                .is_ok_and(|age| age >= ORPHAN_AGE);
            if !old {
                continue;
            }
            let owned = match parse_upload_key(&object.key) {
                Some((album, photo)) => services
                    .table
                    .get::<Photo>(&Photo::key(album, photo))
                    .await?
                    .is_some_and(|p| p.status != PhotoStatus::Rejected),
                None => false,
            };
            if !owned && let Ok(key) = Key::new(&object.key) {
                services.photos.delete(&key, None).await?;
                swept.orphaned_files += 1;
            }
        }
    }
    Ok(swept)
}
