//! Step Functions' optimized DynamoDB integrations — `arn:aws:states:::dynamodb:getItem`,
//! `putItem`, `updateItem`, `deleteItem` — against the tables given to
//! [`StepFunctions::dynamodb`](super::StepFunctions::dynamodb) (any svless-store backend: the
//! in-memory one in tests, the local one in the local cloud).
//!
//! Parameters and results are DynamoDB's API shapes (`TableName`, `Key`, `Item`,
//! `ConditionExpression`, `UpdateExpression`, `ExpressionAttributeNames`,
//! `ExpressionAttributeValues`, `ReturnValues`; `{"Item": …}`, `{"Attributes": …}`), and errors
//! are named as the integration names them (`DynamoDB.ConditionalCheckFailedException`,
//! `DynamoDB.ResourceNotFoundException`, `DynamoDB.AmazonDynamoDBException`).

use serde_dynamo::{AttributeValue, Item};
use serde_json::{Value, json};
use std::collections::HashMap;
use svless_store::dynamo::{Condition, Error, Placeholders, Table, Update};

use super::TaskError;

/// The action of a DynamoDB integration resource, if it is one.
pub(crate) fn action(resource: &str) -> Option<&str> {
    let rest = svless_asl::model::arn_rest(resource, "states")?;
    let action = rest.trim_start_matches(':').strip_prefix("dynamodb:")?;
    matches!(action, "getItem" | "putItem" | "updateItem" | "deleteItem").then_some(action)
}

fn failure(error: &str, cause: impl Into<String>) -> TaskError {
    TaskError {
        error: format!("DynamoDB.{error}"),
        cause: cause.into(),
    }
}

fn item(value: Option<&Value>, what: &str) -> Result<Item, TaskError> {
    let value = value.ok_or_else(|| {
        failure(
            "AmazonDynamoDBException",
            format!("1 validation error detected: Value null at '{what}' failed to satisfy constraint: Member must not be null"),
        )
    })?;
    let map: HashMap<String, AttributeValue> =
        serde_json::from_value(value.clone()).map_err(|e| {
            failure(
                "AmazonDynamoDBException",
                format!("`{what}` is not in DynamoDB's attribute form: {e}"),
            )
        })?;
    Ok(Item::from(map))
}

fn to_json(item: Item) -> Value {
    let map: HashMap<String, AttributeValue> = item.into();
    serde_json::to_value(map).unwrap_or(Value::Null)
}

fn store_error(error: Error) -> TaskError {
    match error {
        Error::ConditionFailed { .. } => failure(
            "ConditionalCheckFailedException",
            "The conditional request failed",
        ),
        other => failure("AmazonDynamoDBException", other.to_string()),
    }
}

/// Runs one integration call.
pub(crate) async fn call(
    tables: &HashMap<String, Table>,
    action: &str,
    parameters: &Value,
) -> Result<Value, TaskError> {
    let name = parameters
        .get("TableName")
        .and_then(Value::as_str)
        .ok_or_else(|| failure("AmazonDynamoDBException", "TableName is required"))?;
    let table = tables.get(name).ok_or_else(|| {
        failure(
            "ResourceNotFoundException",
            format!("Requested resource not found: Table: {name} not found"),
        )
    })?;
    let names: HashMap<String, String> = parameters
        .get("ExpressionAttributeNames")
        .map(|v| serde_json::from_value(v.clone()))
        .transpose()
        .map_err(|e| {
            failure(
                "AmazonDynamoDBException",
                format!("ExpressionAttributeNames: {e}"),
            )
        })?
        .unwrap_or_default();
    let values: HashMap<String, AttributeValue> = parameters
        .get("ExpressionAttributeValues")
        .map(|v| serde_json::from_value(v.clone()))
        .transpose()
        .map_err(|e| {
            failure(
                "AmazonDynamoDBException",
                format!("ExpressionAttributeValues: {e}"),
            )
        })?
        .unwrap_or_default();
    let placeholders = Placeholders {
        names: &names,
        values: &values,
    };
    let condition = parameters
        .get("ConditionExpression")
        .and_then(Value::as_str)
        .map(|text| Condition::parse(text, placeholders))
        .transpose()
        .map_err(store_error)?;
    let return_values = parameters
        .get("ReturnValues")
        .and_then(Value::as_str)
        .unwrap_or("NONE");
    match action {
        "getItem" => {
            let key = item(parameters.get("Key"), "key")?;
            let found = table.get_item(key).await.map_err(store_error)?;
            Ok(match found {
                Some(found) => json!({"Item": to_json(found)}),
                None => json!({}),
            })
        }
        "putItem" => {
            let new = item(parameters.get("Item"), "item")?;
            let old = if return_values == "ALL_OLD" {
                table.get_item(new.clone()).await.map_err(store_error)?
            } else {
                None
            };
            table
                .put_item_if(new, condition)
                .await
                .map_err(store_error)?;
            Ok(match old {
                Some(old) => json!({"Attributes": to_json(old)}),
                None => json!({}),
            })
        }
        "deleteItem" => {
            let key = item(parameters.get("Key"), "key")?;
            let old = if return_values == "ALL_OLD" {
                table.get_item(key.clone()).await.map_err(store_error)?
            } else {
                None
            };
            table
                .delete_item_if(key, condition)
                .await
                .map_err(store_error)?;
            Ok(match old {
                Some(old) => json!({"Attributes": to_json(old)}),
                None => json!({}),
            })
        }
        _ => {
            let key = item(parameters.get("Key"), "key")?;
            let expression = parameters
                .get("UpdateExpression")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    failure("AmazonDynamoDBException", "UpdateExpression is required")
                })?;
            let update = Update::parse(expression, placeholders).map_err(store_error)?;
            let old = if return_values == "ALL_OLD" {
                table.get_item(key.clone()).await.map_err(store_error)?
            } else {
                None
            };
            let new = table
                .update_item(key, update, condition)
                .await
                .map_err(store_error)?;
            Ok(match return_values {
                "ALL_NEW" => json!({"Attributes": to_json(new)}),
                "ALL_OLD" => {
                    old.map_or_else(|| json!({}), |old| json!({"Attributes": to_json(old)}))
                }
                "NONE" => json!({}),
                other => {
                    return Err(failure(
                        "AmazonDynamoDBException",
                        format!(
                            "ReturnValues {other} is not supported locally (NONE, ALL_OLD, ALL_NEW are)"
                        ),
                    ));
                }
            })
        }
    }
}
