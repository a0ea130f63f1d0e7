//! Answers the gateway writes itself: short JSON error bodies with the right status.

use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora::prelude::*;
use pingora::proxy::Session;

/// The JSON body of a gateway error: `{"error":"<code>","message":"<text>"}` and a newline
/// (a terminal or a line-oriented tool shows it as one line).
pub fn error_body(code: &str, message: &str) -> Bytes {
    json_line(&serde_json::json!({ "error": code, "message": message }))
}

/// A JSON value as a body: the value and a newline.
pub fn json_line(v: &serde_json::Value) -> Bytes {
    let mut s = v.to_string();
    s.push('\n');
    s.into()
}

/// Writes a complete JSON error response. `extra` headers are added as given. The connection
/// is kept only when `keepalive` is true and the request body was fully consumed.
pub async fn json_error(
    session: &mut Session,
    status: u16,
    code: &str,
    message: &str,
    extra: &[(&str, String)],
    keepalive: bool,
) -> Result<()> {
    let body = error_body(code, message);
    let mut resp = ResponseHeader::build(status, Some(3 + extra.len()))?;
    resp.insert_header("content-type", "application/json")?;
    resp.insert_header("content-length", body.len().to_string())?;
    for (k, v) in extra {
        resp.insert_header(k.to_string(), v.as_str())?;
    }
    let body_consumed = session.is_body_empty() || session.is_body_done();
    if !keepalive || !body_consumed {
        session.set_keepalive(None);
    }
    session.write_response_header(Box::new(resp), false).await?;
    session.write_response_body(Some(body), true).await?;
    Ok(())
}

/// Writes a complete JSON response of the gateway's own (health and similar).
pub async fn json(session: &mut Session, status: u16, body: &'static [u8]) -> Result<()> {
    let mut resp = ResponseHeader::build(status, Some(3))?;
    resp.insert_header("content-type", "application/json")?;
    resp.insert_header("content-length", body.len().to_string())?;
    resp.insert_header("cache-control", "no-store")?;
    session.write_response_header(Box::new(resp), false).await?;
    session
        .write_response_body(Some(Bytes::from_static(body)), true)
        .await?;
    Ok(())
}
