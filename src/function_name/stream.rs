//! InvokeWithResponseStream bodies: AWS event-stream framing (`application/vnd.amazon.eventstream`)
//! decoded with `aws-smithy-eventstream` into payload chunks and the final `InvokeComplete`.

use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder};
use aws_smithy_types::event_stream::{HeaderValue, Message};
use bytes::{Bytes, BytesMut};

/// Largest event-stream message accepted (Lambda's chunks are far smaller).
pub const MAX_PENDING: usize = 16 * 1024 * 1024;

/// One decoded event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    /// `PayloadChunk`: the next bytes of the function's response.
    Chunk(Bytes),
    /// `InvokeComplete`: the end; `error_code` is set when the function failed mid-stream.
    Complete {
        error_code: Option<String>,
        error_details: Option<String>,
        log_result: Option<String>,
    },
    /// An exception message (`:message-type: exception`).
    Exception { kind: String, message: String },
}

/// Incremental decoder: feed bytes as they arrive, take events as they complete.
#[derive(Default)]
pub struct EventStreamDecoder {
    decoder: MessageFrameDecoder,
    buf: BytesMut,
}

impl EventStreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete event, `Ok(None)` when more bytes are needed.
    pub fn next_event(&mut self) -> Result<Option<StreamEvent>, String> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        if self.buf.len() > MAX_PENDING {
            return Err(format!("event-stream message over {MAX_PENDING} bytes"));
        }
        match self.decoder.decode_frame(&mut self.buf) {
            Ok(DecodedFrame::Incomplete) => Ok(None),
            Ok(DecodedFrame::Complete(m)) => Ok(Some(to_event(&m))),
            Err(e) => Err(format!("invalid event stream: {e}")),
        }
    }

    /// Bytes received but not yet part of a complete message.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

fn header<'a>(m: &'a Message, name: &str) -> Option<&'a str> {
    m.headers()
        .iter()
        .find(|h| h.name().as_str() == name)
        .and_then(|h| match h.value() {
            HeaderValue::String(s) => Some(s.as_str()),
            _ => None,
        })
}

fn to_event(m: &Message) -> StreamEvent {
    if header(m, ":message-type") == Some("exception") {
        let message = serde_json::from_slice::<serde_json::Value>(m.payload())
            .ok()
            .and_then(|v| {
                v.get("message")
                    .or_else(|| v.get("Message"))
                    .and_then(|s| s.as_str().map(str::to_string))
            })
            .unwrap_or_default();
        return StreamEvent::Exception {
            kind: header(m, ":exception-type")
                .unwrap_or("Unknown")
                .to_string(),
            message,
        };
    }
    match header(m, ":event-type") {
        Some("InvokeComplete") => invoke_complete(m.payload()),
        // PayloadChunk (and any unknown event carrying bytes) is body.
        _ => StreamEvent::Chunk(m.payload().clone()),
    }
}

/// Encodes one event-stream message (used by the emulator and tests).
pub fn encode_event(event_type: &str, payload: &[u8]) -> Vec<u8> {
    use aws_smithy_types::event_stream::Header;
    let m = Message::new(Bytes::copy_from_slice(payload))
        .add_header(Header::new(
            ":event-type",
            HeaderValue::String(event_type.to_string().into()),
        ))
        .add_header(Header::new(
            ":message-type",
            HeaderValue::String("event".to_string().into()),
        ))
        .add_header(Header::new(
            ":content-type",
            HeaderValue::String("application/octet-stream".to_string().into()),
        ));
    let mut out = Vec::with_capacity(payload.len() + 128);
    let _ = aws_smithy_eventstream::frame::write_message_to(&m, &mut out);
    out
}

/// An `InvokeComplete` event from its JSON payload (`ErrorCode`, `ErrorDetails`,
/// `LogResult`; empty strings count as absent, a payload that is not JSON as none of them).
pub fn invoke_complete(payload: &[u8]) -> StreamEvent {
    let v: serde_json::Value = serde_json::from_slice(payload).unwrap_or(serde_json::Value::Null);
    let s = |k: &str| {
        v.get(k)
            .and_then(|x| x.as_str())
            .filter(|x| !x.is_empty())
            .map(str::to_string)
    };
    StreamEvent::Complete {
        error_code: s("ErrorCode"),
        error_details: s("ErrorDetails"),
        log_result: s("LogResult"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_split_frames() {
        let mut wire = encode_event("PayloadChunk", b"hello ");
        wire.extend(encode_event("PayloadChunk", b"world"));
        wire.extend(encode_event(
            "InvokeComplete",
            br#"{"ErrorCode":"Boom","ErrorDetails":"x"}"#,
        ));
        let mut d = EventStreamDecoder::new();
        let mut events = Vec::new();
        for byte in wire.chunks(7) {
            d.push(byte);
            while let Some(e) = d.next_event().unwrap() {
                events.push(e);
            }
        }
        assert_eq!(events[0], StreamEvent::Chunk(Bytes::from_static(b"hello ")));
        assert_eq!(events[1], StreamEvent::Chunk(Bytes::from_static(b"world")));
        assert!(
            matches!(&events[2], StreamEvent::Complete { error_code: Some(c), .. } if c == "Boom")
        );
        assert_eq!(d.pending(), 0);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        // A plausible length with a wrong prelude checksum.
        let mut d = EventStreamDecoder::new();
        d.push(&[0, 0, 0, 16, 0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0]);
        assert!(d.next_event().is_err());
        // A message that claims to be huge is refused once it passes the cap.
        let mut d = EventStreamDecoder::new();
        d.push(&[0xff; 64]);
        assert!(matches!(d.next_event(), Ok(None) | Err(_)));
        d.push(&vec![0u8; MAX_PENDING + 1]);
        assert!(d.next_event().is_err());
    }
}
