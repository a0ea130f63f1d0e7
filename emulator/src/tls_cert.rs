//! Generates a throw-away private CA and a server certificate signed by it (ECDSA P-256), and
//! writes `ca.pem`, `cert.pem` and `key.pem` so tests can trust `ca.pem` for the TLS listener.

use std::fs;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509Name, X509};

/// Paths of the files written by [`generate`].
#[derive(Debug, Clone)]
pub struct CertFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A certificate and its private key.
struct Issued {
    cert: X509,
    key: PKey<Private>,
}

const DAY: i64 = 86_400;

/// Creates `dir` if needed and writes a fresh CA (`ca.pem`), a leaf for `names` (`cert.pem`) and
/// the leaf's PKCS#8 key (`key.pem`, mode 0600). Names that parse as IP addresses become IP SANs.
pub fn generate(dir: &Path, names: &[String]) -> Result<CertFiles, String> {
    let ca = make_ca().map_err(|e| format!("creating the CA: {e}"))?;
    let leaf = make_leaf(&ca, names).map_err(|e| format!("creating the certificate: {e}"))?;
    let pem = |r: Result<Vec<u8>, ErrorStack>| r.map_err(|e| format!("PEM encoding: {e}"));

    fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let files = CertFiles {
        ca: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    write_file(&files.ca, &pem(ca.cert.to_pem())?, 0o644)?;
    write_file(&files.cert, &pem(leaf.cert.to_pem())?, 0o644)?;
    write_file(
        &files.key,
        &pem(leaf.key.private_key_to_pem_pkcs8())?,
        0o600,
    )?;
    Ok(files)
}

fn write_file(path: &Path, contents: &[u8], mode: u32) -> Result<(), String> {
    let tmp = path.with_extension("pem.tmp");
    let write = || -> std::io::Result<()> {
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
        let mut file = options.open(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        // Rename so a reader never sees a half-written file.
        fs::rename(&tmp, path)
    };
    write().map_err(|e| format!("writing {}: {e}", path.display()))
}

fn new_key() -> Result<PKey<Private>, ErrorStack> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    PKey::from_ec_key(EcKey::generate(&group)?)
}

fn random_serial() -> Result<Asn1Integer, ErrorStack> {
    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
    serial.to_asn1_integer()
}

fn name(common_name: &str) -> Result<X509Name, ErrorStack> {
    let mut builder = X509Name::builder()?;
    builder.append_entry_by_nid(Nid::ORGANIZATIONNAME, "lambda-proxy-emulator")?;
    builder.append_entry_by_nid(Nid::COMMONNAME, common_name)?;
    Ok(builder.build())
}

fn validity(days: i64) -> Result<(Asn1Time, Asn1Time), ErrorStack> {
    let now = crate::amz_date::unix_secs(SystemTime::now());
    // Start a day early so clock differences between processes never matter.
    Ok((
        Asn1Time::from_unix((now - DAY) as _)?,
        Asn1Time::from_unix((now + days * DAY) as _)?,
    ))
}

fn make_ca() -> Result<Issued, ErrorStack> {
    let key = new_key()?;
    let subject = name("lambda-proxy-emulator test CA")?;
    let (not_before, not_after) = validity(3650)?;
    let mut builder = X509::builder()?;
    builder.set_version(2)?;
    let serial = random_serial()?;
    builder.set_serial_number(&serial)?;
    builder.set_subject_name(&subject)?;
    builder.set_issuer_name(&subject)?;
    builder.set_pubkey(&key)?;
    builder.set_not_before(&not_before)?;
    builder.set_not_after(&not_after)?;
    builder.append_extension(BasicConstraints::new().critical().ca().build()?)?;
    builder.append_extension(
        KeyUsage::new()
            .critical()
            .key_cert_sign()
            .crl_sign()
            .digital_signature()
            .build()?,
    )?;
    let ski = SubjectKeyIdentifier::new().build(&builder.x509v3_context(None, None))?;
    builder.append_extension(ski)?;
    builder.sign(&key, MessageDigest::sha256())?;
    Ok(Issued {
        cert: builder.build(),
        key,
    })
}

fn make_leaf(ca: &Issued, names: &[String]) -> Result<Issued, ErrorStack> {
    let key = new_key()?;
    let common_name = names.first().map(String::as_str).unwrap_or("localhost");
    let (not_before, not_after) = validity(365)?;
    let mut builder = X509::builder()?;
    builder.set_version(2)?;
    let serial = random_serial()?;
    builder.set_serial_number(&serial)?;
    let subject = name(common_name)?;
    builder.set_subject_name(&subject)?;
    builder.set_issuer_name(ca.cert.subject_name())?;
    builder.set_pubkey(&key)?;
    builder.set_not_before(&not_before)?;
    builder.set_not_after(&not_after)?;
    builder.append_extension(BasicConstraints::new().critical().build()?)?;
    builder.append_extension(KeyUsage::new().critical().digital_signature().build()?)?;
    builder.append_extension(ExtendedKeyUsage::new().server_auth().build()?)?;
    let mut san = SubjectAlternativeName::new();
    for n in names {
        if n.parse::<IpAddr>().is_ok() {
            san.ip(n);
        } else {
            san.dns(n);
        }
    }
    let context = builder.x509v3_context(Some(&ca.cert), None);
    let san = san.build(&context)?;
    let ski = SubjectKeyIdentifier::new().build(&context)?;
    let aki = AuthorityKeyIdentifier::new().keyid(true).build(&context)?;
    builder.append_extension(san)?;
    builder.append_extension(ski)?;
    builder.append_extension(aki)?;
    builder.sign(&ca.key, MessageDigest::sha256())?;
    Ok(Issued {
        cert: builder.build(),
        key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::stack::Stack;
    use openssl::x509::store::X509StoreBuilder;
    use openssl::x509::X509StoreContext;

    #[test]
    fn leaf_chains_to_ca_and_names_match() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("certs");
        let names = vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "api.test".to_string(),
        ];
        let files = generate(&out, &names).unwrap();

        let ca = X509::from_pem(&fs::read(&files.ca).unwrap()).unwrap();
        let leaf = X509::from_pem(&fs::read(&files.cert).unwrap()).unwrap();
        let key = PKey::private_key_from_pem(&fs::read(&files.key).unwrap()).unwrap();
        assert!(leaf.public_key().unwrap().public_eq(&key));
        assert!(leaf.verify(&ca.public_key().unwrap()).unwrap());

        let mut store = X509StoreBuilder::new().unwrap();
        store.add_cert(ca.clone()).unwrap();
        let store = store.build();
        let mut ctx = X509StoreContext::new().unwrap();
        let chain = Stack::new().unwrap();
        assert!(ctx
            .init(&store, &leaf, &chain, |c| c.verify_cert())
            .unwrap());

        let sans: Vec<String> = leaf
            .subject_alt_names()
            .unwrap()
            .iter()
            .map(|g| match (g.dnsname(), g.ipaddress()) {
                (Some(d), _) => d.to_string(),
                (None, Some(ip)) => format!("{ip:?}"),
                _ => String::new(),
            })
            .collect();
        assert_eq!(sans, vec!["localhost", "[127, 0, 0, 1]", "api.test"]);

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&files.key).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
