//! Mutual TLS on TLS listeners (`tls.client_ca`, `tls.client_auth`).
//!
//! OpenSSL verifies the client certificate against the listener's CA file during the handshake
//! (`required`: a client without one fails the handshake; `optional`: one is requested, and
//! verified if sent). Once the handshake completes, [`ClientCertCapture`] (Pingora's
//! `handshake_complete_callback`) turns the verified peer certificate into the
//! [`ClientCert`] that API Gateway puts in events; it rides on the connection's `SslDigest`
//! extension and [`client_cert`] reads it back for each request.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use openssl::ssl::{SslRef, SslVerifyMode};
use openssl::x509::{X509NameRef, X509Ref, X509VerifyResult, X509};
use pingora::listeners::tls::TlsSettings;
use pingora::listeners::TlsAccept;
use pingora::proxy::Session;

use crate::config::ClientAuth;
pub use crate::function_name::event::{ClientCert, ClientCertValidity};

/// Reads the CA file: at least one PEM certificate. The error says why (for a config error).
pub fn load_client_ca(path: &Path) -> Result<Vec<X509>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let certs = X509::stack_from_pem(&pem)
        .map_err(|e| format!("`{}` is not PEM certificates: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "`{}` holds no PEM certificate (BEGIN CERTIFICATE)",
            path.display()
        ));
    }
    Ok(certs)
}

/// Requests and verifies client certificates on `settings` against `ca` (from `ca_path`).
pub fn require_client_certs(
    settings: &mut TlsSettings,
    ca_path: &Path,
    ca: &[X509],
    mode: ClientAuth,
) -> Result<(), String> {
    let e = |e: openssl::error::ErrorStack| format!("`{}`: {e}", ca_path.display());
    settings.set_ca_file(ca_path).map_err(e)?;
    let mut names = openssl::stack::Stack::new().map_err(e)?;
    for c in ca {
        names
            .push(c.subject_name().to_owned().map_err(e)?)
            .map_err(e)?;
    }
    settings.set_client_ca_list(names);
    let mut verify = SslVerifyMode::PEER;
    if mode == ClientAuth::Required {
        verify |= SslVerifyMode::FAIL_IF_NO_PEER_CERT;
    }
    settings.set_verify(verify);
    // Without a session id context OpenSSL fails every resumed handshake on a verifying server
    // ("internal error" alert). Derived from the CA certificates: a session verified against
    // other CAs is not resumed.
    let der: Vec<u8> = ca
        .iter()
        .flat_map(|c| c.to_der().unwrap_or_default())
        .collect();
    settings
        .set_session_id_context(&openssl::sha::sha256(&der))
        .map_err(e)?;
    Ok(())
}

/// Pingora's TLS callbacks for a mutual TLS listener: captures the verified client certificate.
pub struct ClientCertCapture;

#[async_trait]
impl TlsAccept for ClientCertCapture {
    async fn handshake_complete_callback(
        &self,
        ssl: &SslRef,
    ) -> Option<Arc<dyn std::any::Any + Send + Sync>> {
        if ssl.verify_result() != X509VerifyResult::OK {
            return None;
        }
        let cert = ssl.peer_certificate()?;
        Some(Arc::new(client_cert_of(&cert)?))
    }
}

/// The certificate as API Gateway describes it.
pub fn client_cert_of(cert: &X509Ref) -> Option<ClientCert> {
    let pem = cert.to_pem().ok()?;
    let serial = cert.serial_number().to_bn().ok()?.to_vec();
    Some(ClientCert {
        client_cert_pem: String::from_utf8(pem).ok()?,
        subject_dn: dn(cert.subject_name()),
        issuer_dn: dn(cert.issuer_name()),
        serial_number: serial
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":"),
        validity: ClientCertValidity {
            not_before: cert.not_before().to_string(),
            not_after: cert.not_after().to_string(),
        },
    })
}

/// `CN=client,O=Example`: the entries most specific first (RFC 4514 order), short names.
fn dn(name: &X509NameRef) -> String {
    let mut parts: Vec<String> = name
        .entries()
        .map(|e| {
            let key = e.object().nid().short_name().unwrap_or("?");
            let value = e.data().to_string().unwrap_or_default();
            format!("{key}={value}")
        })
        .collect();
    parts.reverse();
    parts.join(",")
}

/// The verified client certificate of the request's connection, if any.
pub fn client_cert(session: &Session) -> Option<&ClientCert> {
    session
        .digest()?
        .ssl_digest
        .as_ref()?
        .extension
        .get::<ClientCert>()
}
