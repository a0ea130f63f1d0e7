//! Fetching credentials for a [`SourceSpec`] with the AWS SDK's own providers (`aws-config`):
//! `DefaultCredentialsChain` (env, profile files, web identity, ECS/Pod Identity, IMDSv2) and
//! `AssumeRoleProvider` (STS), over one rustls-on-ring HTTPS client.
//!
//! Everything here must run on a tokio runtime created after the daemon fork (the refresher's, or
//! the temporary one of `resolve_all_blocking`); the HTTP client's connection pool belongs to the
//! runtime it was first used on, so each runtime makes its own with [`http_client`].
//!
//! The SDK's providers are rebuilt for every fetch: that re-reads the environment, the profile
//! files and the token files (so rotated files are picked up) and bypasses the SDK's own lazy
//! caches; our cell is the only cache. Every fetch runs under a no-op `tracing` subscriber, so no
//! SDK event (some carry tokens or key ids) can be bridged into the `log` output.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::provider_config::ProviderConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use tracing::instrument::WithSubscriber;
use tracing::subscriber::NoSubscriber;

use super::spec::SourceSpec;

/// The HTTPS client for IMDS, ECS and STS: hyper + rustls with ring (no aws-lc), system roots.
pub(crate) fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// Fetches credentials once from the source `spec` describes, bounded by `timeout`.
/// The error is the SDK's full error chain, NOT yet scrubbed.
pub(crate) async fn fetch(
    spec: &SourceSpec,
    http: &SharedHttpClient,
    timeout: Duration,
) -> Result<Credentials, String> {
    let work = async {
        let provider = build(spec, http).await;
        provider
            .provide_credentials()
            .await
            .map_err(|e| error_chain(&e))
    };
    match tokio::time::timeout(timeout, work.with_subscriber(NoSubscriber::new())).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer within {:.1} s", timeout.as_secs_f64())),
    }
}

/// The `Display` messages of `error` and its sources, joined with ": " (repeats skipped).
///
/// Deliberately not `Debug` (nor `DisplayErrorContext`, which appends it): the SDK's errors keep
/// the raw HTTP response, whose body can be a token or a credentials document.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut last = out.clone();
    let mut source = error.source();
    while let Some(e) = source {
        let message = e.to_string();
        if message != last && !last.ends_with(&message) {
            out.push_str(": ");
            out.push_str(&message);
        }
        last = message;
        source = e.source();
    }
    out
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Builds the SDK provider for `spec` (recursively for AssumeRole's base).
fn build<'a>(
    spec: &'a SourceSpec,
    http: &'a SharedHttpClient,
) -> BoxFuture<'a, SharedCredentialsProvider> {
    Box::pin(async move {
        match spec {
            SourceSpec::Static {
                access_key_id,
                secret_access_key,
                session_token,
            } => SharedCredentialsProvider::new(Credentials::new(
                access_key_id,
                secret_access_key,
                session_token.clone(),
                None,
                "static",
            )),
            SourceSpec::DefaultChain { profile } => {
                let conf = ProviderConfig::without_region().with_http_client(http.clone());
                let mut chain = DefaultCredentialsChain::builder().configure(conf);
                if let Some(profile) = profile {
                    chain = chain.profile_name(profile);
                }
                SharedCredentialsProvider::new(chain.build().await)
            }
            SourceSpec::AssumeRole {
                base,
                role_arn,
                session_name,
                external_id,
                duration_seconds,
                sts_endpoint_url,
                region,
            } => {
                let base = build(base, http).await;
                // `defaults(..).load()` (rather than a bare SdkConfig) so AWS_ENDPOINT_URL_STS and
                // the profile's endpoint/retry settings apply; an explicit URL overrides them.
                let mut loader = aws_config::defaults(BehaviorVersion::latest())
                    .http_client(http.clone())
                    .region(Region::new(region.clone()))
                    .credentials_provider(base);
                if let Some(url) = sts_endpoint_url {
                    loader = loader.endpoint_url(url);
                }
                let sdk_config = loader.load().await;
                let mut builder = AssumeRoleProvider::builder(role_arn)
                    .configure(&sdk_config)
                    .region(Region::new(region.clone()))
                    .session_name(session_name);
                if let Some(id) = external_id {
                    builder = builder.external_id(id);
                }
                if let Some(secs) = duration_seconds {
                    builder = builder.session_length(Duration::from_secs(u64::from(*secs)));
                }
                SharedCredentialsProvider::new(builder.build().await)
            }
        }
    })
}
