//! The local cloud's SQS against moto's, driven by the same seeded random sequences through
//! `aws-sdk-sqs`: queue creation with valid and invalid names and attributes, sends with valid
//! and invalid bodies, delays and groups, batches (empty, too many, repeated ids), receives and
//! deletes. The answers the SDK sees (error codes, MD5s, message counts and bodies) must agree.
//! The local queues have no consumer here (the app has no SQS handler), as moto's.
//!
//! Divergences kept, each decided from the SQS API reference, and so left out of the random
//! sequences (the local side is checked in `svless-local`'s unit tests):
//! - `CreateQueue` on an existing name with other attributes is `QueueAlreadyExists` ("If the
//!   queue name, attribute names, or attribute values don't match an existing queue,
//!   CreateQueue returns an error"); moto answers with the existing queue.
//! - A name ending in `.fifo` without `FifoQueue=true` is refused (a standard queue's name is
//!   alphanumerics, hyphens and underscores); moto creates a FIFO queue.
//! - A body with characters outside SQS's list (`#x9 | #xA | #xD | #x20 to #xD7FF | …`, the
//!   SendMessage reference) is `InvalidMessageContents`; moto 5.2.5 accepts `U+0001`.
//! - An empty body is `MissingParameter` (a message is 1 byte to 1 MiB); moto accepts it.

use aws_sdk_sqs::types::{QueueAttributeName, SendMessageBatchRequestEntry};
use svless::App;
use svless_local::cloud::Cloud;
use svless_tests::Rng;

const NAMES: [&str; 6] = [
    "alpha",
    "beta",
    "jobs.fifo",
    "bad name",
    "orders.fifo",
    "toolong-toolong-toolong-toolong-toolong-toolong-toolong-toolong-toolong-toolong-x",
];

const BODIES: [&str; 4] = ["hello", "tab\tand\nnewline", "日本語", "{\"json\": true}"];

async fn client(endpoint: &str) -> aws_sdk_sqs::Client {
    let config = svless_tests::config_for(endpoint).await;
    aws_sdk_sqs::Client::new(&config)
}

fn outcome<T: std::fmt::Debug, E: aws_sdk_sqs::error::ProvideErrorMetadata>(
    result: Result<T, E>,
    ok: impl FnOnce(T) -> String,
) -> String {
    match result {
        Ok(value) => format!("ok {}", ok(value)),
        Err(err) => {
            eprintln!("  message: {:?}", err.message());
            format!("error {}", err.code().unwrap_or("?"))
        }
    }
}

/// One random operation on one server; what the SDK saw, as text.
async fn step(sqs: &aws_sdk_sqs::Client, prefix: &str, rng: &mut Rng) -> String {
    let name = *rng.pick(&NAMES);
    let queue = format!("{prefix}{name}");
    let url = sqs
        .get_queue_url()
        .queue_name(&queue)
        .send()
        .await
        .ok()
        .and_then(|o| o.queue_url().map(str::to_owned))
        .unwrap_or_else(|| format!("http://127.0.0.1/123456789012/{queue}"));
    let op = rng.below(7);
    eprintln!("op {op} on {queue}");
    match op {
        0 => {
            // The same attributes for a name every time: a create with other attributes is an
            // error on SQS (the CreateQueue reference) and answered with the existing queue by
            // moto, a kept divergence.
            let mut create = sqs.create_queue().queue_name(&queue);
            if name == "jobs.fifo" || name == "orders.fifo" {
                create = create.attributes(QueueAttributeName::FifoQueue, "true");
            }
            if name == "orders.fifo" {
                create = create.attributes(QueueAttributeName::ContentBasedDeduplication, "true");
            }
            outcome(create.send().await, |o| {
                o.queue_url()
                    .and_then(|u| u.rsplit('/').next())
                    .unwrap_or_default()
                    .to_owned()
            })
        }
        1 => outcome(sqs.get_queue_url().queue_name(&queue).send().await, |o| {
            o.queue_url()
                .and_then(|u| u.rsplit('/').next())
                .unwrap_or_default()
                .to_owned()
        }),
        2 | 3 => {
            // Which of two faults SQS names first is not documented: an oversized body goes to
            // standard queues only, so a FIFO send has at most one fault.
            let body = if rng.chance(1, 10) && !name.ends_with(".fifo") {
                "x".repeat(1_048_577)
            } else {
                (*rng.pick(&BODIES)).to_owned()
            };
            eprintln!("  body {:?}", body.chars().take(20).collect::<String>());
            let mut send = sqs.send_message().queue_url(&url).message_body(body);
            if rng.chance(1, 3) {
                eprintln!("  group");
                send = send.message_group_id("g1");
            }
            if rng.chance(1, 3) {
                eprintln!("  dedup");
                send = send.message_deduplication_id(format!("d{}", rng.below(3)));
            }
            // A per-message delay on a FIFO queue is refused by SQS ("you can't set
            // DelaySeconds per message"), accepted by moto: standard queues only.
            if rng.chance(1, 5) && !name.ends_with(".fifo") {
                send = send.delay_seconds(*rng.pick(&[0, 5, 901]));
            }
            outcome(send.send().await, |o| {
                o.md5_of_message_body().unwrap_or_default().to_owned()
            })
        }
        4 => {
            let count = *rng.pick(&[0usize, 1, 3, 11]);
            let repeat = rng.chance(1, 4);
            let mut batch = sqs.send_message_batch().queue_url(&url);
            for i in 0..count {
                let id = if repeat {
                    "same".to_owned()
                } else {
                    format!("e{i}")
                };
                let mut entry = SendMessageBatchRequestEntry::builder()
                    .id(id)
                    .message_body(*rng.pick(&BODIES));
                if name.ends_with(".fifo") {
                    let dedup = format!("b{}", rng.below(100));
                    entry = entry.message_group_id("g").message_deduplication_id(dedup);
                }
                if let Ok(entry) = entry.build() {
                    batch = batch.entries(entry);
                }
            }
            outcome(batch.send().await, |o| {
                let mut failed: Vec<String> = o
                    .failed()
                    .iter()
                    .map(|f| format!("{}:{}", f.id(), f.code()))
                    .collect();
                failed.sort();
                format!("{} ok, failed {failed:?}", o.successful().len())
            })
        }
        // FIFO receives are left out: moto does not hold a message group back while one of its
        // messages is in flight, as SQS does (FIFO delivery is checked in `local_cloud.rs`).
        5 if name.ends_with(".fifo") => "skipped".to_owned(),
        5 => {
            let max = *rng.pick(&[1, 5, 10, 11]);
            let received = sqs
                .receive_message()
                .queue_url(&url)
                .max_number_of_messages(max)
                .send()
                .await;
            // Delete half of what arrived, so later receives see the rest only after the
            // visibility timeout (30 s, longer than a run): both servers agree on that.
            if let Ok(out) = &received {
                for (i, message) in out.messages().iter().enumerate() {
                    if i % 2 == 0
                        && let Some(receipt) = message.receipt_handle()
                    {
                        let _ = sqs
                            .delete_message()
                            .queue_url(&url)
                            .receipt_handle(receipt)
                            .send()
                            .await;
                    }
                }
            }
            outcome(received, |o| {
                let mut bodies: Vec<String> = o
                    .messages()
                    .iter()
                    .map(|m| m.body().unwrap_or_default().chars().take(20).collect())
                    .collect();
                bodies.sort();
                format!("{bodies:?}")
            })
        }
        // FIFO queues' message counts are left out: moto counts messages of a group held back
        // behind one in flight differently (FIFO delivery is checked in `local_cloud.rs`).
        _ if name.ends_with(".fifo") => "skipped".to_owned(),
        _ => outcome(
            sqs.get_queue_attributes()
                .queue_url(&url)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
                .send()
                .await,
            |o| {
                o.attributes()
                    .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessages))
                    .cloned()
                    .unwrap_or_default()
            },
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_sqs_and_moto_agree_on_random_operation_sequences() {
    let moto = std::env::var("SVLESS_MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!("SVLESS_MOTO_ENDPOINT is not set: run the README's test command (scripts/test.sh), which starts moto")
    });
    let dir = std::env::temp_dir().join(format!("svless-sqs-diff-{}", std::process::id()));
    let running = Cloud::new(App::new())
        .data_dir(&dir)
        .http_addr(([127, 0, 0, 1], 0).into())
        .services_addr(([127, 0, 0, 1], 0).into())
        .start()
        .await
        .expect("the cloud starts");
    let local = client(&running.services_url()).await;
    let remote = client(&moto).await;
    let (seeds, ops) = svless_tests::differential_runs(&[11, 12, 13], 120);
    for seed in seeds {
        let prefix = format!("d{}s{seed}-", std::process::id());
        let (mut a, mut b) = (Rng::new(seed), Rng::new(seed));
        for i in 0..ops {
            let on_local = step(&local, &prefix, &mut a).await;
            let on_moto = step(&remote, &prefix, &mut b).await;
            eprintln!("  => {on_local} | {on_moto}");
            assert_eq!(on_local, on_moto, "seed {seed}, step {i}");
        }
    }
    running.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
