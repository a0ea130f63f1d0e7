//! AWS identity: SigV4 signing (`sigv4`), where credentials come from and how they stay fresh
//! (`credentials`), and which credential source a route's config names (`route_credentials`).

pub mod credentials;
pub mod route_credentials;
pub mod sigv4;

/// SigV4 for a route: the scope and settings, and the source of the current credentials.
pub struct Signing {
    pub signer: crate::aws::sigv4::RequestSigner,
    pub credentials: std::sync::Arc<crate::aws::credentials::CredentialsCell>,
}

impl std::fmt::Debug for Signing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signing")
            .field("signer", &self.signer)
            .field("credentials", &self.credentials.name())
            .finish()
    }
}
