//! Local stand-ins for the AWS credential endpoints, on 127.0.0.1 at ports chosen at run time:
//! IMDSv2, ECS / EKS Pod Identity container credentials and STS (AssumeRole,
//! AssumeRoleWithWebIdentity in AWS's XML), issuing rotating credentials from an [`Issuer`].
//! Shared by `tests/credentials_sources.rs` (module level) and `tests/gateway/credentials_gateway.rs`
//! (through the gateway binary). Every secret and token they issue contains [`CANARY`].
//!
//! The servers run on the tokio runtime that starts them (so a test that blocks its thread, e.g.
//! waiting on a child process, needs a multi-thread runtime).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_smithy_types::date_time::{DateTime, Format};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// In every secret, token and external id the tests configure or the stand-ins issue.
pub const CANARY: &str = "CANARY";

/// Pads to exactly 40 characters: AWS-shaped secret access keys.
pub fn secret40(seed: &str) -> String {
    let mut s: String = seed.chars().take(40).collect();
    while s.len() < 40 {
        s.push(char::from(b'a' + (s.len() % 26) as u8));
    }
    s
}

pub fn iso8601(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).unwrap().as_secs();
    DateTime::from_secs(secs as i64)
        .fmt(Format::DateTime)
        .unwrap()
}

#[derive(Clone, Debug)]
pub struct Issued {
    pub access_key_id: String,
    pub secret: String,
    pub token: String,
    /// ISO 8601, whole seconds (as AWS sends it).
    pub expiration: String,
    /// `expiration` as a time.
    pub expires_at: SystemTime,
}

/// Issues a new set each call: key ids `ASIA<TAG><12 digits>` (20 characters), 40-character
/// secrets, tokens, expiring `lifetime` from now. The n-th set is deterministic (only its expiry
/// depends on when it is issued), so a strict emulator can be told in advance which ones to
/// accept ([`Issuer::emulator_credentials`]).
pub struct Issuer {
    tag: &'static str,
    n: AtomicU32,
    lifetime: Duration,
    last: Mutex<Option<Issued>>,
}

impl Issuer {
    pub fn new(tag: &'static str, lifetime: Duration) -> Arc<Issuer> {
        assert_eq!(tag.len(), 4);
        Arc::new(Issuer {
            tag,
            n: AtomicU32::new(0),
            lifetime,
            last: Mutex::new(None),
        })
    }

    /// The n-th set (1-based): (access key id, secret, session token).
    pub fn nth(&self, n: u32) -> (String, String, String) {
        let access_key_id = format!("ASIA{}{n:012}", self.tag);
        assert_eq!(access_key_id.len(), 20);
        (
            access_key_id,
            secret40(&format!("{CANARY}/{}/secret/{n}/", self.tag)),
            format!(
                "{CANARY}-{}-token-{n}-IQoJb3JpZ2luX2VjEHAaCXVzLWVhc3QtMSJHMEUCIQ",
                self.tag
            ),
        )
    }

    /// `--credential AKID:SECRET:TOKEN` values for the first `count` sets.
    pub fn emulator_credentials(&self, count: u32) -> Vec<String> {
        (1..=count)
            .map(|n| {
                let (k, s, t) = self.nth(n);
                format!("{k}:{s}:{t}")
            })
            .collect()
    }

    /// The session token of the set with key id `access_key_id`, if this issuer made that id.
    pub fn token_of(&self, access_key_id: &str) -> Option<String> {
        let n = access_key_id
            .strip_prefix("ASIA")?
            .strip_prefix(self.tag)?
            .parse()
            .ok()?;
        Some(self.nth(n).2)
    }

    pub fn issue(&self) -> Issued {
        let n = self.n.fetch_add(1, Ordering::SeqCst) + 1;
        let (access_key_id, secret, token) = self.nth(n);
        let at = SystemTime::now() + self.lifetime;
        let expiration = iso8601(at);
        let expires_at =
            UNIX_EPOCH + Duration::from_secs(at.duration_since(UNIX_EPOCH).unwrap().as_secs());
        let issued = Issued {
            access_key_id,
            secret,
            token,
            expiration,
            expires_at,
        };
        *self.last.lock().unwrap() = Some(issued.clone());
        issued
    }

    pub fn count(&self) -> u32 {
        self.n.load(Ordering::SeqCst)
    }

    /// The set issued last.
    pub fn last(&self) -> Option<Issued> {
        self.last.lock().unwrap().clone()
    }

    pub fn json(&self) -> (Issued, String) {
        let c = self.issue();
        let body = format!(
            r#"{{"Code":"Success","LastUpdated":"{}","Type":"AWS-HMAC","AccessKeyId":"{}","SecretAccessKey":"{}","Token":"{}","Expiration":"{}"}}"#,
            iso8601(SystemTime::now()),
            c.access_key_id,
            c.secret,
            c.token,
            c.expiration
        );
        (c, body)
    }
}

// ---------------------------------------------------------------------------------------------
// A minimal HTTP/1.1 stand-in
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn form(&self) -> HashMap<String, String> {
        self.body
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (decode(k), decode(v)))
            .collect()
    }
}

pub fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .to_string()
}

pub enum Reply {
    Send(u16, String, String),
    /// Never answers. Built by `tests/credentials_sources.rs` only (this file is in both targets).
    #[allow(dead_code)]
    Hang,
}

pub fn reply(status: u16, content_type: &str, body: impl Into<String>) -> Reply {
    Reply::Send(status, format!("content-type: {content_type}"), body.into())
}

pub type Handler = Arc<dyn Fn(&Req) -> Reply + Send + Sync>;

pub struct Stub {
    pub port: u16,
    seen: Arc<Mutex<Vec<Req>>>,
}

impl Stub {
    /// Serves `handler` on 127.0.0.1 (port chosen now) on the current runtime.
    pub async fn start(handler: impl Fn(&Req) -> Reply + Send + Sync + 'static) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler: Handler = Arc::new(handler);
        let seen2 = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(serve(sock, handler.clone(), seen2.clone()));
            }
        });
        Stub { port, seen }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn requests(&self) -> Vec<Req> {
        self.seen.lock().unwrap().clone()
    }
}

pub async fn serve(mut sock: tokio::net::TcpStream, handler: Handler, seen: Arc<Mutex<Vec<Req>>>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_string();
    let path = first.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let req = Req {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&buf[head_end..head_end + length]).to_string(),
    };
    seen.lock().unwrap().push(req.clone());
    match handler(&req) {
        Reply::Hang => std::future::pending::<()>().await,
        Reply::Send(status, headers, body) => {
            let response = format!(
                "HTTP/1.1 {status} Stub\r\n{headers}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(response.as_bytes()).await;
            let _ = sock.shutdown().await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The stand-ins
// ---------------------------------------------------------------------------------------------

pub const IMDS_TOKEN: &str = "CANARY-imds-session-token";
pub const IMDS_ROLE: &str = "lambda-proxy-instance-role";

/// IMDSv2: `PUT /latest/api/token` (with the TTL header) first; GETs without the token → 401.
pub async fn imds_stub(issuer: Arc<Issuer>) -> Stub {
    Stub::start(move |req| {
        if req.method == "PUT" && req.path == "/latest/api/token" {
            return match req.header("x-aws-ec2-metadata-token-ttl-seconds") {
                Some(ttl) if ttl.parse::<u32>().is_ok() => Reply::Send(
                    200,
                    format!(
                        "content-type: text/plain\r\nx-aws-ec2-metadata-token-ttl-seconds: {ttl}"
                    ),
                    IMDS_TOKEN.into(),
                ),
                _ => reply(400, "text/plain", "missing token TTL"),
            };
        }
        if req.header("x-aws-ec2-metadata-token") != Some(IMDS_TOKEN) {
            return reply(401, "text/plain", "");
        }
        let base = "/latest/meta-data/iam/security-credentials/";
        match req.path.strip_prefix(base) {
            Some("") => reply(200, "text/plain", IMDS_ROLE),
            Some(role) if role == IMDS_ROLE => reply(200, "text/plain", issuer.json().1),
            _ => reply(404, "text/plain", "not found"),
        }
    })
    .await
}

/// ECS / EKS Pod Identity container credentials at `/creds`. `mode`: 0 = serve (when the
/// Authorization header matches `token`), 1 = refuse with an error that echoes secrets.
pub async fn ecs_stub(issuer: Arc<Issuer>, token: &str, mode: Arc<AtomicU8>) -> Stub {
    let token = token.to_string();
    let last_secret = Arc::new(Mutex::new(String::new()));
    Stub::start(move |req| {
        if req.method != "GET" || req.path != "/creds" {
            return reply(404, "application/json", "{}");
        }
        if req.header("authorization") != Some(token.as_str()) {
            return reply(
                401,
                "application/json",
                r#"{"Code":"Unauthorized","Message":"bad authorization token"}"#,
            );
        }
        if mode.load(Ordering::SeqCst) == 1 {
            // A misbehaving service that echoes secrets into its error message.
            let message = format!(
                "refused: token {token}, last secret {}",
                last_secret.lock().unwrap()
            );
            return reply(
                400,
                "application/json",
                format!(r#"{{"Code":"AccessDenied","Message":"{message}"}}"#),
            );
        }
        let (issued, body) = issuer.json();
        *last_secret.lock().unwrap() = issued.secret;
        reply(200, "application/json", body)
    })
    .await
}

pub fn sts_credentials_xml(c: &Issued) -> String {
    format!(
        "<Credentials><AccessKeyId>{}</AccessKeyId><SecretAccessKey>{}</SecretAccessKey>\
         <SessionToken>{}</SessionToken><Expiration>{}</Expiration></Credentials>",
        c.access_key_id, c.secret, c.token, c.expiration
    )
}

pub fn sts_error(status: u16, code: &str, message: &str) -> Reply {
    reply(
        status,
        "text/xml",
        format!(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>\
             <Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>\
             <RequestId>4b6c8ad1-0000-4000-8000-000000000000</RequestId></ErrorResponse>"
        ),
    )
}

/// STS answering AssumeRole (which must be SigV4-signed) and AssumeRoleWithWebIdentity in AWS's
/// XML, issuing from `roles` and `web` respectively.
pub async fn sts_stub(roles: Arc<Issuer>, web: Arc<Issuer>) -> Stub {
    Stub::start(move |req| {
        if req.method != "POST" {
            return sts_error(400, "InvalidAction", "POST only");
        }
        let form = req.form();
        let session = form.get("RoleSessionName").cloned().unwrap_or_default();
        let role = form.get("RoleArn").cloned().unwrap_or_default();
        let user = format!(
            "<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/{}/{session}</Arn>\
             <AssumedRoleId>AROA3XFRBF535PLBIFPI4:{session}</AssumedRoleId></AssumedRoleUser>",
            role.rsplit('/').next().unwrap_or_default()
        );
        let meta = "<ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>";
        match form.get("Action").map(String::as_str) {
            Some("AssumeRole") => {
                let signed = req
                    .header("authorization")
                    .is_some_and(|a| a.starts_with("AWS4-HMAC-SHA256 Credential="));
                if !signed {
                    return sts_error(403, "MissingAuthenticationToken", "not signed");
                }
                let c = roles.issue();
                reply(
                    200,
                    "text/xml",
                    format!(
                        "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
                         <AssumeRoleResult>{user}{}</AssumeRoleResult>{meta}</AssumeRoleResponse>",
                        sts_credentials_xml(&c)
                    ),
                )
            }
            Some("AssumeRoleWithWebIdentity") => {
                if form.get("WebIdentityToken").is_none_or(|t| t.is_empty()) {
                    return sts_error(400, "InvalidIdentityToken", "no token");
                }
                let c = web.issue();
                reply(
                    200,
                    "text/xml",
                    format!(
                        "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
                         <AssumeRoleWithWebIdentityResult>\
                         <SubjectFromWebIdentityToken>system:serviceaccount:default:lambda-proxy</SubjectFromWebIdentityToken>\
                         <Audience>sts.amazonaws.com</Audience>{user}{}\
                         <Provider>oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE</Provider>\
                         </AssumeRoleWithWebIdentityResult>{meta}</AssumeRoleWithWebIdentityResponse>",
                        sts_credentials_xml(&c)
                    ),
                )
            }
            _ => sts_error(400, "InvalidAction", "unknown action"),
        }
    })
    .await
}

pub fn sts_requests(stub: &Stub, action: &str) -> Vec<(Req, HashMap<String, String>)> {
    stub.requests()
        .into_iter()
        .map(|r| {
            let f = r.form();
            (r, f)
        })
        .filter(|(_, f)| f.get("Action").map(String::as_str) == Some(action))
        .collect()
}

/// The access key id an AssumeRole request was signed with.
pub fn signed_with(req: &Req) -> String {
    let auth = req.header("authorization").unwrap();
    let cred = auth.split("Credential=").nth(1).unwrap();
    cred.split('/').next().unwrap().to_string()
}
