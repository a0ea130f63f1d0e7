//! Response header hygiene: hop-by-hop headers from the upstream never reach the client.

use pingora::http::ResponseHeader;

use super::RequestCtx;

const HOP_BY_HOP: &[&str] = &["connection", "keep-alive", "proxy-connection", "upgrade"];

pub fn upstream_response_filter(resp: &mut ResponseHeader, _ctx: &mut RequestCtx) {
    if resp.status.as_u16() == 101 {
        return;
    }
    for h in HOP_BY_HOP {
        resp.remove_header(*h);
    }
}
