//! `function_uri` targets (APISIX's model): an API Gateway stage or a Lambda Function URL
//! reached over pooled HTTP(S), authenticated by an API key and/or SigV4.
//!
//! Everything that does not depend on the request (TLS trust, timeouts, the signer, the
//! peer template) is built once here, when the route table is built.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;
use pingora::upstreams::peer::HttpPeer;

use super::UpstreamUrl;
use crate::config::{
    validate_resolve, ApiKeyPolicy, ClientCredentialsPolicy, ConfigError, KeepaliveConf, RouteConf,
    DEFAULT_FUNCTION_URL_TIMEOUT_MS, DEFAULT_KEEPALIVE_TIMEOUT_MS, DEFAULT_SIGNED_BODY_LIMIT,
    DEFAULT_TIMEOUT_MS,
};
use crate::dns::UpstreamHost;
use crate::sigv4::RequestSigner;

use super::credential_spec::config_error;
use super::{BuildContext, CredentialFields, Signing};

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
        let err = |field: &str, reason: String| ConfigError {
            file: file.to_path_buf(),
            field: format!("routes[{index}].{field}"),
            reason,
        };
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
                let spec = CredentialFields::of_iam(iam)
                    .spec(cx.named_credentials, &iam.aws_region)
                    .map_err(|fe| config_error(file, index, fe))?;
                Some(Signing {
                    signer: RequestSigner::for_scope(&iam.aws_region, &iam.service),
                    credentials: cx.credentials.get(&spec),
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

/// Clones `template` with the address picked for this attempt. Pingora pools connections per
/// address, so each address keeps its own idle connections.
pub(crate) fn peer_for(
    template: &HttpPeer,
    upstream: &UpstreamHost,
    avoid: &[std::net::SocketAddr],
) -> Option<Box<HttpPeer>> {
    let addr = upstream.pick(avoid)?;
    let mut p = template.clone();
    p._address = pingora::protocols::l4::socket::SocketAddr::Inet(addr);
    Some(Box::new(p))
}

/// A peer with every per-route option set (timeouts, TLS verification and trust, pool
/// group); the address is a placeholder replaced per request by [`peer_for`].
pub(crate) fn peer_template(
    file: &Path,
    index: usize,
    r: &RouteConf,
    sni: &str,
    port: u16,
    tls: bool,
    read_timeout: Duration,
) -> Result<HttpPeer, ConfigError> {
    let err = |field: &str, reason: String| ConfigError {
        file: file.to_path_buf(),
        field: format!("routes[{index}].{field}"),
        reason,
    };
    let mut peer = HttpPeer::new(
        std::net::SocketAddr::from(([0, 0, 0, 0], port)),
        tls,
        sni.to_string(),
    );
    let o = &mut peer.options;
    let connect = Duration::from_millis(r.connect_timeout);
    o.connection_timeout = Some(connect);
    o.total_connection_timeout = Some(connect);
    o.read_timeout = Some(read_timeout);
    o.write_timeout = Some(read_timeout);
    let idle_ms = match (r.keepalive_timeout, r.keepalive) {
        (Some(ms), _) => ms,
        (None, KeepaliveConf::IdleMs(ms)) if ms > 0 => ms,
        _ => DEFAULT_KEEPALIVE_TIMEOUT_MS,
    };
    o.idle_timeout = Some(Duration::from_millis(idle_ms));
    o.verify_cert = r.ssl_verify;
    o.verify_hostname = r.ssl_verify;
    if let Some(ca) = &r.ca_file {
        let path = validate_resolve(file, ca);
        let pem =
            std::fs::read(&path).map_err(|e| err("ca_file", format!("cannot read `{ca}`: {e}")))?;
        let certs = pingora::tls::x509::X509::stack_from_pem(&pem)
            .map_err(|e| err("ca_file", format!("`{ca}` is not PEM certificates: {e}")))?;
        if certs.is_empty() {
            return Err(err("ca_file", format!("`{ca}` holds no certificate")));
        }
        o.ca = Some(Arc::new(certs.into_boxed_slice()));
    }
    // Pingora's pool key ignores the CA: keep connections verified against different trust
    // roots (or none) in different pool buckets.
    let mut h = DefaultHasher::new();
    (r.ca_file.as_deref(), r.ssl_verify).hash(&mut h);
    peer.group_key = h.finish();
    Ok(peer)
}
