//! Lambda (REQUEST) authorizers: the event built from the request (payload 1.0 or 2.0,
//! `crate::authorizers::lambda_payload`), one signed Invoke through the gateway's own Invoke
//! client (`crate::function_name::call`: the same pooled TLS peers, retries of connections
//! that could not be opened, credentials), and the answer read as API Gateway reads it.
//!
//! Answers are cached per authorizer by the identity values for
//! `authorizer_result_ttl_in_seconds` (0: off), bounded to [`CACHE_ENTRIES`]; concurrent
//! requests with the same identity share one Invoke. What is cached is the authorizer's answer,
//! not the decision: a policy is evaluated against each request's own route ARN, as API
//! Gateway does. Failures are never cached.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use pingora::connectors::http::Connector;
use sha2::{Digest, Sha256};

use super::grant::LambdaGrant;
use super::lambda_payload::{authorizer_event, parse_verdict, route_arn, PayloadFormat, Verdict};
use super::RouteAuth;
use crate::config::{AuthorizerConf, ConfigError, PayloadVersionConf, RouteConf};
use crate::function_name::InvokeTarget;
use crate::routing::BuildContext;

/// Answers kept per authorizer.
pub const CACHE_ENTRIES: u64 = 10_000;
/// Largest authorizer answer read.
const ANSWER_LIMIT: usize = 64 * 1024;

pub struct LambdaAuthorizer {
    pub target: InvokeTarget,
    pub format: PayloadFormat,
    pub simple: bool,
    /// `None`: caching off.
    cache: Option<moka::future::Cache<[u8; 32], Bytes>>,
}

impl std::fmt::Debug for LambdaAuthorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LambdaAuthorizer")
            .field("target", &self.target)
            .field("format", &self.format)
            .field("simple", &self.simple)
            .field("cached", &self.cache.is_some())
            .finish()
    }
}

/// What a Lambda authorizer decided.
#[derive(Debug)]
pub enum LambdaOutcome {
    Allowed(Arc<LambdaGrant>),
    Denied,
}

impl LambdaAuthorizer {
    pub fn build(
        cx: &BuildContext,
        i: usize,
        c: &AuthorizerConf,
        route: &RouteConf,
    ) -> Result<LambdaAuthorizer, ConfigError> {
        let err = |f: &str, reason: String| ConfigError {
            file: cx.file.to_path_buf(),
            field: format!("authorizers[{i}].{f}"),
            reason,
        };
        crate::function_name::validate_function_name_route(route).map_err(|(f, r)| err(&f, r))?;
        // Built as a `function_name` route; its errors name this authorizer's fields.
        let target = InvokeTarget::build(cx, i, route).map_err(|mut e| {
            let prefix = format!("routes[{i}]");
            if let Some(rest) = e.field.strip_prefix(&prefix) {
                e.field = format!("authorizers[{i}]{rest}");
            }
            e
        })?;
        let format = match c
            .authorizer_payload_format_version
            .unwrap_or(PayloadVersionConf::V2)
        {
            PayloadVersionConf::V1 => PayloadFormat::V1,
            PayloadVersionConf::V2 => PayloadFormat::V2,
        };
        if c.enable_simple_responses && format == PayloadFormat::V1 {
            return Err(err(
                "enable_simple_responses",
                "simple responses need authorizer_payload_format_version \"2.0\"".into(),
            ));
        }
        let ttl = c.authorizer_result_ttl_in_seconds;
        if ttl > 3600 {
            return Err(err(
                "authorizer_result_ttl_in_seconds",
                "must be 0 to 3600".into(),
            ));
        }
        if ttl > 0 && c.identity_source.is_empty() {
            return Err(err(
                "identity_source",
                "caching (authorizer_result_ttl_in_seconds) keys answers by the identity values: \
                 name at least one source"
                    .into(),
            ));
        }
        let cache = (ttl > 0).then(|| {
            moka::future::Cache::builder()
                .max_capacity(CACHE_ENTRIES)
                .time_to_live(Duration::from_secs(ttl))
                .build()
        });
        Ok(LambdaAuthorizer {
            target,
            format,
            simple: c.enable_simple_responses,
            cache,
        })
    }

    /// The decision on `req` with these identity values.
    pub async fn check(
        &self,
        invoker: &Connector,
        req: &crate::function_name::event::RequestView<'_>,
        identity: &[String],
        ra: &RouteAuth,
        route_name: &str,
    ) -> Result<LambdaOutcome, String> {
        let s = &ra.settings;
        let arn = route_arn(
            &self.target.region,
            &s.account_id,
            &s.api_id,
            &s.stage,
            req.method,
            req.raw_path,
        );
        let answer = match &self.cache {
            None => {
                self.invoke(invoker, req, identity, ra, &arn, route_name)
                    .await?
            }
            Some(cache) => {
                let mut missed = false;
                let got = cache
                    .try_get_with(cache_key(identity), async {
                        missed = true;
                        let answer = self
                            .invoke(invoker, req, identity, ra, &arn, route_name)
                            .await?;
                        // An unreadable answer is a failure: not cached, so the next
                        // request asks again (a deny, a readable answer, is cached).
                        parse_verdict(&answer, self.format, self.simple, &arn)?;
                        Ok::<_, String>(answer)
                    })
                    .await
                    .map_err(|e| e.to_string())?;
                crate::metrics::authorizer_cache(&ra.authorizer.name, !missed);
                got
            }
        };
        match parse_verdict(&answer, self.format, self.simple, &arn)? {
            Verdict::Allow {
                principal_id,
                context,
                ..
            } => Ok(LambdaOutcome::Allowed(Arc::new(LambdaGrant {
                principal_id,
                context,
            }))),
            Verdict::Deny => Ok(LambdaOutcome::Denied),
        }
    }

    /// One Invoke of the authorizer: its answer's bytes, or why there is none.
    async fn invoke(
        &self,
        invoker: &Connector,
        req: &crate::function_name::event::RequestView<'_>,
        identity: &[String],
        ra: &RouteAuth,
        arn: &str,
        route_name: &str,
    ) -> Result<Bytes, String> {
        let t = &self.target;
        let Some(credentials) = t.signing.credentials.current() else {
            return Err(format!(
                "no AWS credentials for {} yet",
                t.signing.credentials.name()
            ));
        };
        let event = Bytes::from(authorizer_event(
            self.format,
            req,
            &ra.settings,
            identity,
            arn,
        ));
        let head = crate::function_name::request::signed_invoke_head(t, &credentials, &event, None)
            .map_err(|e| format!("signing: {e}"))?;
        let started = Instant::now();
        let call = crate::function_name::call::send(invoker, t, &head, &event, route_name, started);
        let mut call = match tokio::time::timeout(t.read_timeout, call).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return Err(format!("Invoke of {}: {e}", t.function)),
            Err(_) => {
                return Err(format!(
                    "Invoke of {}: no answer within {:?}",
                    t.function, t.read_timeout
                ))
            }
        };
        let status = call.status();
        let function_error = call.header("x-amz-function-error").map(str::to_string);
        let body = match tokio::time::timeout(t.read_timeout, call.read_to_end(ANSWER_LIMIT)).await
        {
            Ok(Ok(b)) => b,
            Ok(Err(e)) => return Err(format!("Invoke of {}: reading the answer: {e}", t.function)),
            Err(_) => {
                return Err(format!(
                    "Invoke of {}: the answer did not arrive within {:?}",
                    t.function, t.read_timeout
                ))
            }
        };
        call.finish(invoker, t.keepalive, t.idle_timeout).await;
        if status != 200 {
            return Err(format!("Invoke of {} answered {status}", t.function));
        }
        if let Some(kind) = function_error {
            return Err(format!("the authorizer function failed ({kind})"));
        }
        Ok(body)
    }
}

/// The cache key of identity values (length-prefixed, so `["a,b"]` and `["a", "b"]` differ).
fn cache_key(identity: &[String]) -> [u8; 32] {
    let mut h = Sha256::new();
    for v in identity {
        h.update((v.len() as u64).to_be_bytes());
        h.update(v.as_bytes());
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::cache_key;

    #[test]
    fn identity_values_are_delimited_in_the_key() {
        assert_ne!(
            cache_key(&["a,b".into()]),
            cache_key(&["a".into(), "b".into()])
        );
        assert_ne!(
            cache_key(&["ab".into(), "".into()]),
            cache_key(&["a".into(), "b".into()])
        );
        assert_eq!(cache_key(&["x".into()]), cache_key(&["x".into()]));
    }
}
