//! What the webapp's tests share: real images made here (JPEG with EXIF, PNG, WebP), the app on
//! in-process stores, callers with claims, and the built binary started on free ports.

#![allow(dead_code, unreachable_pub)]

use serde_json::{Value, json};
use std::io::Cursor;
use std::path::PathBuf;
use std::sync::OnceLock;
use svless::App;
use svless::store::dynamo::{MemoryDb, Table};
use webapp::{Services, Settings};

// ------------------------------------------------------------------ images

fn gradient(width: u32, height: u32) -> image::RgbImage {
    image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([
            (x * 255 / width.max(1)) as u8,
            (y * 255 / height.max(1)) as u8,
            ((x + y) % 256) as u8,
        ])
    })
}

/// Noise, which compresses badly: a large file from a small image.
fn noise(width: u32, height: u32) -> image::RgbImage {
    let mut state: u32 = 0x9E37_79B9;
    image::RgbImage::from_fn(width, height, |_, _| {
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state & 0xFF) as u8
        };
        image::Rgb([next(), next(), next()])
    })
}

fn encode(image: &image::RgbImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(image.clone())
        .write_to(&mut out, format)
        .expect("the image encodes");
    out.into_inner()
}

/// A JPEG of `width` × `height`.
pub fn jpeg(width: u32, height: u32) -> Vec<u8> {
    encode(&gradient(width, height), image::ImageFormat::Jpeg)
}

/// A PNG.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    encode(&gradient(width, height), image::ImageFormat::Png)
}

/// A (lossless) WebP.
pub fn webp(width: u32, height: u32) -> Vec<u8> {
    encode(&gradient(width, height), image::ImageFormat::WebP)
}

/// A PNG of noise, about `3 × width × height` bytes.
pub fn noisy_png(width: u32, height: u32) -> Vec<u8> {
    encode(&noise(width, height), image::ImageFormat::Png)
}

/// An EXIF APP1 segment (little-endian TIFF) with `Make`, `Model` and `DateTimeOriginal`, as a
/// camera writes it (EXIF 2.32, sections 4.5 and 4.6).
fn exif_segment(make: &str, model: &str, taken: &str) -> Vec<u8> {
    fn entry(out: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: u32) {
        out.extend(tag.to_le_bytes());
        out.extend(kind.to_le_bytes());
        out.extend(count.to_le_bytes());
        out.extend(value.to_le_bytes());
    }
    let (make, model, taken) = (
        format!("{make}\0").into_bytes(),
        format!("{model}\0").into_bytes(),
        format!("{taken}\0").into_bytes(),
    );
    let ifd0 = 8u32;
    let ifd0_size = 2 + 3 * 12 + 4;
    let exif_ifd = ifd0 + ifd0_size;
    let exif_size = 2 + 12 + 4;
    let data = exif_ifd + exif_size;
    let (make_at, model_at) = (data, data + make.len() as u32);
    let taken_at = model_at + model.len() as u32;
    let mut tiff = b"II*\0".to_vec();
    tiff.extend(ifd0.to_le_bytes());
    tiff.extend(3u16.to_le_bytes());
    entry(&mut tiff, 0x010F, 2, make.len() as u32, make_at);
    entry(&mut tiff, 0x0110, 2, model.len() as u32, model_at);
    entry(&mut tiff, 0x8769, 4, 1, exif_ifd);
    tiff.extend(0u32.to_le_bytes());
    tiff.extend(1u16.to_le_bytes());
    entry(&mut tiff, 0x9003, 2, taken.len() as u32, taken_at);
    tiff.extend(0u32.to_le_bytes());
    tiff.extend(&make);
    tiff.extend(&model);
    tiff.extend(&taken);
    let mut segment = vec![0xFF, 0xE1];
    segment.extend(((2 + 6 + tiff.len()) as u16).to_be_bytes());
    segment.extend(b"Exif\0\0");
    segment.extend(tiff);
    segment
}

/// A JPEG with EXIF: the camera and the time the photo was taken.
pub fn jpeg_with_exif(width: u32, height: u32, make: &str, model: &str, taken: &str) -> Vec<u8> {
    let plain = jpeg(width, height);
    assert_eq!(&plain[..2], &[0xFF, 0xD8], "a JPEG starts with SOI");
    let mut out = plain[..2].to_vec();
    out.extend(exif_segment(make, model, taken));
    out.extend(&plain[2..]);
    out
}

// ------------------------------------------------------------------ the app in process

/// Settings for tests: the local defaults with a small photo limit.
pub fn settings(max_photo_bytes: u64) -> Settings {
    Settings {
        table: "webapp".into(),
        bucket: "webapp-photos".into(),
        workflow_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:photo-processing".into(),
        region: "us-east-1".into(),
        user_pool_id: "us-east-1_svlessLcl".into(),
        client_id: "svlesslocalclient000000000".into(),
        cognito_endpoint: "http://127.0.0.1:9/".into(),
        jwks_url: "http://127.0.0.1:9/us-east-1_svlessLcl/.well-known/jwks.json".into(),
        websocket_url: "ws://127.0.0.1:9".into(),
        websocket_domain: "localhost".into(),
        websocket_stage: "local".into(),
        max_photo_bytes,
    }
}

fn data_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("svless-webapp-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        svless::store::local::set_data_dir(&dir).expect("a writable data directory");
        svless::store::local::set_presign_endpoint("http://127.0.0.1:9");
        dir
    })
}

/// The services on a fresh in-memory table and the process's local bucket; the SDK clients
/// point at an address nothing answers (tests that need Step Functions run it in process).
pub async fn services(max_photo_bytes: u64) -> Services {
    data_dir();
    // A table and a bucket of its own for every test: tests run side by side in one process,
    // and a sweep of one must not see another's files.
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut settings = settings(max_photo_bytes);
    settings.bucket = format!("webapp-photos-{n}");
    let table = Table::memory(webapp::model::table_def("webapp"), &MemoryDb::new());
    table.create().await.expect("the table");
    let photos = svless::store::local::bucket(&settings.bucket)
        .await
        .expect("the bucket");
    let config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:9")
        .build();
    Services::new(settings, table, photos, &config).expect("the services")
}

/// The app on [`services`].
pub async fn app(max_photo_bytes: u64) -> (App<Services>, Services) {
    let services = services(max_photo_bytes).await;
    (webapp::app(services.clone()), services)
}

/// A signed-in caller, as the gateway's JWT authorizer passes their ID token's claims on.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The `sub`.
    pub sub: String,
    /// The e-mail address.
    pub email: String,
    /// Groups.
    pub groups: Vec<String>,
}

impl Caller {
    /// A caller named `name` (`name@example.com`).
    pub fn new(name: &str) -> Self {
        Caller {
            sub: format!("sub-{name}"),
            email: format!("{name}@example.com"),
            groups: Vec::new(),
        }
    }

    /// An admin.
    pub fn admin(name: &str) -> Self {
        Caller {
            groups: vec!["admin".into()],
            ..Caller::new(name)
        }
    }

    /// The authorizer context of an HTTP API JWT authorizer for this caller.
    pub fn authorizer(&self) -> Value {
        json!({"jwt": {"claims": {
            "sub": self.sub, "email": self.email, "cognito:username": self.email,
            "cognito:groups": format!("[{}]", self.groups.join(" ")),
            "token_use": "id", "aud": "svlesslocalclient000000000",
            "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_svlessLcl"
        }, "scopes": null}})
    }
}
