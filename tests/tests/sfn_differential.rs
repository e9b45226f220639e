//! The local Step Functions interpreter against an independent one: moto's, which executes
//! Pass, Choice, Parallel, Map, Fail and intrinsic functions (the server the test command starts
//! with execution on, `SVLESS_MOTO_SFN_ENDPOINT`). The same machines — written ones from the
//! developer guide's examples and seeded generated ones — run on both; their status, output and
//! error names must agree.
//!
//! Divergences kept, each decided from the AWS documentation (also in docs/step-functions.md);
//! [`kept`] recognises them and every other disagreement fails the test:
//! - a Choice whose rules all fail and that has no `Default` fails with `States.NoChoiceMatched`,
//!   the name the developer guide gives that error ("Error handling in Step Functions"); moto
//!   raises `States.Runtime`;
//! - a Choice rule whose `Variable` is absent from the input fails the execution with
//!   `States.Runtime` ("Invalid path … The choice state's condition path references an invalid
//!   value"); moto treats the rule as not matching and takes the `Default`;
//! - a `ResultPath` that cannot be applied to the state's input (a field of an array) fails with
//!   `States.ResultPathMatchFailure`, the guide's name for exactly that; moto raises
//!   `States.Runtime`;
//! - an intrinsic function that fails on its arguments (an index out of range) fails with
//!   `States.IntrinsicFailure`, the guide's name for it; moto raises `States.Runtime`;
//! - `ResultSelector` with a definite path (`$[0].sum`) selects that node, as the guide's
//!   "Paths" section says of reference paths; moto wraps it in an array.
//!
//! The generator avoids `States.UUID` and `States.MathRandom`, whose results are random on both
//! sides.

use serde_json::{Value, json};
use svless::App;
use svless_local::sfn::{Status, StepFunctions};
use svless_tests::Rng;

/// What an execution ended with, in a form both interpreters give.
#[derive(Debug, Clone)]
enum Outcome {
    Succeeded(Value),
    Failed(String),
}

/// The reason a disagreement is one of the divergences kept (see the module's documentation).
fn kept(ours: &Outcome, theirs: &Outcome, our_cause: &str) -> Option<&'static str> {
    match (ours, theirs) {
        (Outcome::Failed(a), Outcome::Failed(b))
            if a == "States.NoChoiceMatched" && b == "States.Runtime" =>
        {
            Some("no choice matched")
        }
        (Outcome::Failed(a), Outcome::Failed(b))
            if a == "States.IntrinsicFailure" && b == "States.Runtime" =>
        {
            Some("a failing intrinsic function")
        }
        (Outcome::Failed(a), Outcome::Failed(b))
            if a == "States.ResultPathMatchFailure" && b == "States.Runtime" =>
        {
            Some("a ResultPath that cannot be applied")
        }
        (Outcome::Failed(a), _)
            if a == "States.Runtime"
                && our_cause.contains("condition path references an invalid value") =>
        {
            Some("an absent Choice variable")
        }
        (Outcome::Succeeded(Value::Object(a)), Outcome::Succeeded(Value::Object(b)))
            if a.len() == b.len()
                && a.iter()
                    .all(|(k, v)| b.get(k).is_some_and(|w| same(&json!([v]), w))) =>
        {
            Some("a definite path in ResultSelector")
        }
        _ => None,
    }
}

impl PartialEq for Outcome {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Outcome::Succeeded(a), Outcome::Succeeded(b)) => same(a, b),
            (Outcome::Failed(a), Outcome::Failed(b)) => a == b,
            _ => false,
        }
    }
}

/// JSON equality with numbers compared by value (`2` and `2.0` are one number in JSON).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// The local outcome, and the cause when it failed.
async fn local(definition: &Value, input: &Value) -> (Outcome, String) {
    let run = StepFunctions::new(App::new())
        .run(&definition.to_string(), input.clone())
        .await
        .unwrap_or_else(|invalid| panic!("the local interpreter refused {definition}: {invalid}"));
    match run.status {
        Status::Succeeded => (
            Outcome::Succeeded(run.output.unwrap_or(Value::Null)),
            String::new(),
        ),
        _ => (
            Outcome::Failed(run.error.unwrap_or_default()),
            run.cause.unwrap_or_default(),
        ),
    }
}

struct Moto {
    client: aws_sdk_sfn::Client,
    count: std::sync::atomic::AtomicU32,
}

impl Moto {
    async fn new() -> Moto {
        Moto {
            client: aws_sdk_sfn::Client::new(&svless_tests::moto_sfn_config().await),
            count: Default::default(),
        }
    }

    async fn run(&self, definition: &Value, input: &Value) -> Outcome {
        let n = self.count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let name = format!("diff-{}-{n}", std::process::id());
        let machine = self
            .client
            .create_state_machine()
            .name(&name)
            .definition(definition.to_string())
            .role_arn("arn:aws:iam::123456789012:role/sfn")
            .send()
            .await
            .unwrap_or_else(|e| panic!("moto refused {definition}: {e:?}"));
        let execution = self
            .client
            .start_execution()
            .state_machine_arn(machine.state_machine_arn())
            .name(&name)
            .input(input.to_string())
            .send()
            .await
            .unwrap_or_else(|e| panic!("moto did not start {definition}: {e:?}"));
        for _ in 0..400 {
            let described = self
                .client
                .describe_execution()
                .execution_arn(execution.execution_arn())
                .send()
                .await
                .unwrap_or_else(|e| panic!("moto did not describe the execution: {e:?}"));
            match described.status() {
                aws_sdk_sfn::types::ExecutionStatus::Running => {
                    tokio::time::sleep(std::time::Duration::from_millis(25)).await;
                }
                aws_sdk_sfn::types::ExecutionStatus::Succeeded => {
                    // moto writes a string output bare (`twenties`, not `"twenties"`); AWS
                    // writes JSON text, so a bare output is read as the string it stands for.
                    let output = described.output().unwrap_or("null");
                    return Outcome::Succeeded(
                        serde_json::from_str(output)
                            .unwrap_or_else(|_| Value::String(output.to_owned())),
                    );
                }
                _ => return Outcome::Failed(described.error().unwrap_or_default().to_owned()),
            }
        }
        panic!("moto did not finish {definition} in 10 s")
    }
}

/// Machines from the developer guide's examples of each state type and of input and output
/// processing.
fn written() -> Vec<(Value, Value)> {
    let product = json!({"comment": "Example for Parameters.", "product": {
        "details": {"color": "blue", "size": "small", "material": "cotton"},
        "availability": "in stock", "sku": "2317", "cost": "$23"}});
    vec![
        (
            json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"x-datum": 0.381018, "y-datum": 622.2269926397355},
                "ResultPath": "$.coords", "End": true}}}),
            json!({"georefOf": "Home"}),
        ),
        (
            json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {
                "comment": "Selecting what I care about.",
                "MyDetails": {"size.$": "$.product.details.size", "exists.$": "$.product.availability", "StaticValue": "foo"}},
                "End": true}}}),
            product.clone(),
        ),
        (
            json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": "$.product.details", "ResultPath": "$.d",
                "OutputPath": "$.d", "End": true}}}),
            product,
        ),
        (
            json!({"StartAt": "C", "States": {
                "C": {"Type": "Choice", "Choices": [
                    {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"},
                    {"And": [{"Variable": "$.value", "IsPresent": true}, {"Variable": "$.value", "IsNumeric": true},
                             {"Variable": "$.value", "NumericGreaterThanEquals": 20}, {"Variable": "$.value", "NumericLessThan": 30}],
                     "Next": "ValueInTwenties"},
                    {"Variable": "$.rating", "NumericGreaterThanPath": "$.auditThreshold", "Next": "StartAudit"}],
                 "Default": "RecordEvent"},
                "Public": {"Type": "Pass", "Result": "public", "End": true},
                "ValueInTwenties": {"Type": "Pass", "Result": "twenties", "End": true},
                "StartAudit": {"Type": "Pass", "Result": "audit", "End": true},
                "RecordEvent": {"Type": "Pass", "Result": "record", "End": true}}}),
            json!({"type": "Private", "value": 22, "rating": 1, "auditThreshold": 3}),
        ),
        (
            json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "ErrorA", "Cause": "Kaiju attack"}}}),
            json!({}),
        ),
        (
            json!({"StartAt": "Par", "States": {"Par": {"Type": "Parallel", "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"sum.$": "States.MathAdd($.a, $.b)"}, "End": true}}},
                {"StartAt": "B", "States": {"B": {"Type": "Pass", "Parameters": {"parts.$": "States.ArrayPartition($.list, 2)"}, "End": true}}}],
                "ResultSelector": {"first.$": "$[0].sum", "second.$": "$[1].parts"}, "End": true}}}),
            json!({"a": 3, "b": 4, "list": [1, 2, 3, 4, 5]}),
        ),
        (
            json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.shipped", "MaxConcurrency": 0,
                "ItemSelector": {"parcel.$": "$$.Map.Item.Value", "courier.$": "$.delivery-partner", "index.$": "$$.Map.Item.Index"},
                "ItemProcessor": {"StartAt": "V", "States": {"V": {"Type": "Pass", "End": true}}},
                "ResultPath": "$.detail", "End": true}}}),
            json!({"ship-date": "2016-03-14T01:59:00Z", "delivery-partner": "UQS",
                   "shipped": [{"prod": "R31", "dest-code": 9511, "quantity": 1344},
                               {"prod": "S39", "dest-code": 9511, "quantity": 40}]}),
        ),
        (
            json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {
                "f.$": "States.Format('Hello, my name is {}.', $.name)",
                "j.$": "States.StringToJson($.escaped)",
                "r.$": "States.ArrayRange(1, 9, 2)",
                "g.$": "States.ArrayGetItem($.list, 1)",
                "l.$": "States.ArrayLength($.list)",
                "u.$": "States.ArrayUnique($.dup)",
                "c.$": "States.ArrayContains($.list, 3)",
                "e.$": "States.Base64Encode('Data to encode')",
                "d.$": "States.Base64Decode('RGF0YSB0byBlbmNvZGU=')",
                "h.$": "States.Hash('input data', 'SHA-256')",
                "m.$": "States.JsonMerge($.o1, $.o2, false)",
                "s.$": "States.StringSplit('a,b;c', ',;')",
                "a.$": "States.Array(1, 'two', $.name)"}, "End": true}}}),
            json!({"name": "Arnav", "escaped": "{\"foo\": \"bar\"}", "list": [1, 2, 3], "dup": [1, 1, 2],
                   "o1": {"a": 1, "b": {"x": 1}}, "o2": {"b": {"y": 2}, "c": 3}}),
        ),
        (
            json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"x.$": "$.missing"}, "End": true}}}),
            json!({}),
        ),
        (
            json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Fail", "Error": "Branch.Failed", "Cause": "c"}}}],
                "Catch": [{"ErrorEquals": ["Branch.Failed"], "ResultPath": "$.error", "Next": "Caught"}], "End": true},
                "Caught": {"Type": "Pass", "End": true}}}),
            json!({"keep": true}),
        ),
        (
            json!({"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [
                {"Variable": "$.n", "NumericEquals": 1, "Next": "E"}]}, "E": {"Type": "Succeed"}}}),
            json!({"n": 2}),
        ),
        (
            json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 0, "Next": "S"},
                   "S": {"Type": "Succeed", "OutputPath": "$.a"}}}),
            json!({"a": [1, {"b": null}]}),
        ),
    ]
}

/// A random input: numbers, strings, booleans, a list of numbers and a nested object.
fn input(rng: &mut Rng) -> Value {
    let words = ["alpha", "beta", "gamma", "delta", "log-7.txt", "a,b,c"];
    let list: Vec<i64> = (0..rng.below(6))
        .map(|_| rng.below(20) as i64 - 5)
        .collect();
    json!({
        "n": rng.below(100) as i64 - 20,
        "m": rng.below(50),
        "s": rng.pick(&words),
        "t": rng.pick(&words),
        "flag": rng.chance(1, 2),
        "list": list,
        "nested": {"k": rng.pick(&words), "v": rng.below(10), "deep": {"x": rng.below(3)}},
        "nothing": null,
    })
}

/// A payload template reading the input in one of the ways both interpreters support.
fn template(rng: &mut Rng) -> Value {
    let mut fields = serde_json::Map::new();
    for i in 0..1 + rng.below(4) {
        let (key, value) = match rng.below(24) {
            14 => ("p.$", json!("States.ArrayRange(0, $.m, 7)")),
            15 => ("p.$", json!("States.ArrayUnique($.list)")),
            16 => (
                "p.$",
                json!("States.Base64Decode(States.Base64Encode($.s))"),
            ),
            17 => (
                "p.$",
                json!("States.StringToJson(States.JsonToString($.nested))"),
            ),
            18 => (
                "p.$",
                json!("States.JsonMerge($.nested, $.nested.deep, false)"),
            ),
            19 => (
                "p.$",
                json!("States.MathAdd(States.ArrayLength($.list), -3)"),
            ),
            // (Escapes in States.Format are pinned by svless-asl's tests: moto's parser fails on
            // them.)
            20 => ("p.$", json!("States.Format('{}-{}', $.t, $.m)")),
            21 => ("p.$", json!("States.StringSplit('a,,b;;c', ',;')")),
            22 => ("p.$", json!("States.ArrayGetItem($.list, 0)")),
            23 => (
                "p.$",
                json!("States.Hash(States.JsonToString($.list), 'SHA-512')"),
            ),
            0 => ("p.$", json!("$.n")),
            1 => ("p.$", json!("$.nested")),
            2 => ("p.$", json!("$.nested.deep.x")),
            3 => ("p", json!({"static": [1, "two", null], "q.$": "$.s"})),
            4 => ("p.$", json!("States.Format('{} and {}', $.s, $.n)")),
            5 => ("p.$", json!("States.ArrayLength($.list)")),
            6 => ("p.$", json!("States.MathAdd($.n, $.m)")),
            7 => (
                "p.$",
                json!("States.Array($.flag, $.s, States.ArrayLength($.list))"),
            ),
            8 => ("p.$", json!("States.StringSplit($.s, ',.-')")),
            9 => ("p.$", json!("States.JsonToString($.nested)")),
            10 => ("p.$", json!("States.ArrayContains($.list, $.m)")),
            11 => ("p.$", json!("States.ArrayPartition($.list, 2)")),
            12 => ("p.$", json!("States.Hash($.s, 'MD5')")),
            _ => ("p.$", json!("$$.Execution.Input.n")),
        };
        let key = key.replace('p', &format!("f{i}"));
        fields.insert(key, value);
    }
    Value::Object(fields)
}

fn result_path(rng: &mut Rng) -> Value {
    match rng.below(4) {
        0 => json!("$"),
        1 => json!("$.result"),
        2 => json!(null),
        _ => json!("$.nested.out"),
    }
}

/// A random choice rule on the input's fields.
fn rule(rng: &mut Rng) -> Value {
    match rng.below(8) {
        0 => json!({"Variable": "$.n", "NumericGreaterThan": rng.below(60) as i64 - 10}),
        1 => json!({"Variable": "$.n", "NumericLessThanEqualsPath": "$.m"}),
        2 => json!({"Variable": "$.s", "StringEquals": "beta"}),
        3 => json!({"Variable": "$.s", "StringMatches": "*a"}),
        4 => json!({"Variable": "$.flag", "BooleanEquals": true}),
        5 => json!({"Variable": "$.nothing", "IsNull": true}),
        6 => json!({"Not": {"Variable": "$.t", "StringLessThanPath": "$.s"}}),
        _ => json!({"Or": [{"Variable": "$.missing", "IsPresent": true},
                           {"Variable": "$.nested.v", "NumericGreaterThanEquals": 5}]}),
    }
}

/// A Parallel state whose branch fails (or not) with one of a few error names, under a random
/// `Retry` and `Catch`: retries, `States.ALL`, `ErrorEquals` order and the catcher's `ResultPath`.
fn guarded(rng: &mut Rng, next: &str) -> Value {
    let errors = ["Custom.Busy", "Custom.Gone", "States.TaskFailed"];
    // A Fail state raises a name of its own: `States.` names are Step Functions'.
    let thrown = *rng.pick(&errors[..2]);
    let branch = if rng.chance(1, 4) {
        json!({"StartAt": "Ok", "States": {"Ok": {"Type": "Pass", "Result": "fine", "End": true}}})
    } else {
        json!({"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": thrown, "Cause": "it broke"}}})
    };
    let mut retry = Vec::new();
    if rng.chance(1, 2) {
        retry.push(
            json!({"ErrorEquals": [*rng.pick(&errors)], "IntervalSeconds": 1,
                          "MaxAttempts": rng.below(3), "BackoffRate": 1.0}),
        );
    }
    let mut catch = Vec::new();
    if rng.chance(2, 3) {
        let mut catcher = json!({"ErrorEquals": [*rng.pick(&errors)], "Next": next});
        if rng.chance(1, 2) {
            catcher["ResultPath"] = json!("$.caught");
        }
        catch.push(catcher);
        if rng.chance(1, 2) {
            catch.push(json!({"ErrorEquals": ["States.ALL"], "ResultPath": null, "Next": "Stop"}));
        }
    }
    json!({"Type": "Parallel", "Branches": [branch], "Retry": retry, "Catch": catch,
           "ResultPath": "$.guarded", "Next": next})
}

/// A random machine: a chain of states, each one of the kinds both interpreters run, ending in
/// Succeed (or failing on the way).
fn machine(rng: &mut Rng) -> Value {
    let length = 2 + rng.below(4);
    let mut states = serde_json::Map::new();
    for i in 0..length {
        let name = format!("S{i}");
        let next = format!("S{}", i + 1);
        let state = match rng.below(8) {
            7 => guarded(rng, &next),
            0 | 1 => {
                json!({"Type": "Pass", "Parameters": template(rng), "ResultPath": result_path(rng), "Next": next})
            }
            2 => {
                json!({"Type": "Pass", "Result": {"r": rng.below(9)}, "ResultPath": "$.fixed", "Next": next})
            }
            3 => json!({"Type": "Choice", "Choices": [{"Next": next}], "Default": "Stop"}),
            4 => json!({"Type": "Parallel", "Branches": [
                        {"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": template(rng), "End": true}}},
                        {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": true}}}],
                     "ResultPath": result_path(rng), "Next": next}),
            5 => json!({"Type": "Map", "ItemsPath": "$.list",
                     "ItemSelector": {"i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value", "s.$": "$.s"},
                     "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass",
                         "Parameters": {"sum.$": "States.MathAdd($.i, $.v)", "s.$": "$.s"}, "End": true}}},
                     "ResultPath": "$.mapped", "Next": next}),
            _ => {
                json!({"Type": "Pass", "InputPath": "$.nested", "ResultPath": "$.copy", "Next": next})
            }
        };
        let mut state = state;
        if state["Type"] == "Choice" {
            state["Choices"][0] = {
                let mut r = rule(rng);
                r["Next"] = json!(next);
                r
            };
        }
        states.insert(name, state);
    }
    states.insert(format!("S{length}"), json!({"Type": "Succeed"}));
    states.insert(
        "Stop".into(),
        json!({"Type": "Fail", "Error": "Chain.Stopped", "Cause": "a choice chose to stop"}),
    );
    // Every state must be reachable: route to Stop from a first Choice when none does.
    let reaches_stop = states.values().any(|s| s["Type"] == "Choice");
    if !reaches_stop {
        states.insert(
            "S0".into(),
            json!({"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericLessThan": -100, "Next": "Stop"}], "Default": "S1"}),
        );
    }
    json!({"StartAt": "S0", "States": states})
}

#[tokio::test]
async fn the_local_interpreter_agrees_with_motos_on_written_and_generated_machines() {
    let moto = Moto::new().await;
    let mut machines = written();
    let (seeds, count) = svless_tests::differential_runs(&[11, 23], 50);
    for seed in &seeds {
        let mut rng = Rng::new(*seed);
        for _ in 0..count {
            let definition = machine(&mut rng);
            let input = input(&mut rng);
            machines.push((definition, input));
        }
    }
    assert!(
        machines.len() >= 100 || seeds.len() == 1,
        "{} machines",
        machines.len()
    );
    let mut disagreements = Vec::new();
    let mut divergences: std::collections::BTreeMap<&str, usize> = Default::default();
    for (definition, input) in &machines {
        let ((ours, cause), theirs) = (
            local(definition, input).await,
            moto.run(definition, input).await,
        );
        if ours == theirs {
            continue;
        }
        if let Some(reason) = kept(&ours, &theirs, &cause) {
            *divergences.entry(reason).or_default() += 1;
        } else {
            disagreements.push(format!(
                "{definition}\n  input {input}\n  local {ours:?}\n  moto  {theirs:?}"
            ));
        }
    }
    println!("divergences kept, by reason: {divergences:?}");
    assert!(
        disagreements.is_empty(),
        "{} of {} machines disagree (seeds {seeds:?}; SVLESS_SEED replays one):\n{}",
        disagreements.len(),
        machines.len(),
        disagreements.join("\n")
    );
}
