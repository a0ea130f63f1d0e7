//! `upstream_peer`: the pooled peer for the route's pre-resolved upstream address.

use pingora::prelude::*;

use super::RequestCtx;

pub fn upstream_peer(ctx: &mut RequestCtx) -> Result<Box<HttpPeer>> {
    let t = ctx.uri_target()?;
    t.peer().ok_or_else(|| {
        Error::explain(
            ConnectNoRoute,
            format!("upstream host {} is not resolved (yet)", t.url.host),
        )
    })
}
