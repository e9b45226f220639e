//! Encoding responses in the payload format their request came in.

use super::Reply;
use crate::body::Response;
use crate::context::PayloadFormat;
use base64::Engine as _;
use http::header::{self, HeaderMap};
use serde::ser::{Serialize, SerializeMap, Serializer};
use std::borrow::Cow;

/// Whether a content type is text that API Gateway can carry without base64.
fn is_text(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim();
    let starts = |prefix: &str| {
        essence
            .get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
    };
    let ends = |suffix: &str| {
        essence.len() >= suffix.len()
            && essence
                .get(essence.len() - suffix.len()..)
                .is_some_and(|p| p.eq_ignore_ascii_case(suffix))
    };
    starts("text/")
        || [
            "application/json",
            "application/javascript",
            "application/xml",
            "application/x-www-form-urlencoded",
            "application/graphql",
            "image/svg+xml",
        ]
        .iter()
        .any(|t| essence.eq_ignore_ascii_case(t))
        || ends("+json")
        || ends("+xml")
}

fn header_str(value: &http::HeaderValue) -> Cow<'_, str> {
    match value.to_str() {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(value.as_bytes()),
    }
}

/// Headers as a map of single values; repeated values are joined with `, `.
struct SingleHeaders<'a> {
    headers: &'a HeaderMap,
    skip_cookies: bool,
}

impl Serialize for SingleHeaders<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for name in self.headers.keys() {
            if self.skip_cookies && name == header::SET_COOKIE {
                continue;
            }
            let mut values = self.headers.get_all(name).iter();
            let first = values.next().map(header_str).unwrap_or_default();
            match values.next() {
                None => map.serialize_entry(name.as_str(), &first)?,
                Some(second) => {
                    let mut joined = first.into_owned();
                    joined.push_str(", ");
                    joined.push_str(&header_str(second));
                    for more in values {
                        joined.push_str(", ");
                        joined.push_str(&header_str(more));
                    }
                    map.serialize_entry(name.as_str(), &joined)?;
                }
            }
        }
        map.end()
    }
}

/// Headers as a map of value lists.
struct MultiHeaders<'a>(&'a HeaderMap);

impl Serialize for MultiHeaders<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.keys_len()))?;
        for name in self.0.keys() {
            let values: Vec<Cow<'_, str>> = self.0.get_all(name).iter().map(header_str).collect();
            map.serialize_entry(name.as_str(), &values)?;
        }
        map.end()
    }
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Encoded<'a> {
    status_code: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    headers: Option<SingleHeaders<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    multi_value_headers: Option<MultiHeaders<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cookies: Option<Vec<Cow<'a, str>>>,
    body: Cow<'a, str>,
    is_base64_encoded: bool,
}

pub(crate) fn encode(response: Response, reply: Reply) -> Vec<u8> {
    let (parts, body) = response.into_parts();
    let bytes = body.as_bytes();
    let (body, is_base64_encoded) = match std::str::from_utf8(bytes) {
        Ok(text) if is_text(&parts.headers) || bytes.is_empty() => (Cow::Borrowed(text), false),
        _ => (
            Cow::Owned(base64::engine::general_purpose::STANDARD.encode(bytes)),
            true,
        ),
    };
    let status = parts.status;
    let mut encoded = Encoded {
        status_code: status.as_u16(),
        status_description: None,
        headers: None,
        multi_value_headers: None,
        cookies: None,
        body,
        is_base64_encoded,
    };
    match reply.format {
        PayloadFormat::ApiGatewayV2 => {
            encoded.headers = Some(SingleHeaders {
                headers: &parts.headers,
                skip_cookies: true,
            });
            let cookies: Vec<_> = parts
                .headers
                .get_all(header::SET_COOKIE)
                .iter()
                .map(header_str)
                .collect();
            encoded.cookies = Some(cookies);
        }
        PayloadFormat::ApiGatewayV1 => {
            encoded.multi_value_headers = Some(MultiHeaders(&parts.headers))
        }
        PayloadFormat::Alb => {
            encoded.status_description = Some(format!(
                "{} {}",
                status.as_u16(),
                crate::error::reason_phrase(status)
            ));
            if reply.multi_value {
                encoded.multi_value_headers = Some(MultiHeaders(&parts.headers));
            } else {
                encoded.headers = Some(SingleHeaders {
                    headers: &parts.headers,
                    skip_cookies: false,
                });
            }
        }
    }
    let mut out = Vec::with_capacity(encoded.body.len() + 256 + 64 * parts.headers.len());
    match serde_json::to_writer(&mut out, &encoded) {
        Ok(()) => out,
        Err(_) => br#"{"statusCode":500,"body":"","isBase64Encoded":false}"#.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Body;
    use http::HeaderValue;

    fn response() -> Response {
        let mut r = Response::new(Body::from(vec![0u8, 159, 146, 150]));
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
        r.headers_mut()
            .append(header::SET_COOKIE, HeaderValue::from_static("a=1; Path=/"));
        r.headers_mut()
            .append(header::SET_COOKIE, HeaderValue::from_static("b=2"));
        r.headers_mut()
            .append("x-multi", HeaderValue::from_static("1"));
        r.headers_mut()
            .append("x-multi", HeaderValue::from_static("2"));
        r
    }

    #[test]
    fn v2_puts_cookies_apart_and_base64_encodes_binary() {
        let out: serde_json::Value = serde_json::from_slice(&encode(
            response(),
            Reply {
                format: PayloadFormat::ApiGatewayV2,
                multi_value: false,
            },
        ))
        .unwrap();
        assert_eq!(out["cookies"], serde_json::json!(["a=1; Path=/", "b=2"]));
        assert_eq!(out["headers"]["x-multi"], "1, 2");
        assert!(out["headers"].get("set-cookie").is_none());
        assert_eq!(out["isBase64Encoded"], true);
        assert_eq!(out["body"], "AJ+Slg==");
    }

    #[test]
    fn v1_keeps_every_value_in_multi_value_headers() {
        let out: serde_json::Value = serde_json::from_slice(&encode(
            response(),
            Reply {
                format: PayloadFormat::ApiGatewayV1,
                multi_value: true,
            },
        ))
        .unwrap();
        assert_eq!(
            out["multiValueHeaders"]["set-cookie"],
            serde_json::json!(["a=1; Path=/", "b=2"])
        );
        assert!(out.get("headers").is_none());
    }

    #[test]
    fn alb_has_a_status_description() {
        let out: serde_json::Value = serde_json::from_slice(&encode(
            response(),
            Reply {
                format: PayloadFormat::Alb,
                multi_value: false,
            },
        ))
        .unwrap();
        assert_eq!(out["statusDescription"], "200 OK");
    }
}
