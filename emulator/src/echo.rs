//! The Pingora `ServeHttp` app: routes by the first path segment (API Gateway-like stages),
//! applies that stage's authentication, and answers with the JSON echo or an AWS-style error.
//!
//! | stage           | check                                         |
//! |-----------------|-----------------------------------------------|
//! | `/open/...`     | none                                          |
//! | `/apikey/...`   | `x-api-key` must be a configured key          |
//! | `/iam/...`      | SigV4 for `execute-api` (API Gateway IAM)     |
//! | `/url/...`      | SigV4 for `lambda` (Function URL, AWS_IAM)    |
//! | `/stall/...`    | none; reads the request, then never answers   |
//! | `/status/NNN/..`| none; answers status NNN                      |
//! | `/bytes/N/...`  | none; answers N bytes of `b` (at most 64 MiB) |

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use http::Response;
use log::{info, warn};
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;

use crate::reply::{self, Auth};
use crate::sigv4_verify::{
    Rejection, SignedRequest, Verifier, SERVICE_EXECUTE_API, SERVICE_LAMBDA,
};
use crate::wire::{self, Received};

/// How long `/stall` keeps a request unanswered.
const STALL: Duration = Duration::from_secs(3600);

/// The stage a request is for, from the first segment of its raw path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Open,
    ApiKey,
    Iam,
    Url,
    Stall,
    Status(u16),
    Bytes(usize),
    BadStatus,
    NotFound,
}

impl Stage {
    pub fn of(raw_path: &[u8]) -> Stage {
        let mut segments = raw_path
            .strip_prefix(b"/")
            .unwrap_or(raw_path)
            .split(|&b| b == b'/');
        match segments.next().unwrap_or_default() {
            b"open" => Stage::Open,
            b"apikey" => Stage::ApiKey,
            b"iam" => Stage::Iam,
            b"url" => Stage::Url,
            b"stall" => Stage::Stall,
            b"bytes" => match std::str::from_utf8(segments.next().unwrap_or_default())
                .ok()
                .and_then(|n| n.parse::<usize>().ok())
            {
                Some(n) if n <= 64 << 20 => Stage::Bytes(n),
                _ => Stage::BadStatus,
            },
            b"status" => match segments.next() {
                Some(code) if code.len() == 3 && code.iter().all(u8::is_ascii_digit) => {
                    let code = code
                        .iter()
                        .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
                    if (200..=599).contains(&code) {
                        Stage::Status(code)
                    } else {
                        Stage::BadStatus
                    }
                }
                _ => Stage::BadStatus,
            },
            _ => Stage::NotFound,
        }
    }

    /// The SigV4 service name this stage checks, if it checks one.
    fn sigv4_service(self) -> Option<&'static str> {
        match self {
            Stage::Iam => Some(SERVICE_EXECUTE_API),
            Stage::Url => Some(SERVICE_LAMBDA),
            _ => None,
        }
    }
}

/// The emulator application.
pub struct EmulatorApp {
    api_keys: Vec<String>,
    verifier: Arc<Verifier>,
}

impl EmulatorApp {
    pub fn new(api_keys: Vec<String>, verifier: Verifier) -> Self {
        EmulatorApp {
            api_keys,
            verifier: Arc::new(verifier),
        }
    }

    async fn handle(
        &self,
        session: &mut ServerSession,
        received: &Received,
        stage: Stage,
    ) -> (Response<Vec<u8>>, Auth) {
        if received.expects_continue() {
            // Best effort: a client that gets no 100 sends the body after its own timeout.
            let _ = session.write_continue_response().await;
        }
        // The body is always read to the end, so the connection can be reused.
        let body = match wire::read_body(session, stage.sigv4_service().is_some()).await {
            Ok(body) => body,
            Err(e) => {
                warn!("reading the request body failed: {e}");
                session.set_keepalive(None);
                let reply = reply::error(
                    400,
                    "BadRequestException",
                    "Could not read the request body",
                );
                return (reply, Auth::None);
            }
        };
        if body.too_large {
            return (
                reply::error(413, "RequestEntityTooLargeException", "Request Too Long"),
                Auth::None,
            );
        }

        let (auth, access_key) = match stage {
            Stage::NotFound => {
                return (
                    reply::error(404, "NotFoundException", "Not Found"),
                    Auth::None,
                );
            }
            Stage::BadStatus => {
                let message = "Use /status/NNN/... with NNN between 200 and 599";
                return (
                    reply::error(400, "BadRequestException", message),
                    Auth::None,
                );
            }
            Stage::ApiKey => {
                if !self.api_key_ok(received) {
                    return (
                        reply::error(403, "ForbiddenException", "Forbidden"),
                        Auth::None,
                    );
                }
                (Auth::ApiKey, None)
            }
            Stage::Iam | Stage::Url => {
                let service = stage.sigv4_service().unwrap_or(SERVICE_EXECUTE_API);
                let request = SignedRequest {
                    method: received.method.clone(),
                    raw_path: received.raw_path.clone(),
                    raw_query: received.raw_query.clone(),
                    headers: received.header_map.clone(),
                    body: body.full.clone().unwrap_or_default(),
                };
                match self.verify(request, service).await {
                    Ok(access_key) => (Auth::Iam, Some(access_key)),
                    Err(r) => {
                        return (reply::error(r.status, r.error_type, &r.message), Auth::None);
                    }
                }
            }
            Stage::Open | Stage::Stall | Stage::Status(_) => (Auth::None, None),
            Stage::Bytes(n) => {
                let reply = Response::builder()
                    .status(200)
                    .header("content-type", "application/octet-stream")
                    .header("content-length", n.to_string())
                    .body(vec![b'b'; n])
                    .unwrap_or_default();
                return (reply, Auth::None);
            }
        };

        if stage == Stage::Stall {
            tokio::time::sleep(STALL).await;
        }
        let status = match stage {
            Stage::Status(code) => code,
            _ => 200,
        };
        let reply = reply::echo(status, received, &body, auth, access_key.as_deref());
        (reply, auth)
    }

    fn api_key_ok(&self, received: &Received) -> bool {
        received
            .header_map
            .get("x-api-key")
            .is_some_and(|v| self.api_keys.iter().any(|k| k.as_bytes() == v.as_bytes()))
    }

    /// Runs the check in its own task, so that even a panic in the verifier is a 500 answer.
    async fn verify(
        &self,
        request: SignedRequest,
        service: &'static str,
    ) -> Result<String, Rejection> {
        let verifier = self.verifier.clone();
        let task =
            tokio::spawn(
                async move { verifier.verify(&request, service, SystemTime::now()).await },
            );
        match task.await {
            Ok(result) => result,
            Err(e) => Err(Rejection::internal(format!("signature check failed: {e}"))),
        }
    }
}

#[async_trait]
impl ServeHttp for EmulatorApp {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        let started = Instant::now();
        let received = Received::from_session(session);
        let stage = Stage::of(&received.raw_path);
        let (reply, auth) = self.handle(session, &received, stage).await;
        info!(
            "{} {} {} -> {} auth={} peer={} {}ms",
            received.http_version,
            received.method,
            received.path_text(),
            reply.status().as_u16(),
            auth.as_str(),
            received.peer.as_deref().unwrap_or("-"),
            started.elapsed().as_millis()
        );
        reply
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages() {
        assert_eq!(Stage::of(b"/open/x"), Stage::Open);
        assert_eq!(Stage::of(b"/open"), Stage::Open);
        assert_eq!(Stage::of(b"/apikey/prod/x"), Stage::ApiKey);
        assert_eq!(Stage::of(b"/iam/prod/a%20b"), Stage::Iam);
        assert_eq!(Stage::of(b"/url/"), Stage::Url);
        assert_eq!(Stage::of(b"/stall/x"), Stage::Stall);
        assert_eq!(Stage::of(b"/status/503/x"), Stage::Status(503));
        assert_eq!(Stage::of(b"/status/204"), Stage::Status(204));
        assert_eq!(Stage::of(b"/status/100"), Stage::BadStatus);
        assert_eq!(Stage::of(b"/status/abc"), Stage::BadStatus);
        assert_eq!(Stage::of(b"/status"), Stage::BadStatus);
        assert_eq!(Stage::of(b"/"), Stage::NotFound);
        assert_eq!(Stage::of(b"/opened"), Stage::NotFound);
        assert_eq!(Stage::of(b"/%6Fpen"), Stage::NotFound);
        assert_eq!(Stage::of(b"\xff\xfe"), Stage::NotFound);
    }
}
