//! `function_uri` targets (APISIX's model): an API Gateway stage or a Lambda Function URL
//! reached over pooled HTTP(S), authenticated by an API key and/or SigV4.
//!
//! Everything that does not depend on the request (TLS trust, timeouts, the signer, the
//! peer template) is built once here, when the route table is built.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;
use pingora::upstreams::peer::HttpPeer;

use crate::aws::sigv4::RequestSigner;
use crate::config::{
    ApiKeyPolicy, ClientCredentialsPolicy, ConfigError, RouteConf, DEFAULT_FUNCTION_URL_TIMEOUT_MS,
    DEFAULT_SIGNED_BODY_LIMIT, DEFAULT_TIMEOUT_MS,
};
use crate::upstream::dns::UpstreamHost;
use crate::upstream::UpstreamUrl;

use crate::aws::route_credentials::{config_error, CredentialFields};
use crate::aws::Signing;
use crate::routing::BuildContext;
use crate::upstream::peer::{peer_for, peer_template};

/// The configured API key and what to do with a client-sent one.
pub struct ApiKey {
    pub value: HeaderValue,
    pub policy: ApiKeyPolicy,
}

pub struct FunctionUriTarget {
    pub url: UpstreamUrl,
    /// `Host` header value sent upstream (and signed).
    pub host_header: HeaderValue,
    pub upstream: Arc<UpstreamHost>,
    pub api_key: Option<ApiKey>,
    pub signing: Option<Signing>,
    /// Largest accepted request body; always set for signed routes.
    pub body_limit: Option<u64>,
    pub keepalive: bool,
    /// Forward client `authorization` / `x-amz-*` / `x-api-key` (policy `forward`).
    pub forward_client_credentials: bool,
    pub keepalive_pool: usize,
    pub read_timeout: Duration,
    /// What is safe to retry is retried this way (`crate::retry`).
    pub retry: crate::retry::RetryPolicy,
    /// Peer with every option set; only the address changes per request.
    peer_template: HttpPeer,
}

impl std::fmt::Debug for FunctionUriTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FunctionUriTarget")
            .field("url", &self.url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("signing", &self.signing)
            .field("body_limit", &self.body_limit)
            .finish_non_exhaustive()
    }
}

impl FunctionUriTarget {
    /// Builds the target of `routes[index]`; errors name the field.
    pub fn build(
        cx: &BuildContext,
        index: usize,
        r: &RouteConf,
    ) -> Result<FunctionUriTarget, ConfigError> {
        let file = cx.file;
        let err = |field: &str, reason: String| cx.route_error(index, field, reason);
        let uri = r.function_uri.as_deref().unwrap_or_default();
        let url = UpstreamUrl::parse(uri).map_err(|e| err("function_uri", e))?;
        let host_header = HeaderValue::from_str(&url.host_header)
            .map_err(|e| err("function_uri", e.to_string()))?;

        let auth = r.authorization.as_ref();
        let api_key = match auth.and_then(|a| a.apikey.as_ref()) {
            Some(k) => Some(ApiKey {
                value: HeaderValue::from_str(k.expose())
                    .map_err(|_| err("authorization.apikey", "not a valid header value".into()))?,
                policy: auth.map(|a| a.apikey_policy).unwrap_or_default(),
            }),
            None => None,
        };
        let iam = auth.and_then(|a| a.iam.as_ref());
        let signing = match iam {
            None => None,
            Some(iam) => {
                let fields = CredentialFields::of_iam(iam);
                let spec = fields
                    .spec(cx.named_credentials, &iam.aws_region)
                    .map_err(|fe| config_error(file, index, fe))?;
                Some(Signing {
                    signer: RequestSigner::for_scope(&iam.aws_region, &iam.service),
                    credentials: cx
                        .credentials
                        .get_named(&spec, &fields.source_name(&r.name)),
                })
            }
        };
        let body_limit = match (r.max_body_size, signing.is_some()) {
            (Some(m), _) => Some(m),
            (None, true) => Some(DEFAULT_SIGNED_BODY_LIMIT),
            (None, false) => None,
        };
        let is_function_url =
            url.host.ends_with(".on.aws") || iam.is_some_and(|i| i.service == "lambda");
        let read_timeout = Duration::from_millis(r.timeout.unwrap_or(if is_function_url {
            DEFAULT_FUNCTION_URL_TIMEOUT_MS
        } else {
            DEFAULT_TIMEOUT_MS
        }));

        let peer = peer_template(file, index, r, &url.host, url.port, url.https, read_timeout)?;

        Ok(FunctionUriTarget {
            upstream: cx.upstream(&url.host, url.port),
            url,
            host_header,
            api_key,
            signing,
            body_limit,
            keepalive: r.keepalive.enabled(),
            forward_client_credentials: r.client_credentials == ClientCredentialsPolicy::Forward,
            keepalive_pool: r.keepalive_pool,
            read_timeout,
            retry: crate::retry::RetryPolicy {
                attempts: r.retries.attempts,
                base_delay: Duration::from_millis(r.retries.base_delay),
                max_delay: Duration::from_millis(r.retries.max_delay),
                deadline: read_timeout,
            },
            peer_template: peer,
        })
    }

    /// The peer for one connection attempt, on an address not in `avoid` when possible
    /// (see [`UpstreamHost::pick`]); `None` while the host has never resolved.
    pub fn peer(&self, avoid: &[std::net::SocketAddr]) -> Option<Box<HttpPeer>> {
        peer_for(&self.peer_template, &self.upstream, avoid)
    }
}
