//! Every intrinsic function on the examples of the Step Functions developer guide
//! ("Intrinsic functions in Amazon States Language", docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html):
//! the documented input, call and result of each.

use serde_json::{Value, json};
use svless_asl::intrinsic::{Intrinsic, MAX_NESTING, NAMES};

fn eval(call: &str, input: Value) -> Result<Value, String> {
    Intrinsic::parse(call)
        .map_err(|e| e.to_string())?
        .eval(&input, &json!({"Execution": {"Id": "arn:exec"}}))
        .map_err(|e| e.to_string())
}

#[test]
fn the_documented_examples() {
    let nine = json!({"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "lookingFor": 5, "index": 5});
    let cases: Vec<(&str, Value, Value)> = vec![
        (
            "States.Format('Hello, my name is {}.', $.name)",
            json!({"name": "Arnav"}),
            json!("Hello, my name is Arnav."),
        ),
        (
            "States.Format($.template, $.name)",
            json!({"name": "Arnav", "template": "Hello, my name is {}."}),
            json!("Hello, my name is Arnav."),
        ),
        (
            "States.StringToJson($.escapedJsonString)",
            json!({"escapedJsonString": "{\"foo\": \"bar\"}"}),
            json!({"foo": "bar"}),
        ),
        (
            "States.JsonToString($.unescapedJson)",
            json!({"unescapedJson": {"foo": "bar"}}),
            json!("{\"foo\":\"bar\"}"),
        ),
        ("States.Array($.Id)", json!({"Id": 123456}), json!([123456])),
        (
            "States.ArrayPartition($.inputArray,4)",
            nine.clone(),
            json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]]),
        ),
        (
            "States.ArrayContains($.inputArray, $.lookingFor)",
            nine.clone(),
            json!(true),
        ),
        (
            "States.ArrayRange(1, 9, 2)",
            json!({}),
            json!([1, 3, 5, 7, 9]),
        ),
        (
            "States.ArrayGetItem($.inputArray, $.index)",
            nine.clone(),
            json!(6),
        ),
        ("States.ArrayLength($.inputArray)", nine, json!(9)),
        (
            "States.ArrayUnique($.inputArray)",
            json!({"inputArray": [1, 2, 3, 3, 3, 3, 3, 3, 4]}),
            json!([1, 2, 3, 4]),
        ),
        (
            "States.Base64Encode($.input)",
            json!({"input": "Data to encode"}),
            json!("RGF0YSB0byBlbmNvZGU="),
        ),
        (
            "States.Base64Decode($.base64)",
            json!({"base64": "RGF0YSB0byBlbmNvZGU="}),
            json!("Data to encode"),
        ),
        (
            "States.Hash($.Data, $.Algorithm)",
            json!({"Data": "input data", "Algorithm": "SHA-1"}),
            json!("aaff4a450a104cd177d28d18d74485e8cae074b7"),
        ),
        (
            "States.JsonMerge($.json1, $.json2, false)",
            json!({"json1": {"a": {"a1": 1, "a2": 2}, "b": 2}, "json2": {"a": {"a3": 1, "a4": 2}, "c": 3}}),
            json!({"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3}),
        ),
        (
            "States.MathAdd($.value1, $.step)",
            json!({"value1": 111, "step": -1}),
            json!(110),
        ),
        (
            "States.StringSplit($.inputString, $.splitter)",
            json!({"inputString": "1,2,3,4,5", "splitter": ","}),
            json!(["1", "2", "3", "4", "5"]),
        ),
        (
            "States.StringSplit($.inputString, $.splitter)",
            json!({"inputString": "This.is+a,test=string", "splitter": ".+,="}),
            json!(["This", "is", "a", "test", "string"]),
        ),
    ];
    for (call, input, expected) in cases {
        assert_eq!(eval(call, input), Ok(expected), "{call}");
    }
}

#[test]
fn math_random_stays_in_its_range_and_a_seed_repeats_it() {
    for _ in 0..200 {
        let n = eval(
            "States.MathRandom($.start, $.end)",
            json!({"start": 1, "end": 999}),
        )
        .expect("a number");
        let n = n.as_i64().expect("an integer");
        assert!((1..=999).contains(&n), "{n}");
    }
    let seeded = |_| eval("States.MathRandom(1, 1000, 7)", json!({})).expect("a number");
    assert_eq!(seeded(0), seeded(1));
}

#[test]
fn uuids_are_version_4() {
    let id = eval("States.UUID()", json!({})).expect("a uuid");
    let id = id.as_str().expect("a string");
    assert_eq!(id.len(), 36);
    assert_eq!(&id[14..15], "4");
}

#[test]
fn escapes_and_nesting() {
    // `\{`, `\}`, `\'` and `\\` stand for themselves; only an unescaped `{}` is a placeholder.
    assert_eq!(
        eval(
            r"States.Format('\{\} is {}, it\'s a \\', $.a)",
            json!({"a": "x"})
        ),
        Ok(json!(r"{} is x, it's a \"))
    );
    // The developer guide's nine nested calls.
    let arn = "arn:aws:imagebuilder:us-east-1:123456789012:image-recipe/my.recipe.name/1.0.0";
    assert_eq!(
        eval(
            "States.Format('{}.{}.{}', States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 0), States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 1))",
            json!({"ImageRecipe": {"Arn": arn}})
        ),
        // The guide writes three placeholders and two arguments; the States Language specification
        // asks for as many arguments as placeholders, so it is refused.
        Err("States.Format has 3 `{}` and 2 argument(s) for them".to_owned())
    );
    let mut deep = "$.a".to_owned();
    for _ in 0..MAX_NESTING {
        deep = format!("States.Array({deep})");
    }
    assert!(Intrinsic::parse(&deep).is_ok());
    assert!(Intrinsic::parse(&format!("States.Array({deep})")).is_err());
    assert_eq!(
        eval("States.ArrayLength($$.Execution.Id)", json!({})).map_err(|_| ()),
        Err(())
    );
}

#[test]
fn bad_arguments_are_named_errors_not_panics() {
    for (call, input) in [
        ("States.ArrayGetItem($.a, 5)", json!({"a": [1]})),
        ("States.ArrayPartition($.a, 0)", json!({"a": [1]})),
        ("States.ArrayRange(1, 5000, 1)", json!({})),
        ("States.ArrayRange(1, 5, 0)", json!({})),
        ("States.ArrayRange(9, 1, -2)", json!({})),
        ("States.Base64Decode('%%%')", json!({})),
        ("States.Hash('a', 'SHA-3')", json!({})),
        ("States.JsonMerge($.a, $.a, true)", json!({"a": {}})),
        ("States.MathAdd(3000000000, 1)", json!({})),
        ("States.StringToJson('{')", json!({})),
        ("States.Format('{}')", json!({})),
        ("States.ArrayLength($.missing)", json!({})),
    ] {
        assert!(eval(call, input).is_err(), "{call}");
    }
    for bad in [
        "States.Nope()",
        "States.Array(",
        "States.Array('x)",
        "Array(1)",
        "States.Array(1) 2",
    ] {
        assert!(Intrinsic::parse(bad).is_err(), "{bad}");
    }
    assert_eq!(NAMES.len(), 18);
}
