//! A response body that hands on everything its inner body has ready as one frame.
//!
//! axum's [`Sse`](axum::response::sse::Sse) makes one body frame per event, and hyper writes the frames it is given
//! with at most a few per `writev`: a burst of 40 text deltas became 8–40 socket writes (and as many packets, with
//! `TCP_NODELAY`). Joined, a burst is one write, while an event that arrives alone is still sent at once — nothing
//! waits for more.
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use bytes::BytesMut;
use http_body::Frame;

/// Largest frame made by joining (one event larger than this still goes out whole).
const MAX_JOINED: usize = 64 * 1024;

/// Wraps `inner`, joining its ready data frames.
pub fn coalesced(inner: Body) -> Body {
    Body::new(Coalesced { inner, pending: None, done: false })
}

struct Coalesced {
    inner: Body,
    /// A frame read past the joined ones (a trailer, or data that did not fit), sent next.
    pending: Option<Frame<Bytes>>,
    done: bool,
}

impl HttpBody for Coalesced {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        let mut joined: Option<BytesMut> = None;
        match this.pending.take().map(Frame::into_data) {
            Some(Ok(data)) => joined = Some(BytesMut::from(data)),
            Some(Err(trailers)) => return Poll::Ready(Some(Ok(trailers))),
            None => {}
        }
        if this.done {
            return Poll::Ready(joined.map(|buf| Ok(Frame::data(buf.freeze()))));
        }
        loop {
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => match &mut joined {
                        None => joined = Some(BytesMut::from(data)),
                        Some(buf) if buf.len() + data.len() <= MAX_JOINED => buf.extend_from_slice(&data),
                        Some(_) => {
                            this.pending = Some(Frame::data(data));
                            break;
                        }
                    },
                    Err(other) => {
                        if joined.is_none() {
                            return Poll::Ready(Some(Ok(other)));
                        }
                        this.pending = Some(other);
                        break;
                    }
                },
                Poll::Ready(Some(Err(e))) => {
                    if joined.is_none() {
                        return Poll::Ready(Some(Err(e)));
                    }
                    // Send what was joined; the inner body reports its error again if polled (or ends).
                    this.done = true;
                    break;
                }
                Poll::Ready(None) => {
                    this.done = true;
                    break;
                }
                Poll::Pending => {
                    if joined.is_none() {
                        return Poll::Pending;
                    }
                    break;
                }
            }
        }
        match joined {
            Some(buf) => Poll::Ready(Some(Ok(Frame::data(buf.freeze())))),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.pending.is_none() && (self.done || self.inner.is_end_stream())
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::default()
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use futures_util::{StreamExt, stream};
    use http_body_util::BodyExt;

    use super::*;

    #[tokio::test]
    async fn ready_frames_leave_as_one_and_later_ones_on_their_own() {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<&'static str>();
        let inner =
            Body::from_stream(tokio_stream_from(rx).map(|s| Ok::<_, Infallible>(Bytes::from_static(s.as_bytes()))));
        let mut body = coalesced(inner);
        for piece in ["a", "b", "c"] {
            tx.send(piece).expect("send");
        }
        let first = body.frame().await.expect("a frame").expect("ok").into_data().expect("data");
        assert_eq!(first, "abc");
        tx.send("d").expect("send");
        let second = body.frame().await.expect("a frame").expect("ok").into_data().expect("data");
        assert_eq!(second, "d");
        drop(tx);
        assert!(body.frame().await.is_none());
    }

    #[tokio::test]
    async fn a_frame_past_the_size_cap_goes_in_the_next_one() {
        let big = vec![b'x'; MAX_JOINED];
        let parts = vec![Bytes::from_static(b"head"), Bytes::from(big), Bytes::from_static(b"tail")];
        let mut body = coalesced(Body::from_stream(stream::iter(parts.into_iter().map(Ok::<_, Infallible>))));
        let mut sizes = Vec::new();
        while let Some(frame) = body.frame().await {
            sizes.push(frame.expect("ok").into_data().expect("data").len());
        }
        assert_eq!(sizes, vec![4, MAX_JOINED, 4]);
    }

    /// A stream of what `rx` receives.
    fn tokio_stream_from<T: Send + 'static>(
        rx: tokio::sync::mpsc::UnboundedReceiver<T>,
    ) -> impl futures_util::Stream<Item = T> + Send {
        stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) })
    }
}
