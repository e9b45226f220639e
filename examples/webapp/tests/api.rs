//! Every route through the test client: success, and each error a client can cause (401, 403,
//! 404, 409 on a stale version, 422 naming the field), with HTTP API events as API Gateway
//! sends them after its JWT authorizer.

mod common;

use common::{Caller, app};
use serde_json::{Value, json};
use svless::App;
use svless::testing::{TestRequest, TestResponse};
use webapp::Services;
use webapp::api::{AlbumView, Listing, MemberView, PhotoView, UploadTicketView};

async fn call(
    app: &App<Services>,
    who: &Caller,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> TestResponse {
    let mut request = TestRequest::new(method, path).authorizer(who.authorizer());
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send(app).await
}

fn problem(response: &TestResponse) -> Value {
    assert_eq!(
        response.header("content-type"),
        Some("application/problem+json"),
        "{}",
        response.text()
    );
    response.json()
}

async fn register(app: &App<Services>, who: &Caller) {
    let me = call(app, who, "GET", "/users/me", None).await;
    assert_eq!(me.status, 200, "{}", me.text());
}

async fn album(app: &App<Services>, owner: &Caller, title: &str) -> AlbumView {
    let made = call(app, owner, "POST", "/albums", Some(json!({"title": title}))).await;
    assert_eq!(made.status, 201, "{}", made.text());
    made.json()
}

#[tokio::test]
async fn without_the_authorizers_claims_every_api_route_is_401_and_the_page_is_public() {
    let (app, _) = app(1 << 20).await;
    for (method, path) in [
        ("GET", "/users/me"),
        ("GET", "/albums"),
        ("POST", "/albums"),
        ("GET", "/albums/a1"),
        ("GET", "/albums/a1/photos"),
        ("POST", "/albums/a1/comments"),
        ("GET", "/moderation"),
    ] {
        let response = TestRequest::new(method, path).send(&app).await;
        assert_eq!(response.status, 401, "{method} {path}");
        problem(&response);
    }
    let page = TestRequest::get("/").send(&app).await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("<title>Photo albums</title>"));
    let config = TestRequest::get("/config.json").send(&app).await;
    assert_eq!(config.status, 200);
    assert_eq!(config.json::<Value>()["max_photo_bytes"], 1 << 20);
    let script = TestRequest::get("/static/app.js").send(&app).await;
    assert_eq!(
        script.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
}

#[tokio::test]
async fn users_me_registers_the_caller_once_and_knows_admins() {
    let (app, _) = app(1 << 20).await;
    let ann = Caller::new("ann");
    for _ in 0..2 {
        let me = call(&app, &ann, "GET", "/users/me", None).await;
        assert_eq!(me.status, 200);
        let me: Value = me.json();
        assert_eq!(
            (
                me["id"].as_str(),
                me["email"].as_str(),
                me["name"].as_str(),
                me["admin"].as_bool()
            ),
            (
                Some("sub-ann"),
                Some("ann@example.com"),
                Some("ann"),
                Some(false)
            )
        );
    }
    let admin = call(&app, &Caller::admin("root"), "GET", "/users/me", None).await;
    assert_eq!(admin.json::<Value>()["admin"], true);
}

#[tokio::test]
async fn albums_are_made_listed_with_cursors_renamed_with_versions_and_deleted() {
    let (app, services) = app(1 << 20).await;
    let ann = Caller::new("ann");
    register(&app, &ann).await;
    let mut made = Vec::new();
    for n in 0..5 {
        made.push(album(&app, &ann, &format!("Album {n}")).await.id);
    }
    // Newest membership first, two at a time, each album once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/albums?limit=2&cursor={}", percent(c)),
            None => "/albums?limit=2".to_owned(),
        };
        let page: Listing<AlbumView> = call(&app, &ann, "GET", &path, None).await.json();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.into_iter().map(|a| a.id));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    // Every album once, newest first (albums made within one millisecond in either order).
    let mut sorted = seen.clone();
    sorted.sort();
    made.sort();
    assert_eq!(sorted, made);
    let mut times = Vec::new();
    for id in &seen {
        let got: AlbumView = call(&app, &ann, "GET", &format!("/albums/{id}"), None)
            .await
            .json();
        times.push(got.created_at);
    }
    let parsed: Vec<_> = times
        .iter()
        .map(|t| {
            chrono::DateTime::parse_from_rfc3339(t)
                .expect("a time")
                .timestamp_millis()
        })
        .collect();
    assert!(
        parsed.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
    let made = seen.clone();

    // A cursor changed by hand, and a limit out of range.
    let bad = call(&app, &ann, "GET", "/albums?cursor=not-a-cursor", None).await;
    assert_eq!(bad.status, 400);
    let bad = call(&app, &ann, "GET", "/albums?limit=500", None).await;
    assert_eq!(bad.status, 422);
    assert_eq!(problem(&bad)["field"], "limit");

    // Rename with the version read; a second rename with the same version is stale.
    let id = &made[0];
    let renamed = call(
        &app,
        &ann,
        "PATCH",
        &format!("/albums/{id}"),
        Some(json!({"title": "Summer", "version": 0})),
    )
    .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text());
    let renamed: AlbumView = renamed.json();
    assert_eq!((renamed.title.as_str(), renamed.version), ("Summer", 1));
    let stale = call(
        &app,
        &ann,
        "PATCH",
        &format!("/albums/{id}"),
        Some(json!({"title": "Winter", "version": 0})),
    )
    .await;
    assert_eq!(stale.status, 409);
    assert_eq!(problem(&stale)["currentVersion"], 1);
    let got: AlbumView = call(&app, &ann, "GET", &format!("/albums/{id}"), None)
        .await
        .json();
    assert_eq!(got.title, "Summer");

    // Bodies that do not fit name their field.
    let empty = call(&app, &ann, "POST", "/albums", Some(json!({"title": "   "}))).await;
    assert_eq!(
        (empty.status.as_u16(), problem(&empty)["field"].as_str()),
        (422, Some("title"))
    );
    let long = call(
        &app,
        &ann,
        "POST",
        "/albums",
        Some(json!({"title": "x".repeat(101)})),
    )
    .await;
    assert_eq!(long.status, 422);
    let wrong = call(&app, &ann, "POST", "/albums", Some(json!({"title": 7}))).await;
    assert_eq!(wrong.status, 422);
    assert!(
        problem(&wrong).to_string().contains("title"),
        "{}",
        wrong.text()
    );
    let missing = call(
        &app,
        &ann,
        "PATCH",
        &format!("/albums/{id}"),
        Some(json!({"title": "No version"})),
    )
    .await;
    assert_eq!(missing.status, 422);
    assert!(missing.text().contains("version"), "{}", missing.text());

    // Delete: the album, its membership and its link go.
    let deleted = call(&app, &ann, "DELETE", &format!("/albums/{id}"), None).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(
        call(&app, &ann, "GET", &format!("/albums/{id}"), None)
            .await
            .status,
        404
    );
    let page: Listing<AlbumView> = call(&app, &ann, "GET", "/albums?limit=100", None)
        .await
        .json();
    assert_eq!(page.items.len(), 4);
    let collection = services
        .table
        .collection(&format!("ALBUM#{id}"))
        .await
        .expect("read");
    assert!(collection.is_empty(), "nothing of the album is left");
}

fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn only_members_see_an_album_and_only_its_owner_changes_it() {
    let (app, _) = app(1 << 20).await;
    let (ann, bob, eve) = (Caller::new("ann"), Caller::new("bob"), Caller::new("eve"));
    for who in [&ann, &bob, &eve] {
        register(&app, who).await;
    }
    let trip = album(&app, &ann, "Trip").await;
    let eves = album(&app, &eve, "Eve's").await;
    let path = format!("/albums/{}", trip.id);

    // Bob is not a member yet: 403 everywhere; an album that does not exist is 404.
    for (method, suffix, body) in [
        ("GET", "", None),
        ("GET", "/photos", None),
        ("GET", "/comments", None),
        ("GET", "/members", None),
        ("POST", "/comments", Some(json!({"text": "hi"}))),
        (
            "POST",
            "/photos",
            Some(json!({"file_name": "a.jpg", "content_type": "image/jpeg", "size": 10})),
        ),
    ] {
        let response = call(&app, &bob, method, &format!("{path}{suffix}"), body).await;
        assert_eq!(
            response.status,
            403,
            "{method} {suffix}: {}",
            response.text()
        );
        problem(&response);
    }
    assert_eq!(
        call(&app, &bob, "GET", "/albums/nosuchalbum", None)
            .await
            .status,
        404
    );

    // Invitations: owner only, by a registered e-mail address, once.
    let by_eve = call(
        &app,
        &eve,
        "POST",
        &format!("{path}/members"),
        Some(json!({"email": "bob@example.com"})),
    )
    .await;
    assert_eq!(by_eve.status, 403);
    let unknown = call(
        &app,
        &ann,
        "POST",
        &format!("{path}/members"),
        Some(json!({"email": "nobody@example.com"})),
    )
    .await;
    assert_eq!(unknown.status, 404);
    let malformed = call(
        &app,
        &ann,
        "POST",
        &format!("{path}/members"),
        Some(json!({"email": "bob"})),
    )
    .await;
    assert_eq!(
        (
            malformed.status.as_u16(),
            problem(&malformed)["field"].as_str()
        ),
        (422, Some("email"))
    );
    let invited = call(
        &app,
        &ann,
        "POST",
        &format!("{path}/members"),
        Some(json!({"email": "Bob@Example.com"})),
    )
    .await;
    assert_eq!(invited.status, 201, "{}", invited.text());
    assert_eq!(invited.json::<MemberView>().user, "sub-bob");
    let again = call(
        &app,
        &ann,
        "POST",
        &format!("{path}/members"),
        Some(json!({"email": "bob@example.com"})),
    )
    .await;
    assert_eq!(again.status, 409);

    // Bob reads it now, and finds it among his albums; he cannot rename it or see Eve's.
    let seen: AlbumView = call(&app, &bob, "GET", &path, None).await.json();
    assert_eq!(
        (seen.member_count, seen.role.map(|r| format!("{r:?}"))),
        (2, Some("Member".into()))
    );
    let bobs: Listing<AlbumView> = call(&app, &bob, "GET", "/albums", None).await.json();
    assert_eq!(
        bobs.items.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
        [trip.id.as_str()]
    );
    let rename = call(
        &app,
        &bob,
        "PATCH",
        &path,
        Some(json!({"title": "Mine", "version": 0})),
    )
    .await;
    assert_eq!(rename.status, 403);
    assert_eq!(call(&app, &bob, "DELETE", &path, None).await.status, 403);
    assert_eq!(
        call(&app, &bob, "GET", &format!("/albums/{}", eves.id), None)
            .await
            .status,
        403
    );
    assert_eq!(
        call(
            &app,
            &bob,
            "GET",
            &format!("/albums/{}/photos", eves.id),
            None
        )
        .await
        .status,
        403
    );

    let members: Listing<MemberView> = call(&app, &bob, "GET", &format!("{path}/members"), None)
        .await
        .json();
    assert_eq!(members.items.len(), 2);

    // Members leave (or are removed); the owner cannot leave.
    let owner_leaves = call(
        &app,
        &ann,
        "DELETE",
        &format!("{path}/members/sub-ann"),
        None,
    )
    .await;
    assert_eq!(owner_leaves.status, 409);
    let bob_removes_ann = call(
        &app,
        &bob,
        "DELETE",
        &format!("{path}/members/sub-ann"),
        None,
    )
    .await;
    assert_eq!(bob_removes_ann.status, 403);
    let bob_leaves = call(
        &app,
        &bob,
        "DELETE",
        &format!("{path}/members/sub-bob"),
        None,
    )
    .await;
    assert_eq!(bob_leaves.status, 204);
    assert_eq!(call(&app, &bob, "GET", &path, None).await.status, 403);
    let bobs: Listing<AlbumView> = call(&app, &bob, "GET", "/albums", None).await.json();
    assert!(bobs.items.is_empty());
    let after: AlbumView = call(&app, &ann, "GET", &path, None).await.json();
    assert_eq!(after.member_count, 1);
    let gone = call(
        &app,
        &ann,
        "DELETE",
        &format!("{path}/members/sub-bob"),
        None,
    )
    .await;
    assert_eq!(gone.status, 404);
}

#[tokio::test]
async fn an_upload_is_a_presigned_put_for_a_photo_that_fits() {
    let (app, services) = app(1 << 20).await;
    let ann = Caller::new("ann");
    register(&app, &ann).await;
    let trip = album(&app, &ann, "Trip").await;
    let path = format!("/albums/{}/photos", trip.id);
    let ticket = call(
        &app,
        &ann,
        "POST",
        &path,
        Some(json!({"file_name": "cat.jpg", "content_type": "image/jpeg", "size": 1000})),
    )
    .await;
    assert_eq!(ticket.status, 201, "{}", ticket.text());
    let ticket: UploadTicketView = ticket.json();
    assert_eq!(ticket.upload.method, "PUT");
    assert!(
        ticket.upload.url.contains(&format!(
            "/{}/uploads/{}/{}?",
            services.settings.bucket, trip.id, ticket.photo.id
        )),
        "{}",
        ticket.upload.url
    );
    assert!(ticket.upload.url.contains("X-Amz-Signature="));
    assert_eq!(
        ticket.upload.headers,
        [("content-type".to_owned(), "image/jpeg".to_owned())]
    );
    assert_eq!(format!("{:?}", ticket.photo.status), "Uploading");

    for (body, field) in [
        (
            json!({"file_name": "cat.gif", "content_type": "image/gif", "size": 10}),
            "content_type",
        ),
        (
            json!({"file_name": "big.jpg", "content_type": "image/jpeg", "size": (1 << 20) + 1}),
            "size",
        ),
        (
            json!({"file_name": "none.jpg", "content_type": "image/jpeg", "size": 0}),
            "size",
        ),
        (
            json!({"file_name": "", "content_type": "image/jpeg", "size": 10}),
            "file_name",
        ),
    ] {
        let refused = call(&app, &ann, "POST", &path, Some(body)).await;
        assert_eq!(refused.status, 422, "{}", refused.text());
        assert_eq!(problem(&refused)["field"], field);
    }
    let too_big = call(
        &app,
        &ann,
        "POST",
        &path,
        Some(json!({"file_name": "big.jpg", "content_type": "image/jpeg", "size": 5 << 20})),
    )
    .await;
    assert!(
        problem(&too_big)["detail"]
            .as_str()
            .is_some_and(|d| d.contains("1 MiB"))
    );

    // Listed newest first, fetched by id; a photo of another album is 404.
    let second: UploadTicketView = call(
        &app,
        &ann,
        "POST",
        &path,
        Some(json!({"file_name": "dog.png", "content_type": "image/png", "size": 10})),
    )
    .await
    .json();
    let listed: Listing<PhotoView> = call(&app, &ann, "GET", &path, None).await.json();
    assert_eq!(
        listed
            .items
            .iter()
            .map(|p| p.id.as_str())
            .collect::<Vec<_>>(),
        [second.photo.id.as_str(), ticket.photo.id.as_str()]
    );
    let one = call(
        &app,
        &ann,
        "GET",
        &format!("{path}/{}", ticket.photo.id),
        None,
    )
    .await;
    assert_eq!(one.status, 200);
    let other = album(&app, &ann, "Other").await;
    let wrong = call(
        &app,
        &ann,
        "GET",
        &format!("/albums/{}/photos/{}", other.id, ticket.photo.id),
        None,
    )
    .await;
    assert_eq!(wrong.status, 404);

    // Deleting: by the uploader; a member who did not upload it cannot.
    let bob = Caller::new("bob");
    register(&app, &bob).await;
    call(
        &app,
        &ann,
        "POST",
        &format!("/albums/{}/members", trip.id),
        Some(json!({"email": "bob@example.com"})),
    )
    .await;
    let by_bob = call(
        &app,
        &bob,
        "DELETE",
        &format!("{path}/{}", ticket.photo.id),
        None,
    )
    .await;
    assert_eq!(by_bob.status, 403);
    let by_ann = call(
        &app,
        &ann,
        "DELETE",
        &format!("{path}/{}", ticket.photo.id),
        None,
    )
    .await;
    assert_eq!(by_ann.status, 204);
    assert_eq!(
        call(
            &app,
            &ann,
            "GET",
            &format!("{path}/{}", ticket.photo.id),
            None
        )
        .await
        .status,
        404
    );
}

#[tokio::test]
async fn comments_are_added_by_members_and_listed_in_order() {
    let (app, _) = app(1 << 20).await;
    let ann = Caller::new("ann");
    register(&app, &ann).await;
    let trip = album(&app, &ann, "Trip").await;
    let path = format!("/albums/{}/comments", trip.id);
    for n in 0..3 {
        let added = call(
            &app,
            &ann,
            "POST",
            &path,
            Some(json!({"text": format!("comment {n}")})),
        )
        .await;
        assert_eq!(added.status, 201, "{}", added.text());
    }
    let listed: Listing<Value> = call(&app, &ann, "GET", &path, None).await.json();
    let texts: Vec<_> = listed
        .items
        .iter()
        .map(|c| c["text"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(texts, ["comment 0", "comment 1", "comment 2"]);
    for text in ["", "   ", &"x".repeat(1001)] {
        let refused = call(&app, &ann, "POST", &path, Some(json!({"text": text}))).await;
        assert_eq!(
            (refused.status.as_u16(), problem(&refused)["field"].as_str()),
            (422, Some("text"))
        );
    }
    let not_json = TestRequest::post(&path)
        .authorizer(ann.authorizer())
        .header("content-type", "application/json")
        .body("{\"text\": ")
        .send(&app)
        .await;
    assert_eq!(not_json.status, 400);
}

#[tokio::test]
async fn moderation_is_for_admins_and_only_for_photos_that_wait() {
    let (app, _) = app(1 << 20).await;
    let (ann, root) = (Caller::new("ann"), Caller::admin("root"));
    register(&app, &ann).await;
    let queue = call(&app, &ann, "GET", "/moderation", None).await;
    assert_eq!(queue.status, 403);
    let queue = call(&app, &root, "GET", "/moderation", None).await;
    assert_eq!(queue.status, 200);
    assert!(queue.json::<Listing<Value>>().items.is_empty());
    let trip = album(&app, &ann, "Trip").await;
    let ticket: UploadTicketView = call(
        &app,
        &ann,
        "POST",
        &format!("/albums/{}/photos", trip.id),
        Some(json!({"file_name": "a.jpg", "content_type": "image/jpeg", "size": 10})),
    )
    .await
    .json();
    let decide = format!("/moderation/{}/{}", trip.id, ticket.photo.id);
    let by_ann = call(&app, &ann, "POST", &decide, Some(json!({"approve": true}))).await;
    assert_eq!(by_ann.status, 403);
    let not_waiting = call(&app, &root, "POST", &decide, Some(json!({"approve": true}))).await;
    assert_eq!(not_waiting.status, 409, "{}", not_waiting.text());
    let missing = call(
        &app,
        &root,
        "POST",
        &format!("/moderation/{}/nosuchphoto", trip.id),
        Some(json!({"approve": true})),
    )
    .await;
    assert_eq!(missing.status, 404);
    let no_decision = call(&app, &root, "POST", &decide, Some(json!({}))).await;
    assert_eq!(no_decision.status, 422);
}

#[tokio::test]
async fn the_workflow_definition_matches_the_apps_tasks_and_their_error_names() {
    let (app, _) = app(1 << 20).await;
    assert_eq!(
        app.check_state_machine(&webapp::deploy::local_workflow()),
        Ok(())
    );
}

#[tokio::test]
async fn the_bucket_rules_are_ones_s3_takes() {
    use svless::store::object::{MemoryStore, ObjectStore as _, StorageClass};
    let bucket = MemoryStore::new("webapp-photos");
    let rules = webapp::lifecycle_rules();
    bucket.put_lifecycle(&rules).await.expect("valid rules");
    assert_eq!(bucket.lifecycle().await.expect("read back"), rules);
    let originals = rules
        .iter()
        .find(|r| r.prefix == "uploads/")
        .expect("a rule for originals");
    let classes: Vec<_> = originals
        .transitions
        .iter()
        .map(|t| (t.days, t.storage_class.clone()))
        .collect();
    assert_eq!(
        classes,
        [(30, StorageClass::StandardIa), (365, StorageClass::Glacier)]
    );
    assert_eq!(originals.abort_incomplete_multipart_days, Some(1));
}
