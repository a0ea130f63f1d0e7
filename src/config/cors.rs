//! A route's `cors_configuration`: API Gateway HTTP API's `CorsConfiguration`, in snake_case.
//! Only the shape lives here; what the values mean and how they are checked and compiled is
//! `crate::cors::CorsPolicy::build` (called by validation, so `-t` reports it, and again when
//! the route table is built).

use serde::Deserialize;

/// `cors_configuration` of a route.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsConf {
    /// `https://app.example.com`, `https://*.example.org`, or `*` (not with credentials).
    #[serde(default)]
    pub allow_origins: Vec<String>,
    /// Methods a preflight may ask for (`*`: any, not with credentials).
    #[serde(default)]
    pub allow_methods: Vec<String>,
    /// Request headers a preflight allows (`*`: any, not with credentials).
    #[serde(default)]
    pub allow_headers: Vec<String>,
    /// Response headers scripts may read (`*`: any, not with credentials).
    #[serde(default)]
    pub expose_headers: Vec<String>,
    /// Seconds a browser may cache a preflight answer (0 to 86400, as API Gateway).
    #[serde(default)]
    pub max_age: Option<i64>,
    /// `Access-Control-Allow-Credentials: true` (cookies, HTTP auth).
    #[serde(default)]
    pub allow_credentials: bool,
}
