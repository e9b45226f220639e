//! The body of requests and responses.

use bytes::Bytes;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A fully buffered HTTP body.
///
/// Lambda delivers and expects whole payloads, so svless keeps bodies as one contiguous
/// [`Bytes`] buffer. `Body` implements [`http_body::Body`], so `tower-http` layers work with it.
///
/// ```
/// use svless_core::Body;
/// let body = Body::from("hello");
/// assert_eq!(body.as_bytes(), b"hello");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Body(Bytes);

impl Body {
    /// An empty body.
    ///
    /// ```
    /// assert!(svless_core::Body::empty().is_empty());
    /// ```
    pub fn empty() -> Self {
        Self(Bytes::new())
    }

    /// The bytes of the body.
    ///
    /// ```
    /// assert_eq!(svless_core::Body::from(vec![1u8, 2]).as_bytes(), &[1, 2]);
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Whether the body has no bytes.
    ///
    /// ```
    /// assert!(!svless_core::Body::from("x").is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The body as [`Bytes`], without copying.
    ///
    /// ```
    /// let bytes = svless_core::Body::from("x").into_bytes();
    /// assert_eq!(&bytes[..], b"x");
    /// ```
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl From<Bytes> for Body {
    fn from(value: Bytes) -> Self {
        Self(value)
    }
}

impl From<Vec<u8>> for Body {
    fn from(value: Vec<u8>) -> Self {
        Self(Bytes::from(value))
    }
}

impl From<String> for Body {
    fn from(value: String) -> Self {
        Self(Bytes::from(value))
    }
}

impl From<&'static str> for Body {
    fn from(value: &'static str) -> Self {
        Self(Bytes::from_static(value.as_bytes()))
    }
}

impl From<&'static [u8]> for Body {
    fn from(value: &'static [u8]) -> Self {
        Self(Bytes::from_static(value))
    }
}

impl From<()> for Body {
    fn from((): ()) -> Self {
        Self::empty()
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        if self.0.is_empty() {
            return Poll::Ready(None);
        }
        let data = std::mem::take(&mut self.0);
        Poll::Ready(Some(Ok(http_body::Frame::data(data))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.0.len() as u64)
    }
}

/// An HTTP request as handlers and layers see it.
pub type Request = http::Request<Body>;

/// An HTTP response as handlers and layers produce it.
pub type Response = http::Response<Body>;
