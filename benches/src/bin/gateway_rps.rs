//! Requests per second through three local HTTP fronts to the same handler (`hello-api`'s
//! `GET /hello/{name}`), measured in the same run with the same load: the local cloud's HTTP
//! API, `App::serve`, and `cargo lambda watch`'s function URL emulator in front of the same app
//! as a Lambda function on its Runtime API.
//!
//! `cargo run --release -p svless-benches --bin gateway_rps` (needs cargo-lambda: the path in
//! `SVLESS_CARGO_LAMBDA`, else `.venv/bin/cargo-lambda` as `scripts/test.sh` installs it).
//! `SVLESS_BENCH_SECONDS` (5) and `SVLESS_BENCH_CONNECTIONS` (16) set the load.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt as _, Full};

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> Result<u16, Box<dyn std::error::Error>> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn wait_for(port: u16) -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if started.elapsed() > Duration::from_secs(60) {
            return Err(format!("nothing listens on {port} after 60 s").into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// Sends `GET url` on `connections` keep-alive connections for `seconds`; the answers per
/// second (only 200s count).
async fn load(
    url: String,
    connections: usize,
    seconds: u64,
) -> Result<f64, Box<dyn std::error::Error>> {
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let url = url.clone();
        let done = done.clone();
        let failed = failed.clone();
        tasks.push(tokio::spawn(async move {
            let client =
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .pool_max_idle_per_host(1)
                    .build_http::<Full<bytes::Bytes>>();
            while Instant::now() < until {
                let Ok(uri) = url.parse::<hyper::Uri>() else {
                    failed.fetch_add(1, Ordering::Relaxed);
                    return;
                };
                match client.get(uri).await {
                    Ok(response) if response.status() == 200 => {
                        let _ = response.into_body().collect().await;
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    let failures = failed.load(Ordering::Relaxed);
    if failures > 0 {
        eprintln!("  {url}: {failures} requests failed");
    }
    Ok(done.load(Ordering::Relaxed) as f64 / seconds as f64)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os("SVLESS_BENCH_FUNCTION").is_some() {
        // The function behind cargo lambda watch.
        return svless::runtime::run(hello_api::app())
            .await
            .map_err(|e| e.to_string().into());
    }
    let seconds: u64 = std::env::var("SVLESS_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let connections: usize = std::env::var("SVLESS_BENCH_CONNECTIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(16);
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo_lambda = std::env::var_os("SVLESS_CARGO_LAMBDA")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join(".venv/bin/cargo-lambda"));

    // App::serve.
    let serve = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let serve_url = format!("http://{}/hello/world", serve.local_addr()?);
    tokio::spawn(hello_api::app().serve_listener(serve, std::future::pending()));

    // The local cloud's HTTP API.
    let dir = std::env::temp_dir().join(format!("svless-gateway-bench-{}", std::process::id()));
    let running = svless::cloud::Cloud::new(hello_api::app())
        .data_dir(&dir)
        .http_addr(([127, 0, 0, 1], 0).into())
        .services_addr(([127, 0, 0, 1], 0).into())
        .start()
        .await?;
    let cloud_url = format!("{}/hello/world", running.http_url());

    // cargo lambda watch, with this program as the function.
    let port = free_port()?;
    let _emulator = Killed(
        Command::new(&cargo_lambda)
            .args([
                "lambda",
                "watch",
                "--only-lambda-apis",
                "-A",
                "127.0.0.1",
                "-P",
                &port.to_string(),
            ])
            .current_dir(&workspace)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cargo-lambda at {}: {e}", cargo_lambda.display()))?,
    );
    wait_for(port)?;
    let _function = Killed(
        Command::new(std::env::current_exe()?)
            .env("SVLESS_BENCH_FUNCTION", "1")
            .env("AWS_LAMBDA_FUNCTION_NAME", "_")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{port}/.rt"),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let watch_url = format!("http://127.0.0.1:{port}/lambda-url/_/hello/world");
    // Warm each up (the emulator starts the function's runtime loop on the first request).
    for url in [&serve_url, &cloud_url, &watch_url] {
        load(url.clone(), 1, 1).await?;
    }
    println!("{connections} connections, {seconds} s each, GET /hello/world");
    let serve_rps = load(serve_url, connections, seconds).await?;
    let cloud_rps = load(cloud_url, connections, seconds).await?;
    let watch_rps = load(watch_url, connections, seconds).await?;
    println!("| front | requests/s | local cloud ÷ front |");
    println!("| --- | --- | --- |");
    println!("| local cloud HTTP API | {cloud_rps:.0} | 1.00 |");
    println!(
        "| App::serve | {serve_rps:.0} | {:.2} |",
        cloud_rps / serve_rps
    );
    println!(
        "| cargo lambda watch (function URL) | {watch_rps:.0} | {:.2} |",
        cloud_rps / watch_rps
    );
    running.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
