//! The deployment template against the app: every function has a handler and every handler a
//! function, the workflow's function references resolve to the right tasks, the table matches
//! the model, the API definition beside the template is the app's own, and each function's role
//! allows exactly what its code calls — evaluated with `svless::policy`.

use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use svless::policy::{CONDITION_OPERATORS, Decision, PolicyDocument, Request};
use svless::source::SourceKind;

const REGION: &str = "eu-west-1";
const ACCOUNT: &str = "123456789012";
const STACK: &str = "photos";

fn manifest_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A YAML value with CloudFormation's short tags turned into their long forms; an unknown tag
/// fails the test.
fn to_json(value: serde_yaml_ng::Value) -> Value {
    use serde_yaml_ng::Value as Y;
    match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => serde_json::to_value(&n).expect("a YAML number is a JSON number"),
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(to_json).collect()),
        Y::Mapping(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        Y::String(s) => s,
                        other => panic!("a mapping key that is no string: {other:?}"),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let inner = to_json(tagged.value);
            let name = match tag.as_str() {
                "!Ref" => return json!({"Ref": inner}),
                "!GetAtt" => {
                    let text = inner.as_str().expect("!GetAtt takes Resource.Attribute");
                    let (resource, attribute) = text
                        .split_once('.')
                        .expect("!GetAtt takes Resource.Attribute");
                    return json!({"Fn::GetAtt": [resource, attribute]});
                }
                "!Sub" => "Fn::Sub",
                "!If" => "Fn::If",
                "!Not" => "Fn::Not",
                "!Equals" => "Fn::Equals",
                "!Join" => "Fn::Join",
                "!Select" => "Fn::Select",
                "!Split" => "Fn::Split",
                other => panic!("an intrinsic function this check does not know: {other}"),
            };
            json!({ name: inner })
        }
    }
}

struct Template {
    resources: Map<String, Value>,
    parameters: Map<String, Value>,
}

fn template() -> Template {
    let text =
        std::fs::read_to_string(manifest_dir().join("template.yaml")).expect("template.yaml");
    let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("template.yaml is YAML");
    let json = to_json(yaml);
    Template {
        resources: json["Resources"].as_object().expect("Resources").clone(),
        parameters: json["Parameters"].as_object().cloned().unwrap_or_default(),
    }
}

impl Template {
    fn of_type(&self, kind: &str) -> Vec<(&str, &Value)> {
        self.resources
            .iter()
            .filter(|(_, r)| r["Type"] == kind)
            .map(|(name, r)| (name.as_str(), &r["Properties"]))
            .collect()
    }

    fn kind(&self, name: &str) -> &str {
        self.resources
            .get(name)
            .and_then(|r| r["Type"].as_str())
            .unwrap_or_else(|| panic!("no resource `{name}` in the template"))
    }

    /// A `Ref` as a deployed stack would answer it, for this check's made-up account.
    fn reference(&self, name: &str) -> String {
        if let Some(pseudo) = name.strip_prefix("AWS::") {
            return match pseudo {
                "Partition" => "aws".into(),
                "Region" => REGION.into(),
                "AccountId" => ACCOUNT.into(),
                "StackName" => STACK.into(),
                "URLSuffix" => "amazonaws.com".into(),
                other => panic!("a pseudo parameter this check does not know: AWS::{other}"),
            };
        }
        if let Some(function) = name.strip_suffix(".Alias") {
            assert_eq!(self.kind(function), "AWS::Serverless::Function");
            return format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{STACK}-{function}:live");
        }
        if let Some(parameter) = self.parameters.get(name) {
            return match &parameter["Default"] {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => format!("{name}-value"),
            };
        }
        match self.kind(name) {
            "AWS::DynamoDB::Table" => format!("{STACK}-{name}"),
            "AWS::S3::Bucket" => format!("{STACK}-{}-abc123", name.to_ascii_lowercase()),
            "AWS::Serverless::StateMachine" => {
                format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{STACK}-photo-processing")
            }
            "AWS::Serverless::Function" => format!("{STACK}-{name}"),
            "AWS::SQS::Queue" => {
                format!("https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{STACK}-{name}")
            }
            "AWS::ApiGatewayV2::Api" | "AWS::Serverless::HttpApi" => name.to_ascii_lowercase(),
            "AWS::Cognito::UserPool" => format!("{REGION}_pool"),
            "AWS::Logs::LogGroup" => format!("{STACK}-{name}"),
            other => format!("{other}/{name}"),
        }
    }

    fn attribute(&self, name: &str, attribute: &str) -> String {
        let kind = self.kind(name);
        match (kind, attribute) {
            ("AWS::DynamoDB::Table", "Arn") => {
                format!(
                    "arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{}",
                    self.reference(name)
                )
            }
            ("AWS::DynamoDB::Table", "StreamArn") => format!(
                "arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{}/stream/2026-01-01T00:00:00.000",
                self.reference(name)
            ),
            ("AWS::S3::Bucket", "Arn") => format!("arn:aws:s3:::{}", self.reference(name)),
            ("AWS::Logs::LogGroup", "Arn") => format!(
                "arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{}:*",
                self.reference(name)
            ),
            ("AWS::SQS::Queue", "Arn") => {
                format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{STACK}-{name}")
            }
            ("AWS::IAM::Role", "Arn") => format!("arn:aws:iam::{ACCOUNT}:role/{STACK}-{name}"),
            ("AWS::CloudFront::Distribution", "DomainName") => {
                "d111111abcdef8.cloudfront.net".into()
            }
            ("AWS::Cognito::UserPool", "Arn") => format!(
                "arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{}",
                self.reference(name)
            ),
            _ => panic!("an attribute this check does not know: {name}.{attribute} ({kind})"),
        }
    }

    /// A value with every intrinsic function resolved; an unknown one fails the test.
    fn resolve(&self, value: &Value) -> Value {
        match value {
            Value::Array(items) => Value::Array(items.iter().map(|v| self.resolve(v)).collect()),
            Value::Object(map) if map.len() == 1 => {
                let (key, arg) = map.iter().next().expect("one entry");
                match key.as_str() {
                    "Ref" => Value::String(self.reference(arg.as_str().expect("Ref takes a name"))),
                    "Fn::GetAtt" => {
                        let parts = arg.as_array().expect("Fn::GetAtt takes a pair");
                        let part = |i: usize| parts[i].as_str().expect("a name");
                        Value::String(self.attribute(part(0), part(1)))
                    }
                    "Fn::Sub" => Value::String(self.sub(arg)),
                    k if k.starts_with("Fn::") => {
                        panic!("an intrinsic function this check does not resolve: {k}")
                    }
                    _ => Value::Object(
                        map.iter()
                            .map(|(k, v)| (k.clone(), self.resolve(v)))
                            .collect(),
                    ),
                }
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.resolve(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn sub(&self, arg: &Value) -> String {
        let (text, vars) = match arg {
            Value::String(text) => (text.as_str(), Map::new()),
            Value::Array(pair) => (
                pair[0].as_str().expect("Fn::Sub's string"),
                pair[1].as_object().cloned().unwrap_or_default(),
            ),
            other => panic!("Fn::Sub of {other}"),
        };
        webapp::deploy::substitute(text, |name| {
            Some(if let Some(literal) = name.strip_prefix('!') {
                format!("${{{literal}}}")
            } else if let Some(value) = vars.get(name) {
                self.resolve(value).as_str().expect("a string").to_owned()
            } else if name.starts_with("AWS::") || !name.contains('.') || name.ends_with(".Alias") {
                self.reference(name)
            } else {
                let (resource, attribute) = name.split_once('.').expect("Resource.Attribute");
                self.attribute(resource, attribute)
            })
        })
        .unwrap_or_else(|err| panic!("Fn::Sub {text}: {err}"))
    }

    /// A policy document of the template, resolved; a condition operator the evaluator does
    /// not understand fails the test.
    fn policy(&self, document: &Value) -> PolicyDocument {
        let document = self.resolve(document);
        for statement in document["Statement"].as_array().expect("statements") {
            check_conditions(statement);
        }
        serde_json::from_value(document).expect("a policy document")
    }

    /// The functions and what they run on: their `SVLESS_HANDLER` or their event source.
    fn functions(&self) -> BTreeMap<&str, &Value> {
        self.of_type("AWS::Serverless::Function")
            .into_iter()
            .collect()
    }

    /// The identity-based policy of a function's role, resolved.
    fn role_policy(&self, function: &str) -> PolicyDocument {
        let props = self.functions()[function];
        let role = props["Role"]["Fn::GetAtt"][0]
            .as_str()
            .unwrap_or_else(|| panic!("{function} has no role of its own"));
        let role = &self.resources[role]["Properties"];
        let statements: Vec<&Value> = role["Policies"]
            .as_array()
            .expect("inline policies")
            .iter()
            .flat_map(|p| {
                p["PolicyDocument"]["Statement"]
                    .as_array()
                    .expect("statements")
            })
            .collect();
        assert!(
            role.get("ManagedPolicyArns").is_none(),
            "{function}: managed policies are not least privilege"
        );
        self.policy(&json!({"Version": "2012-10-17", "Statement": statements}))
    }
}

fn check_conditions(statement: &Value) {
    if let Some(conditions) = statement.get("Condition").and_then(Value::as_object) {
        for operator in conditions.keys() {
            let base = operator.trim_end_matches("IfExists");
            assert!(
                CONDITION_OPERATORS.contains(&base),
                "a condition operator the evaluator does not understand: {operator}"
            );
        }
    }
}

fn handler_of(props: &Value) -> Option<&str> {
    props["Environment"]["Variables"]["SVLESS_HANDLER"].as_str()
}

#[test]
fn every_function_has_a_handler_and_every_handler_a_function() {
    let t = template();
    let app = webapp::deploy::routes_only();
    let functions = t.functions();

    // Workflow tasks: one function each, named in SVLESS_HANDLER.
    let mut tasks_with_functions = BTreeSet::new();
    for (name, props) in &functions {
        if let Some(task) = handler_of(props) {
            assert!(
                app.task_names().contains(&task),
                "the function `{name}` runs `{task}`, which is no task of the app"
            );
            tasks_with_functions.insert(task);
        }
    }
    for task in app.task_names() {
        assert!(
            tasks_with_functions.contains(task),
            "the task `{task}` has no function in the template"
        );
    }
    for (function, task) in webapp::deploy::TASK_FUNCTIONS {
        let props = functions
            .get(function)
            .unwrap_or_else(|| panic!("no function `{function}` in the template"));
        assert_eq!(handler_of(props), Some(task), "{function}");
    }

    // Event sources: the app handles what each function is sent, and each kind the app
    // handles reaches a function.
    let mut sources = BTreeSet::new();
    for (name, props) in &functions {
        for event in props["Events"]
            .as_object()
            .into_iter()
            .flat_map(|e| e.values())
        {
            let kind = match event["Type"].as_str() {
                Some("DynamoDB") => SourceKind::DynamoDbStreams,
                Some("Schedule") => SourceKind::EventBridge,
                // S3's events through EventBridge are S3 notifications to the app.
                Some("EventBridgeRule")
                    if event["Properties"]["Pattern"]["source"] == json!(["aws.s3"]) =>
                {
                    let pattern = &event["Properties"]["Pattern"];
                    assert_eq!(
                        pattern["detail"]["bucket"]["name"],
                        json!([{"Ref": "PhotosBucket"}])
                    );
                    let prefix = pattern["detail"]["object"]["key"][0]["prefix"]
                        .as_str()
                        .expect("a prefix");
                    assert!(
                        app.takes_object(&format!("{prefix}a/b"), "ObjectCreated:Put"),
                        "{name}: the app takes what the rule sends"
                    );
                    assert!(!app.takes_object("thumbs/a/b/160.jpg", "ObjectCreated:Put"));
                    SourceKind::S3
                }
                Some("EventBridgeRule") => SourceKind::EventBridge,
                Some("SQS") => SourceKind::Sqs,
                other => panic!("{name}: an event source this check does not know: {other:?}"),
            };
            assert!(
                app.handles(&kind),
                "{name} is sent {kind}, which the app does not handle"
            );
            sources.insert(kind.to_string());
        }
    }
    let bucket = &t.resources["PhotosBucket"]["Properties"];
    assert_eq!(
        bucket["NotificationConfiguration"]["EventBridgeConfiguration"]["EventBridgeEnabled"], true,
        "the photos bucket sends its events to EventBridge"
    );
    let websocket_routes: BTreeSet<String> = t
        .of_type("AWS::ApiGatewayV2::Route")
        .iter()
        .map(|(_, r)| r["RouteKey"].as_str().expect("a route key").to_owned())
        .collect();
    assert_eq!(
        websocket_routes,
        app.websocket_routes().into_iter().collect(),
        "WebSocket routes"
    );
    sources.insert(SourceKind::WebSocket.to_string());
    for kind in [
        SourceKind::S3,
        SourceKind::DynamoDbStreams,
        SourceKind::EventBridge,
        SourceKind::WebSocket,
    ] {
        if app.handles(&kind) {
            assert!(
                sources.contains(&kind.to_string()),
                "the app handles {kind}, which no function is sent"
            );
        }
    }
    for kind in [SourceKind::Sqs, SourceKind::Kinesis] {
        assert!(
            !app.handles(&kind) || sources.contains(&kind.to_string()),
            "{kind}"
        );
    }

    // Every function is invoked by something and runs something of the app: a task, an event
    // source, the HTTP API (its definition's integrations) or the WebSocket API.
    let definition =
        std::fs::read_to_string(manifest_dir().join("api/http-api.json")).expect("the definition");
    let websocket_uri =
        t.resources["WebSocketIntegration"]["Properties"]["IntegrationUri"].to_string();
    for (name, props) in &functions {
        let placeholder = format!("${{{name}}}");
        let invoked = handler_of(props).is_some()
            || props["Events"].as_object().is_some_and(|e| !e.is_empty())
            || definition.contains(&placeholder)
            || websocket_uri.contains(&placeholder);
        assert!(
            invoked,
            "the function `{name}` has no handler in the app: no task, no event source, no API routes to it"
        );
    }
    assert!(app.websocket_routes().is_empty() || websocket_uri.contains("${WebSocketFunction}"));
    assert!(
        definition.contains("${ApiFunction}"),
        "the HTTP API's routes go to the API function"
    );

    // The schedule the app's local cloud runs is the deployed one.
    let schedule = &functions["SweepFunction"]["Events"]["Nightly"]["Properties"]["Schedule"];
    assert_eq!(schedule, webapp::local::SWEEP_SCHEDULE);
}

#[test]
fn the_workflow_names_only_functions_of_the_template_running_its_tasks() {
    let t = template();
    let machine = &t.resources["PhotoWorkflow"]["Properties"];
    let path = manifest_dir().join(machine["DefinitionUri"].as_str().expect("DefinitionUri"));
    let definition = std::fs::read_to_string(&path).expect("the workflow file");
    assert_eq!(
        definition,
        webapp::WORKFLOW,
        "the deployed file is the one compiled in"
    );
    let substitutions = machine["DefinitionSubstitutions"]
        .as_object()
        .expect("substitutions");
    let placeholders: BTreeSet<&str> = webapp::deploy::placeholders(&definition)
        .into_iter()
        .collect();
    let keys: BTreeSet<&str> = substitutions.keys().map(String::as_str).collect();
    assert_eq!(
        placeholders, keys,
        "each placeholder has a substitution and each substitution a placeholder"
    );
    let app = webapp::deploy::routes_only();
    for (key, value) in substitutions {
        let alias = value["Ref"]
            .as_str()
            .unwrap_or_else(|| panic!("{key}: not a function alias"));
        let function = alias
            .strip_suffix(".Alias")
            .unwrap_or_else(|| panic!("{key}: not an alias"));
        let props = t.functions()[function];
        let task = webapp::deploy::TASK_FUNCTIONS
            .iter()
            .find(|(f, _)| *f == key)
            .map(|(_, task)| *task)
            .unwrap_or_else(|| panic!("{key} is no task function"));
        assert_eq!(handler_of(props), Some(task), "{key} runs {task}");
    }
    // Deployed, the state machine calls the aliases; each resolves to a task of the app.
    let deployed = webapp::deploy::substitute(&definition, |name| {
        substitutions
            .get(name)
            .map(|v| t.resolve(v).as_str().expect("an ARN").to_owned())
    })
    .expect("every placeholder resolves");
    let app = webapp::deploy::TASK_FUNCTIONS
        .iter()
        .fold(app, |app, (f, task)| {
            app.function(&t.reference(&format!("{f}.Alias")), task)
        });
    assert_eq!(app.check_state_machine(&deployed), Ok(()));
    // The role may invoke exactly these aliases.
    let role = &t.resources["PhotoWorkflowRole"]["Properties"]["Policies"][0]["PolicyDocument"];
    let role = t.policy(role);
    for value in substitutions.values() {
        let arn = t.resolve(value);
        let ask = Request {
            action: "lambda:InvokeFunction",
            resource: arn.as_str().expect("ARN"),
            ..Default::default()
        };
        assert_eq!(role.evaluate(&ask), Decision::Allow, "{arn}");
    }
    let other = format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{STACK}-ApiFunction:live");
    let ask = Request {
        action: "lambda:InvokeFunction",
        resource: &other,
        ..Default::default()
    };
    assert_eq!(role.evaluate(&ask), Decision::ImplicitDeny);
}

#[test]
fn the_table_is_the_models_table() {
    let t = template();
    let table = &t.resources["Table"]["Properties"];
    let model = webapp::model::table_def("webapp");
    let key = |schema: &Value, kind: &str| -> Option<String> {
        schema
            .as_array()?
            .iter()
            .find(|k| k["KeyType"] == kind)
            .map(|k| k["AttributeName"].as_str().unwrap_or_default().to_owned())
    };
    assert_eq!(
        key(&table["KeySchema"], "HASH").as_deref(),
        Some(model.pk.as_str())
    );
    assert_eq!(key(&table["KeySchema"], "RANGE"), model.sk.clone());
    let mut deployed = BTreeSet::new();
    for index in table["GlobalSecondaryIndexes"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(
            table["LocalSecondaryIndexes"]
                .as_array()
                .into_iter()
                .flatten(),
        )
    {
        deployed.insert((
            index["IndexName"].as_str().unwrap_or_default().to_owned(),
            key(&index["KeySchema"], "HASH").unwrap_or_default(),
            key(&index["KeySchema"], "RANGE"),
        ));
        assert_eq!(index["Projection"]["ProjectionType"], "ALL");
    }
    let modelled: BTreeSet<(String, String, Option<String>)> = model
        .indexes
        .iter()
        .map(|i| (i.name.clone(), i.pk.clone(), i.sk.clone()))
        .collect();
    assert_eq!(deployed, modelled, "indexes");
    assert_eq!(
        table["TimeToLiveSpecification"]["AttributeName"].as_str(),
        model.ttl_attribute.as_deref()
    );
    assert_eq!(
        table["StreamSpecification"]["StreamViewType"],
        "NEW_AND_OLD_IMAGES"
    );
    assert_eq!(table["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    assert_eq!(table["DeletionProtectionEnabled"], true);

    // The bucket's lifecycle is the one the local bucket applies.
    let bucket = &t.resources["PhotosBucket"]["Properties"];
    let rules = bucket["LifecycleConfiguration"]["Rules"]
        .as_array()
        .expect("rules");
    let local = webapp::lifecycle_rules();
    assert_eq!(rules.len(), local.len());
    for (deployed, local) in rules.iter().zip(&local) {
        assert_eq!(deployed["Id"], local.id.as_str());
        assert_eq!(deployed["Prefix"], local.prefix.as_str());
    }
}

#[test]
fn the_api_definition_beside_the_template_is_the_apps_own_and_deterministic() {
    use svless::openapi::Flavor;
    for (flavor, file) in [
        (Flavor::HttpApi, "api/http-api.json"),
        (Flavor::RestApi, "api/rest-api.json"),
    ] {
        let generated = webapp::deploy::openapi_json(flavor);
        assert_eq!(
            generated,
            webapp::deploy::openapi_json(flavor),
            "byte-identical across runs"
        );
        let on_disk = std::fs::read_to_string(manifest_dir().join(file)).unwrap_or_default();
        assert!(
            generated == on_disk,
            "{file} is not the app's definition: regenerate it with `cargo run -p webapp -- openapi {}` > examples/webapp/{file}",
            if flavor == Flavor::HttpApi {
                "http"
            } else {
                "rest"
            }
        );
    }
    let t = template();
    let location = &t.resources["HttpApi"]["Properties"]["DefinitionBody"]["Fn::Transform"]["Parameters"]
        ["Location"];
    assert_eq!(
        location, "api/http-api.json",
        "the HTTP API is built from the generated file"
    );

    // Every route of the app is in the definition, and nothing else.
    let definition: Value =
        serde_json::from_str(&webapp::deploy::openapi_json(Flavor::HttpApi)).expect("JSON");
    let mut listed = BTreeSet::new();
    for (path, methods) in definition["paths"].as_object().expect("paths") {
        for method in methods.as_object().expect("methods").keys() {
            listed.insert(format!("{} {path}", method.to_ascii_uppercase()));
        }
    }
    let api_routes = include_str!("../src/api.rs")
        .lines()
        .chain(include_str!("../src/web.rs").lines())
        .filter_map(|l| l.trim().strip_prefix("#[api("))
        .map(|l| l.trim_end_matches(")]").replace('"', ""))
        .chain(["GET /health".to_owned()])
        .collect::<BTreeSet<_>>();
    assert_eq!(listed, api_routes);
    // The API's resources resolve (an unknown reference in the definition fails here).
    t.resolve(&definition);
}

/// (function, action, resource) a function's code needs.
fn needs() -> Vec<(&'static str, &'static str, String)> {
    let table = format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{STACK}-Table");
    let index = format!("{table}/index/gsi1");
    let bucket = format!("arn:aws:s3:::{STACK}-photosbucket-abc123");
    let upload = format!("{bucket}/uploads/01J/01K");
    let thumb = format!("{bucket}/thumbs/01J/01K/480.jpg");
    let machine =
        format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{STACK}-photo-processing");
    let stream = format!("{table}/stream/2026-01-01T00:00:00.000");
    let connection =
        format!("arn:aws:execute-api:{REGION}:{ACCOUNT}:websocketapi/prod/POST/@connections/abc=");
    let mut needs = Vec::new();
    let mut add = |function: &'static str, actions: &[&'static str], resource: &str| {
        for action in actions {
            needs.push((function, *action, resource.to_owned()));
        }
    };
    let item_writes = [
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:ConditionCheckItem",
    ];
    add(
        "ApiFunction",
        &[
            "dynamodb:GetItem",
            "dynamodb:BatchGetItem",
            "dynamodb:Query",
            "dynamodb:BatchWriteItem",
        ],
        &table,
    );
    add("ApiFunction", &item_writes, &table);
    add("ApiFunction", &["dynamodb:Query"], &index);
    add(
        "ApiFunction",
        &["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
        &upload,
    );
    add("ApiFunction", &["s3:GetObject", "s3:DeleteObject"], &thumb);
    add("ApiFunction", &["s3:ListBucket"], &bucket);
    add(
        "ApiFunction",
        &["states:SendTaskSuccess", "states:SendTaskFailure"],
        &machine,
    );
    add(
        "WebSocketFunction",
        &[
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:DeleteItem",
            "dynamodb:BatchWriteItem",
        ],
        &table,
    );
    add("WebSocketFunction", &["dynamodb:Query"], &index);
    add(
        "StreamFunction",
        &[
            "dynamodb:GetRecords",
            "dynamodb:GetShardIterator",
            "dynamodb:DescribeStream",
        ],
        &stream,
    );
    add(
        "StreamFunction",
        &[
            "dynamodb:Query",
            "dynamodb:BatchWriteItem",
            "dynamodb:DeleteItem",
        ],
        &table,
    );
    add("StreamFunction", &["dynamodb:Query"], &index);
    add(
        "StreamFunction",
        &["execute-api:ManageConnections"],
        &connection,
    );
    add("UploadFunction", &["dynamodb:GetItem"], &table);
    add("UploadFunction", &item_writes, &table);
    add("UploadFunction", &["s3:DeleteObject"], &upload);
    add("UploadFunction", &["states:StartExecution"], &machine);
    add("ValidatePhotoFunction", &["s3:GetObject"], &upload);
    add("ValidatePhotoFunction", &["dynamodb:GetItem"], &table);
    add("MakeThumbnailFunction", &["s3:GetObject"], &upload);
    add("MakeThumbnailFunction", &["s3:PutObject"], &thumb);
    add("ReadMetadataFunction", &["s3:GetObject"], &upload);
    add(
        "RequestModerationFunction",
        &[
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
        ],
        &table,
    );
    add("FinishPhotoFunction", &["dynamodb:GetItem"], &table);
    add("FinishPhotoFunction", &item_writes, &table);
    add(
        "RejectPhotoFunction",
        &[
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
        ],
        &table,
    );
    add("RejectPhotoFunction", &["s3:DeleteObject"], &upload);
    add("RejectPhotoFunction", &["s3:DeleteObject"], &thumb);
    add("RejectPhotoFunction", &["s3:ListBucket"], &bucket);
    add(
        "SweepFunction",
        &["dynamodb:GetItem", "dynamodb:Query", "dynamodb:DeleteItem"],
        &table,
    );
    add(
        "SweepFunction",
        &["dynamodb:Query"],
        &format!("{table}/index/gsi2"),
    );
    add("SweepFunction", &["s3:ListBucket"], &bucket);
    add("SweepFunction", &["s3:DeleteObject"], &upload);
    needs
}

#[test]
fn each_role_allows_what_its_function_calls_and_nothing_sensitive() {
    let t = template();
    let functions: Vec<&str> = t.functions().keys().copied().collect();
    let policies: BTreeMap<&str, PolicyDocument> =
        functions.iter().map(|f| (*f, t.role_policy(f))).collect();

    for (function, action, resource) in needs() {
        let ask = Request {
            action,
            resource: &resource,
            ..Default::default()
        };
        assert_eq!(
            policies[function].evaluate(&ask),
            Decision::Allow,
            "{function} needs {action} on {resource}"
        );
    }
    // Its own log group, and no other's.
    for function in &functions {
        let own = t.attribute(
            &format!("{}Logs", function.trim_end_matches("Function")),
            "Arn",
        );
        let stream = own.replace(":*", ":log-stream:2026/01/01/abc");
        let ask = Request {
            action: "logs:PutLogEvents",
            resource: &stream,
            ..Default::default()
        };
        assert_eq!(
            policies[function].evaluate(&ask),
            Decision::Allow,
            "{function} logs to {stream}"
        );
        let other = format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:someone-else:log-stream:x");
        let ask = Request {
            action: "logs:PutLogEvents",
            resource: &other,
            ..Default::default()
        };
        assert_eq!(
            policies[function].evaluate(&ask),
            Decision::ImplicitDeny,
            "{function} logs elsewhere"
        );
    }

    let table = format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{STACK}-Table");
    let other_table = format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/payroll");
    let bucket = format!("arn:aws:s3:::{STACK}-photosbucket-abc123");
    let sensitive: Vec<(&str, &str, String)> = vec![
        ("ApiFunction", "dynamodb:Scan", table.clone()),
        ("ApiFunction", "dynamodb:DeleteTable", table.clone()),
        (
            "ApiFunction",
            "states:StartExecution",
            format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{STACK}-photo-processing"),
        ),
        ("ApiFunction", "s3:DeleteBucket", bucket.clone()),
        ("ApiFunction", "s3:PutBucketPolicy", bucket.clone()),
        (
            "MakeThumbnailFunction",
            "s3:DeleteObject",
            format!("{bucket}/uploads/a/b"),
        ),
        (
            "MakeThumbnailFunction",
            "s3:PutObject",
            format!("{bucket}/uploads/a/b"),
        ),
        ("MakeThumbnailFunction", "dynamodb:PutItem", table.clone()),
        (
            "ReadMetadataFunction",
            "s3:PutObject",
            format!("{bucket}/thumbs/a/b/1.jpg"),
        ),
        ("ValidatePhotoFunction", "dynamodb:PutItem", table.clone()),
        (
            "UploadFunction",
            "s3:DeleteObject",
            format!("{bucket}/thumbs/a/b/1.jpg"),
        ),
        (
            "WebSocketFunction",
            "execute-api:ManageConnections",
            format!("arn:aws:execute-api:{REGION}:{ACCOUNT}:websocketapi/prod/POST/@connections/x"),
        ),
        (
            "StreamFunction",
            "s3:GetObject",
            format!("{bucket}/uploads/a/b"),
        ),
        ("SweepFunction", "dynamodb:Scan", table.clone()),
    ];
    for (function, action, resource) in &sensitive {
        let ask = Request {
            action,
            resource,
            ..Default::default()
        };
        assert_ne!(
            policies[function].evaluate(&ask),
            Decision::Allow,
            "{function} may not {action} on {resource}"
        );
    }
    for function in &functions {
        for (action, resource) in [
            ("dynamodb:GetItem", other_table.as_str()),
            ("dynamodb:Query", other_table.as_str()),
            ("iam:CreateRole", "*"),
            ("iam:PassRole", "*"),
            ("iam:AttachRolePolicy", "arn:aws:iam::123456789012:role/x"),
            ("s3:GetObject", "arn:aws:s3:::someone-elses-bucket/key"),
            ("lambda:UpdateFunctionCode", "*"),
        ] {
            let ask = Request {
                action,
                resource,
                ..Default::default()
            };
            assert_ne!(
                policies[function].evaluate(&ask),
                Decision::Allow,
                "{function} may not {action} on {resource}"
            );
        }
    }
}

#[test]
fn the_bucket_policies_refuse_plain_http_and_other_encryption_and_only_cloudfront_reads_the_page() {
    let t = template();
    let photos = t.policy(&t.resources["PhotosBucketPolicy"]["Properties"]["PolicyDocument"]);
    let key = format!("arn:aws:s3:::{STACK}-photosbucket-abc123/uploads/a/b");
    let mut ask = Request {
        principal: Some("arn:aws:iam::123456789012:role/photos-ApiRole"),
        action: "s3:GetObject",
        resource: &key,
        ..Default::default()
    };
    ask.context.insert("aws:SecureTransport", "false");
    assert_eq!(photos.evaluate(&ask), Decision::ExplicitDeny, "plain HTTP");
    ask.context.insert("aws:SecureTransport", "true");
    assert_eq!(
        photos.evaluate(&ask),
        Decision::ImplicitDeny,
        "TLS: the role's own policy decides"
    );
    ask.action = "s3:PutObject";
    assert_eq!(
        photos.evaluate(&ask),
        Decision::ImplicitDeny,
        "default encryption"
    );
    ask.context
        .insert("s3:x-amz-server-side-encryption", "aws:kms");
    assert_eq!(
        photos.evaluate(&ask),
        Decision::ExplicitDeny,
        "another encryption"
    );

    let web = t.policy(&t.resources["WebBucketPolicy"]["Properties"]["PolicyDocument"]);
    let page = format!("arn:aws:s3:::{STACK}-webbucket-abc123/index.html");
    let mut ask = Request {
        principal: Some("cloudfront.amazonaws.com"),
        action: "s3:GetObject",
        resource: &page,
        ..Default::default()
    };
    ask.context.insert("aws:SecureTransport", "true");
    let distribution = format!(
        "arn:aws:cloudfront::{ACCOUNT}:distribution/AWS::CloudFront::Distribution/WebDistribution"
    );
    ask.context.insert("AWS:SourceArn", &distribution);
    assert_eq!(web.evaluate(&ask), Decision::Allow);
    ask.context.insert(
        "AWS:SourceArn",
        "arn:aws:cloudfront::999999999999:distribution/EVIL",
    );
    assert_eq!(
        web.evaluate(&ask),
        Decision::ImplicitDeny,
        "another distribution"
    );

    // The functions are invoked through their aliases only.
    for (name, permission) in t.of_type("AWS::Lambda::Permission") {
        let function = permission["FunctionName"]["Ref"]
            .as_str()
            .unwrap_or_default();
        assert!(
            function.ends_with(".Alias"),
            "{name} grants an invoke of {function}, not of the alias"
        );
    }
}

/// The resources a value refers to: `Ref`, `Fn::GetAtt`, `${...}` in `Fn::Sub` (SAM's
/// `Function.Alias` is the function).
fn references(value: &Value, out: &mut BTreeSet<String>) {
    fn add(out: &mut BTreeSet<String>, name: &str) {
        let name = name.split('.').next().unwrap_or(name);
        if !name.starts_with("AWS::") {
            out.insert(name.to_owned());
        }
    }
    match value {
        Value::Object(map) => {
            for (key, arg) in map {
                match key.as_str() {
                    "Ref" => add(out, arg.as_str().unwrap_or_default()),
                    "Fn::GetAtt" => add(out, arg[0].as_str().unwrap_or_default()),
                    "Fn::Sub" => {
                        let text = arg.as_str().or_else(|| arg[0].as_str()).unwrap_or_default();
                        let vars = arg.get(1).and_then(Value::as_object);
                        for name in webapp::deploy::placeholders(text) {
                            if !name.starts_with('!') && !vars.is_some_and(|v| v.contains_key(name))
                            {
                                add(out, name);
                            }
                        }
                    }
                    _ => {}
                }
                references(arg, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, out)),
        _ => {}
    }
}

fn visit(
    node: &str,
    graph: &BTreeMap<String, BTreeSet<String>>,
    state: &mut BTreeMap<String, u8>,
    path: &mut Vec<String>,
) {
    match state.get(node) {
        Some(2) => return,
        Some(_) => {
            let start = path.iter().position(|p| p == node).unwrap_or(0);
            panic!(
                "a circular dependency: {} -> {node}",
                path[start..].join(" -> ")
            );
        }
        None => {}
    }
    state.insert(node.to_owned(), 1);
    path.push(node.to_owned());
    for next in graph.get(node).into_iter().flatten() {
        visit(next, graph, state, path);
    }
    path.pop();
    state.insert(node.to_owned(), 2);
}

#[test]
fn the_resources_have_no_circular_dependency_even_through_the_included_definition() {
    // cfn-lint finds cycles in the template, but not through the API definition that
    // `AWS::Include` brings in at deploy time, nor through SAM's Globals: this check does both.
    let t = template();
    let text =
        std::fs::read_to_string(manifest_dir().join("template.yaml")).expect("template.yaml");
    let raw = to_json(serde_yaml_ng::from_str(&text).expect("YAML"));
    let globals = &raw["Globals"]["Function"];
    let definition: Value = serde_json::from_str(
        &std::fs::read_to_string(manifest_dir().join("api/http-api.json")).expect("the definition"),
    )
    .expect("JSON");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, resource) in &t.resources {
        let mut refs = BTreeSet::new();
        references(resource, &mut refs);
        if resource["Type"] == "AWS::Serverless::Function" {
            references(globals, &mut refs);
        }
        if resource["Properties"]["DefinitionBody"]["Fn::Transform"]["Name"] == "AWS::Include" {
            references(&definition, &mut refs);
        }
        match &resource["DependsOn"] {
            Value::String(d) => {
                refs.insert(d.clone());
            }
            Value::Array(ds) => refs.extend(ds.iter().filter_map(Value::as_str).map(str::to_owned)),
            _ => {}
        }
        refs.retain(|r| t.resources.contains_key(r));
        graph.insert(name.clone(), refs);
    }
    assert!(
        graph["HttpApi"].contains("ApiFunction"),
        "the definition's references are seen"
    );
    assert!(
        graph["UploadFunction"].contains("Table"),
        "the Globals' references are seen"
    );
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        visit(node, &graph, &mut state, &mut Vec::new());
    }
}
