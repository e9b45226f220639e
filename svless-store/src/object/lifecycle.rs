//! Lifecycle rules: move objects between storage classes, expire old versions.

use serde::{Deserialize, Serialize};

use super::StorageClass;

/// One lifecycle rule over the keys under a prefix.
///
/// ```
/// use svless_store::object::{LifecycleRule, NoncurrentExpiration, StorageClass, Transition};
///
/// // Uploads go to infrequent access after 30 days and to Glacier after 90; replaced versions
/// // are kept 30 days, at most 3 of them.
/// let rule = LifecycleRule::new("uploads-tiering", "uploads/")
///     .transition(Transition { days: 30, storage_class: StorageClass::StandardIa })
///     .transition(Transition { days: 90, storage_class: StorageClass::Glacier })
///     .noncurrent_expiration(NoncurrentExpiration { noncurrent_days: 30, newer_noncurrent_versions: Some(3) })
///     .abort_incomplete_multipart_uploads(7);
/// assert!(rule.enabled);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LifecycleRule {
    /// The rule's id (at most 255 characters).
    pub id: String,
    /// Keys the rule applies to (empty: the whole bucket).
    pub prefix: String,
    /// Whether S3 applies the rule.
    pub enabled: bool,
    /// Current versions move to these classes this many days after they were written.
    pub transitions: Vec<Transition>,
    /// Current versions expire this many days after they were written (in a versioned bucket
    /// a delete marker takes their place).
    pub expiration_days: Option<u32>,
    /// Noncurrent versions move to these classes this many days after they became noncurrent.
    pub noncurrent_transitions: Vec<NoncurrentTransition>,
    /// Noncurrent versions are removed for good after this.
    pub noncurrent_expiration: Option<NoncurrentExpiration>,
    /// Incomplete multipart uploads are aborted this many days after they started.
    pub abort_incomplete_multipart_days: Option<u32>,
}

/// A move to another storage class, days after an object was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// Days after the object was written.
    pub days: u32,
    /// The class it moves to.
    pub storage_class: StorageClass,
}

/// A move of a noncurrent version to another storage class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoncurrentTransition {
    /// Days after the version became noncurrent.
    pub noncurrent_days: u32,
    /// The class it moves to.
    pub storage_class: StorageClass,
}

/// When noncurrent versions are removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoncurrentExpiration {
    /// Days after the version became noncurrent.
    pub noncurrent_days: u32,
    /// Keep this many newest noncurrent versions regardless of age.
    pub newer_noncurrent_versions: Option<u32>,
}

impl LifecycleRule {
    /// An enabled rule for the keys under `prefix` that does nothing yet.
    pub fn new(id: &str, prefix: &str) -> Self {
        LifecycleRule {
            id: id.to_owned(),
            prefix: prefix.to_owned(),
            enabled: true,
            transitions: Vec::new(),
            expiration_days: None,
            noncurrent_transitions: Vec::new(),
            noncurrent_expiration: None,
            abort_incomplete_multipart_days: None,
        }
    }

    /// Adds a transition of current versions.
    pub fn transition(mut self, transition: Transition) -> Self {
        self.transitions.push(transition);
        self
    }

    /// Expires current versions `days` after they were written.
    pub fn expiration_days(mut self, days: u32) -> Self {
        self.expiration_days = Some(days);
        self
    }

    /// Adds a transition of noncurrent versions.
    pub fn noncurrent_transition(mut self, transition: NoncurrentTransition) -> Self {
        self.noncurrent_transitions.push(transition);
        self
    }

    /// Removes noncurrent versions.
    pub fn noncurrent_expiration(mut self, expiration: NoncurrentExpiration) -> Self {
        self.noncurrent_expiration = Some(expiration);
        self
    }

    /// Aborts multipart uploads left incomplete for `days`.
    pub fn abort_incomplete_multipart_uploads(mut self, days: u32) -> Self {
        self.abort_incomplete_multipart_days = Some(days);
        self
    }

    /// Disables the rule (S3 keeps it but does not apply it).
    pub fn disabled(mut self) -> Self {
        self.enabled = false;
        self
    }
}
