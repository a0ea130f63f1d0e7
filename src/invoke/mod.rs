//! The Lambda Invoke API side of `function_name` routes.

pub mod call;
pub mod event;
pub mod result;
pub mod stream;
