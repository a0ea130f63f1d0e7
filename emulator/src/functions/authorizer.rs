//! The two Lambda authorizers of API Gateway HTTP API, driven by the first identity value (the
//! "token"): `authorizer-simple` answers payload 2.0 simple responses, `authorizer-policy` IAM
//! policies (payload 1.0 or 2.0).
//!
//! | token          | outcome                                                        |
//! |----------------|----------------------------------------------------------------|
//! | `allow…`       | allowed                                                        |
//! | `deny…`        | denied                                                         |
//! | `error…`       | function error `Unhandled`                                     |
//! | `slow:<ms>`    | sleeps `ms` (at most 600000), then allowed                     |
//! | `garbage…`     | the raw bytes `not json`                                       |
//! | anything else  | denied                                                         |
//!
//! For `authorizer-policy`, `allow-other` allows only another resource ([`OTHER_RESOURCE`])
//! and `allow-wildcard` allows [`WILDCARD_RESOURCE`].

use std::time::Duration;

use bytes::Bytes;
use serde_json::{json, Value};

use super::authorizer_event::{self, AuthEvent, Format};
use super::{Call, Output, SLEEP_MAX_MS};

/// The resource `allow-other` allows (never the one asked for).
pub const OTHER_RESOURCE: &str =
    "arn:aws:execute-api:us-east-1:123456789012:other/$default/GET/elsewhere";
/// The resource `allow-wildcard` allows (matches every execute-api ARN).
pub const WILDCARD_RESOURCE: &str = "arn:aws:execute-api:*:*:*/*";
/// What `garbage…` tokens return.
pub const GARBAGE: &[u8] = b"not json";

/// What the token decided.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    Allowed,
    Denied,
    /// No decision: the function returns this instead (an error, or garbage).
    Instead(Output),
}

/// `authorizer-simple`: `{"isAuthorized":B,"context":{...}}`; 1.0 events are refused.
pub(super) async fn simple(call: &Call<'_>) -> Result<Output, String> {
    let event = authorizer_event::parse(call.event)?;
    if event.format != Format::V2 {
        return Err("simple responses need payload format version 2.0".into());
    }
    let allowed = match verdict(event.token()).await? {
        Verdict::Instead(output) => return Ok(output),
        verdict => verdict == Verdict::Allowed,
    };
    let response = json!({
        "isAuthorized": allowed,
        "context": {
            "token": event.token(),
            "tenant": event.identities.get(1),
            "invocations": call.invocations,
            "nested": {"a": 1},
        },
    });
    Ok(document(&response))
}

/// `authorizer-policy`: an IAM policy for the event's `methodArn` / `routeArn`.
pub(super) async fn policy(call: &Call<'_>) -> Result<Output, String> {
    let event = authorizer_event::parse(call.event)?;
    let allowed = match verdict(event.token()).await? {
        Verdict::Instead(output) => return Ok(output),
        verdict => verdict == Verdict::Allowed,
    };
    let (effect, resource) = statement(&event, allowed);
    let response = json!({
        "principalId": format!("user-{}", event.token()),
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{
                "Action": "execute-api:Invoke",
                "Effect": effect,
                "Resource": [resource],
            }],
        },
        "context": {
            "token": event.token(),
            "invocations": call.invocations,
            "number": 7,
            "flag": true,
        },
    });
    Ok(document(&response))
}

/// The policy statement's effect and resource.
fn statement(event: &AuthEvent, allowed: bool) -> (&'static str, &str) {
    match (allowed, event.token()) {
        (false, _) => ("Deny", event.arn.as_str()),
        (true, "allow-other") => ("Allow", OTHER_RESOURCE),
        (true, "allow-wildcard") => ("Allow", WILDCARD_RESOURCE),
        (true, _) => ("Allow", event.arn.as_str()),
    }
}

/// The token's verdict (after sleeping, for `slow:`); `Err` for a malformed `slow:` token.
async fn verdict(token: &str) -> Result<Verdict, String> {
    if token.starts_with("allow") {
        Ok(Verdict::Allowed)
    } else if token.starts_with("deny") {
        Ok(Verdict::Denied)
    } else if token.starts_with("error") {
        let message = format!("authorizer failed (token {token:?})");
        Ok(Verdict::Instead(Output::unhandled("Error", &message)))
    } else if let Some(ms) = token.strip_prefix("slow:") {
        let ms: u64 = ms
            .parse()
            .map_err(|_| format!("slow:<ms> wants a non-negative integer, got {ms:?}"))?;
        tokio::time::sleep(Duration::from_millis(ms.min(SLEEP_MAX_MS))).await;
        Ok(Verdict::Allowed)
    } else if token.starts_with("garbage") {
        Ok(Verdict::Instead(Output::Result(Bytes::from_static(
            GARBAGE,
        ))))
    } else {
        Ok(Verdict::Denied)
    }
}

fn document(value: &Value) -> Output {
    Output::Result(Bytes::from(serde_json::to_vec(value).unwrap_or_default()))
}
