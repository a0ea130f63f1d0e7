//! `function_name` routes end to end: the gateway calls the emulator's Lambda Invoke API
//! (strict SigV4, service `lambda`) and turns results into HTTP responses.

use std::time::{Duration, Instant};

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

const ARN_PREFIX: &str = "arn:aws:lambda:us-east-1:123456789012:function:";

/// A function_name route against the emulator's plain HTTP listener.
fn invoke(emu: &Emulator, name: &str, function: &str) -> Route {
    Route::function_name(name, function).on(emu)
}

fn h2c() -> reqwest::Client {
    reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap()
}

async fn json_of(resp: reqwest::Response) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (status, headers, v)
}

fn assert_no_lambda_internals(h: &reqwest::header::HeaderMap) {
    for name in [
        "x-amz-log-result",
        "x-amz-executed-version",
        "x-amzn-remapped-content-length",
    ] {
        assert!(h.get(name).is_none(), "{name} reached the client");
    }
}

mod errors;
mod events;
mod transport;
