//! The gateway's signer against botocore's `SigV4Auth` (the signer of boto3 and the AWS CLI):
//! a few requests of the kinds the gateway sends (Invoke by name and by ARN with qualifier and
//! Lambda headers, temporary credentials, a function URL path with dot segments and a query to
//! sort, repeated and space-padded header values), signed by both with the same credentials and
//! the same fixed time, must carry the same `Authorization`, `X-Amz-Date` and token.
//!
//! botocore runs from `.venv-moto/` (`scripts/moto-setup.sh` installs it with moto) through
//! `botocore_sign.py`. As for `tests/gateway/moto.rs`: without the venv the test prints a line
//! and passes (local runs only); with `REQUIRE_MOTO=1` (CI, `scripts/test.sh`) that is a failure.
//!
//! Only requests both signers canonicalise alike are compared: botocore sorts the query as it
//! is sent, without decoding it, and collapses tabs as well as spaces in header values, where
//! aws-sigv4 (which the gateway matches byte for byte, see `src/aws/sigv4/differential/`)
//! re-encodes the query and collapses spaces only. The gateway forwards queries in canonical
//! form anyway (`gateway/request_uri.rs`).

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use aws_credential_types::Credentials;
use lambda_proxy::aws::sigv4::{sha256_hex, RequestSigner};
use pingora::http::RequestHeader;
use serde_json::{json, Value};

use crate::files::parse_time;

struct Case {
    method: &'static str,
    host: &'static str,
    target: &'static str,
    /// Signed (allow-listed) headers besides `Host`, as both signers get them.
    headers: &'static [(&'static str, &'static str)],
    body: &'static str,
    secret: &'static str,
    token: Option<&'static str>,
    region: &'static str,
    service: &'static str,
    /// `YYYYMMDDTHHMMSSZ`
    time: &'static str,
}

const AKID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const TOKEN: &str =
    "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+example/token+with/slashes==";

const CASES: &[Case] = &[
    // The 2015 suite's get-vanilla.
    Case {
        method: "GET",
        host: "example.amazonaws.com",
        target: "/",
        headers: &[],
        body: "",
        secret: SECRET,
        token: None,
        region: "us-east-1",
        service: "service",
        time: "20150830T123600Z",
    },
    // Invoke by name, JSON body, Lambda headers, temporary credentials.
    Case {
        method: "POST",
        host: "lambda.us-east-2.amazonaws.com",
        target: "/2015-03-31/functions/my-function/invocations",
        headers: &[
            ("Content-Type", "application/json"),
            ("X-Amz-Invocation-Type", "RequestResponse"),
            ("X-Amz-Log-Type", "Tail"),
            ("X-Amz-Client-Context", "eyJjdXN0b20iOnsiYSI6MX19"),
        ],
        body: "{\"hello\":\"world\"}",
        secret: SECRET,
        token: Some(TOKEN),
        region: "us-east-2",
        service: "lambda",
        time: "20260314T235959Z",
    },
    // Invoke by ARN (`:` sent as %3A, so %253A in the canonical URI) with a qualifier.
    Case {
        method: "POST",
        host: "lambda.eu-west-1.amazonaws.com",
        target: "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Amy-fn/invocations?Qualifier=%24LATEST",
        headers: &[("Content-Type", "application/json"), ("X-Amz-Invocation-Type", "Event")],
        body: "[1,2,3]",
        secret: "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
        token: None,
        region: "eu-west-1",
        service: "lambda",
        time: "20240229T000000Z",
    },
    // A function URL behind API Gateway IAM auth: dot segments, an unsorted query with a
    // repeated name, repeated and space-padded header values.
    Case {
        method: "PUT",
        host: "abc123.execute-api.ap-southeast-2.amazonaws.com",
        target: "/prod/./items/../things/%E2%82%AC%20x/?b=2&a=1&a=0&c=",
        headers: &[
            ("Content-Type", "text/plain;  charset=utf-8 "),
            ("X-Amz-Meta-Tag", "  first  value "),
            ("X-Amz-Meta-Tag", "second"),
        ],
        body: "some text",
        secret: SECRET,
        token: Some("short-lived-token"),
        region: "ap-southeast-2",
        service: "execute-api",
        time: "20991231T120000Z",
    },
];

/// botocore's signatures of [`CASES`], or `None` (with a line printed) without the venv.
fn botocore_signatures() -> Option<Vec<Value>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join(".venv-moto/bin/python");
    if !python.exists() {
        // CI sets REQUIRE_MOTO=1 so that a missing install cannot pass vacuously there.
        assert!(
            std::env::var_os("REQUIRE_MOTO").is_none(),
            "botocore not installed (run scripts/moto-setup.sh) and REQUIRE_MOTO is set"
        );
        println!("botocore not installed (run scripts/moto-setup.sh): skipping");
        return None;
    }
    let input: Vec<Value> = CASES
        .iter()
        .map(|c| {
            let mut headers = vec![json!(["Host", c.host])];
            headers.extend(c.headers.iter().map(|(n, v)| json!([n, v])));
            json!({
                "method": c.method,
                "url": format!("https://{}{}", c.host, c.target),
                "headers": headers,
                "body": c.body,
                "access_key": AKID,
                "secret_key": c.secret,
                "token": c.token,
                "region": c.region,
                "service": c.service,
                "timestamp": c.time,
            })
        })
        .collect();
    let mut child = Command::new(&python)
        .arg(root.join("tests/sigv4_suites/botocore_sign.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run botocore_sign.py");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(Value::Array(input).to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "botocore_sign.py failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let mut answer: Value =
        serde_json::from_slice(&out.stdout).expect("JSON from botocore_sign.py");
    println!("botocore {}", answer["botocore"]);
    match answer["signed"].take() {
        Value::Array(signed) => Some(signed),
        other => panic!("botocore_sign.py: {other}"),
    }
}

/// What the gateway's signer puts on the same request (plus an unsigned header a hop adds).
fn gateway_signature(c: &Case) -> (String, String, Option<String>) {
    let mut head = RequestHeader::build(c.method, c.target.as_bytes(), None).unwrap();
    head.append_header("Host", c.host).unwrap();
    for (n, v) in c.headers {
        head.append_header(*n, *v).unwrap();
    }
    head.append_header("User-Agent", "not-signed/1.0").unwrap();
    let identity =
        Credentials::new(AKID, c.secret, c.token.map(str::to_owned), None, "test").into();
    RequestSigner::for_scope(c.region, c.service)
        .sign_request_header(
            &identity,
            &mut head,
            &sha256_hex(c.body.as_bytes()),
            parse_time(c.time),
        )
        .unwrap();
    let value = |n: &str| head.headers.get(n).map(|v| v.to_str().unwrap().to_owned());
    (
        value("authorization").unwrap(),
        value("x-amz-date").unwrap(),
        value("x-amz-security-token"),
    )
}

#[test]
fn gateway_signs_as_botocore_sigv4auth() {
    let Some(botocore) = botocore_signatures() else {
        return;
    };
    assert_eq!(botocore.len(), CASES.len());
    let mut seen = std::collections::HashSet::new();
    for (c, b) in CASES.iter().zip(&botocore) {
        let want = (
            b["authorization"].as_str().unwrap().to_owned(),
            b["x_amz_date"].as_str().unwrap().to_owned(),
            b["token"].as_str().map(str::to_owned),
        );
        assert_eq!(gateway_signature(c), want, "{} {}", c.method, c.target);
        assert!(seen.insert(want.0), "two cases signed alike");
    }
    println!(
        "{} requests signed alike by the gateway and botocore",
        CASES.len()
    );
}
