//! Compile-time checks of the macros, pinned by `trybuild`.

#[test]
fn api_macro_misuse_gives_spanned_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/api/fail/*.rs");
    t.compile_fail("tests/ui/problem/fail/*.rs");
    t.compile_fail("tests/ui/events/fail/*.rs");
    t.compile_fail("tests/ui/named_error/fail/*.rs");
}

#[test]
fn api_macro_accepts_every_supported_signature() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/api/pass/*.rs");
}
