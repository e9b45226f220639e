//! Validated object keys.

use std::fmt;

use super::Error;

/// The longest key S3 accepts, in bytes of UTF-8.
pub const MAX_KEY_BYTES: usize = 1024;

/// An object key: non-empty UTF-8, at most 1,024 bytes, checked once when it is made.
///
/// ```
/// use svless_store::object::Key;
///
/// let key = Key::new("photos/2026/été ü+1.jpg").unwrap();
/// assert_eq!(key.as_str(), "photos/2026/été ü+1.jpg");
/// assert!(Key::new("").is_err());
/// assert!(Key::new("x".repeat(1025)).is_err());
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key(String);

impl Key {
    /// Checks `key` and wraps it.
    pub fn new(key: impl Into<String>) -> Result<Self, Error> {
        let key = key.into();
        if key.is_empty() {
            return Err(Error::InvalidKey {
                reason: "a key cannot be empty".into(),
            });
        }
        if key.len() > MAX_KEY_BYTES {
            return Err(Error::InvalidKey {
                reason: format!(
                    "a key is at most {MAX_KEY_BYTES} bytes of UTF-8; this one has {}",
                    key.len()
                ),
            });
        }
        Ok(Key(key))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the key, read as a path of `/`-separated segments, would leave the directory it
    /// is resolved in: an absolute key, a `..` or `.` segment, or a backslash or NUL.
    ///
    /// ```
    /// use svless_store::object::Key;
    /// assert!(Key::new("a/../../etc/passwd").unwrap().escapes_root());
    /// assert!(Key::new("/etc/passwd").unwrap().escapes_root());
    /// assert!(!Key::new("a/b..c/d").unwrap().escapes_root());
    /// ```
    pub fn escapes_root(&self) -> bool {
        self.0.starts_with('/')
            || self.0.contains('\\')
            || self.0.contains('\0')
            || self
                .0
                .split('/')
                .any(|segment| segment == ".." || segment == ".")
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Key {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for Key {
    type Error = Error;

    fn try_from(key: &str) -> Result<Self, Error> {
        Key::new(key)
    }
}

impl TryFrom<String> for Key {
    type Error = Error;

    fn try_from(key: String) -> Result<Self, Error> {
        Key::new(key)
    }
}

impl std::str::FromStr for Key {
    type Err = Error;

    fn from_str(key: &str) -> Result<Self, Error> {
        Key::new(key)
    }
}
