//! The HTTP API. Every route takes the caller from the gateway's verified claims (`Auth`); an
//! album's routes answer its owner and members only (403 for anyone else, 404 for an album that
//! does not exist), moderation routes the `admin` group only. Every error is an RFC 9457
//! problem; a body that does not fit is 422 naming the field.

use crate::Services;
use crate::model::{
    Album, AlbumLink, Comment, EmailOwner, Membership, Metadata, Photo, PhotoStatus, Role,
    UploadTicket, User, new_id,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use svless::auth::{Auth, Claims, Require};
use svless::http::StatusCode;
use svless::store::dynamo::{CancelReason, Condition, Error as DbError, Update, Utc};
use svless::store::object::Key;
use svless::{App, Created, Error, Json, Metrics, NoContent, Path, Query, State, api};

svless::auth::group_requirement!(Admins, "admin");

/// How long an upload URL stays valid.
pub const UPLOAD_WINDOW: Duration = Duration::from_secs(15 * 60);
/// How long a download URL stays valid.
pub const DOWNLOAD_WINDOW: Duration = Duration::from_secs(60 * 60);
/// The image types the workflow reads.
pub const ACCEPTED_TYPES: [&str; 3] = ["image/jpeg", "image/png", "image/webp"];

/// Adds the API's routes.
pub fn routes(app: App<Services>) -> App<Services> {
    app.route(me)
        .route(create_album)
        .route(list_albums)
        .route(get_album)
        .route(rename_album)
        .route(delete_album)
        .route(list_members)
        .route(invite_member)
        .route(remove_member)
        .route(request_upload)
        .route(list_photos)
        .route(get_photo)
        .route(delete_photo)
        .route(add_comment)
        .route(list_comments)
        .route(moderation_queue)
        .route(moderate)
}

/// A 422 problem naming the field that does not fit.
pub fn invalid(field: &str, detail: impl Into<String>) -> Error {
    Error::unprocessable(detail).with_extension("field", field)
}

fn internal(err: impl std::fmt::Display) -> Error {
    Error::internal(err.to_string())
}

/// The caller's name: the token's `name`, else the part of the e-mail address before `@`.
fn display_name(claims: &Claims) -> String {
    if let Some(name) = claims.extra.get("name").and_then(|v| v.as_str())
        && !name.trim().is_empty()
    {
        return name.trim().to_owned();
    }
    let email = claims.email.as_deref().unwrap_or(&claims.sub);
    email.split('@').next().unwrap_or(email).to_owned()
}

fn email_of(claims: &Claims) -> Result<String, Error> {
    claims
        .email
        .as_deref()
        .map(str::to_lowercase)
        .ok_or_else(|| {
            Error::forbidden("the token carries no e-mail address: sign in with the ID token")
        })
}

/// Pagination of every list: `?limit=` (1–100, 20 by default) and the `cursor` of the page
/// before.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct PageQuery {
    /// The previous page's `next`.
    pub cursor: Option<String>,
    /// Items per page.
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<u32>,
}

impl PageQuery {
    fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    fn limit(&self) -> Result<u32, Error> {
        match self.limit {
            None => Ok(20),
            Some(n @ 1..=100) => Ok(n),
            Some(_) => Err(invalid("limit", "limit is between 1 and 100")),
        }
    }
}

/// One page of a list.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Listing<T> {
    /// The items.
    pub items: Vec<T>,
    /// The cursor of the next page, when there is one.
    pub next: Option<String>,
}

/// The album and the caller's membership; 404 for no album, 403 for a non-member.
pub async fn member_of(
    services: &Services,
    album: &str,
    user: &str,
) -> Result<(Album, Membership), Error> {
    let found: Option<Album> = services.table.get_consistent(&Album::key(album)).await?;
    let Some(found) = found else {
        return Err(Error::not_found(format!("no album {album}")));
    };
    let membership: Option<Membership> = services
        .table
        .get_consistent(&Membership::key(album, user))
        .await?;
    match membership {
        Some(membership) => Ok((found, membership)),
        None => Err(Error::forbidden("only the album's members can see it")),
    }
}

async fn owner_of(services: &Services, album: &str, user: &str) -> Result<Album, Error> {
    let (album, membership) = member_of(services, album, user).await?;
    if membership.role != Role::Owner {
        return Err(Error::forbidden("only the album's owner can do that"));
    }
    Ok(album)
}

// ---------------------------------------------------------------- users

/// The caller, as the app knows them.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Me {
    /// The `sub`.
    pub id: String,
    /// The e-mail address.
    pub email: String,
    /// The name.
    pub name: String,
    /// Whether the caller moderates.
    pub admin: bool,
}

/// `GET /users/me`: the caller; the first call registers them (so that others can invite them
/// by e-mail address).
#[api(GET "/users/me")]
pub async fn me(Auth(claims): Auth, State(services): State<Services>) -> Result<Json<Me>, Error> {
    let email = email_of(&claims)?;
    let name = display_name(&claims);
    let known: Option<User> = services.table.get(&User::key(&claims.sub)).await?;
    if known.is_none() {
        let user = User {
            id: claims.sub.clone(),
            email: email.clone(),
            name: name.clone(),
            created_at: Utc::now(),
        };
        let owner = EmailOwner {
            email: email.clone(),
            user: claims.sub.clone(),
        };
        let written = services
            .table
            .transaction()
            .insert(&user)?
            .put(&owner)?
            .commit()
            .await;
        match written {
            Ok(()) => {}
            // Two first calls at once: the other one registered the caller.
            Err(DbError::TransactionCancelled { .. }) => {}
            Err(other) => return Err(other.into()),
        }
    }
    Ok(Json(Me {
        id: claims.sub.clone(),
        email,
        name,
        admin: claims.groups.iter().any(|g| g == "admin"),
    }))
}

// ---------------------------------------------------------------- albums

/// An album as the API shows it.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct AlbumView {
    /// The id.
    pub id: String,
    /// The title.
    pub title: String,
    /// The owner's `sub`.
    pub owner: String,
    /// Photos ready.
    pub photo_count: u64,
    /// Members.
    pub member_count: u64,
    /// The version to send back with a rename.
    pub version: u64,
    /// The caller's role.
    pub role: Option<Role>,
    /// When it was made.
    pub created_at: String,
}

impl AlbumView {
    fn of(album: Album, role: Option<Role>) -> Self {
        AlbumView {
            id: album.id,
            title: album.title,
            owner: album.owner,
            photo_count: album.photo_count,
            member_count: album.member_count,
            version: album.version,
            role,
            created_at: album.created_at.to_rfc3339(),
        }
    }
}

/// The body of `POST /albums`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct NewAlbum {
    /// 1–100 characters.
    #[schemars(length(min = 1, max = 100), pattern(r"\S"))]
    pub title: String,
}

fn check_title(title: &str) -> Result<String, Error> {
    let title = title.trim();
    if title.is_empty() || title.chars().count() > 100 {
        return Err(invalid("title", "a title is 1 to 100 characters"));
    }
    Ok(title.to_owned())
}

/// `POST /albums`: a new album, the caller its owner and first member.
#[api(POST "/albums")]
pub async fn create_album(
    Auth(claims): Auth,
    State(services): State<Services>,
    Json(body): Json<NewAlbum>,
) -> Result<Created<Json<AlbumView>>, Error> {
    let title = check_title(&body.title)?;
    let email = email_of(&claims)?;
    let now = Utc::now();
    let album = Album {
        id: new_id().map_err(internal)?,
        owner: claims.sub.clone(),
        title: title.clone(),
        created_at: now,
        photo_count: 0,
        member_count: 1,
        version: 0,
    };
    let membership = Membership {
        album: album.id.clone(),
        user: claims.sub.clone(),
        email,
        name: display_name(&claims),
        role: Role::Owner,
        approved_photos: 0,
        joined_at: now,
    };
    let link = AlbumLink {
        user: claims.sub.clone(),
        album: album.id.clone(),
        title,
        role: Role::Owner,
        joined_at: now,
    };
    services
        .table
        .transaction()
        .insert(&album)?
        .insert(&membership)?
        .insert(&link)?
        .commit()
        .await?;
    Ok(Created(Json(AlbumView::of(album, Some(Role::Owner)))))
}

/// `GET /albums`: the albums the caller belongs to, newest membership first.
#[api(GET "/albums")]
pub async fn list_albums(
    Auth(claims): Auth,
    State(services): State<Services>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Listing<AlbumView>>, Error> {
    let links = services
        .table
        .query::<AlbumLink>(AlbumLink::gsi1_partition(&claims.sub))
        .descending()
        .limit(page.limit()?)
        .after(page.cursor())
        .page()
        .await?;
    let keys: Vec<_> = links.items.iter().map(|l| Album::key(&l.album)).collect();
    let albums: Vec<Album> = services.table.batch_get(&keys).await?;
    let items = links
        .items
        .iter()
        .filter_map(|link| {
            albums
                .iter()
                .find(|a| a.id == link.album)
                .map(|a| AlbumView::of(a.clone(), Some(link.role)))
        })
        .collect();
    Ok(Json(Listing {
        items,
        next: links.next,
    }))
}

/// `GET /albums/{id}`.
#[api(GET "/albums/{id}")]
pub async fn get_album(
    Auth(claims): Auth,
    State(services): State<Services>,
    Path(id): Path<String>,
) -> Result<Json<AlbumView>, Error> {
    let (album, membership) = member_of(&services, &id, &claims.sub).await?;
    Ok(Json(AlbumView::of(album, Some(membership.role))))
}

/// The body of `PATCH /albums/{id}`: the new title and the version it was read at.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Rename {
    /// 1–100 characters.
    #[schemars(length(min = 1, max = 100), pattern(r"\S"))]
    pub title: String,
    /// The `version` the client read.
    pub version: u64,
}

/// `PATCH /albums/{id}`: renames, if nobody changed the album since the client read it (409
/// otherwise, with the current version).
#[api(PATCH "/albums/{id}")]
pub async fn rename_album(
    Auth(claims): Auth,
    State(services): State<Services>,
    Path(id): Path<String>,
    Json(body): Json<Rename>,
) -> Result<Json<AlbumView>, Error> {
    let title = check_title(&body.title)?;
    let mut album = owner_of(&services, &id, &claims.sub).await?;
    let current = album.version;
    if body.version != current {
        return Err(stale(body.version, current));
    }
    album.title = title;
    match services.table.save(&mut album).await {
        Ok(()) => Ok(Json(AlbumView::of(album, Some(Role::Owner)))),
        Err(DbError::ConditionFailed { .. }) => {
            let now: Option<Album> = services.table.get_consistent(&Album::key(&id)).await?;
            Err(stale(body.version, now.map_or(current, |a| a.version)))
        }
        Err(other) => Err(other.into()),
    }
}

fn stale(sent: u64, current: u64) -> Error {
    Error::conflict(format!(
        "the album changed since version {sent}: it is at version {current}; read it again"
    ))
    .with_extension("currentVersion", current)
}

/// `DELETE /albums/{id}`: the album with its members, photos, comments and files (owner only).
#[api(DELETE "/albums/{id}")]
pub async fn delete_album(
    Auth(claims): Auth,
    State(services): State<Services>,
    Path(id): Path<String>,
) -> Result<NoContent, Error> {
    owner_of(&services, &id, &claims.sub).await?;
    let collection = services.table.collection(&format!("ALBUM#{id}")).await?;
    let members: Vec<Membership> = collection.all()?;
    let photos: Vec<Photo> = collection.all()?;
    let comments: Vec<Comment> = collection.all()?;
    let subscriptions: Vec<crate::model::Subscription> = collection.all()?;
    let mut keys = vec![Album::key(&id)];
    keys.extend(members.iter().map(|m| Membership::key(&id, &m.user)));
    keys.extend(members.iter().map(|m| AlbumLink::key(&m.user, &id)));
    keys.extend(photos.iter().map(|p| Photo::key(&id, &p.id)));
    keys.extend(photos.iter().map(|p| UploadTicket::key(&p.id)));
    keys.extend(comments.iter().map(|c| Comment::key(&id, c.at, &c.id)));
    keys.extend(
        subscriptions
            .iter()
            .map(|s| crate::model::Subscription::key(&id, &s.connection)),
    );
    services.table.batch_delete(&keys).await?;
    for photo in &photos {
        remove_files(&services, photo).await;
    }
    Ok(NoContent)
}

/// Deletes a photo's original and thumbnails; a failure is logged, not answered (the photo is
/// gone already).
async fn remove_files(services: &Services, photo: &Photo) {
    let removed =
        crate::workflow::remove_files(services, &photo.album, &photo.id, Some(&photo.key)).await;
    if let Err(err) = removed {
        tracing::warn!(photo = %photo.id, error = %err, "files of a deleted photo stay");
    }
}

// ---------------------------------------------------------------- members

/// A member as the API shows it.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct MemberView {
    /// The `sub`.
    pub user: String,
    /// The e-mail address.
    pub email: String,
    /// The name.
    pub name: String,
    /// Owner or member.
    pub role: Role,
}

/// `GET /albums/{id}/members`.
#[api(GET "/albums/{id}/members")]
pub async fn list_members(
    Auth(claims): Auth,
    State(services): State<Services>,
    Path(id): Path<String>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Listing<MemberView>>, Error> {
    member_of(&services, &id, &claims.sub).await?;
    let members = services
        .table
        .query::<Membership>(Membership::partition(&id))
        .limit(page.limit()?)
        .after(page.cursor())
        .page()
        .await?;
    Ok(Json(Listing {
        items: members
            .items
            .into_iter()
            .map(|m| MemberView {
                user: m.user,
                email: m.email,
                name: m.name,
                role: m.role,
            })
            .collect(),
        next: members.next,
    }))
}

/// The body of `POST /albums/{id}/members`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Invite {
    /// The address the invitee signed up with.
    #[schemars(email)]
    pub email: String,
}

/// `POST /albums/{id}/members`: adds someone who has signed in before, by e-mail address
/// (owner only; 404 for an address nobody signed in with, 409 for a member already).
#[api(POST "/albums/{id}/members")]
pub async fn invite_member(
    Auth(claims): Auth,
    State(services): State<Services>,
    Path(id): Path<String>,
    Json(body): Json<Invite>,
) -> Result<Created<Json<MemberView>>, Error> {
    let email = body.email.trim().to_lowercase();
    if email.len() > 254 || !email.contains('@') || email.starts_with('@') || email.ends_with('@') {
        return Err(invalid("email", "an e-mail address is name@domain"));
    }
    let album = owner_of(&services, &id, &claims.sub).await?;
    let owner: Option<EmailOwner> = services.table.get(&EmailOwner::key(&email)).await?;
    let Some(owner) = owner else {
        return Err(Error::not_found(format!(
            "nobody has signed in with {email} yet: ask them to sign up first"
        )));
    };
    let user: Option<User> = services.table.get(&User::key(&owner.user)).await?;
    let Some(user) = user else {
        return Err(Error::not_found(format!(
            "nobody has signed in with {email} yet"
        )));
    };
    let now = Utc::now();
    let membership = Membership {
        album: id.clone(),
        user: user.id.clone(),
        email: user.email.clone(),
        name: user.name.clone(),
        role: Role::Member,
        approved_photos: 0,
        joined_at: now,
    };
    let link = AlbumLink {
        user: user.id.clone(),
        album: id.clone(),
        title: album.title.clone(),
        role: Role::Member,
        joined_at: now,
    };
    let written = services
        .table
        .transaction()
        .insert(&membership)?
        .insert(&link)?
        .update(
            &Album::key(&id),
            Update::new().add("member_count", &1)?,
            Some(Condition::exists("id")),
        )?
        .commit()
        .await;
    match written {
        Ok(()) => Ok(Created(Json(MemberView {
            user: user.id,
            email: user.email,
            name: user.name,
            role: Role::Member,
        }))),
        Err(DbError::TransactionCancelled { reasons })
            if matches!(reasons.first(), Some(CancelReason::ConditionFailed { .. })) =>
        {
            Err(Error::conflict(format!("{email} is a member already")))
        }
        Err(other) => Err(other.into()),
    }
}

/// `DELETE /albums/{id}/members/{user}`: the owner removes a member, or a member leaves. The
/// owner cannot leave (delete the album instead).
#[api(DELETE "/albums/{id}/members/{user}")]
pub async fn remove_member(
    Auth(claims): Auth,
    State(services): State<Services>,
    Path((id, user)): Path<(String, String)>,
) -> Result<NoContent, Error> {
    let (_, caller) = member_of(&services, &id, &claims.sub).await?;
    if caller.role != Role::Owner && user != claims.sub {
        return Err(Error::forbidden("only the owner removes other members"));
    }
    let target: Option<Membership> = services
        .table
        .get_consistent(&Membership::key(&id, &user))
        .await?;
    let Some(target) = target else {
        return Err(Error::not_found(format!("{user} is not a member")));
    };
    if target.role == Role::Owner {
        return Err(Error::conflict(
            "the owner cannot leave the album: delete it instead",
        ));
    }
    services
        .table
        .transaction()
        .delete(
            &Membership::key(&id, &user),
            Some(Condition::exists("user")),
        )?
        .delete(&AlbumLink::key(&user, &id), None)?
        .update(
            &Album::key(&id),
            Update::new().add("member_count", &-1)?,
            None,
        )?
        .commit()
        .await?;
    Ok(NoContent)
}

// ---------------------------------------------------------------- photos

/// A photo as the API shows it: download URLs when it is ready.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PhotoView {
    /// The id.
    pub id: String,
    /// The album.
    pub album: String,
    /// The uploader.
    pub owner: String,
    /// The uploader's name.
    pub owner_name: String,
    /// uploading, processing, moderation, ready or rejected.
    pub status: PhotoStatus,
    /// The file name.
    pub file_name: String,
    /// When the upload started.
    pub uploaded_at: String,
    /// Why it was rejected.
    pub reason: Option<String>,
    /// What the image says.
    pub metadata: Option<Metadata>,
    /// The smallest thumbnail (JPEG), for lists.
    pub thumbnail_url: Option<String>,
    /// Every thumbnail, in `GET /albums/{id}/photos/{photo}`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thumbnails: Vec<ThumbnailView>,
    /// The original, in `GET /albums/{id}/photos/{photo}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_url: Option<String>,
}

/// A thumbnail's download URLs.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ThumbnailView {
    /// The longest side.
    pub size: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// The JPEG.
    pub jpeg_url: String,
    /// The WebP.
    pub webp_url: String,
}

async fn download_url(services: &Services, key: &str) -> Result<String, Error> {
    let key = Key::new(key).map_err(internal)?;
    let signed = services
        .photos
        .presign_get(&key, DOWNLOAD_WINDOW)
        .await
        .map_err(internal)?;
    Ok(signed.url)
}

async fn photo_view(services: &Services, photo: Photo, full: bool) -> Result<PhotoView, Error> {
    let ready = photo.status == PhotoStatus::Ready || photo.status == PhotoStatus::Moderation;
    let thumbnail_url = match (ready, photo.thumbnails.first()) {
        (true, Some(small)) => Some(download_url(services, &small.jpeg).await?),
        _ => None,
    };
    let mut thumbnails = Vec::new();
    let mut original_url = None;
    if full && ready {
        for t in &photo.thumbnails {
            thumbnails.push(ThumbnailView {
                size: t.size,
                width: t.width,
                height: t.height,
                jpeg_url: download_url(services, &t.jpeg).await?,
                webp_url: download_url(services, &t.webp).await?,
            });
        }
        original_url = Some(download_url(services, &photo.key).await?);
    }
    Ok(PhotoView {
        id: photo.id,
        album: photo.album,
        owner: photo.owner,
        owner_name: photo.owner_name,
        status: photo.status,
        file_name: photo.file_name,
        uploaded_at: photo.uploaded_at.to_rfc3339(),
        reason: photo.reason,
        metadata: photo.metadata,
        thumbnail_url,
        thumbnails,
        original_url,
    })
}

/// The body of `POST /albums/{id}/photos`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct UploadRequest {
    /// The file's name (1–200 characters).
    #[schemars(length(min = 1, max = 200), pattern(r"\S"))]
    pub file_name: String,
    /// `image/jpeg`, `image/png` or `image/webp`.
    #[schemars(pattern(r"^image/(jpeg|png|webp)$"))]
    pub content_type: String,
    /// The file's size in bytes.
    pub size: u64,
}

/// Where and how the browser uploads.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Upload {
    /// `PUT`.
    pub method: String,
    /// The presigned URL.
    pub url: String,
    /// Headers the request must carry exactly.
    pub headers: Vec<(String, String)>,
    /// When the URL stops working.
    pub expires_at: String,
}

/// The answer of `POST /albums/{id}/photos`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct UploadTicketView {
    /// The photo, `uploading`.
    pub photo: PhotoView,
    /// The upload.
    pub upload: Upload,
}

/// `POST /albums/{id}/photos`: a presigned URL to `PUT` the file to (members only). The photo
/// is `uploading` until the file arrives; then the workflow takes over.
#[api(POST "/albums/{id}/photos")]
pub async fn request_upload(
    Auth(claims): Auth,
    State(services): State<Services>,
    Path(id): Path<String>,
    Json(body): Json<UploadRequest>,
) -> Result<Created<Json<UploadTicketView>>, Error> {
    let file_name = body.file_name.trim();
    if file_name.is_empty() || file_name.chars().count() > 200 {
        return Err(invalid("file_name", "a file name is 1 to 200 characters"));
    }
    if !ACCEPTED_TYPES.contains(&body.content_type.as_str()) {
        return Err(invalid(
            "content_type",
            format!(
                "{} is not a photo type this album takes: use {}",
                body.content_type,
                ACCEPTED_TYPES.join(", ")
            ),
        ));
    }
    let max = services.settings.max_photo_bytes;
    if body.size == 0 || body.size > max {
        return Err(invalid(
            "size",
            format!(
                "the photo is {} bytes; photos are 1 byte to {} MiB",
                body.size,
                max / (1024 * 1024)
            ),
        ));
    }
    let (_, membership) = member_of(&services, &id, &claims.sub).await?;
    let now = Utc::now();
    let photo_id = new_id().map_err(internal)?;
    let key = format!("uploads/{id}/{photo_id}");
    let mut photo = Photo {
        album: id.clone(),
        id: photo_id.clone(),
        owner: claims.sub.clone(),
        owner_name: membership.name,
        status: PhotoStatus::Uploading,
        status_key: String::new(),
        file_name: file_name.to_owned(),
        content_type: body.content_type.clone(),
        declared_size: body.size,
        uploaded_at: now,
        key: key.clone(),
        thumbnails: Vec::new(),
        metadata: None,
        reason: None,
        task_token: None,
        version: 0,
    };
    photo.set_status(PhotoStatus::Uploading);
    let window = chrono::Duration::from_std(UPLOAD_WINDOW).map_err(internal)?;
    let expires = now + window;
    let ticket = UploadTicket {
        photo: photo_id,
        album: id,
        user: claims.sub.clone(),
        key: key.clone(),
        expires,
        expires_at: expires.timestamp(),
    };
    let signed = services
        .photos
        .presign_put(
            &Key::new(&key).map_err(internal)?,
            &body.content_type,
            UPLOAD_WINDOW,
        )
        .await
        .map_err(internal)?;
    services
        .table
        .transaction()
        .insert(&photo)?
        .insert(&ticket)?
        .commit()
        .await?;
    Ok(Created(Json(UploadTicketView {
        photo: photo_view(&services, photo, false).await?,
        upload: Upload {
            method: signed.method,
            url: signed.url,
            headers: signed.headers,
            expires_at: expires.to_rfc3339(),
        },
    })))
}

/// `GET /albums/{id}/photos`: newest upload first, through the album's upload-date index.
#[api(GET "/albums/{id}/photos")]
pub async fn list_photos(
    Auth(claims): Auth,
    State(services): State<Services>,
    Path(id): Path<String>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Listing<PhotoView>>, Error> {
    member_of(&services, &id, &claims.sub).await?;
    let photos = services
        .table
        .query::<Photo>(Photo::lsi1_partition(&id))
        .descending()
        .limit(page.limit()?)
        .after(page.cursor())
        .page()
        .await?;
    let mut items = Vec::with_capacity(photos.items.len());
    for photo in photos.items {
        items.push(photo_view(&services, photo, false).await?);
    }
    Ok(Json(Listing {
        items,
        next: photos.next,
    }))
}

async fn find_photo(services: &Services, album: &str, photo: &str) -> Result<Photo, Error> {
    let found: Option<Photo> = services
        .table
        .get_consistent(&Photo::key(album, photo))
        .await?;
    found.ok_or_else(|| Error::not_found(format!("no photo {photo} in this album")))
}

/// `GET /albums/{id}/photos/{photo}`: with download URLs of the original and every thumbnail.
#[api(GET "/albums/{id}/photos/{photo}")]
pub async fn get_photo(
    Auth(claims): Auth,
    State(services): State<Services>,
    Path((id, photo)): Path<(String, String)>,
) -> Result<Json<PhotoView>, Error> {
    member_of(&services, &id, &claims.sub).await?;
    let photo = find_photo(&services, &id, &photo).await?;
    Ok(Json(photo_view(&services, photo, true).await?))
}

/// `DELETE /albums/{id}/photos/{photo}`: by its uploader or the album's owner.
#[api(DELETE "/albums/{id}/photos/{photo}")]
pub async fn delete_photo(
    Auth(claims): Auth,
    State(services): State<Services>,
    Path((id, photo_id)): Path<(String, String)>,
) -> Result<NoContent, Error> {
    let (_, caller) = member_of(&services, &id, &claims.sub).await?;
    let photo = find_photo(&services, &id, &photo_id).await?;
    if photo.owner != claims.sub && caller.role != Role::Owner {
        return Err(Error::forbidden(
            "only the uploader or the album's owner deletes a photo",
        ));
    }
    let mut transaction = services.table.transaction().delete(
        &Photo::key(&id, &photo_id),
        Some(Condition::eq(
            "version",
            svless::store::dynamo::value(&photo.version)?,
        )),
    )?;
    if photo.status == PhotoStatus::Ready {
        transaction = transaction.update(
            &Album::key(&id),
            Update::new().add("photo_count", &-1)?,
            None,
        )?;
    }
    match transaction.commit().await {
        Ok(()) => {}
        Err(DbError::TransactionCancelled { .. }) => {
            return Err(Error::conflict(
                "the photo changed while it was deleted: try again",
            ));
        }
        Err(other) => return Err(other.into()),
    }
    if let Some(token) = &photo.task_token {
        // The workflow waits for a moderator; it ends now.
        let _ = services
            .sfn()
            .send_task_failure()
            .task_token(token)
            .error("Photo.Deleted")
            .cause("the photo was deleted")
            .send()
            .await;
    }
    remove_files(&services, &photo).await;
    Ok(NoContent)
}

// ---------------------------------------------------------------- comments

/// The body of `POST /albums/{id}/comments`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct NewComment {
    /// 1–1,000 characters.
    #[schemars(length(min = 1, max = 1000), pattern(r"\S"))]
    pub text: String,
}

/// `POST /albums/{id}/comments` (members).
#[api(POST "/albums/{id}/comments")]
pub async fn add_comment(
    Auth(claims): Auth,
    State(services): State<Services>,
    Path(id): Path<String>,
    metrics: Metrics,
    Json(body): Json<NewComment>,
) -> Result<Created<Json<Comment>>, Error> {
    let text = body.text.trim();
    if text.is_empty() || text.chars().count() > 1000 {
        return Err(invalid("text", "a comment is 1 to 1000 characters"));
    }
    let (_, membership) = member_of(&services, &id, &claims.sub).await?;
    let comment = Comment {
        album: id,
        at: Utc::now(),
        id: new_id().map_err(internal)?,
        author: claims.sub.clone(),
        author_name: membership.name,
        text: text.to_owned(),
    };
    services.table.insert(&comment).await?;
    metrics.count("CommentsAdded", 1.0);
    Ok(Created(Json(comment)))
}

/// `GET /albums/{id}/comments`: oldest first.
#[api(GET "/albums/{id}/comments")]
pub async fn list_comments(
    Auth(claims): Auth,
    State(services): State<Services>,
    Path(id): Path<String>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Listing<Comment>>, Error> {
    member_of(&services, &id, &claims.sub).await?;
    let comments = services
        .table
        .query::<Comment>(Comment::partition(&id))
        .limit(page.limit()?)
        .after(page.cursor())
        .page()
        .await?;
    Ok(Json(Listing {
        items: comments.items,
        next: comments.next,
    }))
}

// ---------------------------------------------------------------- moderation

/// `GET /moderation`: photos waiting for a moderator, oldest first (admins).
#[api(GET "/moderation")]
pub async fn moderation_queue(
    _: Require<Admins>,
    State(services): State<Services>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Listing<PhotoView>>, Error> {
    let photos = services
        .table
        .query::<Photo>(Photo::gsi2_partition(PhotoStatus::Moderation.as_str()))
        .limit(page.limit()?)
        .after(page.cursor())
        .page()
        .await?;
    let mut items = Vec::with_capacity(photos.items.len());
    for photo in photos.items {
        items.push(photo_view(&services, photo, true).await?);
    }
    Ok(Json(Listing {
        items,
        next: photos.next,
    }))
}

/// The body of `POST /moderation/{album}/{photo}`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Decision {
    /// Approve (true) or reject.
    pub approve: bool,
    /// Why, when rejecting.
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST /moderation/{album}/{photo}`: approves or rejects a photo that waits (admins); the
/// workflow goes on. 409 when the photo does not wait for a decision.
#[api(POST "/moderation/{album}/{photo}")]
pub async fn moderate(
    _: Require<Admins>,
    State(services): State<Services>,
    Path((album, photo_id)): Path<(String, String)>,
    Json(decision): Json<Decision>,
) -> Result<StatusCode, Error> {
    let photo = find_photo(&services, &album, &photo_id).await?;
    let (PhotoStatus::Moderation, Some(token)) = (photo.status, photo.task_token.clone()) else {
        return Err(Error::conflict(format!(
            "the photo is {}, not waiting for a moderator",
            photo.status.as_str()
        )));
    };
    let token: svless::source::task::TaskToken =
        serde_json::from_value(serde_json::Value::String(token)).map_err(internal)?;
    let outcome = if decision.approve {
        // The member is trusted from now on: their next photos skip moderation.
        services
            .table
            .update::<Membership>(
                &Membership::key(&album, &photo.owner),
                Update::new().add("approved_photos", &1)?,
                Some(Condition::exists("user")),
            )
            .await
            .ok();
        token
            .succeed(services.sfn(), &serde_json::json!({"approved": true}))
            .await
    } else {
        let reason = decision
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .unwrap_or("a moderator rejected the photo");
        token
            .fail(
                services.sfn(),
                &svless::NamedError::new("Photo.Rejected", reason),
            )
            .await
    };
    match outcome {
        Ok(()) => Ok(StatusCode::ACCEPTED),
        Err(svless::source::task::CallbackError::InvalidToken(_)) => Err(Error::conflict(
            "the photo's workflow no longer waits for a decision",
        )),
        Err(other) => Err(Error::internal(other.to_string())),
    }
}
