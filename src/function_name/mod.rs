//! `function_name` routes (Kong's model): call the Lambda Invoke API. `route` builds the
//! route once from config; `handler` answers the request from `request_filter` (read the
//! body, build the `event`, `call` Invoke signed, turn the `result` or `stream` into the
//! response).

pub mod call;
pub mod event;
pub mod handler;
pub(crate) mod request;
mod response;
mod response_stream;
pub mod result;
mod route;
pub mod stream;

pub use route::{
    default_resource, parse_function_name, validate_function_name_route, EventMode, FunctionRef,
    InvokeTarget,
};
