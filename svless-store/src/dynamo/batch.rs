//! Batch reads and writes: chunks of DynamoDB's size, unprocessed requests retried with backoff
//! until none remain.

use std::collections::HashMap;

use serde_dynamo::Item;

use super::{Backend, Entity, Error, ItemKey, Result, Table, backoff, decode};

/// BatchGetItem takes at most 100 keys.
pub const BATCH_GET_MAX: usize = 100;
/// BatchWriteItem takes at most 25 requests.
pub const BATCH_WRITE_MAX: usize = 25;
/// Rounds of retries of unprocessed requests (or throttling) before giving up.
const MAX_ROUNDS: u32 = 16;

/// One request of a batch write.
#[derive(Debug, Clone)]
pub(crate) enum Write {
    Put(Item),
    Delete(Item),
}

impl Table {
    /// Reads many items by key: 100 keys per `BatchGetItem`, unprocessed keys retried with
    /// backoff until none remain. Items come back in the order of `keys`; missing ones are
    /// left out. Repeated keys are read once.
    ///
    /// ```
    /// # use svless_store::dynamo::*;
    /// # async fn demo<E: Entity>(table: &Table, keys: Vec<ItemKey>) -> Result<()> {
    /// let items: Vec<E> = table.batch_get(&keys).await?;
    /// # Ok(()) }
    /// ```
    pub async fn batch_get<E: Entity>(&self, keys: &[ItemKey]) -> Result<Vec<E>> {
        let mut unique: Vec<&ItemKey> = Vec::with_capacity(keys.len());
        let mut seen = std::collections::HashSet::new();
        for key in keys {
            if seen.insert(key) {
                unique.push(key);
            }
        }
        let mut found: HashMap<(String, Option<String>), Item> = HashMap::new();
        for chunk in unique.chunks(BATCH_GET_MAX) {
            let pending = chunk
                .iter()
                .map(|k| self.key_item(k))
                .collect::<Result<Vec<_>>>()?;
            let items =
                until_processed(pending, "keys", |pending| self.batch_get_once(pending)).await?;
            for item in items {
                found.insert(self.key_of(&item), item);
            }
        }
        keys.iter()
            .filter_map(|k| found.remove(&(k.pk.clone(), k.sk.clone())))
            .map(decode)
            .collect()
    }

    /// Writes many entities: 25 per `BatchWriteItem`, unprocessed items retried with backoff
    /// until none remain. (Batch writes replace; they take no conditions.) Two entities with one
    /// key are refused ([`Error::Validation`]), as DynamoDB refuses them in one request.
    pub async fn batch_put<E: Entity>(&self, entities: &[E]) -> Result<()> {
        let writes = entities
            .iter()
            .map(|e| self.encode(e).map(Write::Put))
            .collect::<Result<Vec<_>>>()?;
        self.batch_write(writes).await
    }

    /// Deletes many items: 25 per `BatchWriteItem`, unprocessed ones retried until none remain.
    /// A key named twice is refused ([`Error::Validation`]).
    pub async fn batch_delete(&self, keys: &[ItemKey]) -> Result<()> {
        let writes = keys
            .iter()
            .map(|k| self.key_item(k).map(Write::Delete))
            .collect::<Result<Vec<_>>>()?;
        self.batch_write(writes).await
    }

    async fn batch_write(&self, writes: Vec<Write>) -> Result<()> {
        // DynamoDB refuses a `BatchWriteItem` that names one key twice; svless refuses the whole
        // call, so the outcome does not depend on how the writes fall into requests.
        let mut seen = std::collections::HashSet::new();
        for write in &writes {
            let (Write::Put(item) | Write::Delete(item)) = write;
            let key = self.key_of(item);
            if !seen.insert(key.clone()) {
                return Err(Error::Validation {
                    message: format!(
                        "Provided list of item keys contains duplicates: the key ({}, {}) is written twice in one batch",
                        key.0,
                        key.1.unwrap_or_default()
                    ),
                });
            }
        }
        for chunk in writes.chunks(BATCH_WRITE_MAX) {
            until_processed(chunk.to_vec(), "writes", |pending| async move {
                Ok((Vec::new(), self.batch_write_once(pending).await?))
            })
            .await?;
        }
        Ok(())
    }

    fn key_of(&self, item: &Item) -> (String, Option<String>) {
        let text = |attr: &str| match item.get(attr) {
            Some(serde_dynamo::AttributeValue::S(s)) => Some(s.clone()),
            _ => None,
        };
        (
            text(&self.def.pk).unwrap_or_default(),
            self.def.sk.as_deref().and_then(text),
        )
    }

    async fn batch_get_once(&self, keys: Vec<Item>) -> Result<(Vec<Item>, Vec<Item>)> {
        match &self.backend {
            Backend::Memory(db) => {
                tokio::task::yield_now().await;
                db.batch_get(&self.def, keys)
            }
            #[cfg(feature = "dynamodb")]
            Backend::Aws(client) => super::aws::batch_get(client, &self.def.name, keys).await,
        }
    }

    async fn batch_write_once(&self, writes: Vec<Write>) -> Result<Vec<Write>> {
        match &self.backend {
            Backend::Memory(db) => {
                tokio::task::yield_now().await;
                db.batch_write(&self.def, writes)
            }
            #[cfg(feature = "dynamodb")]
            Backend::Aws(client) => super::aws::batch_write(client, &self.def.name, writes).await,
        }
    }
}

/// Sends `pending` with `send`, which answers with the items it read and the requests left
/// unprocessed, again and again with backoff until nothing is left; throttling counts as a
/// round with nothing processed. Returns every item read. After [`MAX_ROUNDS`] retries it gives
/// up with a retryable [`Error::Throttled`].
async fn until_processed<T, F, Fut>(
    mut pending: Vec<T>,
    what: &str,
    mut send: F,
) -> Result<Vec<Item>>
where
    T: Clone,
    F: FnMut(Vec<T>) -> Fut,
    Fut: Future<Output = Result<(Vec<Item>, Vec<T>)>>,
{
    let mut read = Vec::new();
    let mut round = 0;
    while !pending.is_empty() {
        match send(pending.clone()).await {
            Ok((items, unprocessed)) => {
                read.extend(items);
                pending = unprocessed;
            }
            Err(Error::Throttled { .. }) if round < MAX_ROUNDS => {}
            Err(other) => return Err(other),
        }
        if pending.is_empty() {
            break;
        }
        round += 1;
        if round > MAX_ROUNDS {
            return Err(Error::Throttled {
                message: format!(
                    "{} {what} were still unprocessed after {MAX_ROUNDS} retries",
                    pending.len()
                ),
            });
        }
        backoff(round).await;
    }
    Ok(read)
}
