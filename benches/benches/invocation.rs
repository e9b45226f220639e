//! One HTTP invocation: decode an HTTP API event with a 1 KiB JSON body, route among 50 routes,
//! extract `Path` + `Json`, call the handler, encode the response. svless against
//! `lambda_http` + `axum` and against a hand-written `lambda_runtime` handler, in the same run.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use svless_benches::{
    axum_router, event, floor, lambda_http_axum, local_host, local_request, stream_app,
    stream_event, stream_floor, svless_app, svless_app_with, svless_invoke, via_json_value,
};

fn invocation(c: &mut Criterion) {
    let payload = event();
    let app = svless_app();
    let router = axum_router();
    let mut group = c.benchmark_group("invocation");
    group.bench_function("svless", |b| {
        b.iter(|| svless_invoke(&app, black_box(&payload)))
    });
    group.bench_function("lambda_http+axum", |b| {
        b.iter(|| lambda_http_axum(&router, black_box(&payload)))
    });
    group.bench_function("floor (hand-written lambda_runtime)", |b| {
        b.iter(|| floor(black_box(&payload)))
    });
    group.finish();
}

/// The same invocation in apps of 5, 50 and 500 routes: the route lookup walks path segments,
/// so the time should not grow with the number of routes.
fn route_count(c: &mut Criterion) {
    let payload = event();
    let mut group = c.benchmark_group("routes");
    for routes in [5, 50, 500] {
        let app = svless_app_with(routes);
        group.bench_function(format!("svless/{routes}"), |b| {
            b.iter(|| svless_invoke(&app, black_box(&payload)))
        });
    }
    group.finish();
}

/// A DynamoDB stream batch of 100 records decoded into a typed struct and handled, against a
/// hand-written `serde_dynamo` loop over `aws_lambda_events` types.
fn stream_batch(c: &mut Criterion) {
    let payload = stream_event(100);
    let app = stream_app();
    let mut group = c.benchmark_group("dynamodb_stream_100");
    group.bench_function("svless", |b| {
        b.iter(|| svless_invoke(&app, black_box(&payload)))
    });
    group.bench_function("floor (aws_lambda_events + serde_dynamo)", |b| {
        b.iter(|| stream_floor(black_box(&payload)))
    });
    group.finish();
}

/// Verifying a Cognito ID token with a warm key cache, against a bare `jsonwebtoken::decode`
/// with the same key.
fn verify_token(c: &mut Criterion) {
    let (token, verifier, key) = svless_benches::auth_fixture();
    let mut group = c.benchmark_group("verify_token");
    group.bench_function("svless CognitoVerifier", |b| {
        b.iter(|| svless_benches::svless_verify(&verifier, black_box(&token)))
    });
    group.bench_function("jsonwebtoken::decode", |b| {
        b.iter(|| svless_benches::bare_decode(black_box(&token), &key))
    });
    group.finish();
}

/// A local-server request: the local host writes the event straight from the request; before
/// it, the request went through the test client's JSON value. Same app, same request.
fn local_server_request(c: &mut Criterion) {
    let app = svless_app();
    let (headers, body) = local_request();
    let mut group = c.benchmark_group("local");
    group.bench_function("local host", |b| {
        b.iter(|| local_host(&app, black_box(&headers), black_box(&body)))
    });
    group.bench_function("via a JSON value (before)", |b| {
        b.iter(|| via_json_value(&app, black_box(&headers), black_box(&body)))
    });
    group.finish();
}

criterion_group!(
    benches,
    invocation,
    route_count,
    stream_batch,
    verify_token,
    local_server_request
);
criterion_main!(benches);
