//! One HTTP invocation: decode an HTTP API event with a 1 KiB JSON body, route among 50 routes,
//! extract `Path` + `Json`, call the handler, encode the response. svless against
//! `lambda_http` + `axum` and against a hand-written `lambda_runtime` handler, in the same run.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use svless_benches::{axum_router, event, floor, lambda_http_axum, svless_app, svless_invoke};

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

criterion_group!(benches, invocation);
criterion_main!(benches);
