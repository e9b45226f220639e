//! Cold starts as Lambda users feel them: a minimal Lambda Runtime API on loopback starts each
//! function binary fresh `SVLESS_COLD_STARTS` times (20), interleaved, and measures per start
//! the time from `exec` to the first `GET /runtime/invocation/next` (init), from `exec` to the
//! first response posted (init + first invocation), and the peak resident memory (`VmHWM`).
//! Medians and p90s, and ratios against a bare `lambda_runtime` hello function, in one run.
//!
//! `cargo run --release -p svless-benches --bin cold_start` builds what it starts (release
//! profile, each package on its own so no feature of one leaks into another; the examples with
//! `--no-default-features`, as for Lambda) and prints the table.

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What the Runtime API saw of the current start.
#[derive(Default)]
struct Seen {
    first_next: Option<Instant>,
    response: Option<Instant>,
    error: Option<String>,
    served: bool,
}

struct RuntimeApi {
    event: Mutex<Bytes>,
    seen: Mutex<Seen>,
    answered: Notify,
}

async fn answer(
    api: Arc<RuntimeApi>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, BoxError> {
    use http_body_util::BodyExt as _;
    let path = request.uri().path().to_owned();
    let now = Instant::now();
    if path.ends_with("/invocation/next") {
        let first = {
            let mut seen = api.seen.lock().map_err(|_| "poisoned")?;
            seen.first_next.get_or_insert(now);
            !std::mem::replace(&mut seen.served, true)
        };
        if !first {
            // One invocation per start: the function waits here until it is stopped.
            std::future::pending::<()>().await;
        }
        let event = api.event.lock().map_err(|_| "poisoned")?.clone();
        let deadline = epoch_millis() + 30_000;
        return Ok(Response::builder()
            .header("lambda-runtime-aws-request-id", "cold-start-1")
            .header("lambda-runtime-deadline-ms", deadline.to_string())
            .header(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:cold",
            )
            .header(
                "lambda-runtime-trace-id",
                "Root=1-00000000-000000000000000000000000",
            )
            .header("content-type", "application/json")
            .body(Full::new(event))?);
    }
    let failed = path.ends_with("/error");
    let body = request.into_body().collect().await?.to_bytes();
    {
        let mut seen = api.seen.lock().map_err(|_| "poisoned")?;
        seen.response.get_or_insert(now);
        if failed {
            seen.error = Some(format!("{path}: {}", String::from_utf8_lossy(&body)));
        }
    }
    api.answered.notify_one();
    Ok(Response::builder()
        .status(202)
        .body(Full::new(Bytes::new()))?)
}

fn epoch_millis() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

async fn serve(api: Arc<RuntimeApi>, listener: tokio::net::TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let api = api.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| answer(api.clone(), request));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

/// One function to start: its binary, environment and first event.
struct Function {
    name: &'static str,
    binary: PathBuf,
    env: Vec<(&'static str, String)>,
    event: serde_json::Value,
}

struct Sample {
    init: Duration,
    first_response: Duration,
    peak_rss_kib: u64,
}

fn peak_rss(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

async fn start_once(
    api: &Arc<RuntimeApi>,
    address: &str,
    function: &Function,
) -> Result<Sample, BoxError> {
    *api.event.lock().map_err(|_| "poisoned")? = Bytes::from(function.event.to_string());
    *api.seen.lock().map_err(|_| "poisoned")? = Seen::default();
    let mut command = tokio::process::Command::new(&function.binary);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", address)
        .env("AWS_LAMBDA_FUNCTION_NAME", function.name)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/cold")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "cold")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "AKIDCOLDSTART")
        .env("AWS_SECRET_ACCESS_KEY", "cold-start-secret")
        .env("AWS_SESSION_TOKEN", "cold-start-token")
        // One CA bundle file, as provided.al2023 has (this machine's certificate directory holds
        // one file per root, which would cost an SDK client a hundred more reads).
        .env("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    for (name, value) in &function.env {
        command.env(name, value);
    }
    let started = Instant::now();
    let mut child = command.spawn()?;
    let pid = child.id().ok_or("the function exited at once")?;
    tokio::time::timeout(Duration::from_secs(30), api.answered.notified())
        .await
        .map_err(|_| format!("{}: no response within 30 s", function.name))?;
    let rss = peak_rss(pid);
    let _ = child.kill().await;
    let seen = api.seen.lock().map_err(|_| "poisoned")?;
    if let Some(error) = &seen.error {
        return Err(format!("{}: the invocation failed: {error}", function.name).into());
    }
    let (Some(next), Some(response)) = (seen.first_next, seen.response) else {
        return Err(format!("{}: incomplete start", function.name).into());
    };
    Ok(Sample {
        init: next.duration_since(started),
        first_response: response.duration_since(started),
        peak_rss_kib: rss,
    })
}

fn build(workspace: &Path, package: &str, extra: &[&str]) -> Result<(), BoxError> {
    eprintln!("building {package} (release) …");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(workspace)
        .args(["build", "--release", "--locked", "-p", package])
        .args(extra)
        .status()?;
    if !status.success() {
        return Err(format!("building {package} failed").into());
    }
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn http_v2(path: &str) -> serde_json::Value {
    serde_json::json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
        "headers": {"host": "example.execute-api.us-east-1.amazonaws.com"},
        "requestContext": {"accountId": "123456789012", "apiId": "example", "domainName": "example.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "example", "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.1", "userAgent": "cold"},
            "requestId": "cold", "routeKey": "$default", "stage": "$default", "time": "01/Dec/2026:00:00:00 +0000", "timeEpoch": 0},
        "isBase64Encoded": false
    })
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let starts: usize = std::env::var("SVLESS_COLD_STARTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    if std::env::var_os("SVLESS_COLD_NO_BUILD").is_none() {
        build(
            &workspace,
            "svless-benches",
            &["--bin", "hello_bare", "--bin", "hello_axum"],
        )?;
        build(&workspace, "hello-api", &["--no-default-features"])?;
        build(&workspace, "webapp", &["--no-default-features"])?;
    }
    let release = workspace.join("target/release");
    let functions = [
        Function {
            name: "hello-bare",
            binary: release.join("hello_bare"),
            env: vec![],
            event: serde_json::json!({"name": "world"}),
        },
        Function {
            name: "hello-axum",
            binary: release.join("hello_axum"),
            env: vec![],
            event: http_v2("/hello"),
        },
        Function {
            name: "hello-api",
            binary: release.join("hello-api"),
            env: vec![],
            event: http_v2("/hello/world"),
        },
        Function {
            name: "webapp-api",
            binary: release.join("webapp"),
            env: vec![],
            event: http_v2("/config.json"),
        },
    ];
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?.to_string();
    let api = Arc::new(RuntimeApi {
        event: Mutex::new(Bytes::new()),
        seen: Mutex::new(Seen::default()),
        answered: Notify::new(),
    });
    tokio::spawn(serve(api.clone(), listener));

    let mut samples: HashMap<&str, Vec<Sample>> = HashMap::new();
    for round in 0..starts + 1 {
        for function in &functions {
            let sample = start_once(&api, &address, function).await?;
            // The first round warms the page cache, as a Lambda worker's disk is warm for a
            // popular runtime; it is not counted.
            if round > 0 {
                samples.entry(function.name).or_default().push(sample);
            }
        }
    }
    let sizes: HashMap<&str, u64> = functions
        .iter()
        .map(|f| {
            (
                f.name,
                std::fs::metadata(&f.binary).map(|m| m.len()).unwrap_or(0),
            )
        })
        .collect();
    let median = |name: &str, pick: fn(&Sample) -> Duration| {
        let mut values: Vec<Duration> = samples[name].iter().map(pick).collect();
        values.sort();
        (percentile(&values, 50.0), percentile(&values, 90.0))
    };
    let (bare_first, _) = median("hello-bare", |s| s.first_response);
    println!("{starts} starts each, x86_64, this machine; ratios against hello-bare's medians");
    println!(
        "| function | binary | init p50 | init p90 | first response p50 | first response p90 | ÷ bare (first response) | peak RSS |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for function in &functions {
        let (init50, init90) = median(function.name, |s| s.init);
        let (first50, first90) = median(function.name, |s| s.first_response);
        let mut rss: Vec<u64> = samples[function.name]
            .iter()
            .map(|s| s.peak_rss_kib)
            .collect();
        rss.sort_unstable();
        println!(
            "| {} | {:.1} MB | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} | {:.1} MB |",
            function.name,
            sizes[function.name] as f64 / 1e6,
            init50.as_secs_f64() * 1e3,
            init90.as_secs_f64() * 1e3,
            first50.as_secs_f64() * 1e3,
            first90.as_secs_f64() * 1e3,
            first50.as_secs_f64() / bare_first.as_secs_f64(),
            rss[rss.len() / 2] as f64 / 1024.0,
        );
    }
    Ok(())
}
