//! Tokens minted in the tests: signing keys of every type the gateway verifies (RSA, EC P-256
//! and P-384, Ed25519) made with OpenSSL, their public JWKs, and JWTs signed with them by
//! `jsonwebtoken` (or forged by hand for the attack shapes).

use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use openssl::bn::BigNumContext;
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use serde_json::{json, Value};

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A private key with its public JWK.
pub struct SigningKey {
    pub kid: String,
    pub alg: Algorithm,
    key: EncodingKey,
    pub jwk: Value,
    /// The public key as PEM (what an attacker signs HS256 "with the public key" with).
    pub public_pem: Vec<u8>,
}

impl SigningKey {
    pub fn rsa(kid: &str, alg: Algorithm) -> SigningKey {
        let rsa = Rsa::generate(2048).unwrap();
        let jwk = json!({"kty": "RSA", "kid": kid, "use": "sig",
            "n": b64(&rsa.n().to_vec()), "e": b64(&rsa.e().to_vec())});
        let public_pem = rsa.public_key_to_pem().unwrap();
        let key = EncodingKey::from_rsa_der(&rsa.private_key_to_der().unwrap());
        SigningKey {
            kid: kid.into(),
            alg,
            key,
            jwk,
            public_pem,
        }
    }

    pub fn ec(kid: &str, alg: Algorithm) -> SigningKey {
        let (nid, crv, size) = match alg {
            Algorithm::ES256 => (Nid::X9_62_PRIME256V1, "P-256", 32),
            _ => (Nid::SECP384R1, "P-384", 48),
        };
        let group = EcGroup::from_curve_name(nid).unwrap();
        let ec = EcKey::generate(&group).unwrap();
        let mut ctx = BigNumContext::new().unwrap();
        let (mut x, mut y) = (
            openssl::bn::BigNum::new().unwrap(),
            openssl::bn::BigNum::new().unwrap(),
        );
        ec.public_key()
            .affine_coordinates(&group, &mut x, &mut y, &mut ctx)
            .unwrap();
        let pad = |b: &openssl::bn::BigNum| b.to_vec_padded(size).unwrap();
        let jwk =
            json!({"kty": "EC", "kid": kid, "crv": crv, "x": b64(&pad(&x)), "y": b64(&pad(&y))});
        let public_pem = ec.public_key_to_pem().unwrap();
        let pkey = PKey::from_ec_key(ec).unwrap();
        let key = EncodingKey::from_ec_der(&pkey.private_key_to_pkcs8().unwrap());
        SigningKey {
            kid: kid.into(),
            alg,
            key,
            jwk,
            public_pem,
        }
    }

    pub fn ed25519(kid: &str) -> SigningKey {
        let pkey = PKey::generate_ed25519().unwrap();
        let jwk = json!({"kty": "OKP", "kid": kid, "crv": "Ed25519",
            "x": b64(&pkey.raw_public_key().unwrap())});
        let public_pem = pkey.public_key_to_pem().unwrap();
        let key = EncodingKey::from_ed_der(&pkey.private_key_to_pkcs8().unwrap());
        SigningKey {
            kid: kid.into(),
            alg: Algorithm::EdDSA,
            key,
            jwk,
            public_pem,
        }
    }

    /// A token with these claims, signed with this key, `kid` in the header.
    pub fn mint(&self, claims: &Value) -> String {
        let mut h = Header::new(self.alg);
        h.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&h, claims, &self.key).unwrap()
    }
}

/// `{"keys": [...]}` of these keys.
pub fn jwks(keys: &[&SigningKey]) -> Value {
    json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()})
}

/// Writes `doc` to `path` as a whole (write, then rename), as issuers publish.
pub fn publish(path: &std::path::Path, doc: &Value) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec(doc).unwrap()).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// A token whose header and signature are written by hand (`alg: none`, HS256 with a
/// public key as the secret…).
pub fn forge(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64(&serde_json::to_vec(header).unwrap()),
        b64(&serde_json::to_vec(claims).unwrap()),
        b64(signature)
    )
}

/// HMAC-SHA256 over `header.payload` with `secret`: an HS256 token.
pub fn hs256(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let unsigned = format!(
        "{}.{}",
        b64(&serde_json::to_vec(header).unwrap()),
        b64(&serde_json::to_vec(claims).unwrap())
    );
    let key = PKey::hmac(secret).unwrap();
    let mut signer =
        openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &key).unwrap();
    signer.update(unsigned.as_bytes()).unwrap();
    format!("{unsigned}.{}", b64(&signer.sign_to_vec().unwrap()))
}
