//! Lambda REQUEST authorizers as API Gateway HTTP APIs run them: the pure payload layer.
//!
//! Everything here is a pure function (no I/O, no clock, no cache); the caller owns the
//! configuration, the authorizer cache and the Invoke call. One request goes:
//!
//! 1. [`identity`]: the configured identity sources ([`IdentitySource::parse`]) are read from
//!    the request with [`extract`]. One missing or empty → `401` without calling the authorizer
//!    (AWS: "If the client's request doesn't include the identity sources, API Gateway doesn't
//!    invoke your Lambda authorizer, and the client receives a 401 error"). The values are also
//!    the cache key.
//! 2. [`event`]: [`authorizer_event`] builds the JSON sent to the authorizer function for
//!    payload format `1.0` or `2.0`, with the ARN from [`route_arn`].
//! 3. [`verdict`]: [`parse_verdict`] reads the function's answer (simple `isAuthorized`
//!    response, or an IAM policy evaluated by [`policy::allows`]). `Err` means an invalid answer:
//!    the gateway answers `500`, as API Gateway does ("If API Gateway can't invoke your Lambda
//!    authorizer, or your Lambda authorizer returns a response in an invalid format, clients
//!    receive a 500 Internal Server Error"). [`Verdict::Deny`] is a `403`.
//! 4. The integration event then carries what the authorizer returned
//!    (`crate::function_name::event::authorizer`: `requestContext.authorizer`).
//!
//! Reference: <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html>
//! (event and response formats, identity sources), and for the REST-compatible 1.0 pieces
//! <https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html>.

pub mod event;
pub mod identity;
pub mod policy;
pub mod verdict;

pub use event::{authorizer_event, route_arn};
pub use identity::{context_variable, extract, IdentityMissing, IdentitySource};
pub use policy::allows;
pub use verdict::{parse as parse_verdict, Verdict};

use crate::config::PayloadVersionConf;

/// `authorizer_payload_format_version`: the shape of the event sent to the authorizer and of
/// the answer expected from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayloadFormat {
    /// `"1.0"`: the REST-compatible event (`methodArn`, `authorizationToken`) and an IAM policy
    /// answer.
    V1,
    /// `"2.0"`: the HTTP API event (`routeArn`, `identitySource` array) and an IAM policy or,
    /// with `enable_simple_responses`, an `isAuthorized` answer.
    V2,
}

impl From<PayloadVersionConf> for PayloadFormat {
    fn from(v: PayloadVersionConf) -> Self {
        match v {
            PayloadVersionConf::V1 => PayloadFormat::V1,
            PayloadVersionConf::V2 => PayloadFormat::V2,
        }
    }
}
