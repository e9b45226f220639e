//! Conveniences over any [`ObjectStore`].

use bytes::Bytes;
use futures_util::Stream;

use super::{
    GetOptions, Key, ListPage, ListRequest, ObjectStore, PutBody, PutOptions, PutOutput, Result,
    VersionsPage, VersionsRequest,
};

/// Conveniences for every [`ObjectStore`]: whole-body reads and writes, existence checks, and
/// listings as streams of pages.
///
/// ```
/// use futures_util::TryStreamExt;
/// use svless_store::object::{Key, ListRequest, MemoryStore, ObjectStoreExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> svless_store::object::Result<()> {
/// let store = MemoryStore::new("photos");
/// for name in ["2025/a.jpg", "2026/b.jpg", "2026/c.jpg", "readme.txt"] {
///     store.put_bytes(&Key::new(name)?, "x").await?;
/// }
/// let pages: Vec<_> = store.list(ListRequest::all().delimiter("/").page_size(2)).try_collect().await?;
/// assert_eq!(pages.len(), 2);
/// assert_eq!(pages[0].common_prefixes, ["2025/", "2026/"]);
/// assert_eq!(pages[1].objects[0].key, "readme.txt");
/// # Ok(()) }
/// ```
pub trait ObjectStoreExt: ObjectStore {
    /// Writes `body` with default options.
    fn put_bytes<'a>(
        &'a self,
        key: &'a Key,
        body: impl Into<PutBody>,
    ) -> impl Future<Output = Result<PutOutput>> + Send + 'a {
        self.put(key, body.into(), PutOptions::default())
    }

    /// Reads the current version whole.
    fn get_bytes<'a>(&'a self, key: &'a Key) -> impl Future<Output = Result<Bytes>> + Send + 'a {
        async move {
            self.get(key, GetOptions::default())
                .await?
                .body
                .collect()
                .await
        }
    }

    /// Whether an object is there (a delete marker does not count).
    fn exists<'a>(&'a self, key: &'a Key) -> impl Future<Output = Result<bool>> + Send + 'a {
        async move {
            match self.head(key, GetOptions::default()).await {
                Ok(_) => Ok(true),
                Err(super::Error::NotFound { .. }) => Ok(false),
                Err(other) => Err(other),
            }
        }
    }

    /// Every page of a listing, fetched as the stream is read.
    fn list(&self, request: ListRequest) -> impl Stream<Item = Result<ListPage>> + Send + '_ {
        futures_util::stream::try_unfold(
            (request, Some(None::<String>)),
            move |(request, cursor)| async move {
                let Some(cursor) = cursor else {
                    return Ok(None);
                };
                let page = self.list_page(&request, cursor.as_deref()).await?;
                let next = page.next.clone().map(Some);
                Ok(Some((page, (request, next))))
            },
        )
    }

    /// Every page of a listing of versions, fetched as the stream is read.
    fn list_versions(
        &self,
        request: VersionsRequest,
    ) -> impl Stream<Item = Result<VersionsPage>> + Send + '_ {
        futures_util::stream::try_unfold(
            (request, Some(None::<String>)),
            move |(request, cursor)| async move {
                let Some(cursor) = cursor else {
                    return Ok(None);
                };
                let page = self.list_versions_page(&request, cursor.as_deref()).await?;
                let next = page.next.clone().map(Some);
                Ok(Some((page, (request, next))))
            },
        )
    }
}

impl<T: ObjectStore + ?Sized> ObjectStoreExt for T {}
