//! The Pingora `HttpServerApp` behind both listeners: reads each request head and hands the
//! Lambda API paths (`/2015-03-31/...`, `/2021-11-15/...`) to `invoke` — which may stream its
//! answer —, the OIDC documents and `/__emulator/counters` to `side_routes`, and everything
//! else to the `ServeHttp` stages in `echo`, whose whole response is written the way Pingora's
//! own `HttpServer` writes it.

use std::sync::Arc;

use async_trait::async_trait;
use http::Response;
use log::{debug, error};
use pingora::apps::http_app::ServeHttp;
use pingora::apps::{HttpPersistentSettings, HttpServerApp, HttpServerOptions, ReusedHttpStream};
use pingora::http::ResponseHeader;
use pingora::protocols::http::{HttpTask, ServerSession};
use pingora::server::ShutdownWatch;

use crate::echo::EmulatorApp;
use crate::invoke::LambdaApi;
use crate::invoke_api;
use crate::side_routes::SideRoutes;
use crate::wire;

/// Seconds an idle HTTP/1.1 connection is kept for the next request.
const KEEPALIVE_SECS: u64 = 60;

/// Routes between the stages, the Lambda API and the side endpoints.
pub struct Router {
    stages: EmulatorApp,
    lambda: LambdaApi,
    side: SideRoutes,
    options: HttpServerOptions,
}

impl Router {
    /// All apps on one server; plaintext listeners also accept h2c.
    pub fn new(stages: EmulatorApp, lambda: LambdaApi, side: SideRoutes) -> Self {
        let mut options = HttpServerOptions::default();
        options.h2c = true;
        Router {
            stages,
            lambda,
            side,
            options,
        }
    }
}

#[async_trait]
impl HttpServerApp for Router {
    async fn process_new_http(
        self: &Arc<Self>,
        mut http: ServerSession,
        shutdown: &ShutdownWatch,
    ) -> Option<ReusedHttpStream> {
        match http.read_request().await {
            Ok(true) => {}
            Ok(false) => {
                debug!("no request header (connection closed)");
                return None;
            }
            Err(e) => {
                error!("HTTP server fails to read from downstream: {e}");
                return None;
            }
        }
        let keepalive = (!*shutdown.borrow()).then_some(KEEPALIVE_SECS);
        http.set_keepalive(keepalive);

        let (raw_path, _) = wire::split_target(http.req_header().raw_path());
        let complete = if invoke_api::is_lambda_path(&raw_path) {
            self.lambda.serve(&mut http).await
        } else if let Some(endpoint) = self.side.endpoint(&raw_path) {
            let response = self.side.response(&mut http, endpoint).await;
            write_response(&mut http, response).await
        } else {
            let response = self.stages.response(&mut http).await;
            write_response(&mut http, response).await
        };
        if !complete {
            return None;
        }
        let persistent_settings = HttpPersistentSettings::for_session(&http);
        match http.finish().await {
            Ok(reusable) => {
                reusable.map(|s| ReusedHttpStream::from_reusable_stream(s, persistent_settings))
            }
            Err(e) => {
                error!("HTTP server fails to finish the request: {e}");
                None
            }
        }
    }

    fn server_options(&self) -> Option<&HttpServerOptions> {
        Some(&self.options)
    }
}

/// Writes a whole response (head, then body) as Pingora's `HttpServer` does; `false` when
/// writing failed.
pub async fn write_response(session: &mut ServerSession, response: Response<Vec<u8>>) -> bool {
    let (parts, body) = response.into_parts();
    let head: ResponseHeader = parts.into();
    let tasks = vec![HttpTask::Header(Box::new(head), body.is_empty())];
    if let Err(e) = session.response_duplex_vec(tasks).await {
        error!(
            "HTTP server fails to write to downstream: {e}, {}",
            session.request_summary()
        );
        return false;
    }
    let tasks = vec![HttpTask::Body(Some(body.into()), true)];
    if let Err(e) = session.response_duplex_vec(tasks).await {
        error!(
            "HTTP server fails to write to downstream: {e}, {}",
            session.request_summary()
        );
        return false;
    }
    true
}
