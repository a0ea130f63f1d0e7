//! Command-line parsing for the emulator: listeners, credentials, API keys, region, TLS names,
//! and the `--help` text listing the stages, the Lambda API and the built-in functions.
//!
//! Plain `std::env::args` parsing (no clap); pingora's own CLI flags are deliberately not parsed.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::sigv4_verify::Credential;

/// Access key used when no `--credential` is given (the AWS documentation example).
pub const DEFAULT_ACCESS_KEY: &str = "AKIDEXAMPLE";
/// Secret key used when no `--credential` is given (the AWS documentation example).
pub const DEFAULT_SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// API key accepted on `/apikey/...` when no `--api-key` is given.
pub const DEFAULT_API_KEY: &str = "demo-api-key";
/// Region the SigV4 credential scope must name when no `--region` is given.
pub const DEFAULT_REGION: &str = "us-east-1";
/// Worker threads when no `--threads` is given: enough for tests, small for a 2-core machine.
pub const DEFAULT_THREADS: usize = 2;
/// Largest `--jwks-delay-ms`.
pub const MAX_JWKS_DELAY_MS: u64 = 600_000;
/// Length every secret key must have (AWS secret keys are 40 characters; the verifier relies on it).
pub const SECRET_KEY_LEN: usize = 40;

pub const USAGE: &str = "\
usage: lambda-proxy-emulator [--http ADDR:PORT] [--https ADDR:PORT --cert-dir DIR]
           [--credential AKID:SECRET[:SESSION_TOKEN]]... [--api-key KEY]...
           [--region REGION] [--tls-name NAME]... [--threads N] [--fast]
           [--jwks-file PATH] [--jwt-issuer URL] [--jwks-delay-ms N]

A strict local stand-in for AWS API Gateway, Lambda Function URLs and the Lambda Invoke API.
  --http ADDR:PORT       plain listener (HTTP/1.1 and h2c on the same port)
  --https ADDR:PORT      TLS listener (h2 and HTTP/1.1 by ALPN); needs --cert-dir
  --cert-dir DIR         where the generated ca.pem, cert.pem and key.pem are written
  --credential A:S[:T]   accepted SigV4 credential, repeatable (secret: 40 characters)
                         default AKIDEXAMPLE:wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
  --api-key KEY          accepted x-api-key value, repeatable (default demo-api-key)
  --region REGION        region the signature scope must use (default us-east-1)
  --tls-name NAME        name in the generated certificate, repeatable; IP addresses
                         become IP SANs (default: localhost and 127.0.0.1)
  --threads N            worker threads (default 2)
  --jwks-file PATH       served as GET /.well-known/jwks.json, re-read on every
                         request (missing file: 503; without the flag: 404)
  --jwt-issuer URL       issuer of /.well-known/openid-configuration, taken as
                         given (default http://HOST or https://HOST, from Host)
  --jwks-delay-ms N      delay every jwks.json answer by N ms (default 0)
  --fast                 benchmark backend, NOT an emulation: plain HTTP/1.1 on
                         --http only (no h2c, no TLS), no SigV4 or API-key check,
                         no validation, no per-request log; answers with minimal
                         work so it is never the bottleneck (load/bench.sh):
                           Invoke of the function proxy: a fixed small
                             proxy-integration result (200, {\"ok\":true} body)
                           Invoke of any other name: the payload as received
                           InvokeWithResponseStream: the payload as one PayloadChunk
                           any other path: 200 JSON, the request body ({\"ok\":true}
                             when empty)
Prints READY on stdout once listening.

API Gateway-like stages (first path segment):
  /open  /apikey (x-api-key)  /iam (SigV4 execute-api)  /url (SigV4 lambda)
  /stall (never answers)  /status/NNN (answers NNN); all echo the request as JSON

Other paths (no authentication; GET and HEAD only, else 405):
  /.well-known/jwks.json               the --jwks-file
  /.well-known/openid-configuration    OIDC discovery: issuer, jwks_uri (ISSUER less
                                       one trailing / + /.well-known/jwks.json), algorithms
                                       (both also below the path of --jwt-issuer, if any)
  /__emulator/counters                 {\"jwks_fetches\":N,\"discovery_fetches\":N,
                                       \"invocations\":{\"NAME\":N,..}} (GET/HEAD of the
                                       documents; Invokes past SigV4 and validation,
                                       DryRun excluded)

Lambda API (SigV4 service lambda, --region; account 123456789012):
  POST /2015-03-31/functions/{FunctionName}/invocations[?Qualifier=Q]        Invoke
  POST /2021-11-15/functions/{FunctionName}/response-streaming-invocations[?Qualifier=Q]
                                               InvokeWithResponseStream (event stream)
  FunctionName: name, name:Q, 123456789012:function:name[:Q] or the full ARN,
  percent-encoded once (`:` as %3A) and signed with the SDKs' double encoding.
  Qualifiers: $LATEST (default), 1, alias prod (runs version 1).
  X-Amz-Invocation-Type RequestResponse|Event (202)|DryRun (204); X-Amz-Log-Type Tail.
  Payload: JSON, at most 6291456 bytes (1048576 for Event).
Built-in functions (payload fields in braces):
  echo       the payload as received
  inspect    JSON describing the call (name, qualifier, raw path, headers, payload)
  unhandled  200 + X-Amz-Function-Error: Unhandled
  handled    200 + X-Amz-Function-Error: Handled
  sleep      sleeps {\"ms\":1000} (at most 600000), returns {\"slept_ms\":N}
  respond    returns {\"result\":..} re-serialised or the string {\"result_raw\":..} raw
  proxy      API Gateway proxy result (201) echoing the event as its body
  binary     proxy result, isBase64Encoded, body = bytes 0..=255
  large      a JSON string of {\"bytes\":5000000} bytes in total
  throttle   429 TooManyRequestsException
  stream     {\"chunks\":5} x `chunk i`, {\"delay_ms\":200} apart; {\"prelude\":true} for an
             HTTP-integration stream; {\"fail_after\":K} ends with ErrorCode Unhandled
  authorizer-simple  HTTP API Lambda authorizer, payload 2.0 simple response
             {\"isAuthorized\":B,\"context\":{\"token\",\"tenant\",\"invocations\",\"nested\"}}
  authorizer-policy  HTTP API Lambda authorizer (payload 1.0 or 2.0), IAM policy for the
             methodArn/routeArn: {\"principalId\":\"user-TOKEN\",\"policyDocument\",\"context\"}
  Authorizers check the event strictly (Unhandled error naming what is missing); the
  token is identitySource[0] (2.0) or identitySource up to the first `,` (1.0):
  allow*: allowed  deny*: denied  error*: Unhandled  slow:MS: sleeps, allowed
  garbage*: the bytes `not json`  else: denied; policy only: allow-other allows
  another resource, allow-wildcard allows arn:aws:execute-api:*:*:*/*";

/// Everything the emulator was asked to do.
#[derive(Debug, Clone)]
pub struct Config {
    pub http: Option<SocketAddr>,
    pub https: Option<SocketAddr>,
    pub cert_dir: Option<PathBuf>,
    pub credentials: Vec<Credential>,
    pub api_keys: Vec<String>,
    pub region: String,
    pub tls_names: Vec<String>,
    /// Worker threads of the one service.
    pub threads: usize,
    /// `--fast`: the benchmark backend instead of the strict emulator.
    pub fast: bool,
    /// `--jwks-file`: the JWKS served at `/.well-known/jwks.json`, read on every request.
    pub jwks_file: Option<PathBuf>,
    /// `--jwt-issuer`: the discovery document's issuer (else derived from `Host`).
    pub jwt_issuer: Option<String>,
    /// `--jwks-delay-ms`: how long every `jwks.json` answer is held back.
    pub jwks_delay_ms: u64,
}

/// What the command line asked for.
#[derive(Debug)]
pub enum Command {
    Run(Box<Config>),
    Help,
}

/// Parses the arguments after the program name.
pub fn parse<I, S>(args: I) -> Result<Command, String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut http = None;
    let mut https = None;
    let mut cert_dir = None;
    let mut credentials = Vec::new();
    let mut api_keys = Vec::new();
    let mut region = None;
    let mut tls_names = Vec::new();
    let mut threads = DEFAULT_THREADS;
    let mut fast = false;
    let mut jwks_file = None;
    let mut jwt_issuer = None;
    let mut jwks_delay_ms = 0;

    let mut args = args.into_iter().map(Into::into);
    while let Some(arg) = args.next() {
        // Accept both `--flag value` and `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        if flag == "--help" || flag == "-h" {
            return Ok(Command::Help);
        }
        if flag == "--fast" {
            if inline.is_some() {
                return Err("--fast takes no value".into());
            }
            fast = true;
            continue;
        }
        let mut value = || -> Result<String, String> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => args.next().ok_or_else(|| format!("{flag} needs a value")),
            }
        };
        match flag.as_str() {
            "--http" => http = Some(parse_addr(&flag, &value()?)?),
            "--https" => https = Some(parse_addr(&flag, &value()?)?),
            "--cert-dir" => cert_dir = Some(PathBuf::from(value()?)),
            "--credential" => credentials.push(parse_credential(&value()?)?),
            "--api-key" => {
                let key = value()?;
                if key.is_empty() {
                    return Err("--api-key must not be empty".into());
                }
                api_keys.push(key);
            }
            "--region" => {
                let r = value()?;
                if r.is_empty() || r.contains('/') {
                    return Err(format!("invalid --region {r:?}"));
                }
                region = Some(r);
            }
            "--tls-name" => {
                let n = value()?;
                if n.is_empty() {
                    return Err("--tls-name must not be empty".into());
                }
                tls_names.push(n);
            }
            "--threads" => {
                let v = value()?;
                threads = match v.parse::<usize>() {
                    Ok(n) if (1..=64).contains(&n) => n,
                    _ => return Err(format!("--threads wants 1..64, got {v:?}")),
                };
            }
            "--jwks-file" => jwks_file = Some(PathBuf::from(value()?)),
            "--jwt-issuer" => jwt_issuer = Some(parse_issuer(&value()?)?),
            "--jwks-delay-ms" => {
                let v = value()?;
                jwks_delay_ms = match v.parse::<u64>() {
                    Ok(n) if n <= MAX_JWKS_DELAY_MS => n,
                    _ => return Err(format!("--jwks-delay-ms wants 0..600000, got {v:?}")),
                };
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }

    if http.is_none() && https.is_none() {
        return Err("at least one of --http or --https is required".into());
    }
    if https.is_some() && cert_dir.is_none() {
        return Err("--https needs --cert-dir".into());
    }
    if credentials.is_empty() {
        credentials.push(Credential {
            access_key: DEFAULT_ACCESS_KEY.into(),
            secret_key: DEFAULT_SECRET_KEY.into(),
            session_token: None,
        });
    }
    if api_keys.is_empty() {
        api_keys.push(DEFAULT_API_KEY.into());
    }
    if tls_names.is_empty() {
        tls_names = vec!["localhost".into(), "127.0.0.1".into()];
    }
    Ok(Command::Run(Box::new(Config {
        http,
        https,
        cert_dir,
        credentials,
        api_keys,
        region: region.unwrap_or_else(|| DEFAULT_REGION.into()),
        tls_names,
        threads,
        fast,
        jwks_file,
        jwt_issuer,
        jwks_delay_ms,
    })))
}

fn parse_addr(flag: &str, value: &str) -> Result<SocketAddr, String> {
    value
        .parse()
        .map_err(|_| format!("{flag} wants IP:PORT (e.g. 127.0.0.1:9000), got {value:?}"))
}

/// `AKID:SECRET[:SESSION_TOKEN]`; the token may itself contain `:`.
fn parse_credential(value: &str) -> Result<Credential, String> {
    let mut parts = value.splitn(3, ':');
    let access_key = parts.next().unwrap_or_default();
    let secret_key = parts.next().unwrap_or_default();
    let session_token = parts.next();
    if access_key.is_empty() || access_key.contains('/') {
        return Err(format!("--credential: bad access key in {value:?}"));
    }
    if secret_key.len() != SECRET_KEY_LEN || !secret_key.is_ascii() {
        return Err(format!(
            "--credential: the secret key must be {SECRET_KEY_LEN} ASCII characters (got {})",
            secret_key.len()
        ));
    }
    if session_token == Some("") {
        return Err("--credential: empty session token".into());
    }
    Ok(Credential {
        access_key: access_key.into(),
        secret_key: secret_key.into(),
        session_token: session_token.map(Into::into),
    })
}

/// `--jwt-issuer`: an `http://` or `https://` URL with a host, kept exactly as given.
fn parse_issuer(issuer: &str) -> Result<String, String> {
    let rest = issuer
        .strip_prefix("https://")
        .or_else(|| issuer.strip_prefix("http://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') && !issuer.contains(['?', '#']) => {
            Ok(issuer.to_string())
        }
        _ => Err(format!(
            "--jwt-issuer wants an http:// or https:// URL without query or fragment, got {issuer:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Config, String> {
        match parse(args.iter().copied())? {
            Command::Run(c) => Ok(*c),
            Command::Help => Err("help".into()),
        }
    }

    #[test]
    fn defaults() {
        let c = run(&["--http", "127.0.0.1:9000"]).unwrap();
        assert_eq!(c.http, Some("127.0.0.1:9000".parse().unwrap()));
        assert_eq!(c.https, None);
        assert_eq!(c.credentials.len(), 1);
        assert_eq!(c.credentials[0].access_key, DEFAULT_ACCESS_KEY);
        assert_eq!(c.api_keys, vec![DEFAULT_API_KEY.to_string()]);
        assert_eq!(c.region, "us-east-1");
        assert_eq!(c.tls_names, vec!["localhost", "127.0.0.1"]);
        assert_eq!(c.threads, DEFAULT_THREADS);
        assert!(!c.fast);
        assert_eq!(c.jwks_file, None);
        assert_eq!(c.jwt_issuer, None);
        assert_eq!(c.jwks_delay_ms, 0);
    }

    #[test]
    fn jwt_flags() {
        let c = run(&[
            "--http",
            "127.0.0.1:9000",
            "--jwks-file",
            "/tmp/jwks.json",
            "--jwt-issuer=https://issuer.example/tenant/",
            "--jwks-delay-ms",
            "1500",
        ])
        .unwrap();
        assert_eq!(c.jwks_file, Some(PathBuf::from("/tmp/jwks.json")));
        assert_eq!(
            c.jwt_issuer.as_deref(),
            Some("https://issuer.example/tenant/")
        );
        assert_eq!(c.jwks_delay_ms, 1500);
        for bad in [
            "issuer.example",
            "ftp://x",
            "https://",
            "https:///x",
            "http://h?x=1",
        ] {
            assert!(
                run(&["--http", "127.0.0.1:1", "--jwt-issuer", bad]).is_err(),
                "{bad}"
            );
        }
        assert!(run(&["--http", "127.0.0.1:1", "--jwks-delay-ms", "-1"]).is_err());
        assert!(run(&["--http", "127.0.0.1:1", "--jwks-delay-ms", "600001"]).is_err());
    }

    #[test]
    fn fast_and_threads() {
        let c = run(&["--http", "127.0.0.1:9000", "--fast", "--threads", "1"]).unwrap();
        assert!(c.fast);
        assert_eq!(c.threads, 1);
        assert!(run(&["--http", "127.0.0.1:9000", "--fast=yes"]).is_err());
        assert!(run(&["--http", "127.0.0.1:9000", "--threads", "0"]).is_err());
        assert!(run(&["--http", "127.0.0.1:9000", "--threads=x"]).is_err());
    }

    #[test]
    fn repeated_and_inline_flags() {
        let c = run(&[
            "--https=127.0.0.1:9443",
            "--cert-dir",
            "/tmp/x",
            "--credential",
            "AKID1:wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "--credential",
            "AKID2:wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY:tok:en",
            "--api-key",
            "a",
            "--api-key",
            "b",
            "--region",
            "eu-west-1",
            "--tls-name",
            "api.local",
        ])
        .unwrap();
        assert_eq!(c.credentials.len(), 2);
        assert_eq!(c.credentials[1].session_token.as_deref(), Some("tok:en"));
        assert_eq!(c.api_keys, vec!["a", "b"]);
        assert_eq!(c.region, "eu-west-1");
        assert_eq!(c.tls_names, vec!["api.local"]);
    }

    #[test]
    fn rejects_bad_input() {
        assert!(run(&[]).is_err());
        assert!(run(&["--https", "127.0.0.1:1"]).is_err());
        assert!(run(&["--http", "localhost"]).is_err());
        assert!(run(&["--http"]).is_err());
        assert!(run(&["--http", "127.0.0.1:1", "--bogus"]).is_err());
        assert!(run(&["--http", "127.0.0.1:1", "--credential", "AKID:short"]).is_err());
        assert!(run(&["--http", "127.0.0.1:1", "--credential", "AKID"]).is_err());
        assert!(matches!(parse(["--help"]), Ok(Command::Help)));
    }
}
