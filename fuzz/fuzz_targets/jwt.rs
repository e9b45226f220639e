//! Any string as a bearer token: the verifier refuses it (or, never here, accepts a valid one)
//! without panicking — header and claims parsing, base64, the key lookup by `kid`.
#![no_main]

use std::sync::OnceLock;
use svless::auth::{CognitoVerifier, JwksCache, TokenUse};

const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_fuzz";

fn verifier() -> &'static CognitoVerifier {
    static VERIFIER: OnceLock<CognitoVerifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let jwks = serde_json::from_str(include_str!("../../tests/fixtures/jwks/jwks.json"))
            .expect("the test key set");
        let keys = JwksCache::with_keys("http://127.0.0.1:9/jwks.json", &jwks).expect("keys");
        CognitoVerifier::with_keys(ISSUER, keys, TokenUse::Id, ["client"])
    })
}

libfuzzer_sys::fuzz_target!(|token: &str| {
    let verified = svless_fuzz::runtime().block_on(verifier().verify::<serde_json::Value>(token));
    assert!(verified.is_err(), "a fuzzed token is never valid");
});
