//! The S3 backend (`aws-sdk-s3`).

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::{PresignedRequest, PresigningConfig};
use aws_sdk_s3::primitives::ByteStream as SdkStream;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketLocationConstraint,
    BucketVersioningStatus, ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart,
    CreateBucketConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRuleFilter,
    MetadataDirective, NoncurrentVersionExpiration, NoncurrentVersionTransition,
    TransitionStorageClass, VersioningConfiguration,
};
use bytes::Bytes;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use tokio::task::JoinSet;

use super::body::Parts;
use super::lifecycle::NoncurrentTransition;
use super::types::{VersionCursor, check_part_size};
use super::{
    BoxFuture, ByteStream, ContentRange, CopyOptions, DEFAULT_PART_SIZE, DeleteOutput, Error,
    GetOptions, GetOutput, Key, LifecycleRule, ListPage, ListRequest, NoncurrentExpiration,
    ObjectMeta, ObjectStore, ObjectSummary, PolicyDocument, Presigned, PutBody, PutOptions,
    PutOutput, Result, StorageClass, Transition, VersionSummary, Versioning, VersionsPage,
    VersionsRequest,
};

/// S3 allows at most 10,000 parts in one upload.
const MAX_PARTS: i32 = 10_000;

/// What a copy source's key may keep unencoded.
const COPY_SOURCE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// An object store on one S3 bucket.
///
/// Puts larger than the part size (8 MiB by default) are multipart uploads: the body is cut
/// into parts as it is read, up to `concurrency` parts (4) are uploaded at once, and any
/// failure — of a part, of the body stream, of the completion — aborts the upload, so no
/// orphan parts stay behind to be billed. Memory stays under about `(concurrency + 1) ×
/// part size` whatever the object's size.
///
/// ```no_run
/// use svless_store::object::{Key, ObjectStoreExt, S3Store};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
/// let store = S3Store::new(aws_sdk_s3::Client::new(&config), "my-uploads");
/// store.warm_up().await?; // during cold start: the first request pays no TLS handshake
/// store.put_bytes(&Key::new("hello.txt")?, "hello").await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
    part_size: usize,
    concurrency: usize,
}

/// Builds an [`S3Store`] with a part size or concurrency of its own.
///
/// ```no_run
/// use svless_store::object::S3Store;
///
/// # async fn demo(client: aws_sdk_s3::Client) -> svless_store::object::Result<()> {
/// let store = S3Store::builder(client, "videos").part_size(16 * 1024 * 1024)?.concurrency(8).build();
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct S3StoreBuilder {
    store: S3Store,
}

impl S3StoreBuilder {
    /// Multipart uploads above this size, in parts of this size (at least 5 MiB).
    pub fn part_size(mut self, part_size: usize) -> Result<Self> {
        self.store.part_size = check_part_size(part_size)?;
        Ok(self)
    }

    /// Parts uploaded at once (at least 1).
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.store.concurrency = concurrency.max(1);
        self
    }

    /// The store.
    pub fn build(self) -> S3Store {
        self.store
    }
}

impl S3Store {
    /// A store on `bucket`, with 8 MiB parts, 4 at a time.
    pub fn new(client: Client, bucket: &str) -> Self {
        S3Store {
            client,
            bucket: bucket.to_owned(),
            part_size: DEFAULT_PART_SIZE,
            concurrency: 4,
        }
    }

    /// A builder for a store on `bucket`.
    pub fn builder(client: Client, bucket: &str) -> S3StoreBuilder {
        S3StoreBuilder {
            store: S3Store::new(client, bucket),
        }
    }

    /// A client from the environment's AWS configuration (`AWS_ENDPOINT_URL` and the rest, as
    /// `aws-config` reads them), with path-style addressing when `path_style` is set — what a
    /// local S3-compatible server needs.
    ///
    /// ```no_run
    /// # async fn demo() {
    /// let client = svless_store::object::S3Store::client_from_env(true).await;
    /// # }
    /// ```
    pub async fn client_from_env(path_style: bool) -> Client {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let s3 = aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(path_style)
            .build();
        Client::from_conf(s3)
    }

    /// The SDK client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Makes one cheap call (`HeadBucket`) so the connection and TLS session exist before the
    /// first request; call it while the application state is built.
    pub async fn warm_up(&self) -> Result<()> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(|e| map_err("HeadBucket", "", e))?;
        Ok(())
    }

    /// Creates the bucket (for tests and local runs; production buckets belong in the
    /// deployment template). A bucket that already exists and is ours is fine.
    pub async fn create_bucket(&self) -> Result<()> {
        let mut request = self.client.create_bucket().bucket(&self.bucket);
        if let Some(region) = self.client.config().region().map(|r| r.as_ref().to_owned())
            && region != "us-east-1"
        {
            request = request.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region.as_str()))
                    .build(),
            );
        }
        match request.send().await {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("BucketAlreadyOwnedByYou") => Ok(()),
            Err(e) => Err(map_err("CreateBucket", "", e)),
        }
    }

    async fn put_single(&self, key: &Key, body: Bytes, options: &PutOptions) -> Result<PutOutput> {
        let mut request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .body(SdkStream::from(body))
            .set_content_type(options.content_type.clone())
            .set_cache_control(options.cache_control.clone())
            .set_metadata(metadata(&options.metadata))
            .set_storage_class(options.storage_class.as_ref().map(|c| c.as_str().into()));
        if options.create_only {
            request = request.if_none_match("*");
        }
        let out = request
            .send()
            .await
            .map_err(|e| map_err("PutObject", key.as_str(), e))?;
        Ok(PutOutput {
            etag: out.e_tag.unwrap_or_default(),
            version_id: out.version_id,
        })
    }

    async fn put_multipart(
        &self,
        key: &Key,
        first: Bytes,
        mut parts: Parts,
        options: &PutOptions,
    ) -> Result<PutOutput> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key.as_str())
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .set_content_type(options.content_type.clone())
            .set_cache_control(options.cache_control.clone())
            .set_metadata(metadata(&options.metadata))
            .set_storage_class(options.storage_class.as_ref().map(|c| c.as_str().into()))
            .send()
            .await
            .map_err(|e| map_err("CreateMultipartUpload", key.as_str(), e))?;
        let upload_id = created.upload_id.ok_or_else(|| Error::Backend {
            backend: "s3",
            operation: "CreateMultipartUpload",
            source: "no upload id in the response".into(),
        })?;
        let result = self
            .upload_parts(key, &upload_id, first, &mut parts, options.create_only)
            .await;
        if result.is_err() {
            // Whatever failed, no part may stay behind.
            let abort = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(key.as_str())
                .upload_id(&upload_id)
                .send()
                .await;
            if let Err(error) = abort {
                tracing::error!(key = key.as_str(), upload_id, error = %error, "aborting a multipart upload failed");
            }
        }
        result
    }

    async fn upload_parts(
        &self,
        key: &Key,
        upload_id: &str,
        first: Bytes,
        parts: &mut Parts,
        create_only: bool,
    ) -> Result<PutOutput> {
        let mut uploads = JoinSet::new();
        let mut completed = Vec::new();
        let mut pending = Some(first);
        let mut number = 0;
        let mut input_done = false;
        loop {
            while !input_done && uploads.len() < self.concurrency {
                let part = match pending.take() {
                    Some(part) => part,
                    None => match parts.next_part(false).await? {
                        Some(part) => part,
                        None => {
                            input_done = true;
                            break;
                        }
                    },
                };
                number += 1;
                if number > MAX_PARTS {
                    return Err(Error::Validation {
                        message: format!(
                            "the body needs more than {MAX_PARTS} parts of {} bytes: raise the part size",
                            self.part_size
                        ),
                    });
                }
                let request = self
                    .client
                    .upload_part()
                    .bucket(&self.bucket)
                    .key(key.as_str())
                    .upload_id(upload_id)
                    .part_number(number)
                    .checksum_algorithm(ChecksumAlgorithm::Crc32)
                    .body(SdkStream::from(part));
                let part_number = number;
                uploads.spawn(async move {
                    let out = request
                        .send()
                        .await
                        .map_err(|e| map_err("UploadPart", "", e))?;
                    Ok::<_, Error>(
                        CompletedPart::builder()
                            .part_number(part_number)
                            .set_e_tag(out.e_tag)
                            .set_checksum_crc32(out.checksum_crc32)
                            .build(),
                    )
                });
            }
            match uploads.join_next().await {
                None => break,
                Some(Ok(part)) => completed.push(part?),
                Some(Err(join)) => {
                    return Err(Error::Backend {
                        backend: "s3",
                        operation: "UploadPart",
                        source: Box::new(join),
                    });
                }
            }
        }
        completed.sort_by_key(|p| p.part_number);
        let mut request = self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key.as_str())
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(completed))
                    .build(),
            );
        if create_only {
            request = request.if_none_match("*");
        }
        let out = request
            .send()
            .await
            .map_err(|e| map_err("CompleteMultipartUpload", key.as_str(), e))?;
        Ok(PutOutput {
            etag: out.e_tag.unwrap_or_default(),
            version_id: out.version_id,
        })
    }

    fn presigned(request: PresignedRequest) -> Presigned {
        Presigned {
            method: request.method().to_owned(),
            url: request.uri().to_owned(),
            headers: request
                .headers()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect(),
        }
    }
}

fn presigning(expires_in: Duration) -> Result<PresigningConfig> {
    PresigningConfig::expires_in(expires_in).map_err(|e| Error::Validation {
        message: e.to_string(),
    })
}

fn metadata(map: &std::collections::BTreeMap<String, String>) -> Option<HashMap<String, String>> {
    (!map.is_empty()).then(|| map.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

fn time(t: Option<&aws_smithy_types::DateTime>) -> SystemTime {
    t.and_then(|t| SystemTime::try_from(*t).ok())
        .unwrap_or(UNIX_EPOCH)
}

fn class(name: Option<&str>) -> StorageClass {
    name.unwrap_or("STANDARD").parse().unwrap_or_default()
}

/// Turns an SDK error into the store's: S3's error code first, then the HTTP status (a HEAD
/// has no body to carry a code).
fn map_err<E>(operation: &'static str, key: &str, error: SdkError<E>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = error.raw_response().map(|r| r.status().as_u16());
    let code = error.code().map(str::to_owned);
    let message = error.message().unwrap_or_default().to_owned();
    let key = key.to_owned();
    match (code.as_deref(), status) {
        (Some("NoSuchBucket"), _) => Error::Validation {
            message: format!("no such bucket ({operation})"),
        },
        (Some("NoSuchKey" | "NotFound" | "NoSuchVersion"), _) | (_, Some(404 | 405)) => {
            Error::NotFound { key }
        }
        (Some("PreconditionFailed"), _) | (_, Some(412)) => Error::PreconditionFailed { key },
        // GetObject of an archived object answers `InvalidObjectState`, CopyObject of one
        // `ObjectNotInActiveTierError` (403): both are archived objects, not denials.
        (Some("InvalidObjectState" | "ObjectNotInActiveTierError"), _) => Error::Archived {
            key,
            storage_class: "an archive storage class".into(),
        },
        (Some("AccessDenied"), _) | (_, Some(403)) => Error::AccessDenied {
            message: if message.is_empty() {
                format!("{operation} was refused")
            } else {
                message
            },
        },
        (Some("InvalidRange"), _) | (_, Some(416)) => Error::InvalidRange { key, size: 0 },
        (_, Some(400)) => Error::Validation {
            message: format!(
                "{operation}: {} {message}",
                code.as_deref().unwrap_or("Bad Request")
            ),
        },
        _ => Error::Backend {
            backend: "s3",
            operation,
            source: Box::new(error),
        },
    }
}

fn to_sdk_rule(rule: &LifecycleRule) -> Result<aws_sdk_s3::types::LifecycleRule> {
    let transitions = rule
        .transitions
        .iter()
        .map(|t| {
            aws_sdk_s3::types::Transition::builder()
                .days(t.days as i32)
                .storage_class(TransitionStorageClass::from(t.storage_class.as_str()))
                .build()
        })
        .collect();
    let noncurrent = rule
        .noncurrent_transitions
        .iter()
        .map(|t| {
            NoncurrentVersionTransition::builder()
                .noncurrent_days(t.noncurrent_days as i32)
                .storage_class(TransitionStorageClass::from(t.storage_class.as_str()))
                .build()
        })
        .collect();
    aws_sdk_s3::types::LifecycleRule::builder()
        .id(&rule.id)
        .filter(LifecycleRuleFilter::builder().prefix(&rule.prefix).build())
        .status(if rule.enabled {
            ExpirationStatus::Enabled
        } else {
            ExpirationStatus::Disabled
        })
        .set_transitions(Some(transitions))
        .set_expiration(
            rule.expiration_days
                .map(|d| LifecycleExpiration::builder().days(d as i32).build()),
        )
        .set_noncurrent_version_transitions(Some(noncurrent))
        .set_noncurrent_version_expiration(rule.noncurrent_expiration.as_ref().map(|e| {
            NoncurrentVersionExpiration::builder()
                .noncurrent_days(e.noncurrent_days as i32)
                .set_newer_noncurrent_versions(e.newer_noncurrent_versions.map(|n| n as i32))
                .build()
        }))
        .set_abort_incomplete_multipart_upload(rule.abort_incomplete_multipart_days.map(|d| {
            AbortIncompleteMultipartUpload::builder()
                .days_after_initiation(d as i32)
                .build()
        }))
        .build()
        .map_err(|e| Error::Validation {
            message: e.to_string(),
        })
}

fn from_sdk_rule(rule: &aws_sdk_s3::types::LifecycleRule) -> LifecycleRule {
    let days = |d: Option<i32>| d.and_then(|d| u32::try_from(d).ok());
    #[allow(deprecated)]
    let prefix = rule
        .filter()
        .and_then(|f| f.prefix())
        .or(rule.prefix())
        .unwrap_or_default();
    let mut out = LifecycleRule::new(rule.id().unwrap_or_default(), prefix);
    out.enabled = rule.status() == &ExpirationStatus::Enabled;
    out.transitions = rule
        .transitions()
        .iter()
        .filter_map(|t| {
            Some(Transition {
                days: days(t.days())?,
                storage_class: class(t.storage_class().map(|c| c.as_str())),
            })
        })
        .collect();
    out.expiration_days = rule.expiration().and_then(|e| days(e.days()));
    out.noncurrent_transitions = rule
        .noncurrent_version_transitions()
        .iter()
        .filter_map(|t| {
            Some(NoncurrentTransition {
                noncurrent_days: days(t.noncurrent_days())?,
                storage_class: class(t.storage_class().map(|c| c.as_str())),
            })
        })
        .collect();
    out.noncurrent_expiration = rule.noncurrent_version_expiration().and_then(|e| {
        Some(NoncurrentExpiration {
            noncurrent_days: days(e.noncurrent_days())?,
            newer_noncurrent_versions: days(e.newer_noncurrent_versions()),
        })
    });
    out.abort_incomplete_multipart_days = rule
        .abort_incomplete_multipart_upload()
        .and_then(|a| days(a.days_after_initiation()));
    out
}

impl ObjectStore for S3Store {
    fn bucket(&self) -> &str {
        &self.bucket
    }

    fn backend(&self) -> &'static str {
        "s3"
    }

    fn put<'a>(
        &'a self,
        key: &'a Key,
        body: PutBody,
        options: PutOptions,
    ) -> BoxFuture<'a, Result<PutOutput>> {
        Box::pin(async move {
            let mut parts = Parts::new(body, self.part_size);
            let first = parts.next_part(true).await?.unwrap_or_default();
            if parts.has_more().await? {
                self.put_multipart(key, first, parts, &options).await
            } else {
                self.put_single(key, first, &options).await
            }
        })
    }

    fn get<'a>(&'a self, key: &'a Key, options: GetOptions) -> BoxFuture<'a, Result<GetOutput>> {
        Box::pin(async move {
            let out = self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(key.as_str())
                .set_range(options.range.map(|r| r.header()))
                .set_version_id(options.version_id)
                .send()
                .await
                .map_err(|e| map_err("GetObject", key.as_str(), e))?;
            let range = out.content_range().and_then(ContentRange::parse);
            let size = match range {
                Some(range) => range.total,
                None => out.content_length().unwrap_or(0).max(0) as u64,
            };
            let meta = ObjectMeta {
                size,
                etag: out.e_tag().unwrap_or_default().to_owned(),
                last_modified: time(out.last_modified()),
                content_type: out.content_type().map(str::to_owned),
                cache_control: out.cache_control().map(str::to_owned),
                metadata: out
                    .metadata()
                    .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default(),
                storage_class: class(out.storage_class().map(|c| c.as_str())),
                version_id: out.version_id().map(str::to_owned),
            };
            let body = ByteStream::new(futures_util::stream::try_unfold(
                out.body,
                |mut body| async move {
                    match body.try_next().await {
                        Ok(Some(chunk)) => Ok(Some((chunk, body))),
                        Ok(None) => Ok(None),
                        Err(e) => Err(Error::Backend {
                            backend: "s3",
                            operation: "GetObject",
                            source: Box::new(e),
                        }),
                    }
                },
            ));
            Ok(GetOutput { meta, range, body })
        })
    }

    fn head<'a>(&'a self, key: &'a Key, options: GetOptions) -> BoxFuture<'a, Result<ObjectMeta>> {
        Box::pin(async move {
            let out = self
                .client
                .head_object()
                .bucket(&self.bucket)
                .key(key.as_str())
                .set_version_id(options.version_id)
                .send()
                .await
                .map_err(|e| map_err("HeadObject", key.as_str(), e))?;
            Ok(ObjectMeta {
                size: out.content_length().unwrap_or(0).max(0) as u64,
                etag: out.e_tag().unwrap_or_default().to_owned(),
                last_modified: time(out.last_modified()),
                content_type: out.content_type().map(str::to_owned),
                cache_control: out.cache_control().map(str::to_owned),
                metadata: out
                    .metadata()
                    .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default(),
                storage_class: class(out.storage_class().map(|c| c.as_str())),
                version_id: out.version_id().map(str::to_owned),
            })
        })
    }

    fn delete<'a>(
        &'a self,
        key: &'a Key,
        version_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<DeleteOutput>> {
        Box::pin(async move {
            let out = self
                .client
                .delete_object()
                .bucket(&self.bucket)
                .key(key.as_str())
                .set_version_id(version_id.map(str::to_owned))
                .send()
                .await
                .map_err(|e| map_err("DeleteObject", key.as_str(), e))?;
            Ok(DeleteOutput {
                version_id: out.version_id,
                delete_marker: out.delete_marker.unwrap_or(false),
            })
        })
    }

    fn copy<'a>(
        &'a self,
        from: &'a Key,
        to: &'a Key,
        options: CopyOptions,
    ) -> BoxFuture<'a, Result<PutOutput>> {
        Box::pin(async move {
            let mut source = format!(
                "{}/{}",
                self.bucket,
                utf8_percent_encode(from.as_str(), COPY_SOURCE)
            );
            if let Some(version) = &options.source_version_id {
                source.push_str("?versionId=");
                source.push_str(version);
            }
            let replace = options.content_type.is_some();
            let out = self
                .client
                .copy_object()
                .bucket(&self.bucket)
                .key(to.as_str())
                .copy_source(source)
                .set_metadata_directive(replace.then_some(MetadataDirective::Replace))
                .set_content_type(options.content_type.clone())
                .set_metadata(if replace {
                    metadata(&options.metadata)
                } else {
                    None
                })
                .set_storage_class(options.storage_class.as_ref().map(|c| c.as_str().into()))
                .send()
                .await
                .map_err(|e| map_err("CopyObject", from.as_str(), e))?;
            Ok(PutOutput {
                etag: out
                    .copy_object_result()
                    .and_then(|r| r.e_tag())
                    .unwrap_or_default()
                    .to_owned(),
                version_id: out.version_id,
            })
        })
    }

    fn list_page<'a>(
        &'a self,
        request: &'a ListRequest,
        cursor: Option<&'a str>,
    ) -> BoxFuture<'a, Result<ListPage>> {
        Box::pin(async move {
            let out = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&request.prefix)
                .set_delimiter(request.delimiter.clone())
                .max_keys(i32::from(request.page_size.clamp(1, 1000)))
                .set_continuation_token(cursor.map(str::to_owned))
                .send()
                .await
                .map_err(|e| map_err("ListObjectsV2", "", e))?;
            Ok(ListPage {
                objects: out
                    .contents()
                    .iter()
                    .map(|o| ObjectSummary {
                        key: o.key().unwrap_or_default().to_owned(),
                        size: o.size().unwrap_or(0).max(0) as u64,
                        etag: o.e_tag().unwrap_or_default().to_owned(),
                        last_modified: time(o.last_modified()),
                        storage_class: class(o.storage_class().map(|c| c.as_str())),
                    })
                    .collect(),
                common_prefixes: out
                    .common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix().map(str::to_owned))
                    .collect(),
                next: out
                    .next_continuation_token()
                    .filter(|_| out.is_truncated() == Some(true))
                    .map(str::to_owned),
            })
        })
    }

    fn list_versions_page<'a>(
        &'a self,
        request: &'a VersionsRequest,
        cursor: Option<&'a str>,
    ) -> BoxFuture<'a, Result<VersionsPage>> {
        Box::pin(async move {
            let (key_marker, version_marker) = match cursor.map(VersionCursor::decode) {
                None => (None, None),
                Some(cursor) => {
                    let cursor = cursor?;
                    (Some(cursor.key), Some(cursor.version_id))
                }
            };
            let order = VersionOrder::default();
            let out = self
                .client
                .list_object_versions()
                .bucket(&self.bucket)
                .prefix(&request.prefix)
                .max_keys(i32::from(request.page_size.clamp(1, 1000)))
                .set_key_marker(key_marker)
                .set_version_id_marker(version_marker)
                .customize()
                .interceptor(order.clone())
                .send()
                .await
                .map_err(|e| map_err("ListObjectVersions", "", e))?;
            let mut versions: Vec<VersionSummary> = out
                .versions()
                .iter()
                .map(|v| VersionSummary {
                    key: v.key().unwrap_or_default().to_owned(),
                    version_id: v.version_id().unwrap_or("null").to_owned(),
                    is_latest: v.is_latest().unwrap_or(false),
                    delete_marker: false,
                    size: v.size().unwrap_or(0).max(0) as u64,
                    etag: v.e_tag().unwrap_or_default().to_owned(),
                    last_modified: time(v.last_modified()),
                })
                .chain(out.delete_markers().iter().map(|m| VersionSummary {
                    key: m.key().unwrap_or_default().to_owned(),
                    version_id: m.version_id().unwrap_or("null").to_owned(),
                    is_latest: m.is_latest().unwrap_or(false),
                    delete_marker: true,
                    size: 0,
                    etag: String::new(),
                    last_modified: time(m.last_modified()),
                }))
                .collect();
            // S3 interleaves versions and delete markers by key, newest first; the SDK hands
            // them in two lists, and times have a resolution of one second.
            order_versions(&mut versions, &order.positions());
            let next = if out.is_truncated() == Some(true) {
                match (out.next_key_marker(), out.next_version_id_marker()) {
                    (Some(key), Some(version)) => Some(
                        VersionCursor {
                            key: key.to_owned(),
                            version_id: version.to_owned(),
                        }
                        .encode(),
                    ),
                    _ => None,
                }
            } else {
                None
            };
            Ok(VersionsPage { versions, next })
        })
    }

    fn set_versioning(&self, enabled: bool) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let status = if enabled {
                BucketVersioningStatus::Enabled
            } else {
                BucketVersioningStatus::Suspended
            };
            self.client
                .put_bucket_versioning()
                .bucket(&self.bucket)
                .versioning_configuration(VersioningConfiguration::builder().status(status).build())
                .send()
                .await
                .map_err(|e| map_err("PutBucketVersioning", "", e))?;
            Ok(())
        })
    }

    fn versioning(&self) -> BoxFuture<'_, Result<Versioning>> {
        Box::pin(async move {
            let out = self
                .client
                .get_bucket_versioning()
                .bucket(&self.bucket)
                .send()
                .await
                .map_err(|e| map_err("GetBucketVersioning", "", e))?;
            Ok(match out.status() {
                Some(BucketVersioningStatus::Enabled) => Versioning::Enabled,
                Some(_) => Versioning::Suspended,
                None => Versioning::Unversioned,
            })
        })
    }

    fn policy(&self) -> BoxFuture<'_, Result<Option<PolicyDocument>>> {
        Box::pin(async move {
            let out = match self
                .client
                .get_bucket_policy()
                .bucket(&self.bucket)
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) if e.code() == Some("NoSuchBucketPolicy") => return Ok(None),
                Err(e) => return Err(map_err("GetBucketPolicy", "", e)),
            };
            let Some(text) = out.policy() else {
                return Ok(None);
            };
            serde_json::from_str(text)
                .map(Some)
                .map_err(|e| Error::Backend {
                    backend: "s3",
                    operation: "GetBucketPolicy",
                    source: Box::new(e),
                })
        })
    }

    fn put_policy<'a>(&'a self, policy: &'a PolicyDocument) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let text = serde_json::to_string(policy).map_err(|e| Error::Validation {
                message: e.to_string(),
            })?;
            self.client
                .put_bucket_policy()
                .bucket(&self.bucket)
                .policy(text)
                .send()
                .await
                .map_err(|e| map_err("PutBucketPolicy", "", e))?;
            Ok(())
        })
    }

    fn delete_policy(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            match self
                .client
                .delete_bucket_policy()
                .bucket(&self.bucket)
                .send()
                .await
            {
                Ok(_) => Ok(()),
                Err(e) if e.code() == Some("NoSuchBucketPolicy") => Ok(()),
                Err(e) => Err(map_err("DeleteBucketPolicy", "", e)),
            }
        })
    }

    fn lifecycle(&self) -> BoxFuture<'_, Result<Vec<LifecycleRule>>> {
        Box::pin(async move {
            match self
                .client
                .get_bucket_lifecycle_configuration()
                .bucket(&self.bucket)
                .send()
                .await
            {
                Ok(out) => Ok(out.rules().iter().map(from_sdk_rule).collect()),
                Err(e) if e.code() == Some("NoSuchLifecycleConfiguration") => Ok(Vec::new()),
                Err(e) => Err(map_err("GetBucketLifecycleConfiguration", "", e)),
            }
        })
    }

    fn put_lifecycle<'a>(&'a self, rules: &'a [LifecycleRule]) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            if rules.is_empty() {
                self.client
                    .delete_bucket_lifecycle()
                    .bucket(&self.bucket)
                    .send()
                    .await
                    .map_err(|e| map_err("DeleteBucketLifecycle", "", e))?;
                return Ok(());
            }
            let rules = rules.iter().map(to_sdk_rule).collect::<Result<Vec<_>>>()?;
            let configuration = BucketLifecycleConfiguration::builder()
                .set_rules(Some(rules))
                .build()
                .map_err(|e| Error::Validation {
                    message: e.to_string(),
                })?;
            self.client
                .put_bucket_lifecycle_configuration()
                .bucket(&self.bucket)
                .lifecycle_configuration(configuration)
                .send()
                .await
                .map_err(|e| map_err("PutBucketLifecycleConfiguration", "", e))?;
            Ok(())
        })
    }

    fn presign_get<'a>(
        &'a self,
        key: &'a Key,
        expires_in: Duration,
    ) -> BoxFuture<'a, Result<Presigned>> {
        Box::pin(async move {
            let config = presigning(expires_in)?;
            let request = self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(key.as_str())
                .presigned(config)
                .await
                .map_err(|e| map_err("GetObject", key.as_str(), e))?;
            Ok(Self::presigned(request))
        })
    }

    fn presign_put<'a>(
        &'a self,
        key: &'a Key,
        content_type: &'a str,
        expires_in: Duration,
    ) -> BoxFuture<'a, Result<Presigned>> {
        Box::pin(async move {
            let config = presigning(expires_in)?;
            let request = self
                .client
                .put_object()
                .bucket(&self.bucket)
                .key(key.as_str())
                .content_type(content_type)
                .presigned(config)
                .await
                .map_err(|e| map_err("PutObject", key.as_str(), e))?;
            Ok(Self::presigned(request))
        })
    }
}

/// The order in which a `ListObjectVersions` response lists its `Version` and `DeleteMarker`
/// elements, read from the response body by an interceptor: the SDK parses them into two lists,
/// and their times (one-second resolution) cannot restore the order of a version and a delete
/// marker written in the same second.
#[derive(Debug, Clone, Default)]
struct VersionOrder(std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>);

impl VersionOrder {
    /// `(key, version id)` of each element, in the response's order.
    fn positions(&self) -> Vec<(String, String)> {
        self.0
            .lock()
            .map(|p| p.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }
}

impl aws_sdk_s3::config::Intercept for VersionOrder {
    fn name(&self) -> &'static str {
        "svless::VersionOrder"
    }

    fn read_after_deserialization(
        &self,
        context: &aws_sdk_s3::config::interceptors::AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &aws_sdk_s3::config::RuntimeComponents,
        _cfg: &mut aws_sdk_s3::config::ConfigBag,
    ) -> std::result::Result<(), aws_sdk_s3::error::BoxError> {
        if let Some(body) = context.response().body().bytes() {
            let positions = element_order(&String::from_utf8_lossy(body));
            *self.0.lock().unwrap_or_else(|p| p.into_inner()) = positions;
        }
        Ok(())
    }
}

/// `(key, version id)` of each `<Version>` and `<DeleteMarker>` of a `ListVersionsResult`, in
/// document order, with the keys' XML escapes undone.
fn element_order(xml: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = xml;
    loop {
        let version = rest.find("<Version>");
        let marker = rest.find("<DeleteMarker>");
        let (start, close) = match (version, marker) {
            (Some(v), Some(m)) if v < m => (v, "</Version>"),
            (Some(v), None) => (v, "</Version>"),
            (_, Some(m)) => (m, "</DeleteMarker>"),
            (None, None) => break,
        };
        let Some(end) = rest[start..].find(close) else {
            break;
        };
        let element = &rest[start..start + end];
        let field = |name: &str| {
            let open = format!("<{name}>");
            let start = element.find(&open)? + open.len();
            let end = element[start..].find(&format!("</{name}>"))?;
            Some(unescape_xml(&element[start..start + end]))
        };
        if let (Some(key), Some(version_id)) = (field("Key"), field("VersionId")) {
            out.push((key, version_id));
        }
        rest = &rest[start + end + close.len()..];
    }
    out
}

fn unescape_xml(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';') else { break };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Puts versions in S3's order: by key, the latest first, then newest first; versions of one
/// second keep the order of the response (S3's own), where it could be read.
fn order_versions(versions: &mut [VersionSummary], positions: &[(String, String)]) {
    let position = |v: &VersionSummary| {
        positions
            .iter()
            .position(|(key, id)| *key == v.key && *id == v.version_id)
            .unwrap_or(usize::MAX)
    };
    versions.sort_by(|a, b| {
        a.key
            .cmp(&b.key)
            .then(b.is_latest.cmp(&a.is_latest))
            .then(b.last_modified.cmp(&a.last_modified))
            .then(position(a).cmp(&position(b)))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `ListObjectVersions` response as S3 sends it (Amazon S3 API Reference,
    /// ListObjectVersions, "Sample Response"): versions and delete markers interleaved, newest
    /// first, here three writes of one key within one second.
    const RESPONSE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix>my</Prefix><KeyMarker></KeyMarker><VersionIdMarker></VersionIdMarker>
  <MaxKeys>5</MaxKeys><IsTruncated>false</IsTruncated>
  <Version><Key>a&amp;b.txt</Key><VersionId>v3</VersionId><IsLatest>true</IsLatest>
    <LastModified>2009-10-12T17:50:30.000Z</LastModified><ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag>
    <Size>434234</Size><StorageClass>STANDARD</StorageClass></Version>
  <DeleteMarker><Key>a&amp;b.txt</Key><VersionId>m2</VersionId><IsLatest>false</IsLatest>
    <LastModified>2009-10-12T17:50:30.000Z</LastModified></DeleteMarker>
  <Version><Key>a&amp;b.txt</Key><VersionId>v1</VersionId><IsLatest>false</IsLatest>
    <LastModified>2009-10-12T17:50:30.000Z</LastModified><ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag>
    <Size>166</Size><StorageClass>STANDARD</StorageClass></Version>
</ListVersionsResult>"#;

    fn summary(id: &str, marker: bool, latest: bool) -> VersionSummary {
        VersionSummary {
            key: "a&b.txt".into(),
            version_id: id.into(),
            is_latest: latest,
            delete_marker: marker,
            size: 0,
            etag: String::new(),
            last_modified: std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_255_369_830),
        }
    }

    #[test]
    fn versions_and_markers_of_one_second_keep_s3s_order() {
        let positions = element_order(RESPONSE);
        assert_eq!(
            positions,
            [
                ("a&b.txt".to_owned(), "v3".to_owned()),
                ("a&b.txt".to_owned(), "m2".to_owned()),
                ("a&b.txt".to_owned(), "v1".to_owned())
            ]
        );
        // As the SDK hands them: versions, then markers.
        let mut versions = vec![
            summary("v3", false, true),
            summary("v1", false, false),
            summary("m2", true, false),
        ];
        order_versions(&mut versions, &positions);
        let ids: Vec<&str> = versions.iter().map(|v| v.version_id.as_str()).collect();
        assert_eq!(ids, ["v3", "m2", "v1"]);
    }

    #[test]
    fn xml_escapes_are_undone() {
        assert_eq!(
            unescape_xml("a&amp;b&#x41;&#66;&lt;&bogus;"),
            "a&bAB<&bogus;"
        );
    }
}
