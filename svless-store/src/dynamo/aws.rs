//! The DynamoDB backend (`aws-sdk-dynamodb`). User values reach DynamoDB only as expression
//! attribute values; names only as expression attribute names.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue as Av, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, LocalSecondaryIndex, Projection as SdkProjection, ProjectionType,
    ReturnValuesOnConditionCheckFailure, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use serde_dynamo::Item;

use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::ReturnValue;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    ConditionCheck, Delete as TxDelete, DeleteRequest, KeysAndAttributes, Put, PutRequest,
    TransactWriteItem, Update as TxUpdate, WriteRequest,
};

use super::batch::Write;
use super::expr::Placeholders;
use super::transaction::Op;
use super::{
    CancelReason, Condition, Error, IndexKind, Projection, QuerySpec, RawPage, Result, SortKey,
    TableDef, Update,
};

fn to_sdk(item: Item) -> HashMap<String, Av> {
    item.into()
}

fn from_sdk(item: HashMap<String, Av>) -> Item {
    Item::from(item)
}

fn map_err<E>(operation: &'static str, error: SdkError<E>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let message = error.message().unwrap_or_default().to_owned();
    match error.code() {
        Some(
            "ProvisionedThroughputExceededException"
            | "ThrottlingException"
            | "RequestLimitExceeded",
        ) => Error::Throttled { message },
        // DynamoDB's answer to an update that grows an item past 400 KB (its size is not told).
        Some("ValidationException")
            if message.contains("Item size") && message.contains("exceeded") =>
        {
            Error::ItemTooLarge {
                size: super::MAX_ITEM_BYTES + 1,
            }
        }
        Some("ValidationException" | "ResourceNotFoundException" | "ResourceInUseException") => {
            Error::Validation {
                message: format!("{operation}: {message}"),
            }
        }
        _ => Error::Backend {
            operation,
            source: Box::new(error),
        },
    }
}

fn key_schema(pk: &str, sk: Option<&str>) -> Vec<KeySchemaElement> {
    let mut schema = vec![
        KeySchemaElement::builder()
            .attribute_name(pk)
            .key_type(KeyType::Hash)
            .build()
            .expect("name and type are set"),
    ];
    if let Some(sk) = sk {
        schema.push(
            KeySchemaElement::builder()
                .attribute_name(sk)
                .key_type(KeyType::Range)
                .build()
                .expect("name and type are set"),
        );
    }
    schema
}

fn projection(def: &TableDef, projection: &Projection) -> SdkProjection {
    match projection {
        Projection::All => SdkProjection::builder()
            .projection_type(ProjectionType::All)
            .build(),
        // The type attribute travels with the keys, so typed queries of the index work.
        Projection::KeysOnly => SdkProjection::builder()
            .projection_type(ProjectionType::Include)
            .non_key_attributes(&def.type_attribute)
            .build(),
        Projection::Include(attributes) => SdkProjection::builder()
            .projection_type(ProjectionType::Include)
            .set_non_key_attributes(Some(
                std::iter::once(def.type_attribute.clone())
                    .chain(attributes.iter().cloned())
                    .collect(),
            ))
            .build(),
    }
}

pub(crate) async fn create(client: &Client, def: &TableDef) -> Result<()> {
    let mut attributes: Vec<&str> = vec![&def.pk];
    attributes.extend(def.sk.as_deref());
    for index in &def.indexes {
        attributes.push(&index.pk);
        attributes.extend(index.sk.as_deref());
    }
    attributes.sort_unstable();
    attributes.dedup();
    let definitions = attributes
        .iter()
        .map(|name| {
            AttributeDefinition::builder()
                .attribute_name(*name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("name and type are set")
        })
        .collect();
    let mut request = client
        .create_table()
        .table_name(&def.name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(definitions))
        .set_key_schema(Some(key_schema(&def.pk, def.sk.as_deref())));
    for index in &def.indexes {
        let schema = key_schema(&index.pk, index.sk.as_deref());
        request = match index.kind {
            IndexKind::Global => request.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(&index.name)
                    .set_key_schema(Some(schema))
                    .projection(projection(def, &index.projection))
                    .build()
                    .map_err(|e| Error::Validation {
                        message: e.to_string(),
                    })?,
            ),
            IndexKind::Local => request.local_secondary_indexes(
                LocalSecondaryIndex::builder()
                    .index_name(&index.name)
                    .set_key_schema(Some(schema))
                    .projection(projection(def, &index.projection))
                    .build()
                    .map_err(|e| Error::Validation {
                        message: e.to_string(),
                    })?,
            ),
        };
    }
    if let Some(view) = def.stream {
        request = request.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(view.as_str()))
                .build()
                .map_err(|e| Error::Validation {
                    message: e.to_string(),
                })?,
        );
    }
    request
        .send()
        .await
        .map_err(|e| map_err("CreateTable", e))?;
    if let Some(attribute) = &def.ttl_attribute {
        client
            .update_time_to_live()
            .table_name(&def.name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name(attribute)
                    .build()
                    .map_err(|e| Error::Validation {
                        message: e.to_string(),
                    })?,
            )
            .send()
            .await
            .map_err(|e| map_err("UpdateTimeToLive", e))?;
    }
    Ok(())
}

pub(crate) async fn describe(client: &Client, table: &str) -> Result<()> {
    client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| map_err("DescribeTable", e))?;
    Ok(())
}

pub(crate) async fn get(
    client: &Client,
    table: &str,
    key: Item,
    consistent: bool,
) -> Result<Option<Item>> {
    let out = client
        .get_item()
        .table_name(table)
        .set_key(Some(to_sdk(key)))
        .consistent_read(consistent)
        .send()
        .await
        .map_err(|e| map_err("GetItem", e))?;
    Ok(out.item.map(from_sdk))
}

/// A conditional write's answer: a failed condition becomes [`Error::ConditionFailed`] with the
/// item DynamoDB returned (`ReturnValuesOnConditionCheckFailure: ALL_OLD`).
macro_rules! conditional {
    ($result:expr, $error:ident, $operation:literal) => {
        match $result {
            Ok(out) => Ok(out),
            Err(SdkError::ServiceError(service))
                if service.err().is_conditional_check_failed_exception() =>
            {
                let current = match service.into_err() {
                    $error::ConditionalCheckFailedException(e) => e.item.map(from_sdk),
                    _ => None,
                };
                Err(Error::ConditionFailed { current })
            }
            Err(e) => Err(map_err($operation, e)),
        }
    };
}

/// Names and values as a request takes them: `None` for none.
type Parts = (Option<HashMap<String, String>>, Option<HashMap<String, Av>>);

fn parts(p: Placeholders) -> Parts {
    let values = (!p.values.is_empty()).then(|| {
        p.values
            .into_iter()
            .map(|(k, v)| (k, Av::from(v)))
            .collect()
    });
    ((!p.names.is_empty()).then_some(p.names), values)
}

/// An optional condition, rendered: its expression with its names and values.
fn render(condition: Option<&Condition>) -> (Option<String>, Parts) {
    let mut p = Placeholders::default();
    let expression = condition.map(|c| c.render(&mut p));
    (expression, parts(p))
}

pub(crate) async fn put(
    client: &Client,
    def: &TableDef,
    item: Item,
    condition: Option<&Condition>,
) -> Result<()> {
    let (expression, (names, values)) = render(condition);
    let result = client
        .put_item()
        .table_name(&def.name)
        .set_item(Some(to_sdk(item)))
        .set_condition_expression(expression)
        .set_expression_attribute_names(names)
        .set_expression_attribute_values(values)
        .set_return_values_on_condition_check_failure(
            condition.map(|_| ReturnValuesOnConditionCheckFailure::AllOld),
        )
        .send()
        .await;
    conditional!(result, PutItemError, "PutItem").map(|_| ())
}

pub(crate) async fn delete(
    client: &Client,
    table: &str,
    key: Item,
    condition: Option<&Condition>,
) -> Result<()> {
    let (expression, (names, values)) = render(condition);
    let result = client
        .delete_item()
        .table_name(table)
        .set_key(Some(to_sdk(key)))
        .set_condition_expression(expression)
        .set_expression_attribute_names(names)
        .set_expression_attribute_values(values)
        .set_return_values_on_condition_check_failure(
            condition.map(|_| ReturnValuesOnConditionCheckFailure::AllOld),
        )
        .send()
        .await;
    conditional!(result, DeleteItemError, "DeleteItem").map(|_| ())
}

pub(crate) async fn update(
    client: &Client,
    table: &str,
    key: Item,
    update: &Update,
    condition: &Condition,
) -> Result<Item> {
    let mut p = Placeholders::default();
    let update_expression = update.render(&mut p);
    let condition_expression = condition.render(&mut p);
    let (names, values) = parts(p);
    let result = client
        .update_item()
        .table_name(table)
        .set_key(Some(to_sdk(key)))
        .update_expression(update_expression)
        .condition_expression(condition_expression)
        .set_expression_attribute_names(names)
        .set_expression_attribute_values(values)
        .return_values(ReturnValue::AllNew)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    conditional!(result, UpdateItemError, "UpdateItem")
        .map(|out| from_sdk(out.attributes.unwrap_or_default()))
}

pub(crate) async fn query(client: &Client, table: &str, spec: &QuerySpec) -> Result<RawPage> {
    let mut names = HashMap::from([("#pk".to_owned(), spec.pk_attr.clone())]);
    let mut values = HashMap::from([(":pk".to_owned(), Av::S(spec.pk.clone()))]);
    let mut key_condition = "#pk = :pk".to_owned();
    if let (Some(condition), Some(sk_attr)) = (&spec.sk, &spec.sk_attr) {
        names.insert("#sk".into(), sk_attr.clone());
        let clause = match condition {
            SortKey::Eq(v) => ("#sk = :sk", v, None),
            SortKey::BeginsWith(v) => ("begins_with(#sk, :sk)", v, None),
            SortKey::Between(low, high) => ("#sk BETWEEN :sk AND :sk2", low, Some(high)),
            SortKey::Lt(v) => ("#sk < :sk", v, None),
            SortKey::Le(v) => ("#sk <= :sk", v, None),
            SortKey::Gt(v) => ("#sk > :sk", v, None),
            SortKey::Ge(v) => ("#sk >= :sk", v, None),
        };
        key_condition.push_str(" AND ");
        key_condition.push_str(clause.0);
        values.insert(":sk".into(), Av::S(clause.1.clone()));
        if let Some(high) = clause.2 {
            values.insert(":sk2".into(), Av::S(high.clone()));
        }
    }
    let mut request = client
        .query()
        .table_name(table)
        .set_index_name(spec.index.clone())
        .key_condition_expression(key_condition)
        .scan_index_forward(!spec.descending)
        .consistent_read(spec.consistent)
        .set_limit(spec.limit.map(|l| l as i32))
        .set_exclusive_start_key(spec.start.as_ref().map(|start| {
            start
                .iter()
                .map(|(k, v)| (k.clone(), Av::S(v.clone())))
                .collect()
        }));
    let mut filters = Vec::new();
    if let Some((attr, value)) = &spec.type_filter {
        names.insert("#type".into(), attr.clone());
        values.insert(":type".into(), Av::S(value.clone()));
        filters.push("#type = :type".to_owned());
    }
    if let Some(filter) = &spec.filter {
        let mut p = Placeholders::default();
        filters.push(format!("({})", filter.render(&mut p)));
        names.extend(p.names);
        values.extend(p.values.into_iter().map(|(k, v)| (k, Av::from(v))));
    }
    if !filters.is_empty() {
        request = request.filter_expression(filters.join(" AND "));
    }
    if let Some(attributes) = &spec.projection {
        let mut p = Placeholders::default();
        let names_list: Vec<String> = attributes.iter().map(|a| p.name(a)).collect();
        // Placeholders of their own, so they cannot collide with the key and filter ones.
        let renamed: Vec<String> = names_list.iter().map(|n| n.replace("#n", "#p")).collect();
        for (placeholder, attribute) in p.names {
            names.insert(placeholder.replace("#n", "#p"), attribute);
        }
        request = request.projection_expression(renamed.join(", "));
    }
    let out = request
        .set_expression_attribute_names(Some(names))
        .set_expression_attribute_values(Some(values))
        .send()
        .await
        .map_err(|e| map_err("Query", e))?;
    let last = out.last_evaluated_key.map(|key| {
        key.into_iter()
            .filter_map(|(k, v)| match v {
                Av::S(s) => Some((k, s)),
                _ => None,
            })
            .collect()
    });
    Ok(RawPage {
        items: out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(from_sdk)
            .collect(),
        last,
    })
}

fn write_request(write: Write) -> WriteRequest {
    match write {
        Write::Put(item) => WriteRequest::builder()
            .put_request(
                PutRequest::builder()
                    .set_item(Some(to_sdk(item)))
                    .build()
                    .expect("the item is set"),
            )
            .build(),
        Write::Delete(key) => WriteRequest::builder()
            .delete_request(
                DeleteRequest::builder()
                    .set_key(Some(to_sdk(key)))
                    .build()
                    .expect("the key is set"),
            )
            .build(),
    }
}

fn from_write_request(request: WriteRequest) -> Option<Write> {
    if let Some(put) = request.put_request {
        return Some(Write::Put(from_sdk(put.item)));
    }
    request
        .delete_request
        .map(|d| Write::Delete(from_sdk(d.key)))
}

pub(crate) async fn batch_get(
    client: &Client,
    table: &str,
    keys: Vec<Item>,
) -> Result<(Vec<Item>, Vec<Item>)> {
    let request = KeysAndAttributes::builder()
        .set_keys(Some(keys.into_iter().map(to_sdk).collect()))
        .build()
        .map_err(|e| Error::Validation {
            message: e.to_string(),
        })?;
    let out = client
        .batch_get_item()
        .request_items(table, request)
        .send()
        .await
        .map_err(|e| map_err("BatchGetItem", e))?;
    let items = out
        .responses
        .and_then(|mut r| r.remove(table))
        .unwrap_or_default()
        .into_iter()
        .map(from_sdk)
        .collect();
    let unprocessed = out
        .unprocessed_keys
        .and_then(|mut u| u.remove(table))
        .map(|k| k.keys.into_iter().map(from_sdk).collect())
        .unwrap_or_default();
    Ok((items, unprocessed))
}

pub(crate) async fn batch_write(
    client: &Client,
    table: &str,
    writes: Vec<Write>,
) -> Result<Vec<Write>> {
    let out = client
        .batch_write_item()
        .request_items(table, writes.into_iter().map(write_request).collect())
        .send()
        .await
        .map_err(|e| map_err("BatchWriteItem", e))?;
    Ok(out
        .unprocessed_items
        .and_then(|mut u| u.remove(table))
        .unwrap_or_default()
        .into_iter()
        .filter_map(from_write_request)
        .collect())
}

pub(crate) async fn transact(client: &Client, table: &str, ops: Vec<Op>) -> Result<()> {
    let invalid = |e: aws_sdk_dynamodb::error::BuildError| Error::Validation {
        message: e.to_string(),
    };
    let on_failure = ReturnValuesOnConditionCheckFailure::AllOld;
    let mut items = Vec::with_capacity(ops.len());
    for op in ops {
        let mut p = Placeholders::default();
        let item = match op {
            Op::Put(item, condition) => {
                let expression = condition.map(|c| c.render(&mut p));
                let (names, values) = parts(p);
                let put = Put::builder()
                    .table_name(table)
                    .set_item(Some(to_sdk(item)))
                    .set_condition_expression(expression)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .return_values_on_condition_check_failure(on_failure.clone())
                    .build()
                    .map_err(invalid)?;
                TransactWriteItem::builder().put(put).build()
            }
            Op::Update(key, update, condition) => {
                let update_expression = update.render(&mut p);
                let expression = condition.map(|c| c.render(&mut p));
                let (names, values) = parts(p);
                let update = TxUpdate::builder()
                    .table_name(table)
                    .set_key(Some(to_sdk(key)))
                    .update_expression(update_expression)
                    .set_condition_expression(expression)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .return_values_on_condition_check_failure(on_failure.clone())
                    .build()
                    .map_err(invalid)?;
                TransactWriteItem::builder().update(update).build()
            }
            Op::Delete(key, condition) => {
                let expression = condition.map(|c| c.render(&mut p));
                let (names, values) = parts(p);
                let delete = TxDelete::builder()
                    .table_name(table)
                    .set_key(Some(to_sdk(key)))
                    .set_condition_expression(expression)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .return_values_on_condition_check_failure(on_failure.clone())
                    .build()
                    .map_err(invalid)?;
                TransactWriteItem::builder().delete(delete).build()
            }
            Op::Check(key, condition) => {
                let expression = condition.render(&mut p);
                let (names, values) = parts(p);
                let check = ConditionCheck::builder()
                    .table_name(table)
                    .set_key(Some(to_sdk(key)))
                    .condition_expression(expression)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .return_values_on_condition_check_failure(on_failure.clone())
                    .build()
                    .map_err(invalid)?;
                TransactWriteItem::builder().condition_check(check).build()
            }
        };
        items.push(item);
    }
    let result = client
        .transact_write_items()
        .set_transact_items(Some(items))
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(SdkError::ServiceError(service))
            if service.err().is_transaction_canceled_exception() =>
        {
            let reasons = match service.into_err() {
                TransactWriteItemsError::TransactionCanceledException(e) => e
                    .cancellation_reasons
                    .unwrap_or_default()
                    .into_iter()
                    .map(|r| match r.code.as_deref() {
                        None | Some("None") => CancelReason::None,
                        Some("ConditionalCheckFailed") => CancelReason::ConditionFailed {
                            current: r.item.map(from_sdk),
                        },
                        Some("TransactionConflict") => CancelReason::Conflict,
                        Some("ThrottlingError" | "ProvisionedThroughputExceeded") => {
                            CancelReason::Throttled
                        }
                        Some("ValidationError") => {
                            CancelReason::Validation(r.message.unwrap_or_default())
                        }
                        Some(other) => CancelReason::Other(other.to_owned()),
                    })
                    .collect(),
                _ => Vec::new(),
            };
            Err(Error::TransactionCancelled { reasons })
        }
        Err(e) => Err(map_err("TransactWriteItems", e)),
    }
}

pub(crate) async fn backup(client: &Client, table: &str, name: &str) -> Result<String> {
    let out = client
        .create_backup()
        .table_name(table)
        .backup_name(name)
        .send()
        .await
        .map_err(|e| map_err("CreateBackup", e))?;
    out.backup_details
        .map(|d| d.backup_arn)
        .ok_or_else(|| Error::Backend {
            operation: "CreateBackup",
            source: "no backup details in the answer".into(),
        })
}

pub(crate) async fn restore(client: &Client, backup: &str, target: &str) -> Result<()> {
    client
        .restore_table_from_backup()
        .backup_arn(backup)
        .target_table_name(target)
        .send()
        .await
        .map_err(|e| map_err("RestoreTableFromBackup", e))?;
    Ok(())
}
