//! InvokeWithResponseStream framing: AWS event-stream messages (`aws-smithy-eventstream`'s
//! `write_message_to`), one `PayloadChunk` per piece of function output and a final
//! `InvokeComplete` carrying `ErrorCode`, `ErrorDetails` and `LogResult` when they are set.

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use bytes::Bytes;
use serde::Serialize;

/// Largest payload put into one `PayloadChunk`; longer results are split.
pub const MAX_CHUNK: usize = 1024 * 1024;

fn string_header(name: &'static str, value: &'static str) -> Header {
    Header::new(name, HeaderValue::String(value.into()))
}

fn encode(event_type: &'static str, content_type: &'static str, payload: Bytes) -> Bytes {
    let message = Message::new(payload)
        .add_header(string_header(":event-type", event_type))
        .add_header(string_header(":message-type", "event"))
        .add_header(string_header(":content-type", content_type));
    let mut out = Vec::with_capacity(message.payload().len() + 96);
    match write_message_to(&message, &mut out) {
        Ok(()) => Bytes::from(out),
        // Only a payload over 4 GiB fails; MAX_CHUNK keeps every payload far below that.
        Err(_) => Bytes::new(),
    }
}

/// One `PayloadChunk` message carrying `payload`.
pub fn payload_chunk(payload: Bytes) -> Bytes {
    encode("PayloadChunk", "application/octet-stream", payload)
}

/// `PayloadChunk` messages for a whole result, split at [`MAX_CHUNK`] (one message for the
/// usual result; none for an empty one).
pub fn payload_chunks(result: &Bytes) -> Vec<Bytes> {
    (0..result.len())
        .step_by(MAX_CHUNK)
        .map(|start| payload_chunk(result.slice(start..result.len().min(start + MAX_CHUNK))))
        .collect()
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct InvokeComplete<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_details: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_result: Option<&'a str>,
}

/// The final `InvokeComplete` message: `{}` for a clean end, otherwise the fields that are set.
pub fn invoke_complete(
    error_code: Option<&str>,
    error_details: Option<&str>,
    log_result: Option<&str>,
) -> Bytes {
    let payload = serde_json::to_vec(&InvokeComplete {
        error_code,
        error_details,
        log_result,
    })
    .unwrap_or_else(|_| b"{}".to_vec());
    encode("InvokeComplete", "application/json", Bytes::from(payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder};
    use bytes::BytesMut;

    fn header<'a>(m: &'a Message, name: &str) -> &'a str {
        m.headers()
            .iter()
            .find(|h| h.name().as_str() == name)
            .and_then(|h| h.value().as_string().ok())
            .map(|s| s.as_str())
            .unwrap_or_else(|| panic!("no {name} header"))
    }

    /// Decodes a byte stream fed in pieces of `step` bytes.
    fn decode_all(wire: &[u8], step: usize) -> Vec<Message> {
        let mut decoder = MessageFrameDecoder::new();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for piece in wire.chunks(step) {
            buf.extend_from_slice(piece);
            while let DecodedFrame::Complete(m) = decoder.decode_frame(&mut buf).unwrap() {
                out.push(m);
            }
        }
        assert!(buf.is_empty(), "trailing bytes");
        out
    }

    #[test]
    fn round_trip() {
        let mut wire = Vec::new();
        wire.extend_from_slice(&payload_chunk(Bytes::from_static(b"chunk 0\n")));
        wire.extend_from_slice(&payload_chunk(Bytes::from_static(b"\0\0\x01binary")));
        wire.extend_from_slice(&invoke_complete(None, None, None));
        for step in [1, 7, wire.len()] {
            let messages = decode_all(&wire, step);
            assert_eq!(messages.len(), 3);
            assert_eq!(header(&messages[0], ":event-type"), "PayloadChunk");
            assert_eq!(header(&messages[0], ":message-type"), "event");
            assert_eq!(
                header(&messages[0], ":content-type"),
                "application/octet-stream"
            );
            assert_eq!(messages[0].payload().as_ref(), b"chunk 0\n");
            assert_eq!(messages[1].payload().as_ref(), b"\0\0\x01binary");
            assert_eq!(header(&messages[2], ":event-type"), "InvokeComplete");
            assert_eq!(header(&messages[2], ":content-type"), "application/json");
            assert_eq!(messages[2].payload().as_ref(), b"{}");
        }
    }

    #[test]
    fn invoke_complete_fields() {
        let wire = invoke_complete(Some("Unhandled"), Some("stream failed"), Some("TE9H"));
        let m = &decode_all(&wire, 5)[0];
        assert_eq!(
            m.payload().as_ref(),
            br#"{"ErrorCode":"Unhandled","ErrorDetails":"stream failed","LogResult":"TE9H"}"#
        );
        let m = &decode_all(&invoke_complete(None, None, Some("TE9H")), 100)[0];
        assert_eq!(m.payload().as_ref(), br#"{"LogResult":"TE9H"}"#);
    }

    #[test]
    fn large_results_are_split() {
        let result = Bytes::from(vec![b'x'; 2 * MAX_CHUNK + 3]);
        let frames = payload_chunks(&result);
        assert_eq!(frames.len(), 3);
        let wire: Vec<u8> = frames.iter().flat_map(|f| f.to_vec()).collect();
        let joined: Vec<u8> = decode_all(&wire, 65536)
            .iter()
            .flat_map(|m| m.payload().to_vec())
            .collect();
        assert_eq!(joined, result.as_ref());
        assert_eq!(payload_chunks(&Bytes::from_static(b"{}")).len(), 1);
        assert!(payload_chunks(&Bytes::new()).is_empty());
    }
}
