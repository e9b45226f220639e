//! The local Step Functions interpreter's cost: per state transition (a 100-state Pass chain),
//! a 1,000-item inline Map over a Pass state — each against moto executing the same definition
//! in the same run (`SVLESS_MOTO_SFN_ENDPOINT`, a moto server with execution on, as
//! `scripts/test.sh` starts it) — and a Task state over calling the same handler through
//! `App::dispatch` directly.
//!
//! `SVLESS_MOTO_SFN_ENDPOINT=http://127.0.0.1:PORT cargo bench -p svless-local --bench sfn`

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use std::hint::black_box;
use std::sync::Arc;
use svless::App;
use svless_asl::model::Definition;
use svless_local::sfn::StepFunctions;

fn pass_chain(states: usize) -> Value {
    let mut map = serde_json::Map::new();
    for i in 0..states {
        let mut state = json!({"Type": "Pass", "ResultPath": "$.last", "Result": i});
        if i + 1 == states {
            state["End"] = json!(true);
        } else {
            state["Next"] = json!(format!("S{}", i + 1));
        }
        map.insert(format!("S{i}"), state);
    }
    json!({"StartAt": "S0", "States": map})
}

fn map_over(items: usize) -> (Value, Value) {
    let definition = json!({"StartAt": "M", "States": {"M": {"Type": "Map",
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}}});
    let input: Vec<usize> = (0..items).collect();
    (definition, json!(input))
}

#[svless::task(name = "double")]
async fn double(n: i64) -> i64 {
    n * 2
}

fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("a tokio runtime: {e}"),
    }
}

struct Moto {
    client: aws_sdk_sfn::Client,
}

impl Moto {
    async fn connect() -> Option<Moto> {
        let Ok(endpoint) = std::env::var("SVLESS_MOTO_SFN_ENDPOINT") else {
            eprintln!(
                "SVLESS_MOTO_SFN_ENDPOINT is not set: the moto side of the comparison is left out"
            );
            return None;
        };
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_credential_types::Credentials::new(
                "test", "test", None, None, "bench",
            ))
            .load()
            .await;
        Some(Moto {
            client: aws_sdk_sfn::Client::new(&config),
        })
    }

    async fn create(&self, definition: &Value) -> String {
        let name = format!("bench-{}-{}", std::process::id(), fastrand_name());
        match self
            .client
            .create_state_machine()
            .name(name)
            .definition(definition.to_string())
            .role_arn("arn:aws:iam::123456789012:role/bench")
            .send()
            .await
        {
            Ok(out) => out.state_machine_arn().to_owned(),
            Err(e) => panic!("moto refused the definition: {e:?}"),
        }
    }

    async fn run(&self, machine: &str, input: &Value) {
        let started = match self
            .client
            .start_execution()
            .state_machine_arn(machine)
            .name(fastrand_name())
            .input(input.to_string())
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => panic!("moto did not start: {e:?}"),
        };
        loop {
            match self
                .client
                .describe_execution()
                .execution_arn(started.execution_arn())
                .send()
                .await
            {
                Ok(out) if out.status() == &aws_sdk_sfn::types::ExecutionStatus::Running => {
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await
                }
                Ok(_) => return,
                Err(e) => panic!("moto did not describe: {e:?}"),
            }
        }
    }
}

fn fastrand_name() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!("r{}", N.fetch_add(1, Ordering::SeqCst))
}

fn interpreter(c: &mut Criterion) {
    let rt = runtime();
    let sfn = StepFunctions::new(App::new());
    let moto = rt.block_on(Moto::connect());
    let cases = [
        ("sfn_pass_chain_100", pass_chain(100), json!({"n": 1})),
        ("sfn_map_1000", map_over(1_000).0, map_over(1_000).1),
    ];
    for (group_name, definition, input) in cases {
        let parsed = match Definition::parse(&definition.to_string()) {
            Ok(parsed) => Arc::new(parsed),
            Err(e) => panic!("{e}"),
        };
        let mut group = c.benchmark_group(group_name);
        group.sample_size(20);
        group.bench_function("svless-local", |b| {
            b.iter(|| {
                rt.block_on(sfn.run_definition(parsed.clone(), black_box(input.clone()), "bench"))
            })
        });
        if let Some(moto) = &moto {
            let machine = rt.block_on(moto.create(&definition));
            group.bench_function("moto", |b| {
                b.iter(|| rt.block_on(moto.run(&machine, black_box(&input))))
            });
        }
        group.finish();
    }
}

/// Twenty Task states in a row, each calling the handler, against twenty calls of the handler
/// through `App::dispatch`: the cost a Task state adds (history, data flow, routing by
/// function) with the execution's own setup spread over the chain.
fn task_overhead(c: &mut Criterion) {
    const TASKS: usize = 20;
    let rt = runtime();
    let app = Arc::new(App::new().on(double));
    let sfn = StepFunctions::shared(app.clone());
    let mut states = serde_json::Map::new();
    for i in 0..TASKS {
        let mut state = json!({"Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:double"});
        if i + 1 == TASKS {
            state["End"] = json!(true);
        } else {
            state["Next"] = json!(format!("T{}", i + 1));
        }
        states.insert(format!("T{i}"), state);
    }
    let definition = json!({"StartAt": "T0", "States": states});
    let parsed = match Definition::parse(&definition.to_string()) {
        Ok(parsed) => Arc::new(parsed),
        Err(e) => panic!("{e}"),
    };
    let mut ctx = svless::Context::default();
    ctx.function_name = "double".into();
    let mut group = c.benchmark_group("sfn_task_20");
    group.bench_function("20 Task states (svless-local)", |b| {
        b.iter(|| rt.block_on(sfn.run_definition(parsed.clone(), black_box(json!(1)), "bench")))
    });
    group.bench_function("20 App::dispatch calls", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut n = 1i64;
                for _ in 0..TASKS {
                    let payload = n.to_string();
                    let out = app
                        .dispatch(black_box(payload.as_bytes()), ctx.clone())
                        .await;
                    n = out
                        .ok()
                        .and_then(|o| serde_json::from_slice::<i64>(&o).ok())
                        .unwrap_or_default();
                }
                n
            })
        })
    });
    group.finish();
}

criterion_group!(benches, interpreter, task_overhead);
criterion_main!(benches);
