//! What only the S3 backend does: multipart uploads that never leave parts behind, checked on
//! the moto server that `scripts/test.sh` starts (`SVLESS_MOTO_ENDPOINT`).

use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use bytes::Bytes;
use svless::store::object::{
    Error, Key, MIN_PART_SIZE, ObjectStore, ObjectStoreExt, PutBody, PutOptions, S3Store,
};
use svless_tests::s3_client;

/// Fails the upload of one part before it is sent, as a network failure would.
#[derive(Debug)]
struct FailPart(u32);

impl Intercept for FailPart {
    fn name(&self) -> &'static str {
        "FailPart"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_s3::error::BoxError> {
        let uri = context.request().uri();
        if uri.contains("uploadId=") && uri.contains(&format!("partNumber={}", self.0)) {
            return Err("injected failure of one part".into());
        }
        Ok(())
    }
}

async fn store(client: aws_sdk_s3::Client, bucket: &str) -> S3Store {
    let store = S3Store::builder(client, bucket)
        .part_size(MIN_PART_SIZE)
        .expect("a valid part size")
        .concurrency(2)
        .build();
    store.create_bucket().await.expect("a bucket");
    store
}

async fn open_uploads(client: &aws_sdk_s3::Client, bucket: &str) -> usize {
    client
        .list_multipart_uploads()
        .bucket(bucket)
        .send()
        .await
        .expect("ListMultipartUploads")
        .uploads()
        .len()
}

fn bucket(name: &str) -> String {
    format!("{name}-{}", std::process::id())
}

#[tokio::test]
async fn open_uploads_are_visible_to_the_check() {
    // The check below can fail: an upload nobody aborts is listed.
    let client = s3_client().await;
    let bucket = bucket("visible-uploads");
    store(client.clone(), &bucket).await;
    let upload = client
        .create_multipart_upload()
        .bucket(&bucket)
        .key("left.bin")
        .send()
        .await
        .expect("CreateMultipartUpload");
    assert_eq!(open_uploads(&client, &bucket).await, 1);
    client
        .abort_multipart_upload()
        .bucket(&bucket)
        .key("left.bin")
        .upload_id(upload.upload_id().expect("an upload id"))
        .send()
        .await
        .expect("AbortMultipartUpload");
    assert_eq!(open_uploads(&client, &bucket).await, 0);
}

#[tokio::test]
async fn an_injected_part_failure_leaves_no_multipart_upload() {
    let plain = s3_client().await;
    let config = svless_tests::moto_config().await;
    let failing = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .interceptor(FailPart(3))
            .build(),
    );
    let bucket = bucket("part-failure");
    let store = store(failing, &bucket).await;
    let k = Key::new("videos/clip.bin").expect("a key");
    let put = store.put_bytes(&k, vec![7u8; 4 * MIN_PART_SIZE]).await;
    assert!(
        matches!(
            put,
            Err(Error::Backend {
                operation: "UploadPart",
                ..
            })
        ),
        "{put:?}"
    );
    assert_eq!(
        open_uploads(&plain, &bucket).await,
        0,
        "the upload was aborted"
    );
    assert!(!store.exists(&k).await.expect("HeadObject"));
}

#[tokio::test]
async fn a_failing_body_leaves_no_multipart_upload() {
    let client = s3_client().await;
    let bucket = bucket("body-failure");
    let store = store(client.clone(), &bucket).await;
    let chunks = (0..4).map(|i| {
        if i < 3 {
            Ok(Bytes::from(vec![1u8; MIN_PART_SIZE]))
        } else {
            Err(std::io::Error::other("the upload's client went away"))
        }
    });
    let put = store
        .put(
            &Key::new("big.bin").expect("a key"),
            PutBody::stream(futures_util::stream::iter(chunks)),
            PutOptions::new(),
        )
        .await;
    assert!(matches!(put, Err(Error::Body { .. })), "{put:?}");
    assert_eq!(open_uploads(&client, &bucket).await, 0);
}

#[tokio::test]
async fn a_create_only_multipart_upload_does_not_replace() {
    let client = s3_client().await;
    let bucket = bucket("create-only-multipart");
    let store = store(client.clone(), &bucket).await;
    let k = Key::new("once.bin").expect("a key");
    store.put_bytes(&k, "first").await.expect("put");
    let put = store
        .put(
            &k,
            vec![2u8; MIN_PART_SIZE + 1].into(),
            PutOptions::new().create_only(),
        )
        .await;
    assert!(
        matches!(put, Err(Error::PreconditionFailed { .. })),
        "{put:?}"
    );
    assert_eq!(store.get_bytes(&k).await.expect("get"), "first");
    assert_eq!(open_uploads(&client, &bucket).await, 0);
}

#[tokio::test]
async fn a_bucket_policy_deny_is_access_denied_and_a_403() {
    use svless::IntoProblem;
    use svless::policy::{Effect, PolicyDocument, Principal, Statement};

    let client = s3_client().await;
    let bucket = bucket("policy-deny");
    let store = store(client, &bucket).await;
    let secret = Key::new("private/payroll.csv").expect("a key");
    store.put_bytes(&secret, "a,b").await.expect("put");
    let policy = PolicyDocument::new(vec![
        Statement::new(Effect::Deny)
            .sid("NoPrivateReads")
            .principal(Principal::Any("*".into()))
            .action("s3:GetObject")
            .resource(format!("arn:aws:s3:::{bucket}/private/*").as_str()),
    ]);
    store.put_policy(&policy).await.expect("policy");
    let read = store.get_bytes(&secret).await;
    let Err(denied) = read else {
        panic!("the deny statement was not applied: {read:?}");
    };
    assert!(matches!(denied, Error::AccessDenied { .. }), "{denied:?}");
    let problem = denied.into_problem();
    assert_eq!(problem.status(), 403);
    assert_eq!(problem.detail(), None, "S3's message stays in the logs");
    store.delete_policy().await.expect("delete the policy");
    assert_eq!(store.get_bytes(&secret).await.expect("get"), "a,b");
}
