//! Presigned URLs of the local object store: AWS Signature Version 4 in the query string, as S3
//! signs and checks them ("Authenticating Requests: Using Query Parameters", S3 API reference),
//! so a browser can PUT and GET objects on the local cloud's services port without credentials.
//!
//! The local cloud sets the signer at start-up ([`crate::local::set_presign_endpoint`]); its
//! secret is made afresh for each process, so URLs from an earlier run are refused.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, NaiveDateTime, Utc};
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::{Digest, Sha256};

use super::types::Presigned;

/// What SigV4 leaves unencoded: `A-Z a-z 0-9 - _ . ~`.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The longest validity S3 accepts: seven days.
pub const MAX_EXPIRES: Duration = Duration::from_secs(7 * 24 * 3600);

const REGION: &str = "us-east-1";
const ACCESS_KEY: &str = "SVLESSLOCAL";

/// Signs and checks presigned requests for an endpoint.
#[derive(Clone)]
pub struct Signer {
    endpoint: String,
    secret: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// Why a presigned request is refused: S3's error code and message (answered with 403).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    /// `AccessDenied`, `SignatureDoesNotMatch`, `AuthorizationQueryParametersError`.
    pub code: &'static str,
    /// What S3 says.
    pub message: String,
}

impl Denied {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// The error document S3 answers with.
    ///
    /// ```
    /// use svless_store::object::presign::Signer;
    /// let signer = Signer::new("http://127.0.0.1:3001");
    /// let denied = signer.verify("GET", "/b/k", "", &[], std::time::SystemTime::now()).unwrap_err();
    /// assert!(denied.xml("r1").contains("<Code>AccessDenied</Code>"));
    /// ```
    pub fn xml(&self, request_id: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message><RequestId>{}</RequestId></Error>",
            self.code,
            escape(&self.message),
            escape(request_id)
        )
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    // HMAC takes keys of any length.
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return Vec::new(),
    };
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn encode(text: &str) -> String {
    utf8_percent_encode(text, UNRESERVED).to_string()
}

/// The path of an object: `/<bucket>/<key>`, each key segment encoded, `/` kept.
fn object_path(bucket: &str, key: &str) -> String {
    let mut path = format!("/{}", encode(bucket));
    for segment in key.split('/') {
        path.push('/');
        path.push_str(&encode(segment));
    }
    path
}

/// The canonical query string: pairs encoded, sorted, the signature left out.
fn canonical_query(pairs: &[(String, String)]) -> String {
    let mut encoded: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k != "X-Amz-Signature")
        .map(|(k, v)| (encode(k), encode(v)))
        .collect();
    encoded.sort();
    encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

impl Signer {
    /// A signer for URLs on `endpoint` (`http://127.0.0.1:3001`), with a fresh secret.
    ///
    /// ```
    /// let signer = svless_store::object::presign::Signer::new("http://127.0.0.1:3001");
    /// ```
    pub fn new(endpoint: &str) -> Self {
        let mut secret = String::new();
        for _ in 0..4 {
            secret.push_str(&format!("{:016x}", random_u64()));
        }
        Self {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            secret,
        }
    }

    /// A signer with a chosen secret key: to check URLs signed elsewhere with that key (the AWS
    /// SDK's, in a test), or to have a test's own SigV4 check recompute this signer's URLs.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use svless_store::object::presign::Signer;
    /// let a = Signer::with_secret("http://127.0.0.1:3001", "k");
    /// let b = Signer::with_secret("http://127.0.0.1:3001", "k");
    /// let now = SystemTime::now();
    /// assert_eq!(a.presign("GET", "b", "k", None, Duration::from_secs(5), now), b.presign("GET", "b", "k", None, Duration::from_secs(5), now));
    /// ```
    pub fn with_secret(endpoint: &str, secret: &str) -> Self {
        Self {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            secret: secret.to_owned(),
        }
    }

    fn host(&self) -> &str {
        self.endpoint
            .split_once("://")
            .map_or(self.endpoint.as_str(), |(_, rest)| rest)
            .split('/')
            .next()
            .unwrap_or_default()
    }

    fn signature(
        &self,
        method: &str,
        path: &str,
        query: &[(String, String)],
        headers: &[(String, String)],
        signed: &str,
        amz_date: &str,
    ) -> String {
        let date = &amz_date[..amz_date.len().min(8)];
        let canonical_headers: String = headers
            .iter()
            .map(|(name, value)| format!("{name}:{}\n", value.trim()))
            .collect();
        let canonical = format!(
            "{method}\n{path}\n{}\n{canonical_headers}\n{signed}\nUNSIGNED-PAYLOAD",
            canonical_query(query)
        );
        let scope = format!("{date}/{REGION}/s3/aws4_request");
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            hex::encode(Sha256::digest(canonical.as_bytes()))
        );
        let key = hmac(format!("AWS4{}", self.secret).as_bytes(), date);
        let key = hmac(&key, REGION);
        let key = hmac(&key, "s3");
        let key = hmac(&key, "aws4_request");
        hex::encode(hmac(&key, &to_sign))
    }

    /// A presigned `GET` (or `PUT` with `content_type`) of `key` in `bucket`.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use svless_store::object::presign::Signer;
    /// let signer = Signer::new("http://127.0.0.1:3001");
    /// let url = signer.presign("PUT", "photos", "a b.jpg", Some("image/jpeg"), Duration::from_secs(60), SystemTime::now());
    /// assert!(url.url.starts_with("http://127.0.0.1:3001/photos/a%20b.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256"));
    /// assert_eq!(url.headers, [("content-type".to_owned(), "image/jpeg".to_owned())]);
    /// ```
    pub fn presign(
        &self,
        method: &str,
        bucket: &str,
        key: &str,
        content_type: Option<&str>,
        expires_in: Duration,
        now: SystemTime,
    ) -> Presigned {
        let now: DateTime<Utc> = now.into();
        let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
        let date = &amz_date[..8];
        let mut headers = vec![("host".to_owned(), self.host().to_owned())];
        if let Some(content_type) = content_type {
            headers.insert(0, ("content-type".to_owned(), content_type.to_owned()));
        }
        let signed = headers
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(";");
        let query = vec![
            ("X-Amz-Algorithm".to_owned(), "AWS4-HMAC-SHA256".to_owned()),
            (
                "X-Amz-Credential".to_owned(),
                format!("{ACCESS_KEY}/{date}/{REGION}/s3/aws4_request"),
            ),
            ("X-Amz-Date".to_owned(), amz_date.clone()),
            (
                "X-Amz-Expires".to_owned(),
                expires_in.as_secs().min(MAX_EXPIRES.as_secs()).to_string(),
            ),
            ("X-Amz-SignedHeaders".to_owned(), signed.clone()),
        ];
        let path = object_path(bucket, key);
        let signature = self.signature(method, &path, &query, &headers, &signed, &amz_date);
        let url = format!(
            "{}{path}?{}&X-Amz-Signature={signature}",
            self.endpoint,
            canonical_query(&query)
        );
        Presigned {
            method: method.to_owned(),
            url,
            headers: content_type
                .map(|c| vec![("content-type".to_owned(), c.to_owned())])
                .unwrap_or_default(),
        }
    }

    /// Checks a request against its query signature and expiry; on success, the bucket and key
    /// (decoded) it names. `headers` are the request's, names lower-case.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use svless_store::object::presign::Signer;
    /// let signer = Signer::new("http://127.0.0.1:3001");
    /// let now = SystemTime::now();
    /// let url = signer.presign("GET", "photos", "cat.jpg", None, Duration::from_secs(60), now);
    /// let (path, query) = url.url["http://127.0.0.1:3001".len()..].split_once('?').expect("a query");
    /// let host = [("host".to_owned(), "127.0.0.1:3001".to_owned())];
    /// assert_eq!(signer.verify("GET", path, query, &host, now).expect("valid"), ("photos".to_owned(), "cat.jpg".to_owned()));
    /// let later = now + Duration::from_secs(61);
    /// assert_eq!(signer.verify("GET", path, query, &host, later).unwrap_err().code, "AccessDenied");
    /// assert_eq!(signer.verify("PUT", path, query, &host, now).unwrap_err().code, "SignatureDoesNotMatch");
    /// ```
    pub fn verify(
        &self,
        method: &str,
        path: &str,
        query: &str,
        headers: &[(String, String)],
        now: SystemTime,
    ) -> Result<(String, String), Denied> {
        let pairs: Vec<(String, String)> = form_pairs(query);
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let Some(signature) = get("X-Amz-Signature") else {
            return Err(Denied::new(
                "AccessDenied",
                "Query-string authentication requires the X-Amz-Signature parameter",
            ));
        };
        if get("X-Amz-Algorithm") != Some("AWS4-HMAC-SHA256") {
            return Err(Denied::new(
                "AuthorizationQueryParametersError",
                "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"",
            ));
        }
        let (Some(amz_date), Some(expires), Some(signed)) = (
            get("X-Amz-Date"),
            get("X-Amz-Expires"),
            get("X-Amz-SignedHeaders"),
        ) else {
            return Err(Denied::new(
                "AuthorizationQueryParametersError",
                "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
            ));
        };
        let Ok(expires) = expires.parse::<u64>() else {
            return Err(Denied::new(
                "AuthorizationQueryParametersError",
                "X-Amz-Expires should be a number",
            ));
        };
        if expires > MAX_EXPIRES.as_secs() {
            return Err(Denied::new(
                "AuthorizationQueryParametersError",
                "X-Amz-Expires must be less than a week (in seconds) that is 604800",
            ));
        }
        let Ok(signed_at) = NaiveDateTime::parse_from_str(amz_date, "%Y%m%dT%H%M%SZ") else {
            return Err(Denied::new(
                "AuthorizationQueryParametersError",
                "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
            ));
        };
        let mut request_headers = Vec::new();
        for name in signed.split(';') {
            let Some((_, value)) = headers.iter().find(|(n, _)| n == name) else {
                return Err(Denied::new(
                    "SignatureDoesNotMatch",
                    format!(
                        "The request signature we calculated does not match the signature you provided: the signed header `{name}` is missing"
                    ),
                ));
            };
            request_headers.push((name.to_owned(), value.clone()));
        }
        let expected = self.signature(method, path, &pairs, &request_headers, signed, amz_date);
        if !constant_time_eq(expected.as_bytes(), signature.as_bytes()) {
            return Err(Denied::new(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            ));
        }
        let signed_at = signed_at.and_utc().timestamp();
        let now = DateTime::<Utc>::from(now).timestamp();
        if now > signed_at + expires as i64 {
            return Err(Denied::new("AccessDenied", "Request has expired"));
        }
        let mut parts = path.trim_start_matches('/').splitn(2, '/');
        let bucket = decode(parts.next().unwrap_or_default());
        let key = decode(parts.next().unwrap_or_default());
        if bucket.is_empty() || key.is_empty() {
            return Err(Denied::new(
                "AccessDenied",
                "a presigned URL names one object",
            ));
        }
        Ok((bucket, key))
    }
}

fn decode(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

/// A query string's pairs, decoded (`+` is a space, as form encoding has it).
fn form_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(&k.replace('+', " ")), decode(&v.replace('+', " ")))
        })
        .collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A random number from the standard library's randomly keyed hasher (no extra dependency).
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    hasher.finish()
}
