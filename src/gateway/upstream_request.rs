//! `upstream_request_filter`: the final upstream head: path and `Host` rewritten to the
//! target, the API key applied, body framing pinned for buffered bodies, then SigV4 over
//! exactly what is sent. Runs again on every retry, so signatures are always fresh.

use std::time::{Instant, SystemTime};

use http::header::{CONNECTION, CONTENT_LENGTH, EXPECT, HOST, TRANSFER_ENCODING};
use pingora::prelude::*;

use super::{GatewayError, RequestCtx};
use crate::config::ApiKeyPolicy;

pub fn upstream_request_filter(req: &mut RequestHeader, ctx: &mut RequestCtx) -> Result<()> {
    let u = ctx.uri_request()?;
    let t = &u.target;
    if let Some(uri) = &u.upstream_uri {
        req.set_uri(uri.clone());
    }
    req.insert_header(HOST, t.host_header.clone())?;
    // The gateway answered any `Expect: 100-continue` itself (`request_filter`).
    req.remove_header(&EXPECT);
    if !t.forward_client_credentials {
        strip_client_credentials(req, t.api_key.as_ref().map(|k| k.policy));
    }
    if let Some(k) = &t.api_key {
        let keep_client =
            k.policy == ApiKeyPolicy::KeepClient && req.headers.contains_key("x-api-key");
        if !keep_client {
            req.insert_header("x-api-key", k.value.clone())?;
        }
    }
    // `authorizer_headers`: what the authorizer approved, never what the client claimed.
    for (name, value) in &u.authorizer_headers {
        req.remove_header(name);
        if let Some(v) = value {
            req.insert_header(name.clone(), v.clone())?;
        }
    }
    if !t.keepalive {
        req.insert_header(CONNECTION, "close")?;
    }
    if let Some(signing) = &t.signing {
        let payload = u
            .payload
            .as_ref()
            .ok_or_else(|| Error::explain(InternalError, "signed route without body hash"))?;
        req.remove_header(&TRANSFER_ENCODING);
        if payload.len > 0 || req.headers.contains_key(CONTENT_LENGTH) {
            req.insert_header(CONTENT_LENGTH, payload.len.to_string())?;
        }
        let Some(identity) = u.signing_identity(&signing.credentials) else {
            // Expired between `request_filter` and here: the same answer as there.
            return Err(GatewayError::credentials_unavailable().into_pingora());
        };
        let signing_started = Instant::now();
        let signed =
            signing
                .signer
                .sign_request_header(&identity, req, &payload.sha256, SystemTime::now());
        crate::metrics::signing(signing_started.elapsed());
        signed.map_err(|e| Error::explain(InternalError, format!("signing failed: {e}")))?;
    }
    Ok(())
}

/// Removes credentials the client sent (`authorization`, every `x-amz-*`, and `x-api-key`
/// unless the route's API key policy keeps the client's): AWS sees only what the route
/// configures.
fn strip_client_credentials(req: &mut RequestHeader, api_key_policy: Option<ApiKeyPolicy>) {
    let doomed: Vec<http::HeaderName> = req
        .headers
        .keys()
        .filter(|name| {
            let n = name.as_str();
            n == "authorization"
                || n.starts_with("x-amz-")
                || (n == "x-api-key" && api_key_policy != Some(ApiKeyPolicy::KeepClient))
        })
        .cloned()
        .collect();
    for name in doomed {
        req.remove_header(&name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::sigv4::sha256_hex;
    use crate::gateway::{BufferedBody, Selection, UriRequest};
    use crate::routing::{RouteKind, RouteTable};

    /// Routes on 127.0.0.1:9000 (`Host: 127.0.0.1:9000`), base path `/base`.
    const ROUTES: &str = "
  - {name: plain, uri: /p, function_uri: 'http://127.0.0.1:9000/base'}
  - {name: closing, uri: /c, function_uri: 'http://127.0.0.1:9000/base', keepalive: false}
  - {name: forwarding, uri: /f, function_uri: 'http://127.0.0.1:9000/base', client_credentials: forward}
  - {name: replace, uri: /r, function_uri: 'http://127.0.0.1:9000/base', authorization: {apikey: conf-key}}
  - {name: keep, uri: /k, function_uri: 'http://127.0.0.1:9000/base', authorization: {apikey: conf-key, apikey_policy: keep_client}}
  - name: signed
    uri: /s
    function_uri: 'http://127.0.0.1:9000/base'
    authorization:
      iam: {accesskey: AKIDUNITTEST, secretkey: unit-secret, aws_region: eu-west-1}
";

    /// The context `request_filter` leaves for `route`: the upstream URI decided, and on
    /// signed routes the body's hash and length.
    fn ctx_for(table: &RouteTable, route: &str, uri: &str, body: Option<&[u8]>) -> RequestCtx {
        let route = table.route_for_tests(route);
        let RouteKind::FunctionUri(target) = &route.target else {
            panic!("not a function_uri route");
        };
        let mut u = UriRequest::new(route.clone(), target.clone());
        u.upstream_uri = Some(uri.parse().unwrap());
        u.payload = body.map(|b| BufferedBody {
            sha256: sha256_hex(b),
            len: b.len() as u64,
        });
        RequestCtx {
            selection: Selection::FunctionUri(u),
            ..RequestCtx::default()
        }
    }

    /// A client head as Pingora hands it over, with `Host: gw.test`.
    fn client_head(headers: &[(&str, &str)]) -> RequestHeader {
        let mut r = RequestHeader::build("POST", b"/p/x?q=1", None).unwrap();
        r.append_header("host", "gw.test").unwrap();
        for (k, v) in headers {
            r.append_header(k.to_string(), *v).unwrap();
        }
        r
    }

    fn header<'a>(r: &'a RequestHeader, name: &str) -> Option<&'a str> {
        r.headers.get(name).map(|v| v.to_str().unwrap())
    }

    fn run(route: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> RequestHeader {
        let table = RouteTable::from_yaml_for_tests(ROUTES);
        let mut ctx = ctx_for(&table, route, "/base/x?q=1", body);
        let mut req = client_head(headers);
        upstream_request_filter(&mut req, &mut ctx).unwrap();
        req
    }

    #[test]
    fn uri_and_host_are_the_targets_and_expect_is_dropped() {
        let req = run("plain", &[("expect", "100-continue")], None);
        assert_eq!(req.uri.to_string(), "/base/x?q=1");
        assert_eq!(header(&req, "host"), Some("127.0.0.1:9000"));
        assert_eq!(req.headers.get_all("host").iter().count(), 1);
        assert_eq!(header(&req, "expect"), None);
        // Keep-alive is on by default: no `Connection: close`.
        assert_eq!(header(&req, "connection"), None);
        assert_eq!(header(&req, "x-api-key"), None);
    }

    #[test]
    fn keepalive_off_closes_the_upstream_connection() {
        let req = run("closing", &[], None);
        assert_eq!(header(&req, "connection"), Some("close"));
    }

    #[test]
    fn client_credentials_are_stripped_unless_forwarded() {
        let sent = [
            ("authorization", "Bearer client"),
            ("x-amz-security-token", "client-token"),
            ("x-amz-date", "20200101T000000Z"),
            ("x-api-key", "client-key"),
            ("x-other", "kept"),
        ];
        let stripped = run("plain", &sent, None);
        for name in [
            "authorization",
            "x-amz-security-token",
            "x-amz-date",
            "x-api-key",
        ] {
            assert_eq!(header(&stripped, name), None, "{name}");
        }
        assert_eq!(header(&stripped, "x-other"), Some("kept"));
        let forwarded = run("forwarding", &sent, None);
        for (name, value) in sent {
            assert_eq!(header(&forwarded, name), Some(value), "{name}");
        }
    }

    #[test]
    fn api_key_per_policy() {
        let client = [("x-api-key", "client-key")];
        // replace (default): the configured key, whatever the client sent.
        assert_eq!(
            header(&run("replace", &client, None), "x-api-key"),
            Some("conf-key")
        );
        assert_eq!(
            header(&run("replace", &[], None), "x-api-key"),
            Some("conf-key")
        );
        // keep_client: the client's key when it sent one, else the configured one.
        let kept = run("keep", &client, None);
        assert_eq!(header(&kept, "x-api-key"), Some("client-key"));
        assert_eq!(kept.headers.get_all("x-api-key").iter().count(), 1);
        assert_eq!(
            header(&run("keep", &[], None), "x-api-key"),
            Some("conf-key")
        );
    }

    #[test]
    fn signed_route_pins_the_length_and_signs_what_is_sent() {
        let body = b"hello";
        let sent = [
            ("transfer-encoding", "chunked"),
            ("authorization", "AWS4-HMAC-SHA256 Credential=CLIENT/forged"),
            ("x-amz-date", "20200101T000000Z"),
        ];
        let req = run("signed", &sent, Some(body));
        assert_eq!(header(&req, "transfer-encoding"), None);
        assert_eq!(header(&req, "content-length"), Some("5"));
        let auth = header(&req, "authorization").unwrap();
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDUNITTEST/")
                && auth.contains("/eu-west-1/execute-api/aws4_request")
                && auth.contains("SignedHeaders=")
                && auth.contains("host;"),
            "{auth}"
        );
        let date = header(&req, "x-amz-date").unwrap();
        assert_ne!(date, "20200101T000000Z");
        assert_eq!(date.len(), 16, "{date}");
        // An empty body without a declared length stays without one.
        let empty = run("signed", &[], Some(b""));
        assert_eq!(header(&empty, "content-length"), None);
        assert!(header(&empty, "authorization").is_some());
    }

    #[test]
    fn signed_route_without_a_body_hash_is_an_internal_error() {
        let table = RouteTable::from_yaml_for_tests(ROUTES);
        let mut ctx = ctx_for(&table, "signed", "/base/x", None);
        let mut req = client_head(&[]);
        let e = upstream_request_filter(&mut req, &mut ctx).unwrap_err();
        assert_eq!(e.etype(), &InternalError);
        assert_eq!(header(&req, "authorization"), None);
    }

    #[test]
    fn without_a_function_uri_selection_nothing_is_sent() {
        let mut ctx = RequestCtx::default();
        let mut req = client_head(&[]);
        assert!(upstream_request_filter(&mut req, &mut ctx).is_err());
    }

    #[test]
    fn strip_client_credentials_keeps_the_key_only_for_keep_client() {
        let head = || {
            client_head(&[
                ("Authorization", "x"),
                ("X-Amz-Target", "t"),
                ("x-api-key", "k"),
                ("x-amzn-trace-id", "Root=1"),
            ])
        };
        for (policy, key_kept) in [
            (None, false),
            (Some(ApiKeyPolicy::Replace), false),
            (Some(ApiKeyPolicy::Reject), false),
            (Some(ApiKeyPolicy::KeepClient), true),
        ] {
            let mut req = head();
            strip_client_credentials(&mut req, policy);
            assert_eq!(header(&req, "authorization"), None, "{policy:?}");
            assert_eq!(header(&req, "x-amz-target"), None, "{policy:?}");
            assert_eq!(header(&req, "x-api-key").is_some(), key_kept, "{policy:?}");
            // `x-amzn-*` is not `x-amz-*`: the trace id goes through.
            assert_eq!(header(&req, "x-amzn-trace-id"), Some("Root=1"));
            assert_eq!(header(&req, "host"), Some("gw.test"));
        }
    }
}
