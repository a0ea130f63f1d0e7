//! `upstream_peer`: the pooled peer for one of the route's pre-resolved upstream addresses
//! (round-robin; after a failed connect, another address than the ones that failed).

use pingora::prelude::*;

use super::RequestCtx;

pub fn upstream_peer(ctx: &mut RequestCtx) -> Result<Box<HttpPeer>> {
    let t = &ctx.uri_request()?.target;
    t.peer(&ctx.failed_upstreams).ok_or_else(|| {
        Error::explain(
            ConnectNoRoute,
            format!("upstream host {} is not resolved (yet)", t.url.host),
        )
    })
}
