//! Opaque pagination cursors: the last evaluated key, bound to the query that gave it out.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Error, Result};

/// What a cursor holds. `open` refuses one whose checksum does not match (changed) or whose
/// table, index, partition or order differ from the query's (foreign).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Cursor {
    #[serde(rename = "t")]
    pub(crate) table: String,
    #[serde(rename = "i")]
    pub(crate) index: Option<String>,
    #[serde(rename = "p")]
    pub(crate) pk: String,
    #[serde(rename = "d")]
    pub(crate) descending: bool,
    #[serde(rename = "l")]
    pub(crate) last: HashMap<String, String>,
}

fn checksum(payload: &[u8]) -> String {
    let digest = Sha256::digest(payload);
    hex::encode(&digest[..8])
}

impl Cursor {
    pub(crate) fn seal(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        format!("{}.{}", URL_SAFE_NO_PAD.encode(&json), checksum(&json))
    }

    /// The last evaluated key of `text`, if it was given out by a query of this scope.
    pub(crate) fn open(&self, text: &str) -> Result<HashMap<String, String>> {
        let (payload, sum) = text.split_once('.').ok_or(Error::InvalidCursor)?;
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| Error::InvalidCursor)?;
        if checksum(&json) != sum {
            return Err(Error::InvalidCursor);
        }
        let cursor: Cursor = serde_json::from_slice(&json).map_err(|_| Error::InvalidCursor)?;
        if cursor.table != self.table
            || cursor.index != self.index
            || cursor.pk != self.pk
            || cursor.descending != self.descending
            || cursor.last.is_empty()
        {
            return Err(Error::InvalidCursor);
        }
        Ok(cursor.last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(pk: &str) -> Cursor {
        Cursor {
            table: "app".into(),
            index: None,
            pk: pk.into(),
            descending: false,
            last: HashMap::new(),
        }
    }

    #[test]
    fn a_cursor_opens_only_in_its_own_query() {
        let mut cursor = scope("USER#1");
        cursor.last.insert("pk".into(), "USER#1".into());
        cursor.last.insert("sk".into(), "TODO#5".into());
        let text = cursor.seal();
        assert_eq!(scope("USER#1").open(&text).unwrap(), cursor.last);
        // Another user's partition: foreign.
        assert!(matches!(
            scope("USER#2").open(&text),
            Err(Error::InvalidCursor)
        ));
        // Changed by hand.
        let (payload, sum) = text.split_once('.').unwrap();
        let json = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        let forged = URL_SAFE_NO_PAD.encode(json.replace("TODO#5", "TODO#9"));
        assert!(matches!(
            scope("USER#1").open(&format!("{forged}.{sum}")),
            Err(Error::InvalidCursor)
        ));
        for junk in ["", ".", "abc", "abc.def", "!!!.00"] {
            assert!(matches!(
                scope("USER#1").open(junk),
                Err(Error::InvalidCursor)
            ));
        }
    }
}
