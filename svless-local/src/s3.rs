//! Presigned S3 requests on the services port: what a browser sends to upload to, or read from,
//! the local object store — path-style `/<bucket>/<key>?X-Amz-Signature=…`, checked as S3
//! checks them (signature, signed headers, expiry; 403 with S3's error XML), and CORS
//! preflights answered as a bucket with an allow-all CORS rule answers them.

use bytes::Bytes;
use futures_util::TryStreamExt as _;
use http_body_util::{BodyStream, Full};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use svless_store::object::{Error as ObjectError, GetOptions, Key, PutBody, PutOptions};

/// Whether the services port should answer `request` as S3: no `X-Amz-Target`, and a query
/// signature or a CORS preflight.
pub(crate) fn takes(request: &Request<Incoming>) -> bool {
    if request.headers().contains_key("x-amz-target") {
        return false;
    }
    request.method() == Method::OPTIONS
        || request
            .uri()
            .query()
            .is_some_and(|q| q.contains("X-Amz-Signature="))
}

fn with_cors(mut response: Response<Full<Bytes>>) -> Response<Full<Bytes>> {
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("ETag, x-amz-version-id"),
    );
    response
}

fn error(status: StatusCode, code: &'static str, message: &str) -> Response<Full<Bytes>> {
    let denied = svless_store::object::presign::Denied {
        code,
        message: message.to_owned(),
    };
    xml(status, denied.xml(&svless_core::local::request_id()))
}

fn xml(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    with_cors(response)
}

fn object_error(err: &ObjectError) -> Response<Full<Bytes>> {
    match err {
        ObjectError::NotFound { .. } => error(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        ),
        ObjectError::InvalidKey { .. } | ObjectError::Validation { .. } => {
            error(StatusCode::BAD_REQUEST, "InvalidArgument", &err.to_string())
        }
        ObjectError::Body { .. } => error(
            StatusCode::BAD_REQUEST,
            "IncompleteBody",
            "You did not provide the number of bytes specified by the Content-Length HTTP header.",
        ),
        _ => {
            tracing::error!(error = %err, "a presigned request failed in the object store");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "We encountered an internal error. Please try again.",
            )
        }
    }
}

/// Answers a presigned request or a CORS preflight.
pub(crate) async fn answer(request: Request<Incoming>) -> Response<Full<Bytes>> {
    if request.method() == Method::OPTIONS {
        let mut response = Response::new(Full::new(Bytes::new()));
        let headers = response.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            // POST: the user pool's JSON API shares the port and is called from pages.
            HeaderValue::from_static("GET, PUT, HEAD, POST"),
        );
        if let Some(asked) = request
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        {
            headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
        }
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("3000"),
        );
        return with_cors(response);
    }
    let Some(signer) = svless_store::local::presigner() else {
        return error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "presigned URLs are not served here",
        );
    };
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    // A HEAD is allowed by a URL signed for GET, as S3 allows it.
    let signed_method = if method == "HEAD" { "GET" } else { &method };
    let (bucket, key) = match signer.verify(
        signed_method,
        &path,
        &query,
        &headers,
        std::time::SystemTime::now(),
    ) {
        Ok(named) => named,
        Err(denied) => {
            return xml(
                StatusCode::FORBIDDEN,
                denied.xml(&svless_core::local::request_id()),
            );
        }
    };
    let key = match Key::new(&key) {
        Ok(key) => key,
        Err(err) => return object_error(&err),
    };
    let store = match svless_store::local::bucket(&bucket).await {
        Ok(store) => store,
        Err(err) => return object_error(&err),
    };
    use svless_store::object::ObjectStore as _;
    match method.as_str() {
        "PUT" => {
            let content_type = request
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("binary/octet-stream")
                .to_owned();
            let body = BodyStream::new(request.into_body())
                .try_filter_map(|frame| async move { Ok(frame.into_data().ok()) });
            match store
                .put(
                    &key,
                    PutBody::stream(body),
                    PutOptions::new().content_type(&content_type),
                )
                .await
            {
                Ok(out) => {
                    let mut response = Response::new(Full::new(Bytes::new()));
                    if let Ok(etag) = HeaderValue::from_str(&out.etag) {
                        response.headers_mut().insert(header::ETAG, etag);
                    }
                    if let Some(version) = out.version_id.as_deref()
                        && let Ok(version) = HeaderValue::from_str(version)
                    {
                        response.headers_mut().insert("x-amz-version-id", version);
                    }
                    with_cors(response)
                }
                Err(err) => object_error(&err),
            }
        }
        "GET" | "HEAD" => match store.get(&key, GetOptions::new()).await {
            Ok(out) => {
                let meta = out.meta;
                let body = if method == "HEAD" {
                    Bytes::new()
                } else {
                    let chunks: Result<Vec<Bytes>, _> = out.body.try_collect().await;
                    match chunks {
                        Ok(chunks) => Bytes::from(chunks.concat()),
                        Err(err) => return object_error(&err),
                    }
                };
                let mut response = Response::new(Full::new(body));
                let headers = response.headers_mut();
                if let Ok(etag) = HeaderValue::from_str(&meta.etag) {
                    headers.insert(header::ETAG, etag);
                }
                let content_type = meta
                    .content_type
                    .as_deref()
                    .unwrap_or("binary/octet-stream");
                if let Ok(content_type) = HeaderValue::from_str(content_type) {
                    headers.insert(header::CONTENT_TYPE, content_type);
                }
                headers.insert(header::CONTENT_LENGTH, HeaderValue::from(meta.size));
                let modified: chrono::DateTime<chrono::Utc> = meta.last_modified.into();
                if let Ok(modified) =
                    HeaderValue::from_str(&modified.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
                {
                    headers.insert(header::LAST_MODIFIED, modified);
                }
                with_cors(response)
            }
            Err(err) => object_error(&err),
        },
        _ => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
        ),
    }
}
