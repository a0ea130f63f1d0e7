//! Removing secrets from error texts before they are stored, logged or exported.
//!
//! Two passes: every known secret value is replaced, then every word that looks like a secret
//! (32+ characters of the base64 alphabet mixing upper case, lower case and digits: secret access
//! keys, session tokens, JWT segments) is replaced too, since an error may echo a secret we were
//! never told about.

/// What a removed secret is replaced with.
pub(crate) const REDACTED: &str = "<redacted>";

/// Environment variables whose values are secrets the SDK may have read.
const SECRET_ENV: &[&str] = &[
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
];

/// Environment variables naming files whose contents are secrets the SDK may have read.
const SECRET_FILE_ENV: &[&str] = &[
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
];

/// Secret values from the process environment (and the token files it names, when small).
pub(crate) fn environment_secrets() -> Vec<String> {
    let mut out: Vec<String> = SECRET_ENV
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .collect();
    for k in SECRET_FILE_ENV {
        let Some(path) = std::env::var_os(k) else {
            continue;
        };
        let small = std::fs::metadata(&path).is_ok_and(|m| m.len() <= 64 * 1024);
        if let Some(text) = small.then(|| std::fs::read_to_string(&path).ok()).flatten() {
            out.push(text.trim().to_string());
        }
    }
    out
}

/// Replaces each of `known` (ignoring ones shorter than 4 characters) and every secret-shaped word.
pub(crate) fn scrub(text: &str, known: &[String]) -> String {
    let mut known: Vec<&str> = known
        .iter()
        .map(|s| s.as_str())
        .filter(|s| s.len() >= 4)
        .collect();
    // Longest first, so a secret containing another is replaced whole.
    known.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_string();
    for secret in known {
        if out.contains(secret) {
            out = out.replace(secret, REDACTED);
        }
    }
    redact_secret_shaped(&out)
}

fn is_secret_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '_' | '-')
}

fn looks_secret(word: &str) -> bool {
    word.len() >= 32
        && word.chars().any(|c| c.is_ascii_uppercase())
        && word.chars().any(|c| c.is_ascii_lowercase())
        && word.chars().any(|c| c.is_ascii_digit())
}

fn redact_secret_shaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word_start: Option<usize> = None;
    let flush = |out: &mut String, word: &str| {
        if looks_secret(word) {
            out.push_str(REDACTED);
        } else {
            out.push_str(word);
        }
    };
    for (i, c) in text.char_indices() {
        if is_secret_char(c) {
            word_start.get_or_insert(i);
        } else {
            if let Some(start) = word_start.take() {
                flush(&mut out, &text[start..i]);
            }
            out.push(c);
        }
    }
    if let Some(start) = word_start {
        flush(&mut out, &text[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_are_replaced() {
        let out = scrub(
            "token CANARY-token-1 in 'CANARY-token-1x'",
            &[
                "CANARY-token-1".into(),
                "CANARY-token-1x".into(),
                "ab".into(),
            ],
        );
        assert_eq!(out, "token <redacted> in '<redacted>'");
    }

    #[test]
    fn secret_shaped_words_are_replaced() {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY";
        let jwt = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEyMyJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGVmYXVsdDpteS1zYSJ9.c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJl";
        let text = format!(
            "failed (secret={secret}) token: {jwt}; url http://127.0.0.1:8080/creds \
             arn:aws:iam::123456789012:role/lambda-proxy-invoker ASIAIOSFODNN7EXAMPLE"
        );
        let out = scrub(&text, &[]);
        assert!(!out.contains(secret), "{out}");
        assert!(!out.contains("eyJ"), "{out}");
        assert!(out.contains("http://127.0.0.1:8080/creds"), "{out}");
        assert!(out.contains("arn:aws:iam::123456789012:role/lambda-proxy-invoker"));
        assert!(out.contains("ASIAIOSFODNN7EXAMPLE"), "{out}");
    }
}
