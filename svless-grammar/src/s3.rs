//! S3 event notification types.

/// Every event type an S3 notification configuration accepts, without the `s3:` prefix, the
/// documented wildcards included (Amazon S3 User Guide, "Supported event types for SQS, SNS and
/// Lambda").
///
/// ```
/// use svless_grammar::s3::EVENT_TYPES;
/// assert!(EVENT_TYPES.contains(&"ObjectRemoved:DeleteMarkerCreated"));
/// assert!(!EVENT_TYPES.contains(&"ObjectCreated:Putt"));
/// ```
pub const EVENT_TYPES: [&str; 27] = [
    "ObjectCreated:*",
    "ObjectCreated:Put",
    "ObjectCreated:Post",
    "ObjectCreated:Copy",
    "ObjectCreated:CompleteMultipartUpload",
    "ObjectRemoved:*",
    "ObjectRemoved:Delete",
    "ObjectRemoved:DeleteMarkerCreated",
    "ObjectRestore:*",
    "ObjectRestore:Post",
    "ObjectRestore:Completed",
    "ObjectRestore:Delete",
    "ReducedRedundancyLostObject",
    "Replication:*",
    "Replication:OperationFailedReplication",
    "Replication:OperationMissedThreshold",
    "Replication:OperationReplicatedAfterThreshold",
    "Replication:OperationNotTracked",
    "LifecycleExpiration:*",
    "LifecycleExpiration:Delete",
    "LifecycleExpiration:DeleteMarkerCreated",
    "LifecycleTransition",
    "IntelligentTiering",
    "ObjectTagging:*",
    "ObjectTagging:Put",
    "ObjectTagging:Delete",
    "ObjectAcl:Put",
];

/// Whether `name` (with or without `s3:`) is one of [`EVENT_TYPES`].
///
/// ```
/// assert!(svless_grammar::s3::is_event_type("s3:ObjectCreated:*"));
/// assert!(!svless_grammar::s3::is_event_type("ObjectCreated:Putt"));
/// ```
pub fn is_event_type(name: &str) -> bool {
    let name = name.strip_prefix("s3:").unwrap_or(name);
    EVENT_TYPES.contains(&name)
}

/// The event type nearest to a misspelt `name`: the shortest one it is the start of
/// (`ObjectRemoved:DeleteMarker`), else the closest by edit distance (case-insensitive).
///
/// ```
/// use svless_grammar::s3::nearest_event_type;
/// assert_eq!(nearest_event_type("ObjectCreated:Putt"), "ObjectCreated:Put");
/// assert_eq!(nearest_event_type("ObjectRemoved:DeleteMarker"), "ObjectRemoved:DeleteMarkerCreated");
/// ```
pub fn nearest_event_type(name: &str) -> &'static str {
    let name = name.strip_prefix("s3:").unwrap_or(name);
    let lower = name.to_ascii_lowercase();
    if let Some(completed) = EVENT_TYPES
        .iter()
        .filter(|k| k.to_ascii_lowercase().starts_with(&lower))
        .min_by_key(|k| k.len())
    {
        return completed;
    }
    EVENT_TYPES
        .iter()
        .min_by_key(|known| distance(&lower, &known.to_ascii_lowercase()))
        .copied()
        .unwrap_or("ObjectCreated:*")
}

fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}
