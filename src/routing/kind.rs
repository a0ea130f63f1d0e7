//! What a route does with a request: one of the two route kinds, built once from the route's
//! config when the route table is built ([`RouteKind::build`]).
//!
//! [`RouteKind::FunctionUri`] proxies to an API Gateway stage or Function URL
//! (`crate::function_uri`); [`RouteKind::FunctionName`] calls the Lambda Invoke API
//! (`crate::function_name`).

use crate::aws::Signing;
use crate::config::ConfigError;
use crate::function_name::InvokeTarget;
use crate::function_uri::FunctionUriTarget;

/// What building a target needs besides its route's config.
pub struct BuildContext<'a> {
    pub file: &'a std::path::Path,
    pub resolver: &'a crate::upstream::dns::Resolver,
    pub credentials: &'a crate::aws::credentials::CredentialsRegistry,
    pub named_credentials: &'a std::collections::BTreeMap<String, crate::config::CredentialsConf>,
    /// `dns.hosts`: names pinned to fixed addresses.
    pub pinned_hosts: &'a std::collections::BTreeMap<String, Vec<std::net::IpAddr>>,
}

impl BuildContext<'_> {
    /// An error in this file naming `routes[index].<field>`.
    pub fn route_error(&self, index: usize, field: &str, reason: String) -> ConfigError {
        ConfigError {
            file: self.file.to_path_buf(),
            field: format!("routes[{index}].{field}"),
            reason,
        }
    }

    /// The shared entry of an upstream `host:port`: pinned by `dns.hosts`, else resolved.
    pub fn upstream(
        &self,
        host: &str,
        port: u16,
    ) -> std::sync::Arc<crate::upstream::dns::UpstreamHost> {
        let pinned = self.pinned_hosts.get(host).map(Vec::as_slice);
        self.resolver.get_pinned(host, port, pinned)
    }
}

/// A route's target: one of the two kinds.
#[derive(Debug)]
pub enum RouteKind {
    FunctionUri(std::sync::Arc<FunctionUriTarget>),
    FunctionName(Box<InvokeTarget>),
}

impl RouteKind {
    /// Builds the target of `routes[index]`.
    pub fn build(
        cx: &BuildContext,
        index: usize,
        r: &crate::config::RouteConf,
    ) -> Result<RouteKind, crate::config::ConfigError> {
        if r.function_name.is_some() {
            Ok(RouteKind::FunctionName(Box::new(InvokeTarget::build(
                cx, index, r,
            )?)))
        } else {
            Ok(RouteKind::FunctionUri(std::sync::Arc::new(
                FunctionUriTarget::build(cx, index, r)?,
            )))
        }
    }

    /// The route's signing, if it signs.
    pub fn signing(&self) -> Option<&Signing> {
        match self {
            RouteKind::FunctionUri(t) => t.signing.as_ref(),
            RouteKind::FunctionName(t) => Some(&t.signing),
        }
    }

    pub fn keepalive_pool(&self) -> usize {
        match self {
            RouteKind::FunctionUri(t) => t.keepalive_pool,
            RouteKind::FunctionName(t) => t.keepalive_pool,
        }
    }
}
