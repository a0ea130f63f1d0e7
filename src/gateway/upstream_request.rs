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
