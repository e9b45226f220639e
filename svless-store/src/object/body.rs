//! Bodies in and out of the store.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt, TryStreamExt};

use super::Error;
use super::error::BoxError;

type InStream = Pin<Box<dyn Stream<Item = Result<Bytes, BoxError>> + Send>>;

/// What a put writes: bytes in memory, or a stream read as it is uploaded (memory stays bounded
/// by the part size times the upload concurrency, whatever the object's size).
///
/// ```
/// use bytes::Bytes;
/// use futures_util::stream;
/// use svless_store::object::PutBody;
///
/// let small: PutBody = "hello".into();
/// let chunks = stream::iter([Ok::<_, std::io::Error>(Bytes::from("a")), Ok(Bytes::from("b"))]);
/// let streamed = PutBody::stream(chunks);
/// # let _ = (small, streamed);
/// ```
pub enum PutBody {
    /// The whole body.
    Bytes(Bytes),
    /// A body read chunk by chunk.
    Stream(InStream),
}

impl PutBody {
    /// A body read from a stream of chunks; any error the stream yields aborts the put
    /// ([`Error::Body`]) and nothing is written.
    pub fn stream<S, E>(stream: S) -> Self
    where
        S: Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: Into<BoxError> + 'static,
    {
        PutBody::Stream(Box::pin(stream.map_err(Into::into)))
    }

    /// Reads the next chunk (for a `Bytes` body: all of it, once).
    pub(crate) async fn next_chunk(&mut self) -> Result<Option<Bytes>, Error> {
        match self {
            PutBody::Bytes(bytes) => {
                if bytes.is_empty() {
                    Ok(None)
                } else {
                    Ok(Some(std::mem::take(bytes)))
                }
            }
            PutBody::Stream(stream) => match stream.next().await {
                Some(Ok(chunk)) => Ok(Some(chunk)),
                Some(Err(source)) => Err(Error::Body { source }),
                None => Ok(None),
            },
        }
    }
}

impl fmt::Debug for PutBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutBody::Bytes(bytes) => f.debug_tuple("Bytes").field(&bytes.len()).finish(),
            PutBody::Stream(_) => f.write_str("Stream"),
        }
    }
}

impl From<Bytes> for PutBody {
    fn from(bytes: Bytes) -> Self {
        PutBody::Bytes(bytes)
    }
}

impl From<Vec<u8>> for PutBody {
    fn from(bytes: Vec<u8>) -> Self {
        PutBody::Bytes(bytes.into())
    }
}

impl From<String> for PutBody {
    fn from(text: String) -> Self {
        PutBody::Bytes(text.into())
    }
}

impl From<&'static str> for PutBody {
    fn from(text: &'static str) -> Self {
        PutBody::Bytes(Bytes::from_static(text.as_bytes()))
    }
}

impl From<&'static [u8]> for PutBody {
    fn from(bytes: &'static [u8]) -> Self {
        PutBody::Bytes(Bytes::from_static(bytes))
    }
}

/// Cuts a body into parts of exactly `part_size` bytes (the last may be shorter), holding at
/// most one part in memory.
#[cfg_attr(not(feature = "s3"), allow(dead_code))]
pub(crate) struct Parts {
    body: PutBody,
    part_size: usize,
    buffer: BytesMut,
    done: bool,
}

#[cfg_attr(not(feature = "s3"), allow(dead_code))]
impl Parts {
    pub(crate) fn new(body: PutBody, part_size: usize) -> Self {
        Parts {
            body,
            part_size,
            buffer: BytesMut::new(),
            done: false,
        }
    }

    /// The next part; `None` at the end. An empty body gives one empty part.
    pub(crate) async fn next_part(&mut self, first: bool) -> Result<Option<Bytes>, Error> {
        while !self.done && self.buffer.len() < self.part_size {
            match self.body.next_chunk().await? {
                Some(chunk) => self.buffer.extend_from_slice(&chunk),
                None => self.done = true,
            }
        }
        if self.buffer.is_empty() && !first {
            return Ok(None);
        }
        let take = self.buffer.len().min(self.part_size);
        Ok(Some(self.buffer.split_to(take).freeze()))
    }

    /// Whether the body has more after the parts taken so far. Empty chunks are legal in a
    /// stream (an HTTP body may carry empty data frames), so it reads until a byte or the end.
    pub(crate) async fn has_more(&mut self) -> Result<bool, Error> {
        while self.buffer.is_empty() && !self.done {
            match self.body.next_chunk().await? {
                Some(chunk) => self.buffer.extend_from_slice(&chunk),
                None => self.done = true,
            }
        }
        Ok(!self.buffer.is_empty())
    }
}

/// An object's body as a stream of chunks.
///
/// ```
/// use svless_store::object::ByteStream;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), svless_store::object::Error> {
/// let body = ByteStream::from_bytes("hello".into());
/// assert_eq!(body.collect().await?, "hello");
/// # Ok(()) }
/// ```
pub struct ByteStream(Pin<Box<dyn Stream<Item = Result<Bytes, Error>> + Send>>);

impl ByteStream {
    /// A stream of one chunk.
    pub fn from_bytes(bytes: Bytes) -> Self {
        ByteStream(Box::pin(futures_util::stream::once(
            async move { Ok(bytes) },
        )))
    }

    /// Wraps a stream of chunks.
    pub fn new(stream: impl Stream<Item = Result<Bytes, Error>> + Send + 'static) -> Self {
        ByteStream(Box::pin(stream))
    }

    /// Reads the whole body into memory.
    pub async fn collect(mut self) -> Result<Bytes, Error> {
        let mut out = BytesMut::new();
        while let Some(chunk) = self.0.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out.freeze())
    }
}

impl Stream for ByteStream {
    type Item = Result<Bytes, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.as_mut().poll_next(cx)
    }
}

impl fmt::Debug for ByteStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ByteStream")
    }
}
