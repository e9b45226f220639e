//! A bounded load run of the photo albums on the local cloud, over loopback: `LOAD_USERS`
//! people (8) sign up through the user pool, make an album each, and for `LOAD_SECONDS` (60)
//! list albums, list photos, comment and upload photos (a presigned `PUT` of a real JPEG, which
//! runs the whole workflow). Reports requests per second and latency percentiles per operation,
//! then waits until every upload has ended — ready or rejected — and says if any did not.
//!
//! `cargo run --release -p webapp --example load`

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use webapp::{Services, Settings};

type Client = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    Full<Bytes>,
>;
type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn free_ports() -> Result<u16, BoxError> {
    for _ in 0..200 {
        let base = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        if base < 65_000
            && (0..3).all(|n| std::net::TcpListener::bind(("127.0.0.1", base + n)).is_ok())
        {
            return Ok(base);
        }
    }
    Err("no three free consecutive ports".into())
}

async fn send(
    client: &Client,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Result<(u16, Bytes), BoxError> {
    let mut request = hyper::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = client.request(request.body(Full::new(body))?).await?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

struct User {
    client: Client,
    http: String,
    token: String,
    album: String,
}

impl User {
    async fn api(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, BoxError> {
        let auth = format!("Bearer {}", self.token);
        let bytes = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let (status, answer) = send(
            &self.client,
            method,
            &format!("{}{path}", self.http),
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            bytes,
        )
        .await?;
        if status >= 300 {
            return Err(format!(
                "{method} {path}: {status} {}",
                String::from_utf8_lossy(&answer)
            )
            .into());
        }
        Ok(serde_json::from_slice(&answer).unwrap_or(Value::Null))
    }
}

async fn cognito(
    client: &Client,
    services: &str,
    operation: &str,
    body: Value,
) -> Result<Value, BoxError> {
    let target = format!("AWSCognitoIdentityProviderService.{operation}");
    let (status, answer) = send(
        client,
        "POST",
        &format!("{services}/"),
        &[
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", &target),
        ],
        Bytes::from(body.to_string()),
    )
    .await?;
    if status != 200 {
        return Err(format!("{operation}: {}", String::from_utf8_lossy(&answer)).into());
    }
    Ok(serde_json::from_slice(&answer)?)
}

fn photo_jpeg() -> Result<Bytes, BoxError> {
    let image = image::RgbImage::from_fn(800, 600, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x * y) % 256) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(image).write_to(&mut out, image::ImageFormat::Jpeg)?;
    Ok(Bytes::from(out.into_inner()))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let users: usize = std::env::var("LOAD_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let seconds: u64 = std::env::var("LOAD_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let dir = std::env::temp_dir().join(format!("svless-webapp-load-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    svless::store::local::set_data_dir(&dir)?;
    let port = free_ports()?;
    let services_url = format!("http://127.0.0.1:{}", port + 1);
    let http = format!("http://127.0.0.1:{port}");

    let mut settings = Settings::from_env()?;
    settings.cognito_endpoint = format!("{services_url}/");
    settings.jwks_url = format!(
        "{services_url}/{}/.well-known/jwks.json",
        settings.user_pool_id
    );
    let config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(&services_url)
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new("load", "load", None, None, "load"),
            ),
        )
        .build();
    let table = svless::store::local::table(webapp::model::table_def(&settings.table)).await?;
    let photos = svless::store::local::object_store(&settings.bucket).await?;
    let services = Services::new(settings, table, photos, &config)?;
    let running = webapp::local::cloud(services)
        .http_addr(([127, 0, 0, 1], port).into())
        .services_addr(([127, 0, 0, 1], port + 1).into())
        .websocket_addr(([127, 0, 0, 1], port + 2).into())
        .start()
        .await?;

    let client: Client =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http();
    let mut people = Vec::new();
    for n in 0..users {
        let email = format!("user{n}@example.com");
        let password = "Passw0rd-Long!";
        cognito(
            &client,
            &services_url,
            "SignUp",
            json!({
                "ClientId": "svlesslocalclient000000000", "Username": email, "Password": password,
                "UserAttributes": [{"Name": "email", "Value": email}]
            }),
        )
        .await?;
        let auth = cognito(
            &client,
            &services_url,
            "InitiateAuth",
            json!({
                "AuthFlow": "USER_PASSWORD_AUTH", "ClientId": "svlesslocalclient000000000",
                "AuthParameters": {"USERNAME": email, "PASSWORD": password}
            }),
        )
        .await?;
        let token = auth["AuthenticationResult"]["IdToken"]
            .as_str()
            .ok_or("no ID token")?
            .to_owned();
        let mut user = User {
            client: client.clone(),
            http: http.clone(),
            token,
            album: String::new(),
        };
        user.api("GET", "/users/me", None).await?;
        let album = user
            .api(
                "POST",
                "/albums",
                Some(json!({"title": format!("Album {n}")})),
            )
            .await?;
        user.album = album["id"].as_str().ok_or("no album id")?.to_owned();
        people.push(Arc::new(user));
    }

    let jpeg = photo_jpeg()?;
    eprintln!(
        "{users} users, {seconds} s, uploads of a {} KB JPEG",
        jpeg.len() / 1024
    );
    let until = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (n, user) in people.iter().enumerate() {
        let user = user.clone();
        let jpeg = jpeg.clone();
        tasks.push(tokio::spawn(async move {
            let mut timings: BTreeMap<&'static str, Vec<Duration>> = BTreeMap::new();
            let mut errors = 0u64;
            let mut uploads = 0u64;
            let mut step = n;
            while Instant::now() < until {
                step += 1;
                let op = match step % 10 {
                    0..=3 => "list albums",
                    4..=6 => "list photos",
                    7 => "comment",
                    _ => "upload",
                };
                let begun = Instant::now();
                let outcome = match op {
                    "list albums" => user.api("GET", "/albums", None).await.map(|_| ()),
                    "list photos" => user.api("GET", &format!("/albums/{}/photos", user.album), None).await.map(|_| ()),
                    "comment" => user.api("POST", &format!("/albums/{}/comments", user.album), Some(json!({"text": "nice"}))).await.map(|_| ()),
                    _ => async {
                        let ticket = user.api("POST", &format!("/albums/{}/photos", user.album), Some(json!({
                            "file_name": "load.jpg", "content_type": "image/jpeg", "size": jpeg.len()
                        }))).await?;
                        let url = ticket["upload"]["url"].as_str().ok_or("no URL")?;
                        let (status, answer) = send(&user.client, "PUT", url, &[("content-type", "image/jpeg")], jpeg.clone()).await?;
                        if status != 200 {
                            return Err(format!("PUT: {status} {}", String::from_utf8_lossy(&answer)).into());
                        }
                        Ok::<(), BoxError>(())
                    }.await,
                };
                match outcome {
                    Ok(()) => {
                        timings.entry(op).or_default().push(begun.elapsed());
                        if op == "upload" {
                            uploads += 1;
                        }
                    }
                    Err(err) => {
                        errors += 1;
                        eprintln!("{op}: {err}");
                    }
                }
            }
            (timings, errors, uploads)
        }));
    }
    let mut timings: BTreeMap<&'static str, Vec<Duration>> = BTreeMap::new();
    let (mut errors, mut uploads) = (0, 0);
    for task in tasks {
        let (t, e, u) = task.await?;
        for (op, mut list) in t {
            timings.entry(op).or_default().append(&mut list);
        }
        errors += e;
        uploads += u;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let total: usize = timings.values().map(Vec::len).sum();
    eprintln!("| operation | requests | per second | p50 | p99 |");
    eprintln!("| --- | --- | --- | --- | --- |");
    let mut all = Vec::new();
    for (op, list) in &mut timings {
        list.sort();
        all.extend(list.iter().copied());
        eprintln!(
            "| {op} | {} | {:.0} | {:.1} ms | {:.1} ms |",
            list.len(),
            list.len() as f64 / elapsed,
            percentile(list, 50.0).as_secs_f64() * 1e3,
            percentile(list, 99.0).as_secs_f64() * 1e3
        );
    }
    all.sort();
    eprintln!(
        "| all | {total} | {:.0} | {:.1} ms | {:.1} ms |",
        total as f64 / elapsed,
        percentile(&all, 50.0).as_secs_f64() * 1e3,
        percentile(&all, 99.0).as_secs_f64() * 1e3
    );
    eprintln!("errors: {errors}");

    // Every upload ends ready or rejected.
    let drain = Instant::now();
    let (mut ready, mut rejected, mut pending) = (0, 0, 0);
    while drain.elapsed() < Duration::from_secs(300) {
        (ready, rejected, pending) = (0, 0, 0);
        for user in &people {
            let mut cursor: Option<String> = None;
            loop {
                let path = match &cursor {
                    Some(c) => format!(
                        "/albums/{}/photos?limit=100&cursor={}",
                        user.album,
                        percent_encoding::utf8_percent_encode(
                            c,
                            percent_encoding::NON_ALPHANUMERIC
                        )
                    ),
                    None => format!("/albums/{}/photos?limit=100", user.album),
                };
                let page = user.api("GET", &path, None).await?;
                for photo in page["items"].as_array().into_iter().flatten() {
                    match photo["status"].as_str() {
                        Some("ready") => ready += 1,
                        Some("rejected") => rejected += 1,
                        _ => pending += 1,
                    }
                }
                match page["next"].as_str() {
                    Some(next) => cursor = Some(next.to_owned()),
                    None => break,
                }
            }
        }
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    eprintln!(
        "uploads: {uploads} sent; {ready} ready, {rejected} rejected, {pending} not finished ({:.1} s after the load stopped)",
        drain.elapsed().as_secs_f64()
    );
    let failures = std::fs::read_to_string(running.failures()).unwrap_or_default();
    eprintln!("failed events: {}", failures.lines().count());
    running.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    if pending > 0 || ready + rejected != uploads || errors > 0 {
        return Err("the load run lost or failed work".into());
    }
    Ok(())
}
