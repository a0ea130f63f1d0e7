//! The client request as authorizers see it: its head, where it came from, and the route's
//! API Gateway context; the identity values its sources name, and the `RequestView` Lambda
//! authorizer events are built from.

use std::time::SystemTime;

use http::HeaderMap;

use super::lambda_payload::{context_variable, extract, IdentityMissing, IdentitySource};
use crate::function_name::event::{ClientCert, EventSettings, RequestView};

/// One request, borrowed from the session for the authorizer's check.
pub struct AuthRequest<'a> {
    pub method: &'a str,
    /// The normalised path the route was chosen on.
    pub path: &'a str,
    pub raw_query: Option<&'a str>,
    /// End-to-end headers only.
    pub headers: &'a HeaderMap,
    pub host: Option<&'a str>,
    pub source_ip: Option<&'a str>,
    pub http_version: &'a str,
    /// The rest of the path after a wildcard route's prefix.
    pub proxy_path: Option<&'a str>,
    pub client_cert: Option<&'a ClientCert>,
    pub request_id: &'a str,
    pub time: SystemTime,
}

impl AuthRequest<'_> {
    /// The values of `sources`, all present and non-empty, else which one is missing.
    pub fn identity(
        &self,
        sources: &[IdentitySource],
        settings: &EventSettings,
    ) -> Result<Vec<String>, IdentityMissing> {
        let view = self.view();
        let context = |name: &str| context_variable(name, &view, settings);
        extract(
            sources,
            self.headers,
            self.raw_query,
            &context,
            &settings.stage_variables,
        )
    }

    /// The request as events see it (no body: authorizers get none).
    pub fn view(&self) -> RequestView<'_> {
        RequestView {
            method: self.method,
            raw_path: self.path,
            raw_query: self.raw_query,
            headers: self.headers,
            body: b"",
            source_ip: self.source_ip,
            http_version: self.http_version,
            host: self.host,
            proxy_path: self.proxy_path,
            request_id: self.request_id,
            time: self.time,
            api_key_id: None,
            client_cert: self.client_cert,
            authorizer: None,
        }
    }
}
