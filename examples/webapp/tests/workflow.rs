//! The photo workflow (`statemachine/photo.asl.json`, the deployed file) run by the local
//! interpreter against the app's tasks, with real images made here: JPEG with EXIF, PNG, WebP;
//! a corrupted JPEG, a file that is not an image, one over the limit; a new member's photo
//! through moderation, approved and rejected.

mod common;

use common::{Caller, app};
use serde_json::{Value, json};
use std::time::Duration;
use svless::App;
use svless::step_functions::{Clock, Status, StepFunctions};
use svless::store::object::{Key, ObjectStoreExt as _};
use svless::testing::TestRequest;
use webapp::Services;
use webapp::api::{AlbumView, UploadTicketView};
use webapp::model::{Album, Membership, Photo, PhotoStatus};

const LIMIT: u64 = 300 * 1024;

struct Fixture {
    app: App<Services>,
    services: Services,
    album: String,
}

async fn fixture() -> Fixture {
    let (app, services) = app(LIMIT).await;
    let ann = Caller::new("ann");
    assert_eq!(
        TestRequest::get("/users/me")
            .authorizer(ann.authorizer())
            .send(&app)
            .await
            .status,
        200
    );
    let album: AlbumView = TestRequest::post("/albums")
        .authorizer(ann.authorizer())
        .json(&json!({"title": "Trip"}))
        .send(&app)
        .await
        .json();
    Fixture {
        app,
        services,
        album: album.id,
    }
}

impl Fixture {
    /// `who` asks for an upload and the file arrives in the bucket; the workflow's input.
    async fn arrive(&self, who: &Caller, name: &str, content_type: &str, bytes: &[u8]) -> Value {
        let ticket = TestRequest::post(&format!("/albums/{}/photos", self.album))
            .authorizer(who.authorizer())
            .json(&json!({"file_name": name, "content_type": content_type, "size": bytes.len().min(1000)}))
            .send(&self.app)
            .await;
        assert_eq!(ticket.status, 201, "{}", ticket.text());
        let ticket: UploadTicketView = ticket.json();
        let key = format!("uploads/{}/{}", self.album, ticket.photo.id);
        self.services
            .photos
            .put_bytes(&Key::new(&key).expect("a key"), bytes.to_vec())
            .await
            .expect("uploaded");
        json!({"album": self.album, "photo": ticket.photo.id, "key": key})
    }

    async fn photo(&self, id: &str) -> Photo {
        self.services
            .table
            .get_consistent::<Photo>(&Photo::key(&self.album, id))
            .await
            .expect("read")
            .expect("the photo is there")
    }

    async fn exists(&self, key: &str) -> bool {
        self.services
            .photos
            .exists(&Key::new(key).expect("a key"))
            .await
            .expect("asked")
    }

    async fn album(&self) -> Album {
        self.services
            .table
            .get_consistent::<Album>(&Album::key(&self.album))
            .await
            .expect("read")
            .expect("the album is there")
    }
}

/// The interpreter, running the app's tasks.
fn machine(f: &Fixture) -> StepFunctions<Services> {
    StepFunctions::new(webapp::app(f.services.clone()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jpeg_with_exif_gets_thumbnails_in_both_formats_and_its_metadata() {
    let f = fixture().await;
    let bytes = common::jpeg_with_exif(1600, 1200, "Fujifilm", "X-T5", "2026:07:14 18:03:22");
    let input = f
        .arrive(&Caller::new("ann"), "lake.jpg", "image/jpeg", &bytes)
        .await;
    let run = machine(&f)
        .run(&webapp::deploy::local_workflow(), input.clone())
        .await
        .expect("valid");
    assert_eq!(
        run.status,
        Status::Succeeded,
        "{:?} {:?}",
        run.error,
        run.cause
    );
    let entered = run.states_entered();
    for state in [
        "Validate",
        "Process",
        "Thumbnails",
        "Thumbnail",
        "Metadata",
        "NeedsModeration",
        "MarkReady",
    ] {
        assert!(entered.contains(&state), "{state} in {entered:?}");
    }
    assert!(
        !entered.contains(&"Moderate"),
        "the owner's photos are not moderated"
    );

    let photo = f.photo(input["photo"].as_str().expect("an id")).await;
    assert_eq!(photo.status, PhotoStatus::Ready);
    let metadata = photo.metadata.clone().expect("metadata");
    assert_eq!((metadata.width, metadata.height), (1600, 1200));
    assert_eq!(metadata.content_type, "image/jpeg");
    assert_eq!(metadata.taken_at.as_deref(), Some("2026-07-14 18:03:22"));
    assert_eq!(metadata.camera.as_deref(), Some("Fujifilm X-T5"));
    let sizes: Vec<_> = photo
        .thumbnails
        .iter()
        .map(|t| (t.size, t.width, t.height))
        .collect();
    assert_eq!(sizes, [(160, 160, 120), (480, 480, 360), (1280, 1280, 960)]);
    for thumbnail in &photo.thumbnails {
        let jpeg = f
            .services
            .photos
            .get_bytes(&Key::new(&thumbnail.jpeg).expect("a key"))
            .await
            .expect("the JPEG");
        let decoded = image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg)
            .expect("a real JPEG");
        assert_eq!(
            (decoded.width(), decoded.height()),
            (thumbnail.width, thumbnail.height)
        );
        let webp = f
            .services
            .photos
            .get_bytes(&Key::new(&thumbnail.webp).expect("a key"))
            .await
            .expect("the WebP");
        let decoded = image::load_from_memory_with_format(&webp, image::ImageFormat::WebP)
            .expect("a real WebP");
        assert_eq!(
            (decoded.width(), decoded.height()),
            (thumbnail.width, thumbnail.height)
        );
    }
    assert_eq!(f.album().await.photo_count, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn png_and_webp_are_read_by_their_bytes_and_small_images_are_not_enlarged() {
    let f = fixture().await;
    let ann = Caller::new("ann");
    for (name, declared, bytes, expected) in [
        ("a.png", "image/png", common::png(300, 100), "image/png"),
        // The browser's type is only a claim: the bytes decide.
        ("b.jpg", "image/jpeg", common::webp(120, 200), "image/webp"),
    ] {
        let input = f.arrive(&ann, name, declared, &bytes).await;
        let run = machine(&f)
            .run(&webapp::deploy::local_workflow(), input.clone())
            .await
            .expect("valid");
        assert_eq!(run.status, Status::Succeeded, "{name}: {:?}", run.cause);
        let photo = f.photo(input["photo"].as_str().expect("an id")).await;
        assert_eq!(photo.status, PhotoStatus::Ready, "{name}");
        let metadata = photo.metadata.expect("metadata");
        assert_eq!(metadata.content_type, expected);
        assert_eq!(metadata.camera, None);
        let longest: Vec<_> = photo
            .thumbnails
            .iter()
            .map(|t| t.width.max(t.height))
            .collect();
        let original = metadata.width.max(metadata.height);
        assert_eq!(
            longest,
            [160, original, original],
            "{name}: never larger than the original"
        );
    }
    assert_eq!(f.album().await.photo_count, 2);
}

async fn rejected(
    f: &Fixture,
    name: &str,
    declared: &str,
    bytes: &[u8],
    error: &str,
    reason: &str,
) {
    let input = f.arrive(&Caller::new("ann"), name, declared, bytes).await;
    let run = machine(f)
        .run(&webapp::deploy::local_workflow(), input.clone())
        .await
        .expect("valid");
    // The workflow handles the failure: it succeeds, having marked the photo rejected.
    assert_eq!(run.status, Status::Succeeded, "{name}: {:?}", run.cause);
    assert!(run.states_entered().contains(&"Reject"), "{name}");
    let details: String = run
        .history
        .iter()
        .map(|e| e.to_json().to_string())
        .collect();
    assert!(details.contains(error), "{name}: {error} in the history");
    let photo = f.photo(input["photo"].as_str().expect("an id")).await;
    assert_eq!(photo.status, PhotoStatus::Rejected, "{name}");
    let said = photo.reason.clone().unwrap_or_default();
    assert!(
        said.contains(reason),
        "{name}: {said:?} should say {reason:?}"
    );
    assert!(photo.thumbnails.is_empty());
    let key = input["key"].as_str().expect("a key");
    assert!(!f.exists(key).await, "{name}: the original is deleted");
    for size in webapp::workflow::THUMBNAIL_SIZES {
        let thumb = format!("thumbs/{}/{}/{size}.jpg", f.album, photo.id);
        assert!(!f.exists(&thumb).await, "{name}: no thumbnail is left");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_non_image_and_oversized_files_are_rejected_with_the_reason() {
    let f = fixture().await;
    // A JPEG whose headers were overwritten: it starts like one, and nothing after decodes.
    // (A merely truncated JPEG decodes, grey where data is missing, as browsers show it.)
    let mut corrupted = common::jpeg(800, 600);
    for byte in corrupted.iter_mut().skip(4).take(600) {
        *byte = 0x5A;
    }
    rejected(
        &f,
        "broken.jpg",
        "image/jpeg",
        &corrupted,
        "Photo.Corrupt",
        "cannot be read",
    )
    .await;
    rejected(
        &f,
        "notes.jpg",
        "image/jpeg",
        b"these are my notes, not a photo",
        "Photo.UnsupportedType",
        "not a JPEG, PNG or WebP",
    )
    .await;
    let big = common::noisy_png(400, 400);
    assert!(big.len() as u64 > LIMIT, "{} bytes", big.len());
    rejected(
        &f,
        "huge.png",
        "image/png",
        &big,
        "Photo.TooLarge",
        &format!("at most {LIMIT} bytes"),
    )
    .await;
    assert_eq!(f.album().await.photo_count, 0);
}

async fn invite_bob(f: &Fixture) -> Caller {
    let bob = Caller::new("bob");
    TestRequest::get("/users/me")
        .authorizer(bob.authorizer())
        .send(&f.app)
        .await;
    let invited = TestRequest::post(&format!("/albums/{}/members", f.album))
        .authorizer(Caller::new("ann").authorizer())
        .json(&json!({"email": "bob@example.com"}))
        .send(&f.app)
        .await;
    assert_eq!(invited.status, 201, "{}", invited.text());
    bob
}

async fn waiting_token(f: &Fixture, photo: &str) -> String {
    for _ in 0..200 {
        let current = f.photo(photo).await;
        if current.status == PhotoStatus::Moderation
            && let Some(token) = current.task_token
        {
            return token;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the photo never waited for a moderator");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_members_photo_waits_for_a_moderator_who_approves_or_rejects_it() {
    let f = fixture().await;
    let bob = invite_bob(&f).await;
    let sfn = machine(&f).clock(Clock::Wall);

    // Approved: ready, with the thumbnails made before the wait.
    let input = f
        .arrive(&bob, "bob.jpg", "image/jpeg", &common::jpeg(640, 480))
        .await;
    let photo = input["photo"].as_str().expect("an id").to_owned();
    let running = tokio::spawn({
        let sfn = sfn.clone();
        async move { sfn.run(&webapp::deploy::local_workflow(), input).await }
    });
    let token = waiting_token(&f, &photo).await;
    let waiting = f.photo(&photo).await;
    assert_eq!(
        waiting.thumbnails.len(),
        3,
        "the moderator sees the thumbnails"
    );
    sfn.send_task_success(&token, json!({"approved": true}))
        .expect("the task waits");
    let run = running.await.expect("joined").expect("valid");
    assert_eq!(run.status, Status::Succeeded, "{:?}", run.cause);
    assert!(run.states_entered().contains(&"Moderate"));
    let done = f.photo(&photo).await;
    assert_eq!((done.status, done.task_token), (PhotoStatus::Ready, None));

    // Rejected: the moderator's reason is the photo's.
    let input = f
        .arrive(&bob, "bob2.jpg", "image/jpeg", &common::jpeg(64, 64))
        .await;
    let photo = input["photo"].as_str().expect("an id").to_owned();
    let running = tokio::spawn({
        let sfn = sfn.clone();
        async move { sfn.run(&webapp::deploy::local_workflow(), input).await }
    });
    let token = waiting_token(&f, &photo).await;
    sfn.send_task_failure(&token, "Photo.Rejected", "not for this album")
        .expect("the task waits");
    let run = running.await.expect("joined").expect("valid");
    assert_eq!(run.status, Status::Succeeded, "{:?}", run.cause);
    let done = f.photo(&photo).await;
    assert_eq!(done.status, PhotoStatus::Rejected);
    assert_eq!(done.reason.as_deref(), Some("not for this album"));
    assert_eq!(f.album().await.photo_count, 1);

    // Once a photo of Bob's was approved (the moderation route counts it), he is trusted.
    f.services
        .table
        .update::<Membership>(
            &Membership::key(&f.album, &bob.sub),
            svless::store::dynamo::Update::new()
                .add("approved_photos", &1)
                .expect("an update"),
            None,
        )
        .await
        .expect("counted");
    let input = f
        .arrive(&bob, "bob3.jpg", "image/jpeg", &common::jpeg(64, 64))
        .await;
    let run = machine(&f)
        .run(&webapp::deploy::local_workflow(), input)
        .await
        .expect("valid");
    assert_eq!(run.status, Status::Succeeded);
    assert!(!run.states_entered().contains(&"Moderate"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_deleted_while_it_is_processed_ends_the_workflow_without_a_trace() {
    let f = fixture().await;
    let ann = Caller::new("ann");
    let input = f
        .arrive(&ann, "gone.jpg", "image/jpeg", &common::jpeg(320, 240))
        .await;
    let photo = input["photo"].as_str().expect("an id").to_owned();
    let deleted = TestRequest::delete(&format!("/albums/{}/photos/{photo}", f.album))
        .authorizer(ann.authorizer())
        .send(&f.app)
        .await;
    assert_eq!(deleted.status, 204);
    let run = machine(&f)
        .run(&webapp::deploy::local_workflow(), input)
        .await
        .expect("valid");
    assert_eq!(run.status, Status::Succeeded, "{:?}", run.cause);
    assert!(run.states_entered().contains(&"Reject"));
    assert_eq!(f.album().await.photo_count, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nightly_sweep_removes_expired_tickets_abandoned_photos_and_orphaned_files() {
    let f = fixture().await;
    let ann = Caller::new("ann");
    // An upload URL handed out and never used; one used and processed; a file nobody asked for.
    let abandoned: UploadTicketView = TestRequest::post(&format!("/albums/{}/photos", f.album))
        .authorizer(ann.authorizer())
        .json(&json!({"file_name": "never.jpg", "content_type": "image/jpeg", "size": 10}))
        .send(&f.app)
        .await
        .json();
    let kept = f
        .arrive(&ann, "kept.jpg", "image/jpeg", &common::jpeg(64, 48))
        .await;
    let run = machine(&f)
        .run(&webapp::deploy::local_workflow(), kept.clone())
        .await
        .expect("valid");
    assert_eq!(run.status, Status::Succeeded);
    let stray = format!("uploads/{}/{}", f.album, "0000000000000000ffffffffff");
    f.services
        .photos
        .put_bytes(&Key::new(&stray).expect("a key"), b"stray".to_vec())
        .await
        .expect("written");

    // Swept now: nothing has expired, nothing is a day old.
    let now = std::time::SystemTime::now();
    let swept = webapp::sweep::sweep(&f.services, now).await.expect("swept");
    assert_eq!(swept, webapp::sweep::Swept::default());

    // Swept two days later: the ticket has expired, the stray file is old.
    let later = now + Duration::from_secs(2 * 24 * 60 * 60);
    let swept = webapp::sweep::sweep(&f.services, later)
        .await
        .expect("swept");
    assert_eq!(
        swept,
        webapp::sweep::Swept {
            tickets: 2,
            abandoned_photos: 1,
            orphaned_files: 1
        },
        "the unused ticket and the used one whose notification never came, one abandoned photo, the stray file"
    );
    let gone = f
        .services
        .table
        .get_consistent::<Photo>(&Photo::key(&f.album, &abandoned.photo.id))
        .await
        .expect("read");
    assert!(gone.is_none(), "the photo whose file never came is gone");
    assert!(!f.exists(&stray).await);
    let photo = f.photo(kept["photo"].as_str().expect("an id")).await;
    assert_eq!(photo.status, PhotoStatus::Ready, "a processed photo stays");
    assert!(f.exists(&photo.key).await, "and so does its file");
    assert_eq!(
        webapp::sweep::sweep(&f.services, later)
            .await
            .expect("swept"),
        webapp::sweep::Swept::default()
    );
}
