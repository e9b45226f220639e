//! Laws, checked on generated inputs (`proptest`): what a request carries reaches the handler and
//! what it answers reaches the client, byte for byte, in every payload shape; pagination visits
//! every item once in either order and a cursor never crosses partitions; an S3 key survives its
//! notification; an explicit deny always wins, and the evaluator agrees with IAM's definition.

use base64::Engine as _;
use proptest::prelude::*;
use serde_json::{Value, json};
use svless::http::HeaderMap;
use svless::policy::{Decision, PolicyDocument, Request, wildcard_match};
use svless::store::dynamo::{Error as DbError, MemoryDb, Table, TableDef};
use svless::{App, Context, api};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

// ------------------------------------------------------------------ bodies, both ways

/// Echoes the request body with the content type the request names.
#[api(POST "/echo")]
async fn echo(headers: HeaderMap, body: bytes::Bytes) -> ([(&'static str, String); 1], Vec<u8>) {
    let kind = headers
        .get("x-answer-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    ([("content-type", kind)], body.to_vec())
}

const TYPES: [&str; 5] = [
    "text/plain; charset=utf-8",
    "application/json",
    "application/octet-stream",
    "image/png",
    "text/html",
];

fn event(shape: u8, body: &[u8], kind: &str) -> Value {
    let encoded = base64::engine::general_purpose::STANDARD.encode(body);
    let headers = json!({"content-type": "application/octet-stream", "x-answer-type": kind});
    match shape % 3 {
        0 => json!({
            "version": "2.0", "routeKey": "POST /echo", "rawPath": "/echo", "rawQueryString": "",
            "headers": headers,
            "requestContext": {"http": {"method": "POST", "path": "/echo", "protocol": "HTTP/1.1", "sourceIp": "1.2.3.4", "userAgent": "p"},
                               "requestId": "r", "routeKey": "POST /echo", "stage": "$default", "timeEpoch": 0,
                               "accountId": "1", "apiId": "a", "domainName": "d", "domainPrefix": "d", "time": "t"},
            "body": encoded, "isBase64Encoded": true
        }),
        1 => json!({
            "resource": "/echo", "path": "/echo", "httpMethod": "POST", "headers": headers,
            "multiValueHeaders": {"content-type": ["application/octet-stream"], "x-answer-type": [kind]},
            "queryStringParameters": null, "multiValueQueryStringParameters": null, "pathParameters": null,
            "stageVariables": null,
            "requestContext": {"resourcePath": "/echo", "httpMethod": "POST", "path": "/prod/echo", "stage": "prod",
                               "requestId": "r", "accountId": "1", "apiId": "a", "identity": {"sourceIp": "1.2.3.4"},
                               "protocol": "HTTP/1.1", "requestTimeEpoch": 0},
            "body": encoded, "isBase64Encoded": true
        }),
        _ => json!({
            "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/t/1"}},
            "httpMethod": "POST", "path": "/echo", "queryStringParameters": {}, "headers": headers,
            "body": encoded, "isBase64Encoded": true
        }),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn a_body_reaches_the_handler_and_comes_back_byte_for_byte(
        body in proptest::collection::vec(any::<u8>(), 0..3000),
        text in "\\PC{0,200}",
        use_text in any::<bool>(),
        shape in any::<u8>(),
        kind in 0usize..TYPES.len(),
    ) {
        let body = if use_text { text.into_bytes() } else { body };
        let app = App::new().route(echo);
        let payload = serde_json::to_vec(&event(shape, &body, TYPES[kind])).expect("JSON");
        let out = runtime().block_on(app.dispatch(&payload, Context::default())).expect("an HTTP answer");
        let out: Value = serde_json::from_slice(&out).expect("JSON");
        prop_assert_eq!(out["statusCode"].as_u64(), Some(200), "{}", out);
        let text = out["body"].as_str().unwrap_or_default();
        let got = if out["isBase64Encoded"].as_bool() == Some(true) {
            base64::engine::general_purpose::STANDARD.decode(text).expect("base64")
        } else {
            // A body sent as text must be the bytes themselves: only valid UTF-8 may go so.
            text.as_bytes().to_vec()
        };
        prop_assert_eq!(got, body);
    }
}

// ------------------------------------------------------------------ pagination

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, svless::Entity)]
#[entity(pk = "LIST#{list}", sk = "ITEM#{seq}")]
struct Item {
    list: String,
    seq: u32,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn pages_visit_every_item_once_in_order_and_cursors_stay_in_their_partition(
        seqs in proptest::collection::btree_set(any::<u32>(), 0..40),
        others in proptest::collection::btree_set(any::<u32>(), 1..10),
        limit in 1u32..8,
        descending in any::<bool>(),
    ) {
        runtime().block_on(async {
            let table = Table::memory(TableDef::new("props"), &MemoryDb::new());
            table.create().await.expect("created");
            for &seq in &seqs {
                table.put(&Item { list: "a".into(), seq }).await.expect("put");
            }
            for &seq in &others {
                table.put(&Item { list: "b".into(), seq }).await.expect("put");
            }
            let mut seen = Vec::new();
            let mut cursor: Option<String> = None;
            let mut cursors = Vec::new();
            for _ in 0..=seqs.len() + 1 {
                let mut query = table.query::<Item>(Item::partition("a")).limit(limit).after(cursor.as_deref());
                if descending {
                    query = query.descending();
                }
                let page = query.page().await.expect("a page");
                assert!(page.items.len() <= limit as usize);
                seen.extend(page.items.iter().map(|i| i.seq));
                match page.next {
                    Some(next) => {
                        cursors.push(next.clone());
                        cursor = Some(next);
                    }
                    None => break,
                }
            }
            let mut expected: Vec<u32> = seqs.iter().copied().collect();
            if descending {
                expected.reverse();
            }
            assert_eq!(seen, expected);
            for used in cursors {
                let foreign = table
                    .query::<Item>(Item::partition("b"))
                    .limit(limit)
                    .after(Some(&used))
                    .page()
                    .await;
                assert!(matches!(foreign, Err(DbError::InvalidCursor)), "a cursor of list a read list b: {foreign:?}");
            }
        });
    }
}

// ------------------------------------------------------------------ S3 keys

#[svless::s3]
async fn key_of(
    object: svless::source::s3::S3Object,
    svless::State(seen): svless::State<std::sync::Arc<std::sync::Mutex<Vec<String>>>>,
) {
    seen.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(object.key);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn an_object_key_survives_its_notification(key in "[^\\x00-\\x1f\\x7f]{1,120}") {
        use svless::store::object::{Key, MemoryStore, ObjectStoreExt as _};
        let Ok(valid) = Key::new(&key) else { return Ok(()); };
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let app = App::new().state(seen.clone()).on(key_of);
        let got = runtime().block_on(async {
            let store = MemoryStore::new("bucket");
            let mut changes = store.subscribe();
            store.put_bytes(&valid, b"x".to_vec()).await.expect("put");
            let change = changes.recv().await.expect("a change");
            app.dispatch(&change.payload(), Context::default()).await.expect("handled");
            seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
        });
        prop_assert_eq!(got, vec![key]);
    }
}

// ------------------------------------------------------------------ policies

fn pattern() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![Just("a"), Just("b"), Just(":"), Just("*"), Just("?")],
        0..6,
    )
    .prop_map(|parts| parts.concat())
}

fn value() -> impl Strategy<Value = String> {
    proptest::collection::vec(prop_oneof![Just("a"), Just("b"), Just(":")], 0..6)
        .prop_map(|parts| parts.concat())
}

#[derive(Debug, Clone)]
struct Statement {
    allow: bool,
    action: String,
    resource: String,
}

fn statement() -> impl Strategy<Value = Statement> {
    (any::<bool>(), pattern(), pattern()).prop_map(|(allow, action, resource)| Statement {
        allow,
        action: format!("s3:{action}"),
        resource: format!("arn:{resource}"),
    })
}

fn document(statements: &[Statement]) -> PolicyDocument {
    let statements: Vec<Value> = statements
        .iter()
        .map(|s| json!({"Effect": if s.allow { "Allow" } else { "Deny" }, "Action": s.action, "Resource": s.resource}))
        .collect();
    serde_json::from_value(json!({"Version": "2012-10-17", "Statement": statements}))
        .expect("a policy")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn the_evaluator_is_iams_definition_and_an_explicit_deny_always_wins(
        statements in proptest::collection::vec(statement(), 0..6),
        action in value(),
        resource in value(),
    ) {
        let action = format!("s3:{action}");
        let resource = format!("arn:{resource}");
        let request = Request { action: &action, resource: &resource, ..Default::default() };
        let applies = |s: &Statement| wildcard_match(&s.action, &action) && wildcard_match(&s.resource, &resource);
        let expected = if statements.iter().any(|s| !s.allow && applies(s)) {
            Decision::ExplicitDeny
        } else if statements.iter().any(|s| s.allow && applies(s)) {
            Decision::Allow
        } else {
            Decision::ImplicitDeny
        };
        prop_assert_eq!(document(&statements).evaluate(&request), expected);

        // Adding a deny that names the request exactly makes any policy deny it.
        let mut denied = statements.clone();
        denied.push(Statement { allow: false, action: action.clone(), resource: resource.clone() });
        prop_assert_eq!(document(&denied).evaluate(&request), Decision::ExplicitDeny);
    }

    #[test]
    fn wildcards_match_what_they_stand_for(text in value(), mask in proptest::collection::vec(any::<bool>(), 0..6)) {
        prop_assert!(wildcard_match("*", &text));
        prop_assert!(wildcard_match(&text, &text));
        let masked: String = text
            .chars()
            .zip(mask.iter().chain(std::iter::repeat(&false)))
            .map(|(c, &m)| if m { '?' } else { c })
            .collect();
        prop_assert!(wildcard_match(&masked, &text));
        let longer = format!("{text}?");
        prop_assert!(!wildcard_match(&longer, &text));
    }
}

// ------------------------------------------------------------------ key parts

fn key<T: svless::store::dynamo::KeyPart>(value: &T) -> String {
    let mut out = String::new();
    value.write_key(&mut out);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn numbers_and_times_sort_as_their_key_parts_do(a in any::<u64>(), b in any::<u64>(), c in any::<i64>(), d in any::<i64>(), s in 0i64..4_000_000_000, t in 0i64..4_000_000_000) {
        prop_assert_eq!(a.cmp(&b), key(&a).cmp(&key(&b)));
        prop_assert_eq!(c.cmp(&d), key(&c).cmp(&key(&d)));
        let (x, y) = (
            chrono::DateTime::from_timestamp_millis(s * 1000 + 7).expect("a time"),
            chrono::DateTime::from_timestamp_millis(t * 1000 + 3).expect("a time"),
        );
        prop_assert_eq!(x.cmp(&y), key(&x).cmp(&key(&y)));
    }

    #[test]
    fn different_strings_make_different_key_parts_that_never_hold_the_separator(a in "\\PC{0,12}", b in "\\PC{0,12}") {
        prop_assert_eq!(a == b, key(&a) == key(&b));
        prop_assert!(!key(&a).contains('#'));
        // Without the escaped characters, strings sort as their key parts do.
        if !a.contains(['#', '%']) && !b.contains(['#', '%']) {
            prop_assert_eq!(a.cmp(&b), key(&a).cmp(&key(&b)));
        }
    }
}
