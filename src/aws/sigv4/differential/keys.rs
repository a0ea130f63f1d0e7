//! The signing key cache seen through the signer: reuse within a day, new keys on a new day or
//! rotated credentials, sharing between threads, and no key or secret in `Debug`.

use super::*;

fn sign_get(signer: &RequestSigner, id: &Identity, time: SystemTime) {
    let head = build_head("GET", b"/x?a=1", &[("Host", b"example.amazonaws.com")]).unwrap();
    assert!(check(signer, id, &head, EMPTY_PAYLOAD_SHA256, time));
}

/// The key is derived once per day and secret key: a second request of the day reuses it, a
/// new day or rotated credentials derive a new one. Every signature still matches aws-sigv4.
#[test]
fn signing_key_is_cached_per_day_and_secret() {
    let signer = RequestSigner::for_scope("us-east-1", "lambda");
    let derivations = || signer.keys.derivations();
    let day = at(1_440_938_160); // 2015-08-30T12:36:00Z
    let plain = identity(AKID, SECRET, None);
    assert_eq!(derivations(), 0);
    sign_get(&signer, &plain, day);
    assert_eq!(derivations(), 1);
    // The same day, later; a token or another access key id with the same secret.
    sign_get(&signer, &plain, day + Duration::from_secs(3600));
    sign_get(&signer, &identity(AKID, SECRET, Some(TOKEN)), day);
    sign_get(&signer, &identity("AKIDOTHER", SECRET, None), day);
    assert_eq!(derivations(), 1);
    // The next day (23:59:59 is still the same day).
    sign_get(&signer, &plain, at(1_440_979_199));
    assert_eq!(derivations(), 1);
    sign_get(&signer, &plain, at(1_440_979_200));
    assert_eq!(derivations(), 2);
    // Rotated credentials, the same day.
    let rotated = identity("ASIAROTATED", SECRET2, Some(TOKEN));
    sign_get(&signer, &rotated, at(1_440_979_200));
    assert_eq!(derivations(), 3);
    sign_get(&signer, &rotated, at(1_440_979_300));
    assert_eq!(derivations(), 3);
    // A secret differing in its last character only.
    let near = identity(AKID, &format!("{}x", &SECRET2[..SECRET2.len() - 1]), None);
    sign_get(&signer, &near, at(1_440_979_300));
    assert_eq!(derivations(), 4);
    // Back to the old one: derived again (one entry is kept).
    sign_get(&signer, &rotated, at(1_440_979_300));
    assert_eq!(derivations(), 5);
}

/// Worker threads share a signer: under contention around midnight, with two secrets, every
/// signature is still aws-sigv4's, and keys are derived only on changes.
#[test]
fn signing_key_cache_is_shared_by_threads() {
    let signer = RequestSigner::for_scope("eu-west-1", "lambda");
    let before_midnight = at(1_440_979_199);
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let signer = &signer;
            s.spawn(move || {
                for i in 0..100u64 {
                    let secret = if (i / 25 + t) % 2 == 0 {
                        SECRET
                    } else {
                        SECRET2
                    };
                    let time = before_midnight + Duration::from_secs((i + t) % 2);
                    sign_get(signer, &identity(AKID, secret, None), time);
                }
            });
        }
    });
    assert!(signer.keys.derivations() >= 2, "{:?}", signer.keys);
    assert!(signer.keys.derivations() < 400, "{:?}", signer.keys);
}

/// The cached key and the secret never show in `Debug`.
#[test]
fn debug_shows_no_secret_and_no_key() {
    let signer = RequestSigner::for_scope("us-east-1", "lambda");
    let time = at(1_440_938_160);
    sign_get(&signer, &identity(AKID, SECRET, Some(TOKEN)), time);
    assert_eq!(signer.keys.derivations(), 1);
    let key = hex::encode(v4::generate_signing_key(
        SECRET,
        time,
        "us-east-1",
        "lambda",
    ));
    for text in [
        format!("{signer:?}"),
        format!("{signer:#?}"),
        format!("{:?}", signer.keys),
    ] {
        assert!(!text.contains(SECRET), "{text}");
        assert!(!text.contains(&key), "{text}");
        assert!(!text.contains(&key.to_uppercase()), "{text}");
        assert!(!text.contains(TOKEN), "{text}");
    }
}
