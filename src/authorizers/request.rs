//! The client request as authorizers see it: an event `RequestView` without a body (the
//! normalised path the route was chosen on, end-to-end headers), and the identity values its
//! sources name.

use super::lambda_payload::{context_variable, extract, IdentityMissing, IdentitySource};
use crate::function_name::event::{EventSettings, RequestView};

/// The values of `sources` in `view`, all present and non-empty, else which one is missing.
pub fn identity(
    view: &RequestView,
    sources: &[IdentitySource],
    settings: &EventSettings,
) -> Result<Vec<String>, IdentityMissing> {
    let context = |name: &str| context_variable(name, view, settings);
    extract(
        sources,
        view.headers,
        view.raw_query,
        &context,
        &settings.stage_variables,
    )
}
