//! The response bodies of `--grpc`: one message then `grpc-status: 0` in
//! the trailers (unary), nothing (a trailers-only answer, whose status is
//! in the headers), or reflection's answers, one per question, as the
//! client's stream brings them: a bidi stream served by polling the request
//! body from the response body's own poll, so it needs no task of its own.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Bytes, BytesMut};
use hyper::body::{Body, Frame, Incoming};
use hyper::header::HeaderMap;
use prost_reflect::DescriptorPool;

use super::reflect;
use super::status::{status_headers, INTERNAL};
use crate::reflection::{next_message, Next};

pub(crate) enum GrpcBody {
    /// The message, then the trailers.
    Message(Bytes),
    /// `grpc-status` (and `grpc-message`, when it is not OK) still to send.
    Trailers(u32, &'static str),
    Done,
    Reflect(Box<ReflectStream>),
}

pub(crate) struct ReflectStream {
    incoming: Incoming,
    /// DATA received and not yet answered (a message may span frames).
    buf: BytesMut,
    pool: DescriptorPool,
}

impl GrpcBody {
    pub(super) fn unary(msg: Bytes) -> GrpcBody {
        GrpcBody::Message(msg)
    }

    pub(super) fn empty() -> GrpcBody {
        GrpcBody::Done
    }

    pub(super) fn reflect(incoming: Incoming, pool: DescriptorPool) -> GrpcBody {
        GrpcBody::Reflect(Box::new(ReflectStream {
            incoming,
            buf: BytesMut::new(),
            pool,
        }))
    }
}

type Polled = Poll<Option<Result<Frame<Bytes>, Infallible>>>;

impl Body for GrpcBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Polled {
        let this = self.get_mut();
        match this {
            GrpcBody::Message(_) => {
                let GrpcBody::Message(msg) = std::mem::replace(this, GrpcBody::Trailers(0, ""))
                else {
                    unreachable!("matched just above")
                };
                Poll::Ready(Some(Ok(Frame::data(msg))))
            }
            GrpcBody::Trailers(code, message) => {
                let mut h = HeaderMap::with_capacity(2);
                status_headers(&mut h, *code, message);
                *this = GrpcBody::Done;
                Poll::Ready(Some(Ok(Frame::trailers(h))))
            }
            GrpcBody::Done => Poll::Ready(None),
            GrpcBody::Reflect(r) => match ready!(r.poll_answer(cx)) {
                Ok(Some(answer)) => Poll::Ready(Some(Ok(Frame::data(answer)))),
                Ok(None) => {
                    *this = GrpcBody::Trailers(0, "");
                    Pin::new(this).poll_frame(cx)
                }
                Err(why) => {
                    *this = GrpcBody::Trailers(INTERNAL, why);
                    Pin::new(this).poll_frame(cx)
                }
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, GrpcBody::Done)
    }
}

impl ReflectStream {
    /// The next answer; `None` once the client has ended its side.
    fn poll_answer(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Bytes>, &'static str>> {
        loop {
            match next_message(&mut self.buf) {
                Next::Message(m) => return Poll::Ready(reflect::answer(&self.pool, m).map(Some)),
                Next::Refused(why) => return Poll::Ready(Err(why)),
                Next::Partial => {}
            }
            match ready!(Pin::new(&mut self.incoming).poll_frame(cx)) {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buf.extend_from_slice(&data);
                    }
                }
                Some(Err(_)) => return Poll::Ready(Err("request stream failed")),
                None if self.buf.is_empty() => return Poll::Ready(Ok(None)),
                None => return Poll::Ready(Err("request stream ended inside a message")),
            }
        }
    }
}
