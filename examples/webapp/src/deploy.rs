//! What the deployment template (`template.yaml`) and the app must agree on: the function of
//! each workflow task, the workflow definition with its function references, and the API
//! definition the template's HTTP API is built from.
//!
//! `cargo run -p webapp -- openapi` writes the definition (`api/http-api.json` is its output,
//! `api/rest-api.json` the REST API flavor's); `tests/deploy.rs` fails when the file, the
//! template, the workflow and the app disagree.

/// Each workflow task's function in the template (its logical id, which is also the
/// placeholder in the workflow's `FunctionName`s) and the task it runs (its `SVLESS_HANDLER`).
pub const TASK_FUNCTIONS: [(&str, &str); 6] = [
    ("ValidatePhotoFunction", "validate-photo"),
    ("MakeThumbnailFunction", "make-thumbnail"),
    ("ReadMetadataFunction", "read-metadata"),
    ("RequestModerationFunction", "request-moderation"),
    ("FinishPhotoFunction", "finish-photo"),
    ("RejectPhotoFunction", "reject-photo"),
];

/// `${Name}` placeholders replaced by `value(Name)`, as Step Functions' definition
/// substitutions do. A placeholder without a value is an error naming it.
///
/// ```
/// let out = webapp::deploy::substitute(r#"{"FunctionName": "${Resize}"}"#, |name| (name == "Resize").then(|| "resize".to_owned()));
/// assert_eq!(out.as_deref(), Ok(r#"{"FunctionName": "resize"}"#));
/// assert!(webapp::deploy::substitute("${Nope}", |_| None).is_err());
/// ```
pub fn substitute(
    definition: &str,
    value: impl Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(definition.len());
    let mut rest = definition;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("an unclosed `${{` at `{}`", &rest[at..]))?;
        let name = &after[..end];
        let replaced = value(name)
            .ok_or_else(|| format!("no substitution for the placeholder `${{{name}}}`"))?;
        out.push_str(&replaced);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The placeholders of a definition, in order of appearance.
///
/// ```
/// assert_eq!(webapp::deploy::placeholders("${A} and ${B}"), vec!["A", "B"]);
/// ```
pub fn placeholders(definition: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = definition;
    while let Some(at) = rest.find("${") {
        let after = &rest[at + 2..];
        let Some(end) = after.find('}') else { break };
        names.push(&after[..end]);
        rest = &after[end + 1..];
    }
    names
}

/// The workflow as the local cloud runs it: each function placeholder replaced by the name of
/// its task, which the app's task routing resolves.
///
/// ```
/// let local = webapp::deploy::local_workflow();
/// assert!(local.contains("\"validate-photo\"") && !local.contains("${"));
/// ```
pub fn local_workflow() -> String {
    substitute(crate::WORKFLOW, |name| {
        TASK_FUNCTIONS
            .iter()
            .find(|(function, _)| *function == name)
            .map(|(_, task)| (*task).to_owned())
    })
    // The workflow file is compiled in; tests/deploy.rs checks every placeholder resolves.
    .unwrap_or_else(|err| panic!("statemachine/photo.asl.json: {err}"))
}

/// The app's API definition for the template: integrations with the API function's `live`
/// alias, the user pool's JWT authorizer, CORS for the `CorsOrigin` parameter — CloudFormation
/// intrinsic functions that `AWS::Include` resolves when the stack is deployed.
#[cfg(feature = "openapi")]
pub fn openapi(flavor: svless::openapi::Flavor) -> serde_json::Value {
    use serde_json::json;
    use svless::openapi::{CognitoAuthorizer, OpenApi};
    let function = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${ApiFunction}:live";
    let options = OpenApi::new("Photo albums", env!("CARGO_PKG_VERSION"), flavor)
        .lambda_uri(json!({"Fn::Sub": format!(
            "arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/{function}/invocations"
        )}))
        .authorizer(CognitoAuthorizer {
            name: "cognito".into(),
            issuer: json!({"Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}"}),
            audience: vec![json!({"Ref": "UserPoolClient"})],
            provider_arns: vec![json!({"Fn::GetAtt": ["UserPool", "Arn"]})],
        })
        .cors([json!({"Ref": "CorsOrigin"})]);
    routes_only().openapi(&options)
}

/// The definition as the file beside the template holds it: pretty JSON, one trailing newline.
#[cfg(feature = "openapi")]
pub fn openapi_json(flavor: svless::openapi::Flavor) -> String {
    let mut text = serde_json::to_string_pretty(&openapi(flavor))
        .unwrap_or_else(|err| panic!("a JSON value always serializes: {err}"));
    text.push('\n');
    text
}

/// The app with in-memory stores and no network: enough to list its routes and handlers.
pub fn routes_only() -> svless::App<crate::Services> {
    use std::sync::Arc;
    use svless::store::dynamo::{MemoryDb, Table};
    let settings = crate::Settings::defaults();
    let table = Table::memory(crate::model::table_def(&settings.table), &MemoryDb::new());
    let photos = Arc::new(svless::store::object::MemoryStore::new(&settings.bucket));
    let config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    let services = crate::Services::new(settings, table, photos, &config)
        .unwrap_or_else(|err| panic!("the default settings make services: {err}"));
    crate::app(services)
}
