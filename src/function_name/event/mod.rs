//! Lambda events built from one client request: the JSON payload the gateway sends to the
//! Invoke API for `function_name` routes.
//!
//! Four shapes, each a pure function of a [`RequestView`] returning the event as JSON bytes:
//!
//! * [`kong_args_event`]: Kong's default payload, query and body arguments in one object.
//! * [`forward_event`]: Kong's `forward_request_*` object (for migrations from Kong).
//! * [`apigw_v1_event`]: API Gateway REST API / payload format 1.0, as AWS sends it.
//! * [`apigw_v2_event`]: HTTP API payload format 2.0, which is also the Lambda Function URL event.
//!
//! The events are written straight into one `Vec<u8>` sized up front: borrowed strings, serde
//! `Serialize` impls over the request's own `HeaderMap` and query string, base64 written while
//! serialising. No `serde_json::Value` trees, no per-header `String`s unless a value needs decoding.
//!
//! Where AWS behaviour is subtle, the choice made here (and the evidence) is spelled out on the
//! function that implements it. Known deviations from AWS:
//!
//! * Header names are lower-case (they arrive lower-case in `http::HeaderMap`); REST APIs keep
//!   the client's spelling. Header values that are not UTF-8 are decoded lossily (U+FFFD).
//! * `pathParameters.proxy` is the rest of the path, percent-decoded (as API Gateway does).
//! * v2 `rawPath` is the path exactly as received, as Function URLs send it (HTTP APIs send it
//!   percent-decoded, which loses `%2F` and `%3F`).
//! * `authorizer` only behind a route authorizer (`authorizer`), and `identity` has only
//!   `sourceIp`, `userAgent`, `apiKeyId` and (mutual TLS) `clientCert` set: the gateway has no
//!   Cognito / IAM caller to report.
//! * `X-Forwarded-*` headers are not added here; the caller decides what to put in `headers`.
//!
//! Where each piece lives: `kong` (Kong's two payloads, with `multipart` bodies), `v1` and `v2`
//! (the API Gateway formats, with what they share in `apigw`); `headers`, `query` and `body`
//! render the request's parts as the events want them; `json` writes into the output buffer.

use std::collections::BTreeMap;
use std::time::SystemTime;

use http::HeaderMap;

mod apigw;
mod authorizer;
mod body;
mod headers;
mod json;
mod kong;
mod multipart;
mod query;
mod v1;
mod v2;

#[cfg(test)]
mod test_support;

pub(crate) use apigw::{civil_from_days, domain};
pub use body::{BodyEncoding, DEFAULT_TEXT_TYPES};
pub use kong::{forward_event, kong_args_event};
pub(crate) use query::form_decode;
pub use v1::apigw_v1_event;
pub use v2::apigw_v2_event;

/// Default [`EventSettings::account_id`]: the account id AWS uses in its own documentation
/// examples, obviously not a real account.
pub const DEFAULT_ACCOUNT_ID: &str = "123456789012";
/// Default [`EventSettings::api_id`] when the caller has nothing better (e.g. the route name).
pub const DEFAULT_API_ID: &str = "lambdaproxy";
/// Default [`EventSettings::stage`]: the HTTP API / Function URL stage name.
pub const DEFAULT_STAGE: &str = "$default";
/// Default [`EventSettings::resource`]: the HTTP API catch-all route.
pub const DEFAULT_RESOURCE: &str = "$default";

/// One client request as the gateway saw it.
#[derive(Debug, Clone, Copy)]
pub struct RequestView<'a> {
    pub method: &'a str,
    /// As received, percent-encoded, no query.
    pub raw_path: &'a str,
    /// As received, without `?`.
    pub raw_query: Option<&'a str>,
    /// Client headers (hop-by-hop already removed); names are lower-case in `HeaderMap`.
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub source_ip: Option<&'a str>,
    /// `"HTTP/1.1"` or `"HTTP/2.0"`.
    pub http_version: &'a str,
    /// `Host` or `:authority`.
    pub host: Option<&'a str>,
    /// Raw rest of the path after a wildcard route prefix, `None` for exact routes.
    pub proxy_path: Option<&'a str>,
    pub request_id: &'a str,
    pub time: SystemTime,
    /// The caller's client API key id (its configured name, `crate::api_keys`), never the key.
    pub api_key_id: Option<&'a str>,
    /// The client certificate verified on a mutual TLS listener (`crate::mtls`).
    pub client_cert: Option<&'a ClientCert>,
    /// The route authorizer's approval (`crate::authorizers`): `requestContext.authorizer`.
    pub authorizer: Option<&'a crate::authorizers::Grant>,
}

/// A verified client certificate as API Gateway puts it in events (mutual TLS): v1
/// `requestContext.identity.clientCert`, v2 `requestContext.authentication.clientCert`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientCert {
    /// The certificate, PEM.
    pub client_cert_pem: String,
    /// E.g. `CN=client,O=Example`.
    #[serde(rename = "subjectDN")]
    pub subject_dn: String,
    #[serde(rename = "issuerDN")]
    pub issuer_dn: String,
    /// Hex bytes separated by `:`, e.g. `1a:2b`.
    pub serial_number: String,
    pub validity: ClientCertValidity,
}

/// `notBefore` / `notAfter` as OpenSSL prints them, e.g. `May 28 12:30:02 2019 GMT` (as AWS).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientCertValidity {
    pub not_before: String,
    pub not_after: String,
}

/// Per-route settings, built once at config load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSettings {
    /// v1 `resource` / `requestContext.resourcePath`, v2 route key path, e.g. `"/aws/{proxy+}"`.
    /// `""` or `"$default"` means the catch-all route (v2 `routeKey` `"$default"`). A value with a
    /// method, `"GET /pets"`, is used verbatim as the v2 `routeKey` (v1 `resource` is its path).
    pub resource: String,
    /// Default [`DEFAULT_STAGE`]. With a named stage, v1 `requestContext.path` is `/{stage}{path}`.
    pub stage: String,
    /// Default [`DEFAULT_ACCOUNT_ID`].
    pub account_id: String,
    /// Default [`DEFAULT_API_ID`] (callers usually pass the route name).
    pub api_id: String,
    /// Empty: `null` in v1 events, absent in v2 events (as AWS).
    pub stage_variables: BTreeMap<String, String>,
    pub body_encoding: BodyEncoding,
}

impl Default for EventSettings {
    fn default() -> Self {
        EventSettings {
            resource: DEFAULT_RESOURCE.to_owned(),
            stage: DEFAULT_STAGE.to_owned(),
            account_id: DEFAULT_ACCOUNT_ID.to_owned(),
            api_id: DEFAULT_API_ID.to_owned(),
            stage_variables: BTreeMap::new(),
            body_encoding: BodyEncoding::default_auto(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::function_name::event::test_support::*;

    #[test]
    fn json_escaping_of_hostile_input() {
        let h = headers(&[("x-q", b"\"}\\{")]);
        let mut v = view(&h, Some("k=%22%5C%0A%00"), b"\"\\\n\0");
        v.raw_path = "/\"quote\\";
        v.method = "GET\"";
        for ev in [
            apigw_v1_event(&v, &settings()),
            apigw_v2_event(&v, &settings()),
            forward_event(&v, true, true, true, true, &BodyEncoding::Never),
        ] {
            let ev = parse(ev);
            assert!(ev.is_object());
        }
        let ev = parse(apigw_v2_event(&v, &settings()));
        assert_eq!(ev["queryStringParameters"]["k"], "\"\\\n\0");
        assert_eq!(ev["body"], "\"\\\n\0");
        assert_eq!(ev["rawPath"], "/\"quote\\");
    }

    #[test]
    fn client_cert_in_v1_identity_and_v2_authentication() {
        let cert = ClientCert {
            client_cert_pem: "-----BEGIN CERTIFICATE-----\n".into(),
            subject_dn: "CN=alice,O=Clients".into(),
            issuer_dn: "CN=ca".into(),
            serial_number: "0a:1b".into(),
            validity: ClientCertValidity {
                not_before: "May 28 12:30:02 2019 GMT".into(),
                not_after: "Aug  5 09:36:04 2031 GMT".into(),
            },
        };
        let want = serde_json::json!({
            "clientCertPem": "-----BEGIN CERTIFICATE-----\n",
            "subjectDN": "CN=alice,O=Clients",
            "issuerDN": "CN=ca",
            "serialNumber": "0a:1b",
            "validity": {"notBefore": "May 28 12:30:02 2019 GMT", "notAfter": "Aug  5 09:36:04 2031 GMT"},
        });
        let h = headers(&[]);
        let mut v = view(&h, None, b"");
        let v1 = parse(apigw_v1_event(&v, &settings()));
        assert!(v1["requestContext"]["identity"]["clientCert"].is_null());
        let v2 = parse(apigw_v2_event(&v, &settings()));
        assert!(v2["requestContext"].get("authentication").is_none());
        v.client_cert = Some(&cert);
        let v1 = parse(apigw_v1_event(&v, &settings()));
        assert_eq!(v1["requestContext"]["identity"]["clientCert"], want);
        let v2 = parse(apigw_v2_event(&v, &settings()));
        assert_eq!(v2["requestContext"]["authentication"]["clientCert"], want);
    }
}
