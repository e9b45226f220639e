//! The application in a real browser: the built `webapp` binary on the local cloud (as
//! `cargo run -p webapp` starts it), driven through WebDriver in headless Chromium. Two people
//! sign up; one makes an album, invites the other and uploads a photo through the file input;
//! both see its thumbnail appear without reloading; the other comments and the first sees it
//! live; a file over the limit shows the refusal; the other's photo waits for moderation and the
//! admin approves it, and it appears. Screenshots of every window are written on failure (and of
//! the album at the end) to `target/webapp-browser/`.
//!
//! Needs ChromeDriver at `SVLESS_WEBDRIVER_URL` (scripts/test.sh installs Debian's `chromium`
//! and `chromium-driver` and starts it); without it the test fails, saying so.

mod common;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ADMIN_PASSWORD: &str = "Adm1n-Browser-Test!";
const MAX_PHOTO_BYTES: u64 = 1024 * 1024;
const PATIENCE: Duration = Duration::from_secs(60);

type Step<T> = Result<T, String>;

/// The binary, in a process group of its own (it starts the cloud as a child), stopped with
/// Ctrl-C as a terminal would, then killed if it lingers.
struct Webapp {
    child: Child,
    url: String,
    dir: PathBuf,
}

impl Drop for Webapp {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let quiet = |signal: &str| {
            let _ = Command::new("kill")
                .args([signal, "--", &group])
                .stderr(Stdio::null())
                .status();
        };
        quiet("-INT");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                quiet("-KILL");
                let _ = std::fs::remove_dir_all(&self.dir);
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        quiet("-KILL");
        let _ = self.child.wait();
    }
}

/// Three consecutive free loopback ports (HTTP, services, WebSocket).
fn free_ports() -> u16 {
    for _ in 0..200 {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        let base = probe.local_addr().expect("an address").port();
        drop(probe);
        if base > 65_000 {
            continue;
        }
        let all = (0..3).all(|n| std::net::TcpListener::bind(("127.0.0.1", base + n)).is_ok());
        if all {
            return base;
        }
    }
    panic!("no three free consecutive ports on loopback");
}

fn start_webapp() -> Webapp {
    use std::os::unix::process::CommandExt as _;
    let dir = std::env::temp_dir().join(format!("svless-webapp-browser-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a directory");
    let port = free_ports();
    let log = std::fs::File::create(dir.join("webapp.log")).expect("a log file");
    let mut command = Command::new(env!("CARGO_BIN_EXE_webapp"));
    for (name, _) in std::env::vars() {
        if name.starts_with("AWS_") || name.starts_with("SVLESS_") {
            command.env_remove(name);
        }
    }
    let child = command
        .current_dir(&dir)
        .env("PORT", port.to_string())
        .env("SVLESS_DATA_DIR", dir.join("data"))
        .env("WEBAPP_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("MAX_PHOTO_BYTES", MAX_PHOTO_BYTES.to_string())
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("the log"))
        .stderr(log)
        .process_group(0)
        .spawn()
        .expect("the webapp binary starts");
    let url = format!("http://127.0.0.1:{port}");
    let app = Webapp { child, url, dir };
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read as _, Write as _};
            let _ = stream.write_all(b"GET /config.json HTTP/1.0\r\nHost: x\r\n\r\n");
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer);
            if answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200") {
                return app;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the webapp did not answer within {PATIENCE:?}: {}",
            std::fs::read_to_string(app.dir.join("webapp.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

async fn browser(profile: &Path) -> Client {
    let Ok(webdriver) = std::env::var("SVLESS_WEBDRIVER_URL") else {
        panic!(
            "SVLESS_WEBDRIVER_URL is not set: this test needs ChromeDriver with Debian's chromium \
             (scripts/test.sh installs `chromium` and `chromium-driver` and starts it)"
        );
    };
    let chromium = std::env::var("SVLESS_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let args = [
        "--headless=new".to_owned(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-dev-shm-usage".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--disable-background-timer-throttling".into(),
        "--disable-renderer-backgrounding".into(),
        "--disable-backgrounding-occluded-windows".into(),
        "--window-size=1280,900".into(),
        format!("--user-data-dir={}", profile.display()),
    ];
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({"binary": chromium, "args": args}),
    );
    ClientBuilder::rustls()
        .expect("a TLS configuration")
        .capabilities(capabilities)
        .connect(&webdriver)
        .await
        .unwrap_or_else(|e| panic!("ChromeDriver at {webdriver} did not start a session: {e}"))
}

/// The first displayed element for `css`, waiting for it.
async fn shown(c: &Client, css: &str) -> Step<Element> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Ok(found) = c.find_all(Locator::Css(css)).await {
            for element in found {
                if element.is_displayed().await.unwrap_or(false) {
                    return Ok(element);
                }
            }
        }
        if Instant::now() > deadline {
            return Err(format!("nothing shown for `{css}` within {PATIENCE:?}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until an element for `css` shows `text`.
async fn shows_text(c: &Client, css: &str, text: &str) -> Step<Element> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Ok(found) = c.find_all(Locator::Css(css)).await {
            for element in found {
                if element.text().await.is_ok_and(|t| t.contains(text)) {
                    return Ok(element);
                }
            }
        }
        if Instant::now() > deadline {
            return Err(format!("no `{css}` showed {text:?} within {PATIENCE:?}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the image for `css` has loaded (its natural width is not zero).
async fn image_loaded(c: &Client, css: &str) -> Step<()> {
    shown(c, css).await?;
    let deadline = Instant::now() + PATIENCE;
    loop {
        let width = c
            .execute(
                "const i = document.querySelector(arguments[0]); return i && i.complete ? i.naturalWidth : 0;",
                vec![json!(css)],
            )
            .await
            .map_err(|e| e.to_string())?;
        if width.as_u64().unwrap_or(0) > 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("the image `{css}` never loaded"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn fill(c: &Client, css: &str, text: &str) -> Step<()> {
    let field = shown(c, css).await?;
    field.clear().await.map_err(|e| e.to_string())?;
    field
        .send_keys(text)
        .await
        .map_err(|e| format!("typing into {css}: {e}"))
}

async fn click(c: &Client, css: &str) -> Step<()> {
    shown(c, css)
        .await?
        .click()
        .await
        .map_err(|e| format!("clicking {css}: {e}"))
}

async fn sign_up(c: &Client, url: &str, name: &str, email: &str) -> Step<()> {
    c.goto(url).await.map_err(|e| e.to_string())?;
    click(c, "#sign-up-box summary").await?;
    fill(c, "#sign-up-name", name).await?;
    fill(c, "#sign-up-email", email).await?;
    fill(c, "#sign-up-password", "Passw0rd-Long!").await?;
    click(c, "#sign-up").await?;
    shows_text(c, "#who-name", name).await?;
    Ok(())
}

async fn upload(c: &Client, path: &Path) -> Step<()> {
    let input = c
        .find(Locator::Css("#file-input"))
        .await
        .map_err(|e| e.to_string())?;
    input
        .send_keys(&path.display().to_string())
        .await
        .map_err(|e| format!("choosing {}: {e}", path.display()))
}

async fn subscribed(c: &Client, album: &str) -> Step<()> {
    shown(c, &format!("#live.on[data-album=\"{album}\"]"))
        .await
        .map(|_| ())
}

fn shots_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/webapp-browser")
}

async fn screenshots(c: &Client, label: &str) -> Vec<PathBuf> {
    let dir = shots_dir();
    let _ = std::fs::create_dir_all(&dir);
    let mut written = Vec::new();
    for (n, window) in c
        .windows()
        .await
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        if c.switch_to_window(window).await.is_err() {
            continue;
        }
        if let Ok(png) = c.screenshot().await {
            let path = dir.join(format!("{label}-window-{n}.png"));
            if std::fs::write(&path, png).is_ok() {
                written.push(path);
            }
        }
    }
    written
}

async fn scenario(c: &Client, app: &Webapp, files: &Path) -> Step<()> {
    let url = &app.url;
    let e = |e: fantoccini::error::CmdError| e.to_string();

    // Two people sign up, each in a tab of their own.
    let ann_tab = c.window().await.map_err(e)?;
    sign_up(c, url, "Ann", "ann@example.com").await?;
    let bob_tab = c.new_window(true).await.map_err(e)?.handle;
    c.switch_to_window(bob_tab.clone()).await.map_err(e)?;
    sign_up(c, url, "Bob", "bob@example.com").await?;

    // Ann makes an album and invites Bob. She is no admin: no moderation for her.
    c.switch_to_window(ann_tab.clone()).await.map_err(e)?;
    let moderation = c.find(Locator::Css("#moderation-open")).await.map_err(e)?;
    if moderation.is_displayed().await.map_err(e)? {
        return Err("the moderation button shows for someone who is not an admin".into());
    }
    fill(c, "#new-album-title", "Lake trip").await?;
    click(c, "#new-album").await?;
    shows_text(c, "#album-title", "Lake trip").await?;
    let here = c.current_url().await.map_err(e)?;
    let album = here
        .fragment()
        .and_then(|f| f.strip_prefix("/albums/"))
        .ok_or_else(|| format!("the album's address: {here}"))?
        .to_owned();
    fill(c, "#invite-email", "bob@example.com").await?;
    click(c, "#invite").await?;
    shows_text(c, "#members li", "bob@example.com").await?;
    subscribed(c, &album).await?;

    // Bob opens the album; both watch it live.
    c.switch_to_window(bob_tab.clone()).await.map_err(e)?;
    c.goto(&format!("{url}/#/albums/{album}"))
        .await
        .map_err(e)?;
    shows_text(c, "#album-title", "Lake trip").await?;
    subscribed(c, &album).await?;

    // Ann uploads a real JPEG through the file input.
    c.switch_to_window(ann_tab.clone()).await.map_err(e)?;
    upload(c, &files.join("lake.jpg")).await?;
    let ready = "#photos figure[data-status=\"ready\"] img";
    image_loaded(c, ready).await?;

    // Bob sees the thumbnail appear without reloading, and comments.
    c.switch_to_window(bob_tab.clone()).await.map_err(e)?;
    image_loaded(c, ready).await?;
    fill(c, "#comment-text", "What a view!").await?;
    click(c, "#comment-send").await?;

    // Ann sees the comment arrive.
    c.switch_to_window(ann_tab.clone()).await.map_err(e)?;
    shows_text(c, "#comments li", "What a view!").await?;

    // A file over the limit is refused, and the page says why.
    upload(c, &files.join("huge.png")).await?;
    shows_text(c, "#uploads li.failed", "huge.png").await?;
    shows_text(c, "#uploads li.failed", "1 MiB").await?;

    // Bob is new to the album: his photo waits for a moderator.
    c.switch_to_window(bob_tab.clone()).await.map_err(e)?;
    upload(c, &files.join("boat.png")).await?;
    let waiting = shown(c, "#photos figure[data-status=\"moderation\"]").await?;
    let bobs_photo = waiting
        .attr("data-photo")
        .await
        .map_err(e)?
        .ok_or("the photo has an id")?;

    // The admin signs in, opens the moderation queue and approves it.
    let admin_tab = c.new_window(true).await.map_err(e)?.handle;
    c.switch_to_window(admin_tab).await.map_err(e)?;
    c.goto(url).await.map_err(e)?;
    fill(c, "#sign-in-email", "admin@example.com").await?;
    fill(c, "#sign-in-password", ADMIN_PASSWORD).await?;
    click(c, "#sign-in").await?;
    click(c, "#moderation-open").await?;
    shown(
        c,
        &format!("#queue figure[data-photo=\"{bobs_photo}\"] img"),
    )
    .await?;
    click(
        c,
        &format!("#queue figure[data-photo=\"{bobs_photo}\"] button.approve"),
    )
    .await?;
    shows_text(c, "#notice", "Approved.").await?;

    // Bob's photo appears in both tabs.
    let approved =
        format!("#photos figure[data-photo=\"{bobs_photo}\"][data-status=\"ready\"] img");
    c.switch_to_window(bob_tab).await.map_err(e)?;
    image_loaded(c, &approved).await?;
    c.switch_to_window(ann_tab).await.map_err(e)?;
    image_loaded(c, &approved).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_share_an_album_live_in_a_real_browser() {
    let app = start_webapp();
    let files = app.dir.join("files");
    std::fs::create_dir_all(&files).expect("a directory");
    std::fs::write(
        files.join("lake.jpg"),
        common::jpeg_with_exif(1600, 1067, "Fujifilm", "X-T5", "2026:07:14 18:03:22"),
    )
    .expect("written");
    std::fs::write(files.join("boat.png"), common::png(900, 600)).expect("written");
    let huge = common::noisy_png(700, 700);
    assert!(huge.len() as u64 > MAX_PHOTO_BYTES);
    std::fs::write(files.join("huge.png"), huge).expect("written");

    let c = browser(&app.dir.join("profile")).await;
    let outcome = scenario(&c, &app, &files).await;
    if let Err(why) = outcome {
        let shots = screenshots(&c, "failure").await;
        let log = std::fs::read_to_string(app.dir.join("webapp.log")).unwrap_or_default();
        let _ = c.close().await;
        panic!(
            "{why}\nscreenshots: {shots:?}\nthe webapp's log (last 4,000 characters):\n{}",
            &log[log.len().saturating_sub(4000)..]
        );
    }
    // The album as Ann sees it, for the example's README.
    let dir = shots_dir();
    let _ = std::fs::create_dir_all(&dir);
    if let Ok(png) = c.screenshot().await {
        let _ = std::fs::write(dir.join("album.png"), png);
    }
    let _ = c.close().await;
}
