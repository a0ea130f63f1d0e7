//! Request bodies of signed routes. SigV4 needs the body's SHA-256 in the signature, which goes
//! out with the request head, before Pingora sends any body byte. Pingora 0.9.1 can replay a
//! body read early only from its 64 KiB retry buffer, so:
//!
//! * bodies up to 64 KiB (the common case) are read with retry buffering on; Pingora replays
//!   the buffer to the upstream itself: one pass through the phases;
//! * larger bodies (up to the route's limit) are handed to a subrequest with the body preset;
//!   the child runs the same phases and its response is piped to the client.

use bytes::Bytes;
use http::Version;
use pingora::prelude::*;
use pingora::proxy::subrequest::pipe::{pipe_subrequest, InputBody, InputBodyType};
use pingora::proxy::subrequest::{BodyMode, Ctx as SubrequestCtx};
use pingora::proxy::Session;
use sha2::{Digest, Sha256};

use crate::aws::sigv4::EMPTY_PAYLOAD_SHA256;
use crate::gateway::body_budget::BodyReservation;
use crate::gateway::request_body::{continue_if_expected, declared_length, read_whole, BodyRead};
use crate::gateway::respond::{budget_exhausted, refuse};
use crate::gateway::LargeBody;
use crate::gateway::{BufferedBody, GatewayError, RequestCtx, SharedOutcome, SubrequestInfo};

/// Reads the whole body, hashing it, then lets Pingora forward it (small) or pipes it through a
/// subrequest (large). Returns `Ok(true)` when the response was already written. The body's
/// bytes are reserved against the process-wide `budget` (`crate::gateway::body_budget`) before they are read
/// and stay reserved until the request ends.
pub async fn read_and_forward(
    session: &mut Session,
    ctx: &mut RequestCtx,
    limit: Option<u64>,
    budget: u64,
) -> Result<bool> {
    let limit = limit.unwrap_or(u64::MAX);
    if session.is_body_empty() {
        ctx.uri_request_mut()?.payload = Some(BufferedBody {
            sha256: EMPTY_PAYLOAD_SHA256.to_string(),
            len: 0,
        });
        return Ok(false);
    }
    let mut reservation = BodyReservation::new(budget);
    if let Some(declared) = declared_length(session.req_header()) {
        if let Err(why) = reservation.cover(declared) {
            return budget_exhausted(session, ctx, why, budget).await;
        }
    }
    continue_if_expected(session, ctx).await?;
    session.enable_retry_buffering();
    let mut hasher = Sha256::new();
    let mut chunks: Vec<Bytes> = Vec::new();
    let read = read_whole(session, limit, &mut reservation, |chunk| {
        hasher.update(&chunk);
        chunks.push(chunk);
    })
    .await?;
    let len = match read {
        BodyRead::Complete(len) => len,
        BodyRead::OverLimit => {
            return refuse(session, ctx, GatewayError::body_over_limit(limit)).await;
        }
        BodyRead::NoBudget(why) => {
            drop(chunks);
            return budget_exhausted(session, ctx, why, budget).await;
        }
    };
    // Held until the request ends: Pingora's retry buffer or the subrequest's preset body.
    ctx.body_reservation = Some(reservation);
    let payload = BufferedBody {
        sha256: hex::encode(hasher.finalize()),
        len,
    };
    if !session.as_ref().retry_buffer_truncated() {
        // Pingora replays its retry buffer as the body.
        ctx.uri_request_mut()?.payload = Some(payload);
        return Ok(false);
    }
    ctx.uri_request_mut()?.payload = Some(payload);
    forward_via_subrequest(session, ctx, chunks).await
}

async fn forward_via_subrequest(
    session: &mut Session,
    ctx: &mut RequestCtx,
    chunks: Vec<Bytes>,
) -> Result<bool> {
    let upstream = ctx.uri_request()?.clone();
    let Some(payload) = upstream.payload.as_ref() else {
        return Error::e_explain(InternalError, "subrequest without body hash");
    };
    // The child parses the parent's head as HTTP/1.1 text: give an h2 head an h1 shape. The
    // body is known in full now: its length frames it (an h2 upload need not say its length,
    // and a head without length or chunked coding has no body in HTTP/1.1).
    let req = session.req_header_mut();
    req.remove_header(&http::header::TRANSFER_ENCODING);
    req.insert_header(http::header::CONTENT_LENGTH, payload.len.to_string())?;
    if req.version == Version::HTTP_2 {
        let authority = req.uri.authority().map(|a| a.as_str().to_string());
        req.set_version(Version::HTTP_11);
        if let Some(a) = authority {
            if !req.headers.contains_key(http::header::HOST) {
                req.insert_header(http::header::HOST, a)?;
            }
        }
        let pq = req
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let uri = http::Uri::try_from(pq)
            .map_err(|e| Error::explain(InternalError, format!("uri: {e}")))?;
        req.set_uri(uri);
    }
    let outcome = SharedOutcome::default();
    ctx.large_body = LargeBody::Parent(outcome.clone());
    let info = SubrequestInfo { upstream, outcome };
    let sub_ctx = SubrequestCtx::builder()
        .body_mode(BodyMode::ExpectBody)
        .user_ctx(Box::new(info))
        .build();
    let Some(spawner) = session.subrequest_spawner.as_ref() else {
        return Error::e_explain(InternalError, "subrequests not enabled");
    };
    let (prepared, handle) = spawner.create_subrequest(session.as_downstream(), sub_ctx);
    let input = InputBodyType::Preset(InputBody::Bytes(chunks));
    match pipe_subrequest(session, prepared, handle, |t| Ok(Some(t)), input).await {
        Ok(state) => {
            if let Some(j) = state.join_handle {
                let _ = j.await;
            }
            if state.header_received {
                Ok(true)
            } else {
                Error::e_explain(ConnectError, "subrequest ended without a response")
            }
        }
        Err(e) => {
            if e.state.header_received {
                // The response started; the child logged the failure. The client sees it cut.
                Ok(true)
            } else {
                Err(e.error)
            }
        }
    }
}
