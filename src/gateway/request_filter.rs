//! `request_filter`: route matching, per-route request policies, body limits, and for signed
//! routes reading the whole body so its SHA-256 is known before the head is signed.

use std::time::Duration;

use pingora::prelude::*;
use pingora::proxy::Session;

use super::request_body::{continue_if_expected, declared_length};
use super::request_uri::{canonical_query, normalize_path, TargetError};
use super::respond::{self, credentials_unavailable, refuse};
use super::{ErrorCode, Gateway, GatewayError, RequestCtx};
use super::{LargeBody, Selection, SubrequestInfo, UriRequest};
use crate::api_keys::Lookup;
use crate::config::ApiKeyPolicy;
use crate::function_name::handler as invoke;
use crate::function_uri::{forward_path, signed_body};
use crate::routing::{Route, RouteKind, RouteMatch};

pub async fn request_filter(
    gw: &Gateway,
    session: &mut Session,
    ctx: &mut RequestCtx,
) -> Result<bool> {
    // The child of a large signed body: everything was decided by the parent.
    if let Some(sub) = session.subrequest_ctx.as_ref() {
        if let Some(info) = sub
            .user_ctx()
            .and_then(|u| u.downcast_ref::<SubrequestInfo>())
        {
            ctx.selection = Selection::FunctionUri(info.upstream.clone());
            ctx.large_body = LargeBody::Child(info.outcome.clone());
            return Ok(false);
        }
    }

    // RFC 9112 §9.3.2: requests a client pipelines behind this one are answered in order
    // (Pingora carries the bytes read past this request into the next one on the connection).
    session.as_downstream_mut().set_pipelining_enabled(true);
    let raw_h1 = (session.req_header().version != http::Version::HTTP_2)
        .then(|| session.as_downstream().to_h1_raw());
    if let Some(err) = super::request_checks::check(session.req_header(), raw_h1.as_deref()) {
        return refuse(session, ctx, err).await;
    }
    if crate::drain::is_draining() {
        // This process is being replaced or stopped: the client reconnects for its next request.
        session.set_keepalive(None);
    }
    // Metrics: a client request (a subrequest child returned above) is in flight until logging.
    ctx.metrics_in_flight = Some(crate::metrics::InFlight::start());
    let table = gw.routes.load();
    session.set_read_timeout(Some(Duration::from_millis(table.client.body_timeout)));
    session.set_write_timeout(Some(Duration::from_millis(table.client.send_timeout)));
    let req = session.req_header();
    // Routes are matched on the normalised path (`crate::gateway::request_uri`), and what is forwarded
    // is built from that same path, so the route that decided is the one the upstream sees.
    let Ok(path) = normalize_path(req.uri.path()) else {
        let err = GatewayError::new(
            400,
            ErrorCode::BadPath,
            "the path has a malformed percent escape",
        );
        return refuse(session, ctx, err).await;
    };
    if table.health_path.as_deref() == Some(path.as_str())
        && (req.method == http::Method::GET || req.method == http::Method::HEAD)
    {
        ctx.error_code = None;
        respond::json(session, 200, b"{\"status\":\"ok\"}\n").await?;
        return Ok(true);
    }
    let host = request_host(req);
    if let Some(method) = crate::cors::preflight::requested_method(req) {
        let route = table.preflight_route(&path, host.as_deref(), method);
        if let Some((route, policy)) = route.and_then(|r| Some((r.clone(), r.cors.clone()?))) {
            ctx.selection = Selection::Preflight(route.clone());
            return crate::cors::preflight::answer(session, &route.name, &policy).await;
        }
    }
    let (t, forwarded) = match table.find(&path, host.as_deref(), req.method.as_str()) {
        RouteMatch::Found { route, rest } => {
            let throttled = route.throttle.is_some() || table.throttling.has_plans();
            if route.auth.is_some() || route.api_key_required || throttled {
                // Refusals below are the route's (metrics, logs) and carry its CORS headers.
                ctx.selection = match &route.target {
                    RouteKind::FunctionName(_) => Selection::FunctionName(route.clone()),
                    RouteKind::FunctionUri(t) => {
                        Selection::FunctionUri(UriRequest::new(route.clone(), t.clone()))
                    }
                };
                if let Some(policy) = &route.cors {
                    crate::cors::response::select(session, policy);
                }
                if let Some(ra) = &route.auth {
                    match authorize(gw, session, &path, rest, &route.name, ra).await {
                        Ok(grant) => ctx.auth = Some(grant),
                        Err(err) => return refuse(session, ctx, err).await,
                    }
                }
                if route.api_key_required {
                    if let Some(err) = client_api_key(session, ctx, route, &table.api_keys) {
                        return refuse(session, ctx, err).await;
                    }
                }
                if throttled {
                    let caller = crate::throttling::Caller {
                        api_key: ctx.api_key.as_deref(),
                        grant: ctx.auth.as_ref(),
                        ip: session
                            .client_addr()
                            .and_then(|a| a.as_inet())
                            .map(|a| a.ip()),
                    };
                    let checked = table
                        .throttling
                        .check(&route.name, route.throttle.as_ref(), &caller)
                        .await;
                    match checked {
                        Ok(Some(room)) if route.rate_limit_headers => {
                            crate::throttling::headers::select(session, room);
                        }
                        Ok(_) => {}
                        Err(err) => return refuse(session, ctx, err).await,
                    }
                }
            }
            match &route.target {
                RouteKind::FunctionName(_) => {
                    let rest = rest.map(str::to_string);
                    let route = route.clone();
                    if let Some(policy) = &route.cors {
                        crate::cors::response::select(session, policy);
                    }
                    ctx.selection = Selection::FunctionName(route.clone());
                    let budget = table.limits.buffered_body_bytes;
                    return invoke::handle(gw, session, ctx, route, &path, rest.as_deref(), budget)
                        .await;
                }
                RouteKind::FunctionUri(t) => {
                    ctx.selection =
                        Selection::FunctionUri(UriRequest::new(route.clone(), t.clone()));
                    (t.clone(), forward_path(&t.url.base_path, rest))
                }
            }
        }
        RouteMatch::MethodNotAllowed(allowed) => {
            let msg = format!("method {} is not allowed here", req.method);
            let allow = allowed.join(", ");
            let err = GatewayError::new(405, ErrorCode::MethodNotAllowed, msg)
                .header("allow", allow)
                .keep_connection();
            return refuse(session, ctx, err).await;
        }
        RouteMatch::NotFound => {
            let err = GatewayError::new(
                404,
                ErrorCode::RouteNotFound,
                "no route matches this request",
            )
            .keep_connection();
            return refuse(session, ctx, err).await;
        }
    };
    // CORS headers on whatever this request is answered with (`crate::cors::response`).
    if let Some(policy) = ctx.route().and_then(|r| r.cors.clone()) {
        crate::cors::response::select(session, &policy);
    }
    let req = session.req_header();
    let Ok(mut target) = forwarded else {
        let err = GatewayError::new(
            400,
            ErrorCode::BadPath,
            "the path may not leave the route's base path",
        );
        return refuse(session, ctx, err).await;
    };
    if let Some(q) = req.uri.query() {
        if t.signing.is_some() {
            // Signed: forward exactly the canonical form that is signed (`request_uri`).
            match canonical_query(q) {
                Ok(q) if q.is_empty() => {}
                Ok(q) => {
                    target.push('?');
                    target.push_str(&q);
                }
                Err(e) => {
                    let msg = match e {
                        TargetError::NotUtf8 => {
                            "the query string has percent-encoded bytes that are not UTF-8, \
                             so it cannot be signed"
                        }
                        TargetError::BadEscape => {
                            "the query string has a malformed percent escape, so it cannot be signed"
                        }
                    };
                    let err = GatewayError::new(400, ErrorCode::UnsignableQuery, msg);
                    return refuse(session, ctx, err).await;
                }
            }
        } else {
            target.push('?');
            target.push_str(q);
        }
    }
    // Parsed once here; every attempt (retries included) sends this URI.
    let upstream_uri = http::Uri::try_from(target)
        .map_err(|e| Error::explain(InternalError, format!("upstream uri: {e}")))?;
    ctx.uri_request_mut()?.upstream_uri = Some(upstream_uri);
    if let Some(grant) = &ctx.auth {
        let values = authorizer_header_values(grant, ctx.route());
        ctx.uri_request_mut()?.authorizer_headers = values;
    }
    if let Some(k) = &t.api_key {
        if k.policy == ApiKeyPolicy::Reject && req.headers.contains_key("x-api-key") {
            let err = GatewayError::new(
                400,
                ErrorCode::ClientApiKeyRefused,
                "this route does not accept a client x-api-key",
            );
            return refuse(session, ctx, err).await;
        }
    }
    if let (Some(limit), Some(declared)) = (t.body_limit, declared_length(req)) {
        if declared > limit {
            let msg = format!(
                "request body of {declared} bytes is over this route's limit of {limit} bytes"
            );
            return refuse(session, ctx, GatewayError::body_too_large(msg)).await;
        }
    }
    if let Some(signing) = &t.signing {
        // Loaded once: `upstream_request_filter` signs with these while they are valid.
        let Some(identity) = signing.credentials.current() else {
            return credentials_unavailable(session, ctx, signing.credentials.name()).await;
        };
        if let Some(name) = unsignable_header(req, t.forward_client_credentials) {
            let msg = format!("header {name} is not valid UTF-8, so it cannot be signed");
            let err = GatewayError::new(400, ErrorCode::UnsignableHeader, msg);
            return refuse(session, ctx, err).await;
        }
        ctx.uri_request_mut()?.identity = Some(identity);
        let budget = table.limits.buffered_body_bytes;
        return signed_body::read_and_forward(session, ctx, t.body_limit, budget).await;
    }
    // Streamed: the body goes upstream as it arrives, so the client may send it now.
    continue_if_expected(session, ctx).await?;
    Ok(false)
}

/// The route's authorizer on this request (`crate::authorizers`): its approval, or the
/// refusal to answer with.
async fn authorize(
    gw: &Gateway,
    session: &Session,
    path: &str,
    rest: Option<&str>,
    route_name: &str,
    ra: &crate::authorizers::RouteAuth,
) -> std::result::Result<crate::authorizers::Grant, GatewayError> {
    let req = session.req_header();
    let headers = crate::function_name::request::end_to_end_headers(&req.headers);
    // Only Lambda authorizers and `$context.*` sources read these: a JWT route skips them.
    let context = ra.needs_request_context();
    let source_ip = session
        .client_addr()
        .and_then(|a| a.as_inet())
        .filter(|_| context)
        .map(|a| a.ip().to_string());
    let request_id = if context {
        crate::function_name::request::request_id()
    } else {
        String::new()
    };
    // The request as events see it, without a body (authorizers get none).
    let auth_req = crate::function_name::event::RequestView {
        method: req.method.as_str(),
        raw_path: path,
        raw_query: req.uri.query(),
        headers: &headers,
        body: b"",
        host: req
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| req.uri.host()),
        source_ip: source_ip.as_deref(),
        http_version: if req.version == http::Version::HTTP_2 {
            "HTTP/2.0"
        } else {
            "HTTP/1.1"
        },
        proxy_path: rest,
        request_id: &request_id,
        time: std::time::SystemTime::now(),
        api_key_id: None,
        client_cert: crate::mtls::client_cert(session),
        authorizer: None,
    };
    crate::authorizers::authorize(&gw.invoker, &auth_req, route_name, ra).await
}

/// The route's `authorizer_headers` with their values from `grant`.
fn authorizer_header_values(
    grant: &crate::authorizers::Grant,
    route: Option<&std::sync::Arc<Route>>,
) -> Vec<(http::HeaderName, Option<http::HeaderValue>)> {
    let Some(ra) = route.and_then(|r| r.auth.as_ref()) else {
        return Vec::new();
    };
    ra.headers
        .iter()
        .map(|(name, r)| {
            let value = grant
                .lookup(r)
                .and_then(|v| http::HeaderValue::from_str(&v).ok());
            (name.clone(), value)
        })
        .collect()
}

/// `api_key_required`: the caller's `x-api-key` looked up in the client API keys
/// (`crate::api_keys`), counted, and removed from the request, so it reaches neither the
/// upstream nor an event's headers (a route's own `authorization.apikey` is still set
/// upstream later). `None` when the key is accepted (its name is then in `ctx.api_key`), else
/// API Gateway's answer: 403 Forbidden for a missing key and for a wrong or disabled one alike.
fn client_api_key(
    session: &mut Session,
    ctx: &mut RequestCtx,
    route: &Route,
    keys: &crate::api_keys::ApiKeyTable,
) -> Option<GatewayError> {
    let req = session.req_header_mut();
    let mut sent = req.headers.get_all("x-api-key").iter();
    let found = match (sent.next(), sent.next()) {
        // Two keys: which one identifies the caller is ambiguous.
        (Some(_), Some(_)) => Lookup::Invalid,
        (first, _) => keys.lookup(first.map(|v| v.as_bytes())),
    };
    req.remove_header("x-api-key");
    let result = found.result();
    match found {
        Lookup::Allowed(name) => {
            crate::metrics::api_key_request(&route.name, Some(&name), result);
            ctx.api_key = Some(name);
            None
        }
        Lookup::Missing | Lookup::Invalid => {
            crate::metrics::api_key_request(&route.name, None, result);
            Some(GatewayError::new(403, ErrorCode::Forbidden, "Forbidden"))
        }
    }
}

/// A client header the signer will sign (its allow-list, less `host`, which the gateway
/// replaces, and the client's `x-amz-*` unless the route forwards them) whose value is not
/// UTF-8: SigV4 cannot cover it, and AWS would refuse the request with 403, so the client is
/// told why instead.
fn unsignable_header(req: &RequestHeader, forwards_client_amz: bool) -> Option<&str> {
    req.headers.iter().find_map(|(name, value)| {
        let n = name.as_str();
        let signed = crate::aws::sigv4::is_allow_listed(name)
            && name != http::header::HOST
            && (forwards_client_amz || !n.starts_with("x-amz-"));
        (signed && std::str::from_utf8(value.as_bytes()).is_err()).then_some(n)
    })
}

/// The request's host name as routes match it: `Host` header (h1) or the `:authority` (h2),
/// without port, lower case, without a trailing dot (`A.Example.COM.` is `a.example.com`).
fn request_host(req: &RequestHeader) -> Option<std::borrow::Cow<'_, str>> {
    let raw = match req.headers.get(http::header::HOST) {
        Some(h) => h.to_str().ok()?,
        None => req.uri.host()?,
    };
    Some(normalize_host(strip_port(raw)))
}

/// Lower case, no trailing dot; borrowed when already so.
pub fn normalize_host(h: &str) -> std::borrow::Cow<'_, str> {
    let h = h.strip_suffix('.').unwrap_or(h);
    if h.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(h.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(h)
    }
}

fn strip_port(h: &str) -> &str {
    if let Some(rest) = h.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match h.rfind(':') {
        Some(i) if h[i + 1..].bytes().all(|b| b.is_ascii_digit()) => &h[..i],
        _ => h,
    }
}

#[cfg(test)]
mod tests {
    use super::{normalize_host, request_host, strip_port};
    use pingora::http::RequestHeader;

    #[test]
    fn host_without_port() {
        assert_eq!(strip_port("a.example.com:8080"), "a.example.com");
        assert_eq!(strip_port("a.example.com"), "a.example.com");
        assert_eq!(strip_port("[::1]:80"), "::1");
        assert_eq!(strip_port("127.0.0.1"), "127.0.0.1");
        // Only an all-digit tail is a port.
        assert_eq!(strip_port("a.example.com:"), "a.example.com");
        assert_eq!(strip_port("a.example.com:x1"), "a.example.com:x1");
        assert_eq!(strip_port("[::1]"), "::1");
        assert_eq!(strip_port("[2001:db8::1]:8443"), "2001:db8::1");
        assert_eq!(normalize_host("A.Example.COM."), "a.example.com");
        assert_eq!(normalize_host("b.example."), "b.example");
        assert_eq!(normalize_host("c.example"), "c.example");
    }

    #[test]
    fn request_host_is_the_host_header_else_the_authority() {
        let mut h1 = RequestHeader::build("GET", b"/x", None).unwrap();
        h1.append_header("host", "API.Example.COM.:8080").unwrap();
        assert_eq!(request_host(&h1).as_deref(), Some("api.example.com"));
        // HTTP/2: no Host header, the `:authority` of the URI.
        let mut h2 = RequestHeader::build("GET", b"/x", None).unwrap();
        h2.set_uri(http::Uri::from_static("https://B.Example.com:8443/x"));
        assert_eq!(request_host(&h2).as_deref(), Some("b.example.com"));
        let none = RequestHeader::build("GET", b"/x", None).unwrap();
        assert_eq!(request_host(&none), None);
    }
}
