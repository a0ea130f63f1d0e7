//! `function_name::stream::EventStreamDecoder` (InvokeWithResponseStream bodies) on arbitrary bytes
//! in arbitrary chunk splits, and the `encode_event` round trip.
//!
//! Checks:
//! * garbage: never panics; the events (and whether an error ends them) do not depend on how
//!   the bytes are split into reads; `pending()` never exceeds the bytes pushed;
//! * round trip: any sequence of `encode_event(type, payload)` frames, concatenated and split
//!   anywhere, decodes to the same events in order (`PayloadChunk` and unknown types are
//!   `Chunk(payload)`, `InvokeComplete` is `Complete` with the payload's non-empty `ErrorCode`,
//!   `ErrorDetails`, `LogResult` strings) with nothing pending and no error; garbage after
//!   them does not change them.
#![no_main]

use arbitrary::Arbitrary;
use bytes::Bytes;
use lambda_proxy::function_name::stream::{
    encode_event, invoke_complete, EventStreamDecoder, StreamEvent,
};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Kind<'a> {
    Chunk,
    Complete,
    Other(&'a str),
}

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    events: Vec<(Kind<'a>, &'a [u8])>,
    /// Read sizes (0 counts as 1), cycled; no sizes: everything in one read.
    splits: Vec<u8>,
    /// Arbitrary wire bytes (the seeds put real frames here).
    garbage: &'a [u8],
}

/// Feeds `wire` in reads of the given sizes, taking events after each read; stops at the
/// first error. Returns the events and whether an error ended them.
fn decode(wire: &[u8], splits: &[u8]) -> (Vec<StreamEvent>, bool, usize) {
    let mut d = EventStreamDecoder::new();
    let mut events = Vec::new();
    let mut at = 0;
    let mut pushed = 0;
    let mut i = 0;
    while at < wire.len() {
        let n = match splits.get(i % splits.len().max(1)) {
            Some(&s) => (s as usize).max(1),
            None => wire.len(),
        };
        i += 1;
        let end = (at + n).min(wire.len());
        d.push(&wire[at..end]);
        pushed += end - at;
        at = end;
        loop {
            match d.next_event() {
                Ok(Some(e)) => events.push(e),
                Ok(None) => break,
                Err(_) => return (events, true, d.pending()),
            }
            assert!(d.pending() <= pushed);
        }
        assert!(d.pending() <= pushed);
    }
    (events, false, d.pending())
}

fn expected(kind: &Kind, payload: &[u8]) -> (String, StreamEvent) {
    let event_type = match kind {
        Kind::Chunk => "PayloadChunk".to_string(),
        Kind::Complete => "InvokeComplete".to_string(),
        Kind::Other(s) => s.to_string(),
    };
    // The payload's JSON is read by the product's own `invoke_complete`: this oracle checks
    // the framing (which event, which payload bytes), not the JSON reading.
    let event = if event_type == "InvokeComplete" {
        invoke_complete(payload)
    } else {
        StreamEvent::Chunk(Bytes::copy_from_slice(payload))
    };
    (event_type, event)
}

fuzz_target!(|input: Input| {
    // Garbage: split-independence.
    let whole = decode(input.garbage, &[]);
    let split = decode(input.garbage, &input.splits);
    assert_eq!(
        (&whole.0, whole.1),
        (&split.0, split.1),
        "chunking changed the outcome"
    );

    // Round trip.
    let mut wire = Vec::new();
    let mut want = Vec::new();
    for (kind, payload) in &input.events {
        let (event_type, event) = expected(kind, payload);
        let frame = encode_event(&event_type, payload);
        assert!(
            !frame.is_empty(),
            "encode_event({event_type:?}) wrote nothing"
        );
        wire.extend_from_slice(&frame);
        want.push(event);
    }
    let (got, failed, pending) = decode(&wire, &input.splits);
    assert!(!failed, "valid frames failed to decode");
    assert_eq!(pending, 0);
    assert_eq!(got, want);

    // Valid frames followed by garbage: the frames still come out first.
    wire.extend_from_slice(input.garbage);
    let (got, _, _) = decode(&wire, &input.splits);
    assert!(got.len() >= want.len() && got[..want.len()] == want[..]);
});
