//! Table definitions.

/// What a secondary index holds of each item.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Projection {
    /// Every attribute.
    All,
    /// The table's and the index's keys (and the type attribute, so typed queries work).
    KeysOnly,
    /// The keys, the type attribute and these attributes.
    Include(Vec<String>),
}

/// Global or local.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexKind {
    /// A global secondary index: its own partition key.
    Global,
    /// A local secondary index: the table's partition key, another sort key.
    Local,
}

/// A secondary index.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IndexDef {
    /// Its name (what entities' `index = "..."` refers to).
    pub name: String,
    /// Global or local.
    pub kind: IndexKind,
    /// The partition key attribute (the table's for a local index).
    pub pk: String,
    /// The sort key attribute.
    pub sk: Option<String>,
    /// What it holds.
    pub projection: Projection,
}

/// What a table's stream carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamView {
    /// Keys only.
    KeysOnly,
    /// The item after the change.
    NewImage,
    /// The item before the change.
    OldImage,
    /// Both.
    NewAndOldImages,
}

impl StreamView {
    /// DynamoDB's name.
    pub fn as_str(&self) -> &'static str {
        match self {
            StreamView::KeysOnly => "KEYS_ONLY",
            StreamView::NewImage => "NEW_IMAGE",
            StreamView::OldImage => "OLD_IMAGE",
            StreamView::NewAndOldImages => "NEW_AND_OLD_IMAGES",
        }
    }
}

/// A table: key attribute names, indexes, the type attribute, TTL and stream.
///
/// ```
/// use svless_store::dynamo::{Projection, StreamView, TableDef};
///
/// let table = TableDef::new("app")                 // pk + sk, both strings
///     .global_index("gsi1", "gsi1pk", Some("gsi1sk"), Projection::All)
///     .ttl("expires_at")
///     .stream(StreamView::NewAndOldImages);
/// assert_eq!(table.pk, "pk");
/// assert_eq!(table.type_attribute, "type");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TableDef {
    /// The table name.
    pub name: String,
    /// The partition key attribute.
    pub pk: String,
    /// The sort key attribute (`None`: simple primary keys).
    pub sk: Option<String>,
    /// The attribute that names each item's entity type.
    pub type_attribute: String,
    /// Secondary indexes.
    pub indexes: Vec<IndexDef>,
    /// The TTL attribute (epoch seconds), if any.
    pub ttl_attribute: Option<String>,
    /// The stream, if any.
    pub stream: Option<StreamView>,
}

impl TableDef {
    /// A table with composite keys `pk` and `sk` and the type attribute `type`, as
    /// single-table designs use.
    pub fn new(name: &str) -> Self {
        TableDef {
            name: name.to_owned(),
            pk: "pk".into(),
            sk: Some("sk".into()),
            type_attribute: "type".into(),
            indexes: Vec::new(),
            ttl_attribute: None,
            stream: None,
        }
    }

    /// A table with simple primary keys: only the partition key `pk`.
    ///
    /// ```
    /// let table = svless_store::dynamo::TableDef::simple("sessions", "id");
    /// assert_eq!(table.sk, None);
    /// ```
    pub fn simple(name: &str, pk: &str) -> Self {
        TableDef {
            pk: pk.to_owned(),
            sk: None,
            ..TableDef::new(name)
        }
    }

    /// Names the key attributes.
    pub fn keys(mut self, pk: &str, sk: Option<&str>) -> Self {
        self.pk = pk.to_owned();
        self.sk = sk.map(str::to_owned);
        self
    }

    /// Adds a global secondary index.
    pub fn global_index(
        mut self,
        name: &str,
        pk: &str,
        sk: Option<&str>,
        projection: Projection,
    ) -> Self {
        self.indexes.push(IndexDef {
            name: name.to_owned(),
            kind: IndexKind::Global,
            pk: pk.to_owned(),
            sk: sk.map(str::to_owned),
            projection,
        });
        self
    }

    /// Adds a local secondary index (the table's partition key, sort key `sk`).
    pub fn local_index(mut self, name: &str, sk: &str, projection: Projection) -> Self {
        self.indexes.push(IndexDef {
            name: name.to_owned(),
            kind: IndexKind::Local,
            pk: self.pk.clone(),
            sk: Some(sk.to_owned()),
            projection,
        });
        self
    }

    /// Sets the TTL attribute.
    pub fn ttl(mut self, attribute: &str) -> Self {
        self.ttl_attribute = Some(attribute.to_owned());
        self
    }

    /// Enables the stream.
    pub fn stream(mut self, view: StreamView) -> Self {
        self.stream = Some(view);
        self
    }

    /// The index named `name`.
    pub fn index(&self, name: &str) -> Option<&IndexDef> {
        self.indexes.iter().find(|i| i.name == name)
    }

    /// The attribute names of a query's partition and sort keys (`index` `None`: the table).
    pub(crate) fn key_attributes(&self, index: Option<&str>) -> Option<(&str, Option<&str>)> {
        match index {
            None => Some((&self.pk, self.sk.as_deref())),
            Some(name) => self.index(name).map(|i| (i.pk.as_str(), i.sk.as_deref())),
        }
    }
}
