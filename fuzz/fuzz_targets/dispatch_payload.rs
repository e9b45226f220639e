//! Any bytes as a Lambda payload: the classifier, every source's decoder, the router, the
//! extractors and the handlers of a real app. Seeds: `tests/fixtures/*.json`.
#![no_main]

libfuzzer_sys::fuzz_target!(|payload: &[u8]| {
    svless_fuzz::dispatch(payload);
});
