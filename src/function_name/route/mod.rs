//! `function_name` targets (Kong's model): the gateway calls the Lambda Invoke API
//! (`POST /2015-03-31/functions/{name}/invocations`, or InvokeWithResponseStream) itself.
//!
//! Here the function reference is validated, the region and credentials are resolved, the
//! request paths are pre-encoded as AWS SDKs send them (`:` as `%3A`), and the per-route
//! event and response settings are fixed — once, when the route table is built.
//!
//! `function_ref` parses the function reference (name, partial or full ARN), `validate` checks
//! a route's fields when the config is validated, and [`InvokeTarget::build`] builds the route.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use pingora::upstreams::peer::HttpPeer;

use crate::aws::sigv4::RequestSigner;
use crate::config::{
    ConfigError, InvocationType, LogType, PayloadVersionConf, RequestPayload, RouteConf,
    DEFAULT_EVENT_PAYLOAD_LIMIT, DEFAULT_FUNCTION_URL_TIMEOUT_MS, DEFAULT_SYNC_PAYLOAD_LIMIT,
};
use crate::function_name::event::{BodyEncoding, EventSettings, DEFAULT_ACCOUNT_ID, DEFAULT_STAGE};
use crate::function_name::result::PayloadVersion;
use crate::upstream::connect_proxy::ConnectTunnel;
use crate::upstream::dns::UpstreamHost;
use crate::upstream::peer::{peer_for, peer_template};

use crate::aws::route_credentials::{config_error, CredentialFields};
use crate::aws::Signing;
use crate::routing::BuildContext;

mod function_ref;
mod validate;

use function_ref::env_region;
pub use function_ref::{parse_function_name, FunctionRef};
use validate::parse_proxy_url;
pub use validate::validate_function_name_route;

/// Characters percent-encoded in a path segment: everything but RFC 3986 unreserved.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// What the event sent to the function is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventMode {
    /// The client body, untouched (`request_payload: raw`).
    Raw,
    /// Kong's default payload: query and body arguments merged into one object.
    KongArgs,
    /// Kong's `forward_request_*` object.
    Forward {
        method: bool,
        uri: bool,
        headers: bool,
        body: bool,
    },
    /// API Gateway proxy event, payload 1.0 or 2.0.
    Apigw(PayloadVersionConf),
}

pub struct InvokeTarget {
    /// The function as configured (for logs).
    pub function: String,
    pub region: String,
    /// `/2015-03-31/functions/<encoded>/invocations[?Qualifier=..]`.
    pub invoke_path: String,
    /// `/2021-11-15/functions/<encoded>/response-streaming-invocations[?Qualifier=..]`.
    pub stream_path: String,
    pub host_header: HeaderValue,
    pub upstream: Arc<UpstreamHost>,
    pub signing: Signing,
    pub invocation_type: InvocationType,
    pub log_tail: bool,
    pub unhandled_status: u16,
    pub handled_status: u16,
    pub event_mode: EventMode,
    pub event_settings: EventSettings,
    pub body_encoding: BodyEncoding,
    /// `Some` when the result is parsed as an API Gateway proxy-integration response.
    pub proxy_integration: Option<PayloadVersion>,
    pub preserve_api_error_code: bool,
    pub request_id_header: Option<HeaderName>,
    pub streaming: bool,
    /// Largest event payload.
    pub payload_limit: u64,
    /// Largest client body read.
    pub body_limit: u64,
    pub keepalive: bool,
    pub keepalive_pool: usize,
    pub idle_timeout: Duration,
    pub read_timeout: Duration,
    /// What is safe to retry is retried this way (`crate::retry`).
    pub retry: crate::retry::RetryPolicy,
    pub proxy: Option<(String, u16)>,
    peer_template: HttpPeer,
}

impl std::fmt::Debug for InvokeTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InvokeTarget")
            .field("function", &self.function)
            .field("region", &self.region)
            .field("signing", &self.signing)
            .field("invocation_type", &self.invocation_type)
            .field("event_mode", &self.event_mode)
            .finish_non_exhaustive()
    }
}

impl InvokeTarget {
    pub fn build(
        cx: &BuildContext,
        index: usize,
        r: &RouteConf,
    ) -> Result<InvokeTarget, ConfigError> {
        let file = cx.file;
        let err = |field: &str, reason: String| cx.route_error(index, field, reason);
        let f = parse_function_name(r.function_name.as_deref().unwrap_or_default())
            .map_err(|e| err("function_name", e))?;
        let region = r
            .aws_region
            .clone()
            .or(f.region.clone())
            .or_else(env_region)
            .ok_or_else(|| err("aws_region", "no region".into()))?;
        let qualifier = r.qualifier.clone().or(f.qualifier.clone());
        let encoded = utf8_percent_encode(&f.function, SEGMENT).to_string();
        let query = qualifier
            .as_ref()
            .map(|q| format!("?Qualifier={}", utf8_percent_encode(q, SEGMENT)))
            .unwrap_or_default();
        let invoke_path = format!("/2015-03-31/functions/{encoded}/invocations{query}");
        let stream_path =
            format!("/2021-11-15/functions/{encoded}/response-streaming-invocations{query}");

        let https = !r.disable_https;
        let default_port = if https { 443 } else { 80 };
        let port = r.port.unwrap_or(default_port);
        let host = r
            .host
            .clone()
            .unwrap_or_else(|| format!("lambda.{region}.amazonaws.com"))
            .to_ascii_lowercase();
        let host_header = if port == default_port {
            host.clone()
        } else if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let host_header =
            HeaderValue::from_str(&host_header).map_err(|e| err("host", e.to_string()))?;

        let fields = CredentialFields::of_invoke_route(r);
        let spec = fields
            .spec(cx.named_credentials, &region)
            .map_err(|fe| config_error(file, index, fe))?;
        let signing = Signing {
            signer: RequestSigner::for_scope(&region, "lambda"),
            credentials: cx
                .credentials
                .get_named(&spec, &fields.source_name(&r.name)),
        };

        for (field, set) in [
            ("skip_large_bodies", r.skip_large_bodies.is_some()),
            ("empty_arrays_mode", r.empty_arrays_mode.is_some()),
            (
                "aws_imds_protocol_version",
                r.aws_imds_protocol_version.is_some(),
            ),
        ] {
            if set {
                log::warn!(
                    "{}: routes[{index}].{field}: accepted for Kong compatibility; it has no effect here",
                    file.display()
                );
            }
        }

        let event_mode = if r.awsgateway_compatible {
            EventMode::Apigw(r.awsgateway_compatible_payload_version)
        } else if r.forward_request_method
            || r.forward_request_uri
            || r.forward_request_headers
            || r.forward_request_body
        {
            EventMode::Forward {
                method: r.forward_request_method,
                uri: r.forward_request_uri,
                headers: r.forward_request_headers,
                body: r.forward_request_body,
            }
        } else if r.request_payload == Some(RequestPayload::Raw) {
            EventMode::Raw
        } else {
            EventMode::KongArgs
        };
        let body_encoding = match r.base64_encode_body {
            Some(true) => BodyEncoding::Always,
            Some(false) => BodyEncoding::Never,
            None => match &r.text_content_types {
                Some(types) => BodyEncoding::Auto {
                    text_types: types.clone(),
                },
                None => BodyEncoding::default_auto(),
            },
        };
        let ctx = r.awsgateway_context.clone().unwrap_or_default();
        let route_uri = r
            .uri
            .clone()
            .or_else(|| r.uris.first().cloned())
            .unwrap_or_default();
        let event_settings = EventSettings {
            resource: ctx.resource.unwrap_or_else(|| default_resource(&route_uri)),
            stage: ctx.stage.unwrap_or_else(|| DEFAULT_STAGE.into()),
            account_id: ctx.account_id.unwrap_or_else(|| DEFAULT_ACCOUNT_ID.into()),
            api_id: ctx.api_id.unwrap_or_else(|| r.name.clone()),
            stage_variables: ctx.stage_variables,
            body_encoding: body_encoding.clone(),
        };
        let proxy_integration =
            r.is_proxy_integration
                .then_some(match r.awsgateway_compatible_payload_version {
                    PayloadVersionConf::V1 => PayloadVersion::V1,
                    PayloadVersionConf::V2 => PayloadVersion::V2,
                });
        let payload_limit = r.max_payload_size.unwrap_or(match r.invocation_type {
            InvocationType::Event => DEFAULT_EVENT_PAYLOAD_LIMIT,
            _ => DEFAULT_SYNC_PAYLOAD_LIMIT,
        });
        let body_limit = r.max_body_size.unwrap_or(payload_limit);
        let request_id_header = match r.request_id_header.as_deref() {
            None => Some(HeaderName::from_static("x-amzn-requestid")),
            Some("") => None,
            Some(h) => Some(
                HeaderName::from_bytes(h.as_bytes())
                    .map_err(|e| err("request_id_header", e.to_string()))?,
            ),
        };
        let proxy = r
            .proxy_url
            .as_deref()
            .map(parse_proxy_url)
            .transpose()
            .map_err(|e| err("proxy_url", e))?;
        let read_timeout =
            Duration::from_millis(r.timeout.unwrap_or(DEFAULT_FUNCTION_URL_TIMEOUT_MS));
        let mut peer = peer_template(file, index, r, &host, port, https, read_timeout)?;
        let idle_timeout = peer.options.idle_timeout.unwrap_or_default();
        // With a CONNECT proxy, connections go to the proxy's address and tunnel to the endpoint.
        let upstream = match &proxy {
            Some((ph, pp)) => {
                let proxy_host = cx.upstream(ph, *pp);
                let authority = if host.contains(':') {
                    format!("[{host}]:{port}")
                } else {
                    format!("{host}:{port}")
                };
                peer.options.custom_l4 = Some(Arc::new(ConnectTunnel {
                    proxy: proxy_host.clone(),
                    authority,
                    timeout: Duration::from_millis(r.connect_timeout),
                }));
                proxy_host
            }
            None => cx.upstream(host.trim_matches(['[', ']']), port),
        };
        Ok(InvokeTarget {
            function: r.function_name.clone().unwrap_or_default(),
            region,
            invoke_path,
            stream_path,
            host_header,
            upstream,
            signing,
            invocation_type: r.invocation_type,
            log_tail: r.log_type == LogType::Tail,
            unhandled_status: r.unhandled_status.unwrap_or(502),
            handled_status: r.handled_status.unwrap_or(502),
            event_mode,
            event_settings,
            body_encoding,
            proxy_integration,
            preserve_api_error_code: r.preserve_lambda_api_error_code,
            request_id_header,
            streaming: r.response_streaming,
            payload_limit,
            body_limit,
            keepalive: r.keepalive.enabled(),
            keepalive_pool: r.keepalive_pool,
            idle_timeout,
            read_timeout,
            retry: crate::retry::RetryPolicy {
                attempts: r.retries.attempts,
                base_delay: Duration::from_millis(r.retries.base_delay),
                max_delay: Duration::from_millis(r.retries.max_delay),
                deadline: read_timeout,
            },
            proxy,
            peer_template: peer,
        })
    }

    /// The peer for one connection attempt, on an address not in `avoid` when possible
    /// (see [`UpstreamHost::pick`]); `None` while the endpoint has never resolved.
    pub fn peer(&self, avoid: &[std::net::SocketAddr]) -> Option<Box<HttpPeer>> {
        peer_for(&self.peer_template, &self.upstream, avoid)
    }
}

/// `/orders/*` -> `/orders/{proxy+}`; exact paths stay as they are.
pub fn default_resource(uri: &str) -> String {
    match uri.strip_suffix('*') {
        Some(prefix) => format!("{prefix}{{proxy+}}"),
        None => uri.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_is_encoded_in_the_path_like_the_sdks() {
        let enc = utf8_percent_encode("arn:aws:lambda:us-east-1:123456789012:function:f", SEGMENT);
        assert_eq!(
            enc.to_string(),
            "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af"
        );
        assert_eq!(
            utf8_percent_encode("$LATEST", SEGMENT).to_string(),
            "%24LATEST"
        );
        assert_eq!(default_resource("/orders/*"), "/orders/{proxy+}");
    }
}
