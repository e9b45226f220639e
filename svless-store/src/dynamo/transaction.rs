//! Transactions: all operations or none, with conditions, and typed reasons when cancelled.

use serde_dynamo::Item;

use super::{Backend, Condition, Entity, Error, ItemKey, Result, Table, Update};

/// DynamoDB's limit of operations per transaction.
pub const TRANSACTION_MAX: usize = 100;

/// One operation of a transaction.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    Put(Item, Option<Condition>),
    Update(Item, Update, Option<Condition>),
    Delete(Item, Option<Condition>),
    Check(Item, Condition),
}

/// A transaction: operations on distinct items, applied all together or not at all. A
/// cancelled transaction is [`Error::TransactionCancelled`] with one
/// [`CancelReason`](super::CancelReason) per operation, in order.
///
/// ```
/// # use svless_store::dynamo::*;
/// # async fn demo<E: Entity>(table: &Table, order: &E, stock: &ItemKey) -> Result<()> {
/// table
///     .transaction()
///     .insert(order)?
///     .update(stock, Update::new().add("reserved", &1)?, Some(Condition::exists("sku")))?
///     .commit()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Transaction<'t> {
    table: &'t Table,
    ops: Vec<Op>,
}

impl Table {
    /// A transaction on this table.
    pub fn transaction(&self) -> Transaction<'_> {
        Transaction {
            table: self,
            ops: Vec::new(),
        }
    }
}

impl Transaction<'_> {
    fn push(mut self, op: Op) -> Result<Self> {
        if self.ops.len() == TRANSACTION_MAX {
            return Err(Error::Validation {
                message: format!("a transaction holds at most {TRANSACTION_MAX} operations"),
            });
        }
        self.ops.push(op);
        Ok(self)
    }

    /// Writes an entity, replacing.
    pub fn put<E: Entity>(self, entity: &E) -> Result<Self> {
        let item = self.table.encode(entity)?;
        self.push(Op::Put(item, None))
    }

    /// Writes an entity only if no item has its key.
    pub fn insert<E: Entity>(self, entity: &E) -> Result<Self> {
        let item = self.table.encode(entity)?;
        let condition = Condition::not_exists(&self.table.def.pk);
        self.push(Op::Put(item, Some(condition)))
    }

    /// Writes an entity if `condition` holds.
    pub fn put_if<E: Entity>(self, entity: &E, condition: Condition) -> Result<Self> {
        let item = self.table.encode(entity)?;
        self.push(Op::Put(item, Some(condition)))
    }

    /// Updates an existing item (and `condition`, if given, must hold).
    pub fn update(
        self,
        key: &ItemKey,
        update: Update,
        condition: Option<Condition>,
    ) -> Result<Self> {
        update.check_paths()?;
        let key = self.table.key_item(key)?;
        let exists = Condition::exists(&self.table.def.pk);
        let condition = Some(match condition {
            Some(c) => exists.and(c),
            None => exists,
        });
        self.push(Op::Update(key, update, condition))
    }

    /// Deletes an item (if `condition`, given, holds).
    pub fn delete(self, key: &ItemKey, condition: Option<Condition>) -> Result<Self> {
        let key = self.table.key_item(key)?;
        self.push(Op::Delete(key, condition))
    }

    /// Requires `condition` of an item the transaction does not write.
    pub fn check(self, key: &ItemKey, condition: Condition) -> Result<Self> {
        let key = self.table.key_item(key)?;
        self.push(Op::Check(key, condition))
    }

    /// Applies every operation, or none.
    pub async fn commit(self) -> Result<()> {
        if self.ops.is_empty() {
            return Ok(());
        }
        match &self.table.backend {
            Backend::Memory(db) => {
                tokio::task::yield_now().await;
                db.transact(&self.table.def, self.ops)
            }
            #[cfg(feature = "dynamodb")]
            Backend::Aws(client) => {
                super::aws::transact(client, &self.table.def.name, self.ops).await
            }
        }
    }
}
