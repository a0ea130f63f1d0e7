//! Per-route peer templates: every connection option (timeouts, TLS verification and trust,
//! pool group) set once when the route table is built; per attempt only the address changes.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use pingora::upstreams::peer::HttpPeer;
use sha2::{Digest, Sha256};

use crate::config::{
    validate_resolve, ConfigError, KeepaliveConf, RouteConf, DEFAULT_KEEPALIVE_TIMEOUT_MS,
};
use crate::upstream::dns::UpstreamHost;

/// Clones `template` with the address picked for this attempt. Pingora pools connections per
/// address, so each address keeps its own idle connections.
pub fn peer_for(
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
pub fn peer_template(
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
    // The trust roots, by content: routes naming identical certificates (by whatever path)
    // share a pool group; a file whose certificates changed gets a new one.
    let mut ca_digest: Option<[u8; 32]> = None;
    if let Some(ca) = &r.ca_file {
        let (certs, digest) =
            load_ca(&validate_resolve(file, ca), ca).map_err(|reason| err("ca_file", reason))?;
        ca_digest = Some(digest);
        o.ca = Some(certs);
    }
    // Pingora's pool key ignores the CA: keep connections verified against different trust
    // roots (or none) in different pool buckets.
    let mut h = DefaultHasher::new();
    (ca_digest, r.ssl_verify).hash(&mut h);
    peer.group_key = h.finish();
    Ok(peer)
}

/// Trust roots as Pingora's peers take them, and the SHA-256 over their DER (their identity).
pub type TrustRoots = (Arc<Box<[pingora::tls::x509::X509]>>, [u8; 32]);

/// The PEM certificates in `path` (`as_written` in messages) and the SHA-256 over them.
pub fn load_ca(path: &Path, as_written: &str) -> Result<TrustRoots, String> {
    let pem = std::fs::read(path).map_err(|e| format!("cannot read `{as_written}`: {e}"))?;
    let certs = pingora::tls::x509::X509::stack_from_pem(&pem)
        .map_err(|e| format!("`{as_written}` is not PEM certificates: {e}"))?;
    if certs.is_empty() {
        return Err(format!("`{as_written}` holds no certificate"));
    }
    let mut digest = Sha256::new();
    for c in &certs {
        let der = c.to_der().map_err(|e| format!("`{as_written}`: {e}"))?;
        digest.update((der.len() as u64).to_be_bytes());
        digest.update(&der);
    }
    Ok((Arc::new(certs.into_boxed_slice()), digest.finalize().into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate (PEM) named `cn`.
    fn cert_pem(cn: &str) -> Vec<u8> {
        crate::test_certs::self_signed(cn).0
    }

    fn group_key(file: &Path, ca: Option<&str>, ssl_verify: bool) -> u64 {
        let mut yaml = format!(
            "{{name: r, uri: /r, function_uri: 'https://h.test/', ssl_verify: {ssl_verify}"
        );
        if let Some(ca) = ca {
            yaml.push_str(&format!(", ca_file: '{ca}'"));
        }
        yaml.push('}');
        let r: RouteConf = serde_yaml::from_str(&yaml).unwrap();
        peer_template(file, 0, &r, "h.test", 443, true, Duration::from_secs(1))
            .unwrap()
            .group_key
    }

    #[test]
    fn the_pool_group_follows_the_ca_content_not_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("gateway.yaml");
        let ca = cert_pem("private CA");
        std::fs::write(dir.path().join("a.pem"), &ca).unwrap();
        std::fs::write(dir.path().join("b.pem"), &ca).unwrap();
        let a = group_key(&file, Some("a.pem"), true);
        // Two paths to the same certificates: one pool group (connections are shared).
        assert_eq!(a, group_key(&file, Some("b.pem"), true));
        let abs = dir.path().join("a.pem");
        assert_eq!(a, group_key(&file, abs.to_str(), true));
        // Other trust settings: other groups.
        assert_ne!(
            a,
            group_key(&file, None, true),
            "private CA vs system store"
        );
        assert_ne!(
            a,
            group_key(&file, Some("a.pem"), false),
            "verification off"
        );
        assert_ne!(group_key(&file, None, true), group_key(&file, None, false));
        // The file changed (a reload after the CA was replaced): connections verified against
        // the old CA are not reused.
        std::fs::write(dir.path().join("a.pem"), cert_pem("new private CA")).unwrap();
        assert_ne!(a, group_key(&file, Some("a.pem"), true));
    }
}
