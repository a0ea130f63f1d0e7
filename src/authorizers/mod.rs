//! Who may call: the top-level `authorizers` (API Gateway HTTP API's JWT and Lambda REQUEST
//! authorizers), compiled once per load into an [`AuthorizerSet`], and the check a route
//! that names one runs in `request_filter`, before any AWS call of the route ([`authorize`]).
//!
//! Answers, as API Gateway gives them: 401 when the identity source is missing or a token is
//! refused (JWT: `WWW-Authenticate: Bearer`, RFC 6750, with `error="invalid_token"` when a
//! token was sent); 403 when a Lambda authorizer denies or a token lacks the route's scopes
//! (`error="insufficient_scope"`); 500 when a Lambda authorizer fails, times out or answers
//! something unreadable; 503 (with `Retry-After`) while a JWT issuer's keys could not be
//! fetched yet.
//!
//! Modules: `jwt` (tokens), `jwks` (issuers' keys, kept fresh in the background), `lambda`
//! (Lambda authorizers: call and cache), `lambda_payload` (their events and answers, identity
//! sources), `grant` (what an approval carries on).

pub mod grant;
pub mod jwks;
pub mod jwt;
pub mod lambda;
pub mod lambda_payload;
pub mod request;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use http::HeaderName;

use crate::config::{AuthorizerConf, AuthorizerType, ConfigError, RouteConf};
use crate::function_name::event::EventSettings;
use crate::gateway::{ErrorCode, GatewayError};
use crate::routing::BuildContext;
pub use grant::{ContextRef, Grant, LambdaGrant};
use jwks::{JwksRegistry, JwksSpec};
use jwt::{JwtAuthorizer, JwtOutcome};
use lambda::LambdaAuthorizer;
use lambda_payload::IdentitySource;

/// One compiled authorizer.
#[derive(Debug)]
pub struct Authorizer {
    pub name: Arc<str>,
    pub identity: Vec<IdentitySource>,
    pub kind: Kind,
}

#[derive(Debug)]
pub enum Kind {
    Jwt(JwtAuthorizer),
    Lambda(Box<LambdaAuthorizer>),
}

/// The authorizers of one load, by name.
#[derive(Debug, Default)]
pub struct AuthorizerSet {
    by_name: HashMap<String, Arc<Authorizer>>,
}

/// A route's use of an authorizer.
#[derive(Debug)]
pub struct RouteAuth {
    pub authorizer: Arc<Authorizer>,
    /// JWT: the token needs one of these (none: any token).
    pub scopes: Vec<String>,
    /// `authorizer_headers`, parsed.
    pub headers: Vec<(HeaderName, ContextRef)>,
    /// The API Gateway context of the route (Lambda authorizer events, `$context.*`).
    pub settings: EventSettings,
}

fn field_error(file: &std::path::Path, field: String, reason: String) -> ConfigError {
    ConfigError {
        file: file.to_path_buf(),
        field,
        reason,
    }
}

impl AuthorizerSet {
    /// Checks and compiles `confs`; key set sources come from `jwks` (shared across reloads).
    pub fn build(
        cx: &BuildContext,
        confs: &[AuthorizerConf],
        jwks: &JwksRegistry,
    ) -> Result<AuthorizerSet, ConfigError> {
        let mut set = AuthorizerSet::default();
        for (i, c) in confs.iter().enumerate() {
            let at = |f: &str| format!("authorizers[{i}].{f}");
            let err = |f: &str, reason: String| field_error(cx.file, at(f), reason);
            crate::config::check_label_name(&c.name).map_err(|r| err("name", r))?;
            if set.by_name.contains_key(&c.name) {
                return Err(err(
                    "name",
                    format!("duplicate authorizer name `{}`", c.name),
                ));
            }
            let mut identity = Vec::new();
            for (j, s) in c.identity_source.iter().enumerate() {
                identity.push(
                    IdentitySource::parse(s)
                        .map_err(|r| err(&format!("identity_source[{j}]"), r))?,
                );
            }
            let kind = match c.authorizer_type {
                AuthorizerType::Jwt => {
                    if c.invoke.0.is_some() {
                        return Err(err(
                            "function_name",
                            "a jwt authorizer calls no function (remove the Lambda fields, or use authorizer_type: request)".into(),
                        ));
                    }
                    for (set_, f) in [
                        (
                            c.authorizer_payload_format_version.is_some(),
                            "authorizer_payload_format_version",
                        ),
                        (c.enable_simple_responses, "enable_simple_responses"),
                        (
                            c.authorizer_result_ttl_in_seconds != 0,
                            "authorizer_result_ttl_in_seconds",
                        ),
                    ] {
                        if set_ {
                            return Err(err(f, "only for authorizer_type: request".into()));
                        }
                    }
                    if identity.is_empty() {
                        identity.push(
                            IdentitySource::parse("$request.header.Authorization")
                                .map_err(|r| err("identity_source", r))?,
                        );
                    }
                    if identity.len() != 1 {
                        return Err(err(
                            "identity_source",
                            "a jwt authorizer reads its token from exactly one source".into(),
                        ));
                    }
                    let j = c.jwt_configuration.as_ref().ok_or_else(|| {
                        err(
                            "jwt_configuration",
                            "required for authorizer_type: jwt (issuer, audience)".into(),
                        )
                    })?;
                    Kind::Jwt(jwt_authorizer(cx, i, j, jwks)?)
                }
                AuthorizerType::Request => {
                    if c.jwt_configuration.is_some() {
                        return Err(err(
                            "jwt_configuration",
                            "only for authorizer_type: jwt".into(),
                        ));
                    }
                    let Some(route) = &c.invoke.0 else {
                        return Err(err(
                            "function_name",
                            "required for authorizer_type: request (the Lambda authorizer)".into(),
                        ));
                    };
                    Kind::Lambda(Box::new(LambdaAuthorizer::build(cx, i, c, route)?))
                }
            };
            set.by_name.insert(
                c.name.clone(),
                Arc::new(Authorizer {
                    name: c.name.as_str().into(),
                    identity,
                    kind,
                }),
            );
        }
        Ok(set)
    }

    /// What `routes[index]` asks for, checked (`None` without `authorizer`).
    pub fn for_route(
        &self,
        cx: &BuildContext,
        index: usize,
        r: &RouteConf,
        settings: EventSettings,
    ) -> Result<Option<Arc<RouteAuth>>, ConfigError> {
        let err = |f: &str, reason: String| cx.route_error(index, f, reason);
        let Some(name) = &r.authorizer else {
            if !r.authorization_scopes.is_empty() {
                return Err(err(
                    "authorization_scopes",
                    "needs `authorizer` (a jwt authorizer)".into(),
                ));
            }
            if !r.authorizer_headers.is_empty() {
                return Err(err("authorizer_headers", "needs `authorizer`".into()));
            }
            return Ok(None);
        };
        let Some(a) = self.by_name.get(name) else {
            let mut known: Vec<&str> = self.by_name.keys().map(String::as_str).collect();
            known.sort_unstable();
            return Err(err(
                "authorizer",
                format!(
                    "no authorizer named `{name}` (top-level `authorizers`: {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        };
        if !r.authorization_scopes.is_empty() && !matches!(a.kind, Kind::Jwt(_)) {
            return Err(err(
                "authorization_scopes",
                "only with a jwt authorizer (as API Gateway: a Lambda authorizer decides by itself)".into(),
            ));
        }
        if !r.authorizer_headers.is_empty() && r.function_name.is_some() {
            return Err(err(
                "authorizer_headers",
                "only on function_uri routes (function_name events carry the authorizer's answer in requestContext.authorizer)".into(),
            ));
        }
        let headers = parse_headers(&r.authorizer_headers)
            .map_err(|(f, reason)| err(&format!("authorizer_headers.{f}"), reason))?;
        Ok(Some(Arc::new(RouteAuth {
            authorizer: a.clone(),
            scopes: r.authorization_scopes.clone(),
            headers,
            settings,
        })))
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

impl RouteAuth {
    /// Whether the check reads the client address and a request id (Lambda authorizer events,
    /// `$context.*` identity sources); a JWT read from a header does not, and skips making them.
    pub fn needs_request_context(&self) -> bool {
        let a = &self.authorizer;
        matches!(a.kind, Kind::Lambda(_))
            || a.identity
                .iter()
                .any(|s| matches!(s, IdentitySource::Context(_)))
    }
}

fn parse_headers(
    m: &BTreeMap<String, String>,
) -> Result<Vec<(HeaderName, ContextRef)>, (String, String)> {
    let mut out = Vec::with_capacity(m.len());
    for (name, value) in m {
        let h = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| (name.clone(), "not a header name".to_string()))?;
        if crate::aws::sigv4::is_allow_listed(&h)
            || h == http::header::HOST
            || h.as_str().starts_with("x-amz-")
            || h == http::header::AUTHORIZATION
        {
            return Err((
                name.clone(),
                "a header the gateway sets or signs itself".into(),
            ));
        }
        let r = ContextRef::parse(value).map_err(|reason| (name.clone(), reason))?;
        out.push((h, r));
    }
    Ok(out)
}

fn jwt_authorizer(
    cx: &BuildContext,
    i: usize,
    j: &crate::config::JwtConf,
    jwks: &JwksRegistry,
) -> Result<JwtAuthorizer, ConfigError> {
    let err = |f: &str, reason: String| {
        field_error(
            cx.file,
            format!("authorizers[{i}].jwt_configuration.{f}"),
            reason,
        )
    };
    let issuer_url =
        crate::upstream::url::UpstreamUrl::parse(&j.issuer).map_err(|r| err("issuer", r))?;
    let jwks_uri = j
        .jwks_uri
        .as_deref()
        .map(crate::upstream::url::UpstreamUrl::parse)
        .transpose()
        .map_err(|r| err("jwks_uri", r))?;
    if j.audience.is_empty() || j.audience.iter().any(String::is_empty) {
        return Err(err(
            "audience",
            "list the accepted audiences (`aud`, or `client_id` of tokens without `aud`)".into(),
        ));
    }
    if !(60..=86_400).contains(&j.refresh_seconds) {
        return Err(err("refresh_seconds", "must be 60 to 86400".into()));
    }
    let ca = match &j.ca_file {
        None => None,
        Some(p) => Some(
            crate::upstream::peer::load_ca(&crate::config::validate_resolve(cx.file, p), p)
                .map_err(|r| err("ca_file", r))?,
        ),
    };
    let spec = JwksSpec {
        issuer: j.issuer.clone(),
        jwks_uri,
        issuer_url,
        ca,
        refresh: std::time::Duration::from_secs(j.refresh_seconds),
    };
    Ok(JwtAuthorizer::new(
        j.issuer.clone(),
        j.audience.clone(),
        jwks.get(spec),
    ))
}

/// The refusal for a missing identity (API Gateway: 401 without calling the authorizer).
fn unauthorized(jwt: bool, invalid: Option<&str>) -> GatewayError {
    let e = GatewayError::new(401, ErrorCode::Unauthorized, "Unauthorized");
    if !jwt {
        return e;
    }
    let challenge = match invalid {
        None => "Bearer".to_string(),
        Some(why) => format!(
            "Bearer error=\"invalid_token\", error_description=\"{}\"",
            why.replace(['"', '\\'], "'")
        ),
    };
    e.header("www-authenticate", challenge)
}

/// Runs the route's authorizer on this request: the approval, or the answer to refuse with.
pub async fn authorize(
    invoker: &pingora::connectors::http::Connector,
    req: &crate::function_name::event::RequestView<'_>,
    route_name: &str,
    ra: &RouteAuth,
) -> Result<Grant, GatewayError> {
    let a = &ra.authorizer;
    let decided = |result: &str| crate::metrics::authorizer_decision(route_name, &a.name, result);
    let identity = match request::identity(req, &a.identity, &ra.settings) {
        Ok(v) => v,
        Err(_) => {
            decided("unauthorized");
            return Err(unauthorized(matches!(a.kind, Kind::Jwt(_)), None));
        }
    };
    match &a.kind {
        Kind::Jwt(j) => {
            let token = jwt::bearer_token(&identity[0]);
            match j.check(token).await {
                JwtOutcome::Allowed { token, cache_hit } => {
                    crate::metrics::authorizer_cache(&a.name, cache_hit);
                    if !ra.scopes.is_empty() && !token.has_any_scope(&ra.scopes) {
                        decided("forbidden");
                        let challenge = format!(
                            "Bearer error=\"insufficient_scope\", scope=\"{}\"",
                            ra.scopes.join(" ")
                        );
                        return Err(GatewayError::new(
                            403,
                            ErrorCode::InsufficientScope,
                            "the token lacks the scope this route requires",
                        )
                        .header("www-authenticate", challenge));
                    }
                    decided("allowed");
                    Ok(Grant::Jwt(token))
                }
                JwtOutcome::Invalid(e) => {
                    decided("unauthorized");
                    log::debug!(
                        "route {route_name}: authorizer {}: token refused: {}",
                        a.name,
                        e.description()
                    );
                    Err(unauthorized(true, Some(&e.description())))
                }
                JwtOutcome::KeysUnavailable => {
                    decided("error");
                    Err(GatewayError::new(
                        503,
                        ErrorCode::AuthorizerUnavailable,
                        "the token issuer's keys are not available yet",
                    )
                    .header("retry-after", "5"))
                }
            }
        }
        Kind::Lambda(l) => match l.check(invoker, req, &identity, ra, route_name).await {
            Ok(lambda::LambdaOutcome::Allowed(g)) => {
                decided("allowed");
                Ok(Grant::Lambda(g))
            }
            Ok(lambda::LambdaOutcome::Denied) => {
                decided("forbidden");
                Err(GatewayError::new(403, ErrorCode::Forbidden, "Forbidden"))
            }
            Err(why) => {
                decided("error");
                log::warn!("route {route_name}: authorizer {} failed: {why}", a.name);
                Err(GatewayError::new(
                    500,
                    ErrorCode::AuthorizerError,
                    "the authorizer failed",
                ))
            }
        },
    }
}
