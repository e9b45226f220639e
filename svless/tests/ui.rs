//! Compile-time checks of the macros, pinned by `trybuild`.
//!
//! The expected messages list the extractors in scope, so they are pinned for the workspace's
//! feature set: run them with `cargo test --workspace` (as `scripts/test.sh` does), where the
//! integration tests turn on the `auth` and `store` features (the SDK backends are turned on
//! on `svless-store` directly, so these builds need no AWS SDK client).

#[test]
fn api_macro_misuse_gives_spanned_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/api/fail/*.rs");
    t.compile_fail("tests/ui/problem/fail/*.rs");
    t.compile_fail("tests/ui/events/fail/*.rs");
    t.compile_fail("tests/ui/named_error/fail/*.rs");
    t.compile_fail("tests/ui/entity/fail/*.rs");
}

#[test]
fn api_macro_accepts_every_supported_signature() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/api/pass/*.rs");
    t.pass("tests/ui/entity/pass/*.rs");
    t.pass("tests/ui/events/pass/*.rs");
}
