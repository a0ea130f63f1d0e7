//! The built-in functions run as the Invoke API runs them: names, results, function errors,
//! `inspect` and `proxy` documents, stream plans and the log tail.

use base64::Engine as _;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::stream::{HTTP_INTEGRATION, STREAM_PRELUDE};
use super::*;

fn call<'a>(payload: &'a [u8], event: &'a Value) -> Call<'a> {
    Call {
        operation: Operation::Invoke,
        function: "arn:aws:lambda:us-east-1:123456789012:function:inspect:prod",
        qualifier: Some("prod"),
        raw_path: b"/2015-03-31/functions/x/invocations",
        raw_query: None,
        invocation_type: InvocationType::RequestResponse,
        log_type: LogType::None,
        headers: &[],
        payload,
        event,
        invocations: 1,
    }
}

fn run_now(f: Builtin, payload: &[u8]) -> Output {
    let event: Value = if payload.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(payload).unwrap()
    };
    let c = call(payload, &event);
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(run(f, &c))
}

fn result(output: Output) -> Vec<u8> {
    match output {
        Output::Result(b) => b.to_vec(),
        other => panic!("not a result: {other:?}"),
    }
}

#[test]
fn names() {
    assert_eq!(Builtin::by_name("echo"), Some(Builtin::Echo));
    assert_eq!(Builtin::by_name("stream"), Some(Builtin::Stream));
    assert_eq!(Builtin::by_name("Echo"), None);
    assert_eq!(Builtin::by_name("nope"), None);
}

#[test]
fn simple_functions() {
    assert_eq!(
        result(run_now(Builtin::Echo, b" {\"a\": 1} ")),
        b" {\"a\": 1} "
    );
    assert_eq!(result(run_now(Builtin::Echo, b"")), b"");
    assert_eq!(
        result(run_now(Builtin::Sleep, br#"{"ms":5}"#)),
        br#"{"slept_ms":5}"#
    );
    assert_eq!(
        result(run_now(
            Builtin::Respond,
            br#"{"result":{"statusCode":204}}"#
        )),
        br#"{"statusCode":204}"#
    );
    assert_eq!(
        result(run_now(Builtin::Respond, br#"{"result_raw":"not json {"}"#)),
        b"not json {"
    );
    assert_eq!(result(run_now(Builtin::Respond, b"{}")), b"null");
    assert_eq!(run_now(Builtin::Throttle, b""), Output::Throttled);
    let large = result(run_now(Builtin::Large, br#"{"bytes":10}"#));
    assert_eq!(large, b"\"xxxxxxxx\"");
    assert_eq!(result(run_now(Builtin::Large, b"")).len(), 5_000_000);
    assert_eq!(result(run_now(Builtin::Large, br#"{"bytes":0}"#)), b"\"\"");
}

#[test]
fn errors() {
    match run_now(Builtin::Unhandled, b"") {
        Output::Error { kind, payload, .. } => {
            assert_eq!(kind, ErrorKind::Unhandled);
            assert_eq!(payload.as_ref(), UNHANDLED.as_bytes());
        }
        other => panic!("{other:?}"),
    }
    match run_now(Builtin::Handled, b"") {
        Output::Error { kind, message, .. } => {
            assert_eq!(kind, ErrorKind::Handled);
            assert_eq!(message, "handled boom");
        }
        other => panic!("{other:?}"),
    }
    // Bad input is a function error, not a panic.
    for (f, p) in [
        (Builtin::Sleep, &br#"{"ms":-1}"#[..]),
        (Builtin::Sleep, br#"{"ms":"5"}"#),
        (Builtin::Large, br#"{"bytes":1.5}"#),
        (Builtin::Respond, br#"{"result_raw":5}"#),
        (Builtin::Stream, br#"{"prelude":"yes"}"#),
        (Builtin::Stream, br#"{"fail_after":-2}"#),
    ] {
        assert!(
            matches!(
                run_now(f, p),
                Output::Error {
                    kind: ErrorKind::Unhandled,
                    ..
                }
            ),
            "{f:?} {p:?}"
        );
    }
    // Non-object payloads use the defaults.
    assert!(matches!(
        run_now(Builtin::Stream, b"[1]"),
        Output::Stream(_)
    ));
}

#[test]
fn inspect_document() {
    let payload = br#"{"k":[1,2]}"#;
    let v: Value = serde_json::from_slice(&result(run_now(Builtin::Inspect, payload))).unwrap();
    assert_eq!(
        v["function"],
        "arn:aws:lambda:us-east-1:123456789012:function:inspect:prod"
    );
    assert_eq!(v["qualifier"], "prod");
    assert_eq!(v["raw_query"], "");
    assert_eq!(v["invocation_type"], "RequestResponse");
    assert_eq!(v["log_type"], "None");
    assert_eq!(v["headers"], json!([]));
    assert_eq!(v["payload_len"], 11);
    assert_eq!(v["payload"], json!({"k": [1, 2]}));
    assert_eq!(
        v["payload_sha256"],
        hex::encode(Sha256::digest(payload)).as_str()
    );
}

#[test]
fn proxy_and_binary() {
    let payload = br#"{"path":"/x","body":"a\"b"}"#;
    let v: Value = serde_json::from_slice(&result(run_now(Builtin::Proxy, payload))).unwrap();
    assert_eq!(v["statusCode"], 201);
    assert_eq!(v["headers"]["x-num"], 5);
    assert_eq!(v["multiValueHeaders"]["x-multi"], json!(["a", "b"]));
    assert_eq!(v["cookies"], json!(["a=1; Path=/", "b=2"]));
    assert_eq!(v["body"].as_str().unwrap().as_bytes(), payload);
    assert_eq!(v["isBase64Encoded"], false);

    let v: Value = serde_json::from_slice(&result(run_now(Builtin::Binary, b""))).unwrap();
    assert_eq!(v["isBase64Encoded"], true);
    let body = base64::engine::general_purpose::STANDARD
        .decode(v["body"].as_str().unwrap())
        .unwrap();
    assert_eq!(body, (0..=255u8).collect::<Vec<_>>());
}

#[test]
fn stream_plans() {
    let Output::Stream(plan) = run_now(Builtin::Stream, b"") else {
        panic!()
    };
    assert_eq!(plan.content_type, OCTET_STREAM);
    assert_eq!((plan.chunks, plan.emitted()), (5, 5));
    assert_eq!(plan.delay, Duration::from_millis(200));
    assert_eq!(plan.prelude, None);
    assert_eq!(plan.failure(), None);

    let Output::Stream(plan) = run_now(
        Builtin::Stream,
        br#"{"chunks":3,"delay_ms":1,"prelude":true,"fail_after":2}"#,
    ) else {
        panic!()
    };
    assert_eq!(plan.content_type, HTTP_INTEGRATION);
    let prelude = plan.prelude.clone().unwrap();
    assert!(prelude.ends_with(&[0; 8]));
    assert_eq!(&prelude[..prelude.len() - 8], STREAM_PRELUDE.as_bytes());
    assert_eq!(plan.emitted(), 2);
    assert_eq!(plan.failure(), Some("stream failed"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    assert!(matches!(
        rt.block_on(plan.buffered()),
        Output::Error {
            kind: ErrorKind::Unhandled,
            ..
        }
    ));

    let plan = StreamPlan {
        fail_after: None,
        prelude: None,
        ..plan
    };
    assert_eq!(
        rt.block_on(plan.buffered()),
        Output::Result(Bytes::from_static(b"chunk 0\nchunk 1\nchunk 2\n"))
    );
}

#[test]
fn log_tail_mentions_function_and_request() {
    let text = base64::engine::general_purpose::STANDARD
        .decode(log_tail("echo", "rid-1", "$LATEST"))
        .unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(text.starts_with("START RequestId: rid-1 Version: $LATEST\n"));
    assert!(text.contains("echo"));
}
