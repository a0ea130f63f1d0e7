//! Lambda events built from one client request: the JSON payload the gateway sends to the
//! Invoke API for `function_name` routes.
//!
//! Four shapes, each a pure function of a [`RequestView`] returning the event as JSON bytes:
//!
//! * [`kong_args_event`]: Kong's default payload, query and body arguments in one object.
//! * [`forward_event`]: Kong's `forward_request_*` object (for migrations from Kong).
//! * [`apigw_v1_event`]: API Gateway REST API / payload format 1.0, as AWS sends it.
//! * [`apigw_v2_event`]: HTTP API payload format 2.0, which is also the Lambda Function URL event.
//!
//! The events are written straight into one `Vec<u8>` sized up front: borrowed strings, serde
//! `Serialize` impls over the request's own `HeaderMap` and query string, base64 written while
//! serialising. No `serde_json::Value` trees, no per-header `String`s unless a value needs decoding.
//!
//! Where AWS behaviour is subtle, the choice made here (and the evidence) is spelled out on the
//! function that implements it. Known deviations from AWS:
//!
//! * Header names are lower-case (they arrive lower-case in `http::HeaderMap`); REST APIs keep
//!   the client's spelling. Header values that are not UTF-8 are decoded lossily (U+FFFD).
//! * `pathParameters.proxy` is the rest of the path, percent-decoded (as API Gateway does).
//! * v2 `rawPath` is the path exactly as received, as Function URLs send it (HTTP APIs send it
//!   percent-decoded, which loses `%2F` and `%3F`).
//! * No `authorizer`, and `identity` has only `sourceIp` and `userAgent` set: the gateway has no
//!   Cognito / IAM caller to report.
//! * `X-Forwarded-*` headers are not added here; the caller decides what to put in `headers`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::display::Base64Display;
use base64::engine::general_purpose::STANDARD;
use http::header::{CONTENT_TYPE, COOKIE, HOST, USER_AGENT};
use http::HeaderMap;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// Default [`EventSettings::account_id`]: the account id AWS uses in its own documentation
/// examples, obviously not a real account.
pub const DEFAULT_ACCOUNT_ID: &str = "123456789012";
/// Default [`EventSettings::api_id`] when the caller has nothing better (e.g. the route name).
pub const DEFAULT_API_ID: &str = "lambdaproxy";
/// Default [`EventSettings::stage`]: the HTTP API / Function URL stage name.
pub const DEFAULT_STAGE: &str = "$default";
/// Default [`EventSettings::resource`]: the HTTP API catch-all route.
pub const DEFAULT_RESOURCE: &str = "$default";

/// Content types sent as text by [`BodyEncoding::default_auto`] (when the body is valid UTF-8).
///
/// Patterns: `type/subtype` (exact), `type/*`, `type/*+suffix`, `*/*+suffix`, `*/*`; matched
/// case-insensitively against the content type's essence (parameters stripped).
pub const DEFAULT_TEXT_TYPES: &[&str] = &[
    "text/*",
    "application/json",
    "application/*+json",
    "application/xml",
    "application/*+xml",
    "application/x-www-form-urlencoded",
    "application/javascript",
    "application/x-javascript",
    "application/ecmascript",
    "application/yaml",
    "application/x-yaml",
    "application/*+yaml",
    "application/graphql",
    "application/x-ndjson",
];

/// One client request as the gateway saw it.
#[derive(Debug, Clone, Copy)]
pub struct RequestView<'a> {
    pub method: &'a str,
    /// As received, percent-encoded, no query.
    pub raw_path: &'a str,
    /// As received, without `?`.
    pub raw_query: Option<&'a str>,
    /// Client headers (hop-by-hop already removed); names are lower-case in `HeaderMap`.
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub source_ip: Option<&'a str>,
    /// `"HTTP/1.1"` or `"HTTP/2.0"`.
    pub http_version: &'a str,
    /// `Host` or `:authority`.
    pub host: Option<&'a str>,
    /// Raw rest of the path after a wildcard route prefix, `None` for exact routes.
    pub proxy_path: Option<&'a str>,
    pub request_id: &'a str,
    pub time: SystemTime,
}

/// Per-route settings, built once at config load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSettings {
    /// v1 `resource` / `requestContext.resourcePath`, v2 route key path, e.g. `"/aws/{proxy+}"`.
    /// `""` or `"$default"` means the catch-all route (v2 `routeKey` `"$default"`). A value with a
    /// method, `"GET /pets"`, is used verbatim as the v2 `routeKey` (v1 `resource` is its path).
    pub resource: String,
    /// Default [`DEFAULT_STAGE`]. With a named stage, v1 `requestContext.path` is `/{stage}{path}`.
    pub stage: String,
    /// Default [`DEFAULT_ACCOUNT_ID`].
    pub account_id: String,
    /// Default [`DEFAULT_API_ID`] (callers usually pass the route name).
    pub api_id: String,
    /// Empty: `null` in v1 events, absent in v2 events (as AWS).
    pub stage_variables: BTreeMap<String, String>,
    pub body_encoding: BodyEncoding,
}

impl Default for EventSettings {
    fn default() -> Self {
        EventSettings {
            resource: DEFAULT_RESOURCE.to_owned(),
            stage: DEFAULT_STAGE.to_owned(),
            account_id: DEFAULT_ACCOUNT_ID.to_owned(),
            api_id: DEFAULT_API_ID.to_owned(),
            stage_variables: BTreeMap::new(),
            body_encoding: BodyEncoding::default_auto(),
        }
    }
}

/// When a request body goes into the event as text and when as base64 (`isBase64Encoded`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyEncoding {
    /// Text iff the body is valid UTF-8 and its content type matches one of `text_types` (or the
    /// request has no content type); base64 otherwise. Patterns as in [`DEFAULT_TEXT_TYPES`].
    Auto { text_types: Vec<String> },
    /// Always base64 (Kong's `base64_encode_body: true`).
    Always,
    /// Text whenever the body is valid UTF-8; base64 otherwise (JSON cannot carry raw bytes).
    Never,
}

impl Default for BodyEncoding {
    fn default() -> Self {
        BodyEncoding::default_auto()
    }
}

impl BodyEncoding {
    /// `Auto` with [`DEFAULT_TEXT_TYPES`].
    pub fn default_auto() -> Self {
        BodyEncoding::Auto {
            text_types: DEFAULT_TEXT_TYPES.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// Whether `body`, sent with `content_type` (the raw header value), goes as text.
    pub fn sends_as_text(&self, content_type: Option<&[u8]>, body: &[u8]) -> bool {
        self.text_body(content_type, body).is_some()
    }

    fn text_body<'b>(&self, content_type: Option<&[u8]>, body: &'b [u8]) -> Option<&'b str> {
        let text = match self {
            BodyEncoding::Always => return None,
            BodyEncoding::Never => true,
            BodyEncoding::Auto { text_types } => match content_type {
                None => true,
                Some(ct) => {
                    let essence = mime_essence(ct);
                    text_types.iter().any(|p| mime_matches(p, essence))
                }
            },
        };
        if text {
            std::str::from_utf8(body).ok()
        } else {
            None
        }
    }

    /// An empty body is always `""` text (never "base64 of nothing").
    fn encode<'b>(&self, headers: &HeaderMap, body: &'b [u8]) -> BodyRepr<'b> {
        if body.is_empty() {
            return BodyRepr::Text("");
        }
        let ct = headers.get(CONTENT_TYPE).map(|v| v.as_bytes());
        match self.text_body(ct, body) {
            Some(text) => BodyRepr::Text(text),
            None => BodyRepr::Base64(body),
        }
    }
}

/// `type/subtype` of a content type: parameters stripped, whitespace trimmed.
fn mime_essence(ct: &[u8]) -> &[u8] {
    let end = ct.iter().position(|&b| b == b';').unwrap_or(ct.len());
    ct[..end].trim_ascii()
}

fn mime_matches(pattern: &str, essence: &[u8]) -> bool {
    let pattern = pattern.trim().as_bytes();
    if pattern == b"*/*" || pattern == b"*" {
        return true;
    }
    let (Some(pslash), Some(eslash)) = (
        pattern.iter().position(|&b| b == b'/'),
        essence.iter().position(|&b| b == b'/'),
    ) else {
        return false;
    };
    let (ptype, psub) = (&pattern[..pslash], &pattern[pslash + 1..]);
    let (etype, esub) = (&essence[..eslash], &essence[eslash + 1..]);
    if etype.is_empty() || esub.is_empty() {
        return false;
    }
    if ptype != b"*" && !ptype.eq_ignore_ascii_case(etype) {
        return false;
    }
    if psub == b"*" {
        return true;
    }
    if let Some(suffix) = psub.strip_prefix(b"*") {
        // `*+json`: the subtype has a non-empty name before the suffix.
        return esub.len() > suffix.len()
            && esub[esub.len() - suffix.len()..].eq_ignore_ascii_case(suffix);
    }
    psub.eq_ignore_ascii_case(esub)
}

// ---------------------------------------------------------------------------------------------
// Kong forward_request_* event
// ---------------------------------------------------------------------------------------------

/// Kong's `forward_request_*` event, with only the enabled keys:
///
/// ```json
/// { "request_method": "POST",
///   "request_uri": "/post?a=1&flag", "request_uri_args": {"a": "1", "flag": true},
///   "request_headers": {"host": "...", "multi": ["a", "b"]},
///   "request_body": "<text or base64>", "request_body_base64": false,
///   "request_body_args": {"k": "v"} }
/// ```
///
/// Kong's shapes are kept for migration: arguments and headers are a string when single and an
/// array when repeated; a valueless query argument (`?flag`) is `true` (`?flag=` is `""`), as
/// nginx's `get_uri_args` does. Argument keys and values are form-decoded (`+` is a space),
/// arguments with an empty key are skipped (as nginx). `request_body` follows `enc`; an empty body
/// is `""`. `request_body_args` is present only for an `application/x-www-form-urlencoded` body
/// (same shape as `request_uri_args`) or a JSON body (`application/json` or `*+json`) whose
/// top level is an object, which is embedded byte for byte (never decoded and re-encoded).
pub fn forward_event(
    req: &RequestView,
    method: bool,
    uri: bool,
    headers: bool,
    body: bool,
    enc: &BodyEncoding,
) -> Vec<u8> {
    let mut cap = 64;
    if uri {
        cap += 2 * (req.raw_path.len() + req.raw_query.map_or(0, str::len)) + 64;
    }
    if headers {
        cap += headers_size(req.headers) + 32;
    }
    if body {
        cap += base64_len(req.body.len()) * 2 + 64;
    }
    let mut w = ObjectWriter::with_capacity(cap);
    if method {
        w.entry("request_method", req.method);
    }
    if uri {
        w.key("request_uri");
        match req.raw_query {
            Some(q) => w.value(&AsJsonStr(format_args!("{}?{}", req.raw_path, q))),
            None => w.value(req.raw_path),
        }
        let query = Query::parse(req.raw_query.unwrap_or(""), true);
        w.entry("request_uri_args", &QueryMap(&query, QueryShape::Kong));
    }
    if headers {
        w.entry(
            "request_headers",
            &HeaderObject {
                view: HeaderView::new(req.headers, req.host, false),
                shape: HeaderShape::Kong,
            },
        );
    }
    if body {
        let repr = enc.encode(req.headers, req.body);
        w.entry("request_body", &repr);
        w.entry("request_body_base64", &matches!(repr, BodyRepr::Base64(_)));
        let essence = req
            .headers
            .get(CONTENT_TYPE)
            .map(|v| mime_essence(v.as_bytes()));
        match essence {
            Some(e) if e.eq_ignore_ascii_case(b"application/x-www-form-urlencoded") => {
                let text = String::from_utf8_lossy(req.body);
                let args = Query::parse(&text, true);
                w.entry("request_body_args", &QueryMap(&args, QueryShape::Kong));
            }
            Some(e)
                if (mime_matches("application/json", e) || mime_matches("*/*+json", e))
                    && is_json_object(req.body) =>
            {
                w.key("request_body_args");
                w.raw(req.body.trim_ascii());
            }
            _ => {}
        }
    }
    w.finish()
}

/// Kong's default payload, sent when a route sets neither `forward_request_*` nor
/// `awsgateway_compatible` (Kong's `kong.table.merge(kong.request.get_query(),
/// kong.request.get_body())`): one JSON object of the query arguments merged with the body's
/// arguments, the body winning on a shared name. Headers, method and path are not sent.
///
/// The body is parsed by its content type, as Kong's `kong.request.get_body()` does (the type's
/// essence, lower-cased, must *start with* one of these):
///
/// * `application/x-www-form-urlencoded`: arguments like the query's;
/// * `application/json`: a JSON object's members; a non-empty JSON array's elements under the
///   keys `"1"`, `"2"`... (a Lua array merged into a table; with no query argument the array
///   is sent as it is, as Kong's encoder does); anything else (a string, a number, `null`,
///   invalid JSON) contributes nothing;
/// * `multipart/form-data`: each named part's content, as text;
/// * any other type, or none: the body contributes nothing (Kong drops it too).
///
/// Arguments are a string when single, an array when repeated, `true` when valueless (`?flag`);
/// keys and values are form-decoded. A JSON body without query arguments is sent byte for byte;
/// otherwise its members are embedded byte for byte (never decoded and re-encoded), except a
/// JSON array's elements. Text that is not UTF-8 (form values, multipart parts) is decoded
/// lossily (U+FFFD): the JSON event cannot carry raw bytes (Kong sends invalid JSON, which the
/// Invoke API refuses).
pub fn kong_args_event(req: &RequestView) -> Vec<u8> {
    let query = Query::parse(req.raw_query.unwrap_or(""), true);
    let ct = req.headers.get(CONTENT_TYPE).map(|v| v.as_bytes());
    let essence = ct.map(|c| mime_essence(c).to_ascii_lowercase());
    let starts = |prefix: &str| {
        essence
            .as_ref()
            .is_some_and(|e| e.starts_with(prefix.as_bytes()))
    };
    let mut w =
        ObjectWriter::with_capacity(64 + 2 * req.raw_query.map_or(0, str::len) + req.body.len());
    let write_query = |w: &mut ObjectWriter, skip: &dyn Fn(&str) -> bool| {
        for group in query.groups() {
            let key: &str = &group[0].0;
            if skip(key) {
                continue;
            }
            if group.len() == 1 {
                w.entry(key, &KongValue(group[0].1.as_deref()));
            } else {
                w.entry(key, &ValueSeq(group, true));
            }
        }
    };
    if starts("application/x-www-form-urlencoded") {
        let text = String::from_utf8_lossy(req.body);
        let form = Query::parse(&text, true);
        let in_form = |k: &str| form.pairs.binary_search_by(|p| (*p.0).cmp(k)).is_ok();
        write_query(&mut w, &in_form);
        for group in form.groups() {
            let key: &str = &group[0].0;
            if group.len() == 1 {
                w.entry(key, &KongValue(group[0].1.as_deref()));
            } else {
                w.entry(key, &ValueSeq(group, true));
            }
        }
    } else if starts("application/json") {
        let trimmed = req.body.trim_ascii();
        match trimmed.first() {
            Some(b'{') if is_json_object(trimmed) => {
                if query.is_empty() {
                    return req.body.to_vec();
                }
                let keys: BTreeMap<String, serde::de::IgnoredAny> =
                    serde_json::from_slice(trimmed).unwrap_or_default();
                write_query(&mut w, &|k| keys.contains_key(k));
                w.members(&trimmed[1..trimmed.len() - 1]);
            }
            Some(b'[') => {
                if let Ok(items) = serde_json::from_slice::<Vec<serde_json::Value>>(trimmed) {
                    if query.is_empty() && !items.is_empty() {
                        return req.body.to_vec();
                    }
                    let index = |k: &str| {
                        k.parse::<usize>()
                            .is_ok_and(|n| n >= 1 && n <= items.len() && k == n.to_string())
                    };
                    write_query(&mut w, &index);
                    for (i, item) in items.iter().enumerate() {
                        w.entry(&(i + 1).to_string(), item);
                    }
                } else {
                    write_query(&mut w, &|_| false);
                }
            }
            _ => write_query(&mut w, &|_| false),
        }
    } else if let Some(parts) = starts("multipart/form-data")
        .then(|| ct.and_then(|c| multipart_fields(c, req.body)))
        .flatten()
    {
        let in_parts = |k: &str| parts.binary_search_by(|p| p.0.as_str().cmp(k)).is_ok();
        write_query(&mut w, &in_parts);
        for group in parts.chunk_by(|a, b| a.0 == b.0) {
            if group.len() == 1 {
                w.entry(&group[0].0, &group[0].1);
            } else {
                let values: Vec<&str> = group.iter().map(|p| p.1.as_str()).collect();
                w.entry(&group[0].0, &values);
            }
        }
    } else {
        write_query(&mut w, &|_| false);
    }
    w.finish()
}

/// The named fields of a `multipart/form-data` body as `(name, content)`, sorted by name
/// (stable); `None` when the content type has no boundary or the body is not multipart.
fn multipart_fields(content_type: &[u8], body: &[u8]) -> Option<Vec<(String, String)>> {
    let ct = std::str::from_utf8(content_type).ok()?;
    let boundary = ct.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"'))
    })?;
    if boundary.is_empty() {
        return None;
    }
    let delimiter = format!("--{boundary}");
    let delim = delimiter.as_bytes();
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    let mut rest = &body[find(body, delim)? + delim.len()..];
    let mut fields = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            break;
        }
        // The rest of the delimiter line (transport padding), then the part.
        let line_end = find(rest, b"\r\n")?;
        rest = &rest[line_end + 2..];
        let mut closing = Vec::with_capacity(delim.len() + 2);
        closing.extend_from_slice(b"\r\n");
        closing.extend_from_slice(delim);
        let end = find(rest, &closing)?;
        let part = &rest[..end];
        rest = &rest[end + closing.len()..];
        let (head, content) = match find(part, b"\r\n\r\n") {
            Some(i) => (&part[..i], &part[i + 4..]),
            None if part.starts_with(b"\r\n") => (&part[..0], &part[2..]),
            None => continue,
        };
        let head = String::from_utf8_lossy(head);
        let name = head.split("\r\n").find_map(|line| {
            let (h, v) = line.split_once(':')?;
            if !h.trim().eq_ignore_ascii_case("content-disposition") {
                return None;
            }
            v.split(';').skip(1).find_map(|p| {
                let (k, v) = p.split_once('=')?;
                (k.trim().eq_ignore_ascii_case("name"))
                    .then(|| v.trim().trim_matches('"').to_string())
            })
        });
        if let Some(name) = name {
            fields.push((name, String::from_utf8_lossy(content).into_owned()));
        }
    }
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    Some(fields)
}

/// Any `Display` as a JSON string, escaped while it is written.
struct AsJsonStr<T: fmt::Display>(T);

impl<T: fmt::Display> Serialize for AsJsonStr<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// A complete, valid JSON document whose top level is an object.
fn is_json_object(body: &[u8]) -> bool {
    body.trim_ascii_start().first() == Some(&b'{')
        && std::str::from_utf8(body).is_ok()
        && serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok()
}

/// Writes one JSON object key by key (for the Kong event, whose body args may be raw JSON).
struct ObjectWriter {
    out: Vec<u8>,
    first: bool,
}

impl ObjectWriter {
    fn with_capacity(cap: usize) -> Self {
        let mut out = Vec::with_capacity(cap);
        out.push(b'{');
        ObjectWriter { out, first: true }
    }

    fn key(&mut self, key: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.value(key);
        self.out.push(b':');
    }

    fn value<T: Serialize + ?Sized>(&mut self, value: &T) {
        write_json(&mut self.out, value);
    }

    fn entry<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) {
        self.key(key);
        self.value(value);
    }

    fn raw(&mut self, json: &[u8]) {
        self.out.extend_from_slice(json);
    }

    /// The members of another JSON object (its text between `{` and `}`), byte for byte.
    fn members(&mut self, inner: &[u8]) {
        let inner = inner.trim_ascii();
        if inner.is_empty() {
            return;
        }
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.extend_from_slice(inner);
    }

    fn finish(mut self) -> Vec<u8> {
        self.out.push(b'}');
        self.out
    }
}

/// Serialise into `out`. Our `Serialize` impls use string keys only and a `Vec` cannot fail to
/// grow, so serde_json has no error to report; should that ever change, the event would be
/// truncated JSON, which the Invoke API rejects with a 400, rather than a panic here.
fn write_json<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    let res = serde_json::to_writer(&mut *out, value);
    debug_assert!(res.is_ok(), "event serialisation failed: {res:?}");
}

// ---------------------------------------------------------------------------------------------
// API Gateway payload 1.0
// ---------------------------------------------------------------------------------------------

/// API Gateway REST API / payload format 1.0 event, as AWS builds it:
///
/// * `path`: the path as received, still percent-encoded (REST APIs preserve the encoding; HTTP
///   APIs decode it, see the module notes).
/// * `headers`: last value wins; `multiValueHeaders`: every value in order. Both `null` when the
///   request has no headers. A missing `host` header is filled from [`RequestView::host`]
///   (`:authority` on HTTP/2), as API Gateway always has one.
/// * `queryStringParameters`: last value wins, valueless (`?flag`) is `""`;
///   `multiValueQueryStringParameters`: every value. Keys and values are form-decoded (`%XX`, and
///   `+` is a space, as REST APIs do). Both `null` without a query.
/// * `pathParameters`: `{"proxy": <decoded rest>}` on wildcard routes, else `null`.
/// * `stageVariables`: `null` when there are none.
/// * `requestContext.path`: `/{stage}{path}` for a named stage, `path` for `$default`.
/// * `body`: `null` when empty.
pub fn apigw_v1_event(req: &RequestView, s: &EventSettings) -> Vec<u8> {
    let query = Query::parse(req.raw_query.unwrap_or(""), false);
    let view = HeaderView::new(req.headers, req.host, false);
    let has_headers = !view.is_empty();
    let body = (!req.body.is_empty()).then(|| s.body_encoding.encode(req.headers, req.body));
    let time = RequestTime::new(req.time);
    let resource = v1_resource(&s.resource);
    let (domain_name, domain_prefix) = domain(req.host);
    let event = V1Event {
        version: "1.0",
        resource,
        path: req.raw_path,
        http_method: req.method,
        headers: has_headers.then_some(HeaderObject {
            view,
            shape: HeaderShape::Last,
        }),
        multi_value_headers: has_headers.then_some(HeaderObject {
            view,
            shape: HeaderShape::Multi,
        }),
        query_string_parameters: (!query.is_empty()).then_some(QueryMap(&query, QueryShape::Last)),
        multi_value_query_string_parameters: (!query.is_empty())
            .then_some(QueryMap(&query, QueryShape::Multi)),
        path_parameters: req.proxy_path.map(ProxyParam),
        stage_variables: (!s.stage_variables.is_empty()).then_some(&s.stage_variables),
        request_context: V1Context {
            account_id: &s.account_id,
            api_id: &s.api_id,
            resource_id: ResourceId(resource),
            stage: &s.stage,
            request_id: req.request_id,
            extended_request_id: req.request_id,
            request_time: time.as_str(),
            request_time_epoch: time.epoch_ms,
            path: StagePath {
                stage: &s.stage,
                path: req.raw_path,
            },
            resource_path: resource,
            http_method: req.method,
            protocol: req.http_version,
            domain_name,
            domain_prefix,
            identity: V1Identity {
                cognito_identity_pool_id: None,
                account_id: None,
                cognito_identity_id: None,
                caller: None,
                api_key: None,
                api_key_id: None,
                access_key: None,
                source_ip: req.source_ip,
                principal_org_id: None,
                cognito_authentication_type: None,
                cognito_authentication_provider: None,
                user_arn: None,
                user_agent: user_agent(req.headers),
                user: None,
                client_cert: None,
            },
        },
        body,
        is_base64_encoded: matches!(body, Some(BodyRepr::Base64(_))),
    };
    let mut out = Vec::with_capacity(estimate(req, 2, V1_FIXED));
    write_json(&mut out, &event);
    out
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V1Event<'a> {
    version: &'static str,
    resource: &'a str,
    path: &'a str,
    http_method: &'a str,
    headers: Option<HeaderObject<'a>>,
    multi_value_headers: Option<HeaderObject<'a>>,
    query_string_parameters: Option<QueryMap<'a, 'a>>,
    multi_value_query_string_parameters: Option<QueryMap<'a, 'a>>,
    path_parameters: Option<ProxyParam<'a>>,
    stage_variables: Option<&'a BTreeMap<String, String>>,
    request_context: V1Context<'a>,
    body: Option<BodyRepr<'a>>,
    is_base64_encoded: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V1Context<'a> {
    account_id: &'a str,
    api_id: &'a str,
    resource_id: ResourceId<'a>,
    stage: &'a str,
    request_id: &'a str,
    extended_request_id: &'a str,
    request_time: &'a str,
    request_time_epoch: u64,
    path: StagePath<'a>,
    resource_path: &'a str,
    http_method: &'a str,
    protocol: &'a str,
    domain_name: Option<&'a str>,
    domain_prefix: Option<&'a str>,
    identity: V1Identity<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V1Identity<'a> {
    cognito_identity_pool_id: Option<&'a str>,
    account_id: Option<&'a str>,
    cognito_identity_id: Option<&'a str>,
    caller: Option<&'a str>,
    api_key: Option<&'a str>,
    api_key_id: Option<&'a str>,
    access_key: Option<&'a str>,
    source_ip: Option<&'a str>,
    principal_org_id: Option<&'a str>,
    cognito_authentication_type: Option<&'a str>,
    cognito_authentication_provider: Option<&'a str>,
    user_arn: Option<&'a str>,
    user_agent: Option<Cow<'a, str>>,
    user: Option<&'a str>,
    client_cert: Option<&'a str>,
}

/// v1 `resource`: the path part of a `"METHOD /path"` setting, `"$default"` for an empty one.
fn v1_resource(resource: &str) -> &str {
    let r = resource.trim();
    if r.is_empty() {
        return DEFAULT_RESOURCE;
    }
    match r.split_once(' ') {
        Some((_, path)) if !path.trim().is_empty() => path.trim(),
        _ => r,
    }
}

/// `requestContext.path` of REST APIs: `/{stage}{path}`, or `path` on the `$default` stage.
struct StagePath<'a> {
    stage: &'a str,
    path: &'a str,
}

impl Serialize for StagePath<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.stage.is_empty() || self.stage == DEFAULT_STAGE {
            s.serialize_str(self.path)
        } else {
            s.collect_str(&format_args!("/{}{}", self.stage, self.path))
        }
    }
}

/// `requestContext.resourceId`: AWS gives each resource a 6-character id (`"roq9wj"`); ours is a
/// stable hash of the resource template, so one route always reports the same id.
struct ResourceId<'a>(&'a str);

impl Serialize for ResourceId<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // FNV-1a, 64 bit.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for &b in self.0.as_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
        let mut id = [0u8; 6];
        for slot in &mut id {
            *slot = DIGITS[(h % 36) as usize];
            h /= 36;
        }
        s.serialize_str(std::str::from_utf8(&id).unwrap_or("000000"))
    }
}

struct ProxyParam<'a>(&'a str);

impl Serialize for ProxyParam<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        // API Gateway hands path parameters to the function percent-decoded.
        let decoded = percent_encoding::percent_decode_str(self.0).decode_utf8_lossy();
        m.serialize_entry("proxy", &*decoded)?;
        m.end()
    }
}

// ---------------------------------------------------------------------------------------------
// API Gateway payload 2.0 / Function URL
// ---------------------------------------------------------------------------------------------

/// HTTP API payload format 2.0 event, which is also the Lambda Function URL event:
///
/// * `routeKey`: `"$default"` when [`EventSettings::resource`] is empty or `"$default"`; the
///   setting verbatim when it names a method (`"GET /pets"`); else `"ANY <resource>"` (routes
///   match every method, as an HTTP API `ANY` route).
/// * `rawPath`, `requestContext.http.path`: the path exactly as received (see module notes).
/// * `rawQueryString`: as received, `""` without a query.
/// * `cookies`: every `Cookie` header split on `;` and trimmed; absent when there are none. The
///   `cookie` header is then left out of `headers`.
/// * `headers`: lower-case names, repeated headers joined with `,`. A missing `host` is filled
///   from [`RequestView::host`].
/// * `queryStringParameters`: form-decoded, repeated keys joined with `,`, valueless `""`;
///   absent without a query.
/// * `pathParameters` (`{"proxy": <decoded rest>}`) and `stageVariables`: absent when empty.
/// * `body`: absent when empty.
pub fn apigw_v2_event(req: &RequestView, s: &EventSettings) -> Vec<u8> {
    let query = Query::parse(req.raw_query.unwrap_or(""), false);
    let view = HeaderView::new(req.headers, req.host, true);
    let body = (!req.body.is_empty()).then(|| s.body_encoding.encode(req.headers, req.body));
    let time = RequestTime::new(req.time);
    let route_key = RouteKey(&s.resource);
    let (domain_name, domain_prefix) = domain(req.host);
    let event = V2Event {
        version: "2.0",
        route_key,
        raw_path: req.raw_path,
        raw_query_string: req.raw_query.unwrap_or(""),
        cookies: has_cookies(req.headers).then_some(Cookies(req.headers)),
        headers: HeaderObject {
            view,
            shape: HeaderShape::Joined,
        },
        query_string_parameters: (!query.is_empty())
            .then_some(QueryMap(&query, QueryShape::Joined)),
        path_parameters: req.proxy_path.map(ProxyParam),
        stage_variables: (!s.stage_variables.is_empty()).then_some(&s.stage_variables),
        request_context: V2Context {
            account_id: &s.account_id,
            api_id: &s.api_id,
            domain_name,
            domain_prefix,
            http: V2Http {
                method: req.method,
                path: req.raw_path,
                protocol: req.http_version,
                source_ip: req.source_ip,
                user_agent: user_agent(req.headers),
            },
            request_id: req.request_id,
            route_key,
            stage: &s.stage,
            time: time.as_str(),
            time_epoch: time.epoch_ms,
        },
        body,
        is_base64_encoded: matches!(body, Some(BodyRepr::Base64(_))),
    };
    let mut out = Vec::with_capacity(estimate(req, 1, V2_FIXED));
    write_json(&mut out, &event);
    out
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V2Event<'a> {
    version: &'static str,
    route_key: RouteKey<'a>,
    raw_path: &'a str,
    raw_query_string: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cookies: Option<Cookies<'a>>,
    headers: HeaderObject<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    query_string_parameters: Option<QueryMap<'a, 'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_parameters: Option<ProxyParam<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stage_variables: Option<&'a BTreeMap<String, String>>,
    request_context: V2Context<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<BodyRepr<'a>>,
    is_base64_encoded: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V2Context<'a> {
    account_id: &'a str,
    api_id: &'a str,
    domain_name: Option<&'a str>,
    domain_prefix: Option<&'a str>,
    http: V2Http<'a>,
    request_id: &'a str,
    route_key: RouteKey<'a>,
    stage: &'a str,
    time: &'a str,
    time_epoch: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V2Http<'a> {
    method: &'a str,
    path: &'a str,
    protocol: &'a str,
    source_ip: Option<&'a str>,
    user_agent: Option<Cow<'a, str>>,
}

#[derive(Clone, Copy)]
struct RouteKey<'a>(&'a str);

impl Serialize for RouteKey<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0.trim();
        if r.is_empty() || r == DEFAULT_RESOURCE {
            s.serialize_str(DEFAULT_RESOURCE)
        } else if r.contains(' ') {
            s.serialize_str(r)
        } else {
            s.collect_str(&format_args!("ANY {r}"))
        }
    }
}

fn has_cookies(headers: &HeaderMap) -> bool {
    headers.get_all(COOKIE).iter().any(|v| {
        v.as_bytes()
            .split(|&b| b == b';')
            .any(|c| !c.trim_ascii().is_empty())
    })
}

/// v2 `cookies`: every `Cookie` header value split on `;`, trimmed, empty pieces dropped.
struct Cookies<'a>(&'a HeaderMap);

impl Serialize for Cookies<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for value in self.0.get_all(COOKIE) {
            let text = String::from_utf8_lossy(value.as_bytes());
            for cookie in text.split(';') {
                let cookie = cookie.trim_matches(|c| c == ' ' || c == '\t');
                if !cookie.is_empty() {
                    seq.serialize_element(cookie)?;
                }
            }
        }
        seq.end()
    }
}

// ---------------------------------------------------------------------------------------------
// Shared pieces: bodies, headers, query strings, time, host
// ---------------------------------------------------------------------------------------------

/// A body as it goes into the event: text, or base64 written while serialising.
#[derive(Clone, Copy)]
enum BodyRepr<'a> {
    Text(&'a str),
    Base64(&'a [u8]),
}

impl Serialize for BodyRepr<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            BodyRepr::Text(t) => s.serialize_str(t),
            BodyRepr::Base64(b) => s.collect_str(&Base64Display::new(b, &STANDARD)),
        }
    }
}

fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

fn headers_size(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 8)
        .sum()
}

/// Bytes of a v1 / v2 event besides headers, query, path and body (measured: ~900 / ~600).
const V1_FIXED: usize = 1024;
const V2_FIXED: usize = 768;

/// Output capacity: fixed part + `header_copies` renderings of the headers + query/path/body.
fn estimate(req: &RequestView, header_copies: usize, fixed: usize) -> usize {
    let query = req.raw_query.map_or(0, str::len);
    fixed
        + header_copies * headers_size(req.headers)
        + 3 * req.raw_path.len()
        + 3 * query
        + req.proxy_path.map_or(0, str::len)
        + base64_len(req.body.len())
}

fn lossy(v: &http::HeaderValue) -> Cow<'_, str> {
    String::from_utf8_lossy(v.as_bytes())
}

fn user_agent(headers: &HeaderMap) -> Option<Cow<'_, str>> {
    headers.get(USER_AGENT).map(lossy)
}

/// The request headers as an event sees them: `host` filled in when missing, `cookie` left out
/// for v2 (it goes to `cookies`).
#[derive(Clone, Copy)]
struct HeaderView<'a> {
    map: &'a HeaderMap,
    add_host: Option<&'a str>,
    skip_cookie: bool,
}

impl<'a> HeaderView<'a> {
    fn new(map: &'a HeaderMap, host: Option<&'a str>, skip_cookie: bool) -> Self {
        let add_host = host.filter(|_| !map.contains_key(HOST));
        HeaderView {
            map,
            add_host,
            skip_cookie,
        }
    }

    fn is_empty(&self) -> bool {
        self.add_host.is_none() && self.names().next().is_none()
    }

    fn names(&self) -> impl Iterator<Item = &'a http::HeaderName> + '_ {
        let skip_cookie = self.skip_cookie;
        self.map
            .keys()
            .filter(move |k| !(skip_cookie && *k == COOKIE))
    }
}

#[derive(Clone, Copy)]
enum HeaderShape {
    /// v1 `headers`: the last value.
    Last,
    /// v1 `multiValueHeaders`: an array of every value.
    Multi,
    /// v2 `headers`: values joined with `,`.
    Joined,
    /// Kong: a string when single, an array when repeated.
    Kong,
}

struct HeaderObject<'a> {
    view: HeaderView<'a>,
    shape: HeaderShape,
}

impl Serialize for HeaderObject<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if let Some(host) = self.view.add_host {
            match self.shape {
                HeaderShape::Multi => m.serialize_entry("host", &[host])?,
                _ => m.serialize_entry("host", host)?,
            }
        }
        for name in self.view.names() {
            let values = self.view.map.get_all(name);
            match self.shape {
                HeaderShape::Last => {
                    if let Some(v) = values.iter().next_back() {
                        m.serialize_entry(name.as_str(), &lossy(v))?;
                    }
                }
                HeaderShape::Multi => m.serialize_entry(name.as_str(), &LossySeq(values))?,
                HeaderShape::Joined => m.serialize_entry(name.as_str(), &Joined(values))?,
                HeaderShape::Kong => {
                    let mut it = values.iter();
                    match (it.next(), it.next()) {
                        (Some(v), None) => m.serialize_entry(name.as_str(), &lossy(v))?,
                        (Some(_), Some(_)) => {
                            m.serialize_entry(name.as_str(), &LossySeq(values))?
                        }
                        (None, _) => {}
                    }
                }
            }
        }
        m.end()
    }
}

struct LossySeq<'a>(http::header::GetAll<'a, http::HeaderValue>);

impl Serialize for LossySeq<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(lossy))
    }
}

/// Header values joined with `,` (as HTTP APIs do), written straight into the output.
struct Joined<'a>(http::header::GetAll<'a, http::HeaderValue>);

impl Serialize for Joined<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut it = self.0.iter();
        match (it.next(), it.next()) {
            (Some(only), None) => s.serialize_str(&lossy(only)),
            _ => s.collect_str(self),
        }
    }
}

impl fmt::Display for Joined<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_char(',')?;
            }
            f.write_str(&lossy(v))?;
        }
        Ok(())
    }
}

/// A query string split into form-decoded `(key, value)` pairs, sorted by key (stable, so the
/// values of one key keep their order). `None` is a valueless argument (`?flag`).
struct Query<'a> {
    pairs: Vec<(Cow<'a, str>, Option<Cow<'a, str>>)>,
}

impl<'a> Query<'a> {
    /// Split on `&` (only: `;` is data, as in API Gateway), skip empty pieces, and arguments
    /// with an empty key when `skip_empty_keys` (nginx does, for Kong's event).
    fn parse(raw: &'a str, skip_empty_keys: bool) -> Self {
        let mut pairs: Vec<_> = raw
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (form_decode(k), Some(form_decode(v))),
                None => (form_decode(p), None),
            })
            .filter(|(k, _)| !(skip_empty_keys && k.is_empty()))
            .collect();
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        Query { pairs }
    }

    fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    fn groups(&self) -> impl Iterator<Item = &[(Cow<'a, str>, Option<Cow<'a, str>>)]> {
        self.pairs.chunk_by(|a, b| a.0 == b.0)
    }
}

/// `application/x-www-form-urlencoded` decoding of one key or value: `+` is a space, `%XX` a
/// byte; malformed escapes stay as they are; invalid UTF-8 becomes U+FFFD.
fn form_decode(s: &str) -> Cow<'_, str> {
    if !s.bytes().any(|b| b == b'%' || b == b'+') {
        return Cow::Borrowed(s);
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                bytes.get(i + 1).and_then(hex),
                bytes.get(i + 2).and_then(hex),
            ) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

fn hex(b: &u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[derive(Clone, Copy)]
enum QueryShape {
    /// v1 `queryStringParameters`: the last value, valueless `""`.
    Last,
    /// v1 `multiValueQueryStringParameters`: every value, valueless `""`.
    Multi,
    /// v2 `queryStringParameters`: values joined with `,`, valueless `""`.
    Joined,
    /// Kong: string when single, array when repeated, valueless `true`.
    Kong,
}

struct QueryMap<'q, 'a>(&'q Query<'a>, QueryShape);

impl Serialize for QueryMap<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for group in self.0.groups() {
            let key: &str = &group[0].0;
            match self.1 {
                QueryShape::Last => {
                    let last = group.last().and_then(|p| p.1.as_deref()).unwrap_or("");
                    m.serialize_entry(key, last)?;
                }
                QueryShape::Multi => {
                    m.serialize_entry(key, &ValueSeq(group, false))?;
                }
                QueryShape::Joined => {
                    if group.len() == 1 {
                        m.serialize_entry(key, group[0].1.as_deref().unwrap_or(""))?;
                    } else {
                        m.serialize_entry(key, &JoinedValues(group))?;
                    }
                }
                QueryShape::Kong => {
                    if group.len() == 1 {
                        m.serialize_entry(key, &KongValue(group[0].1.as_deref()))?;
                    } else {
                        m.serialize_entry(key, &ValueSeq(group, true))?;
                    }
                }
            }
        }
        m.end()
    }
}

type Pair<'a> = (Cow<'a, str>, Option<Cow<'a, str>>);

/// The values of one key; valueless as `true` when `kong`, else `""`.
struct ValueSeq<'q, 'a>(&'q [Pair<'a>], bool);

impl Serialize for ValueSeq<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for (_, v) in self.0 {
            if self.1 {
                seq.serialize_element(&KongValue(v.as_deref()))?;
            } else {
                seq.serialize_element(v.as_deref().unwrap_or(""))?;
            }
        }
        seq.end()
    }
}

struct KongValue<'a>(Option<&'a str>);

impl Serialize for KongValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(v) => s.serialize_str(v),
            None => s.serialize_bool(true),
        }
    }
}

struct JoinedValues<'q, 'a>(&'q [Pair<'a>]);

impl Serialize for JoinedValues<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Display for JoinedValues<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (_, v)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_char(',')?;
            }
            f.write_str(v.as_deref().unwrap_or(""))?;
        }
        Ok(())
    }
}

/// `requestTime` / `time` (`"30/Nov/2026:06:00:00 +0000"`) and the epoch in milliseconds.
struct RequestTime {
    text: [u8; 26],
    epoch_ms: u64,
}

impl RequestTime {
    /// Before 1970 counts as 1970; after 9999-12-31 as its last second (four-digit years).
    fn new(t: SystemTime) -> Self {
        const MAX_SECS: u64 = 253_402_300_799; // 9999-12-31T23:59:59Z
        let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = since.as_secs().min(MAX_SECS);
        let epoch_ms = secs * 1000 + u64::from(since.subsec_millis());
        let days = (secs / 86_400) as i64;
        let rem = secs % 86_400;
        let (y, m, d) = civil_from_days(days);
        const MONTHS: [&[u8; 3]; 12] = [
            b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
            b"Dec",
        ];
        let mut text = *b"01/Jan/1970:00:00:00 +0000";
        let two = |buf: &mut [u8], v: u64| {
            buf[0] = b'0' + (v / 10 % 10) as u8;
            buf[1] = b'0' + (v % 10) as u8;
        };
        two(&mut text[0..2], d as u64);
        text[3..6].copy_from_slice(MONTHS[(m as usize).clamp(1, 12) - 1]);
        let y = y.clamp(0, 9999) as u64;
        two(&mut text[7..9], y / 100);
        two(&mut text[9..11], y % 100);
        two(&mut text[12..14], rem / 3600);
        two(&mut text[15..17], rem / 60 % 60);
        two(&mut text[18..20], rem % 60);
        RequestTime { text, epoch_ms }
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.text).unwrap_or("01/Jan/1970:00:00:00 +0000")
    }
}

/// Days since 1970-01-01 to (year, month 1-12, day 1-31), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `domainName` (the host without its port) and `domainPrefix` (its first label).
fn domain(host: Option<&str>) -> (Option<&str>, Option<&str>) {
    let Some(host) = host.map(str::trim).filter(|h| !h.is_empty()) else {
        return (None, None);
    };
    let name = if host.starts_with('[') {
        // IPv6 literal: keep the brackets, drop a port.
        match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        }
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        }
    };
    let prefix = if name.starts_with('[') {
        name
    } else {
        name.split('.').next().unwrap_or(name)
    };
    (Some(name), Some(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use http::{HeaderName, HeaderValue};
    use serde_json::{json, Value};
    use std::time::Duration;

    fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_bytes(v).unwrap(),
            );
        }
        h
    }

    /// 2026-11-30T06:00:00.123Z
    fn time() -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(1_796_018_400_123)
    }

    fn view<'a>(h: &'a HeaderMap, query: Option<&'a str>, body: &'a [u8]) -> RequestView<'a> {
        RequestView {
            method: "POST",
            raw_path: "/aws/caf%C3%A9/x%2Fy",
            raw_query: query,
            headers: h,
            body,
            source_ip: Some("203.0.113.9"),
            http_version: "HTTP/1.1",
            host: Some("api.example.com:8443"),
            proxy_path: Some("caf%C3%A9/x%2Fy"),
            request_id: "req-1",
            time: time(),
        }
    }

    fn settings() -> EventSettings {
        EventSettings {
            resource: "/aws/{proxy+}".into(),
            ..EventSettings::default()
        }
    }

    fn parse(v: Vec<u8>) -> Value {
        serde_json::from_slice(&v)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&v)))
    }

    #[test]
    fn request_time_format() {
        let t = RequestTime::new(time());
        assert_eq!(t.as_str(), "30/Nov/2026:06:00:00 +0000");
        assert_eq!(t.epoch_ms, 1_796_018_400_123);
        assert_eq!(
            RequestTime::new(UNIX_EPOCH).as_str(),
            "01/Jan/1970:00:00:00 +0000"
        );
        // Leap day, end of year.
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(
            RequestTime::new(leap).as_str(),
            "29/Feb/2000:00:00:00 +0000"
        );
        let eoy = UNIX_EPOCH + Duration::from_secs(1_609_459_199); // 2020-12-31T23:59:59
        assert_eq!(RequestTime::new(eoy).as_str(), "31/Dec/2020:23:59:59 +0000");
        // Out of range: clamped, no panic.
        let before = UNIX_EPOCH - Duration::from_secs(10);
        assert_eq!(
            RequestTime::new(before).as_str(),
            "01/Jan/1970:00:00:00 +0000"
        );
        let far = UNIX_EPOCH + Duration::from_secs(u64::MAX / 4);
        assert_eq!(RequestTime::new(far).as_str(), "31/Dec/9999:23:59:59 +0000");
    }

    #[test]
    fn civil_dates_match_known_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(59), (1970, 3, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn mime_patterns() {
        let m = |p: &str, e: &str| mime_matches(p, mime_essence(e.as_bytes()));
        assert!(m("text/*", "text/html; charset=utf-8"));
        assert!(m("application/json", "Application/JSON ; charset=UTF-8"));
        assert!(m("application/*+json", "application/vnd.api+json"));
        assert!(!m("application/*+json", "application/+json"));
        assert!(!m("application/*+json", "application/json"));
        assert!(m("*/*+xml", "image/svg+xml"));
        assert!(m("*/*", "image/png"));
        assert!(!m("text/*", "image/png"));
        assert!(!m("application/json", "application/jsonp"));
        assert!(!m("text/*", "text"));
        assert!(!m("text/plain", ""));
    }

    #[test]
    fn body_policy() {
        let auto = BodyEncoding::default_auto();
        let json = Some(&b"application/json; charset=utf-8"[..]);
        assert!(auto.sends_as_text(json, b"{\"a\":1}"));
        assert!(
            !auto.sends_as_text(json, b"\xff\xfe"),
            "invalid UTF-8 is base64 even for JSON"
        );
        assert!(!auto.sends_as_text(Some(b"image/png"), b"PNG but ascii"));
        assert!(auto.sends_as_text(None, b"no content type, utf-8"));
        assert!(!auto.sends_as_text(None, b"\x89PNG"));
        assert!(auto.sends_as_text(Some(b"application/x-www-form-urlencoded"), b"a=1"));
        assert!(auto.sends_as_text(Some(b"text/csv"), "é,ü".as_bytes()));
        assert!(!BodyEncoding::Always.sends_as_text(json, b"{}"));
        assert!(BodyEncoding::Never.sends_as_text(Some(b"image/png"), b"ascii"));
        assert!(!BodyEncoding::Never.sends_as_text(Some(b"text/plain"), b"\xff"));
        let custom = BodyEncoding::Auto {
            text_types: vec!["image/svg+xml".into()],
        };
        assert!(custom.sends_as_text(Some(b"IMAGE/SVG+XML"), b"<svg/>"));
        assert!(!custom.sends_as_text(Some(b"text/plain"), b"x"));
    }

    #[test]
    fn form_decoding() {
        assert!(matches!(form_decode("plain"), Cow::Borrowed("plain")));
        assert_eq!(form_decode("a+b%20c"), "a b c");
        assert_eq!(form_decode("caf%C3%A9"), "café");
        assert_eq!(form_decode("%2B%26%3D"), "+&=");
        assert_eq!(form_decode("100%"), "100%");
        assert_eq!(form_decode("%zz%4"), "%zz%4");
        assert_eq!(form_decode("%FF"), "\u{FFFD}");
    }

    #[test]
    fn v1_event_shape() {
        let h = headers(&[
            ("content-type", b"application/json"),
            ("x-multi", b"first"),
            ("x-multi", b"second"),
            ("user-agent", b"curl/8"),
            ("cookie", b"a=1; b=2"),
        ]);
        let q = "a=1&a=2&flag&empty=&sp=x+y%20z&uni=%E2%9C%93&%E2%9C%93=key";
        let ev = parse(apigw_v1_event(
            &view(&h, Some(q), b"{\"k\":\"v\"}"),
            &settings(),
        ));
        assert_eq!(ev["version"], "1.0");
        assert_eq!(ev["resource"], "/aws/{proxy+}");
        assert_eq!(
            ev["path"], "/aws/caf%C3%A9/x%2Fy",
            "REST keeps the path encoded"
        );
        assert_eq!(ev["httpMethod"], "POST");
        // Last value wins; multi keeps all; host filled from :authority.
        assert_eq!(ev["headers"]["x-multi"], "second");
        assert_eq!(
            ev["multiValueHeaders"]["x-multi"],
            json!(["first", "second"])
        );
        assert_eq!(ev["headers"]["host"], "api.example.com:8443");
        assert_eq!(
            ev["multiValueHeaders"]["host"],
            json!(["api.example.com:8443"])
        );
        assert_eq!(
            ev["headers"]["cookie"], "a=1; b=2",
            "v1 keeps the Cookie header"
        );
        let qs = &ev["queryStringParameters"];
        assert_eq!(qs["a"], "2");
        assert_eq!(qs["flag"], "");
        assert_eq!(qs["empty"], "");
        assert_eq!(qs["sp"], "x y z");
        assert_eq!(qs["uni"], "✓");
        assert_eq!(qs["✓"], "key");
        let mq = &ev["multiValueQueryStringParameters"];
        assert_eq!(mq["a"], json!(["1", "2"]));
        assert_eq!(mq["flag"], json!([""]));
        assert_eq!(ev["pathParameters"], json!({"proxy": "café/x/y"}));
        assert_eq!(ev["stageVariables"], Value::Null);
        assert_eq!(ev["body"], "{\"k\":\"v\"}");
        assert_eq!(ev["isBase64Encoded"], false);
        let rc = &ev["requestContext"];
        assert_eq!(rc["accountId"], DEFAULT_ACCOUNT_ID);
        assert_eq!(rc["apiId"], DEFAULT_API_ID);
        assert_eq!(rc["stage"], "$default");
        assert_eq!(rc["requestId"], "req-1");
        assert_eq!(rc["extendedRequestId"], "req-1");
        assert_eq!(rc["requestTime"], "30/Nov/2026:06:00:00 +0000");
        assert_eq!(rc["requestTimeEpoch"], 1_796_018_400_123u64);
        assert_eq!(rc["path"], "/aws/caf%C3%A9/x%2Fy");
        assert_eq!(rc["resourcePath"], "/aws/{proxy+}");
        assert_eq!(rc["httpMethod"], "POST");
        assert_eq!(rc["protocol"], "HTTP/1.1");
        assert_eq!(rc["domainName"], "api.example.com");
        assert_eq!(rc["domainPrefix"], "api");
        assert_eq!(rc["identity"]["sourceIp"], "203.0.113.9");
        assert_eq!(rc["identity"]["userAgent"], "curl/8");
        assert_eq!(rc["identity"]["user"], Value::Null);
        assert!(rc["identity"]
            .as_object()
            .unwrap()
            .contains_key("cognitoIdentityPoolId"));
        let rid = rc["resourceId"].as_str().unwrap();
        assert_eq!(rid.len(), 6);
        assert!(rid
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    }

    #[test]
    fn v1_nulls_when_absent() {
        let h = HeaderMap::new();
        let mut v = view(&h, None, b"");
        v.host = None;
        v.proxy_path = None;
        v.source_ip = None;
        let ev = parse(apigw_v1_event(&v, &EventSettings::default()));
        for key in [
            "headers",
            "multiValueHeaders",
            "queryStringParameters",
            "multiValueQueryStringParameters",
            "pathParameters",
            "stageVariables",
            "body",
        ] {
            assert_eq!(ev[key], Value::Null, "{key}");
            assert!(
                ev.as_object().unwrap().contains_key(key),
                "{key} is present as null"
            );
        }
        assert_eq!(ev["isBase64Encoded"], false);
        assert_eq!(ev["resource"], "$default");
        assert_eq!(ev["requestContext"]["domainName"], Value::Null);
        // "?" alone and "&&" are no parameters either.
        for q in ["", "&&"] {
            let ev = parse(apigw_v1_event(&view(&h, Some(q), b""), &settings()));
            assert_eq!(ev["queryStringParameters"], Value::Null, "{q:?}");
        }
    }

    #[test]
    fn v1_stage_and_variables() {
        let h = headers(&[("host", b"h.example")]);
        let mut s = settings();
        s.stage = "prod".into();
        s.stage_variables.insert("k".into(), "v".into());
        s.account_id = "999999999999".into();
        s.api_id = "abc123".into();
        let ev = parse(apigw_v1_event(&view(&h, None, b""), &s));
        assert_eq!(ev["requestContext"]["path"], "/prod/aws/caf%C3%A9/x%2Fy");
        assert_eq!(ev["requestContext"]["stage"], "prod");
        assert_eq!(ev["requestContext"]["accountId"], "999999999999");
        assert_eq!(ev["requestContext"]["apiId"], "abc123");
        assert_eq!(ev["stageVariables"], json!({"k": "v"}));
        assert_eq!(
            ev["headers"]["host"], "h.example",
            "the client's Host wins over :authority"
        );
        // A method in the setting: v1 resource is the path.
        s.resource = "GET /pets".into();
        let ev = parse(apigw_v1_event(&view(&h, None, b""), &s));
        assert_eq!(ev["resource"], "/pets");
    }

    #[test]
    fn v1_binary_body() {
        let h = headers(&[("content-type", b"image/png")]);
        let png = b"\x89PNG\r\n\x1a\n\0\0";
        let ev = parse(apigw_v1_event(&view(&h, None, png), &settings()));
        assert_eq!(ev["isBase64Encoded"], true);
        assert_eq!(ev["body"], STANDARD.encode(png));
        // Text content type but invalid UTF-8: base64 too, never invalid JSON.
        let h = headers(&[("content-type", b"text/plain")]);
        let ev = parse(apigw_v1_event(&view(&h, None, b"\xff\xfe"), &settings()));
        assert_eq!(ev["isBase64Encoded"], true);
        assert_eq!(ev["body"], "//4=");
        // Always.
        let mut s = settings();
        s.body_encoding = BodyEncoding::Always;
        let ev = parse(apigw_v1_event(&view(&h, None, b"hi"), &s));
        assert_eq!(
            (ev["body"].as_str(), ev["isBase64Encoded"].as_bool()),
            (Some("aGk="), Some(true))
        );
    }

    #[test]
    fn non_utf8_header_values_are_lossy_not_invalid_json() {
        let h = headers(&[("x-latin1", b"caf\xe9")]);
        let ev = parse(apigw_v1_event(&view(&h, None, b""), &settings()));
        assert_eq!(ev["headers"]["x-latin1"], "caf\u{FFFD}");
        let ev = parse(apigw_v2_event(&view(&h, None, b""), &settings()));
        assert_eq!(ev["headers"]["x-latin1"], "caf\u{FFFD}");
    }

    #[test]
    fn json_escaping_of_hostile_input() {
        let h = headers(&[("x-q", b"\"}\\{")]);
        let mut v = view(&h, Some("k=%22%5C%0A%00"), b"\"\\\n\0");
        v.raw_path = "/\"quote\\";
        v.method = "GET\"";
        for ev in [
            apigw_v1_event(&v, &settings()),
            apigw_v2_event(&v, &settings()),
            forward_event(&v, true, true, true, true, &BodyEncoding::Never),
        ] {
            let ev = parse(ev);
            assert!(ev.is_object());
        }
        let ev = parse(apigw_v2_event(&v, &settings()));
        assert_eq!(ev["queryStringParameters"]["k"], "\"\\\n\0");
        assert_eq!(ev["body"], "\"\\\n\0");
        assert_eq!(ev["rawPath"], "/\"quote\\");
    }

    #[test]
    fn v2_event_shape() {
        let h = headers(&[
            ("content-type", b"text/plain"),
            ("x-multi", b"a"),
            ("x-multi", b"b, c"),
            ("cookie", b"s=1; t=2"),
            ("cookie", b"u=3;;  v=4 "),
            ("user-agent", b"ua"),
        ]);
        let q = "a=1&a=2&flag&sp=x+y&uni=%E2%9C%93";
        let ev = parse(apigw_v2_event(
            &view(&h, Some(q), "héllo".as_bytes()),
            &settings(),
        ));
        assert_eq!(ev["version"], "2.0");
        assert_eq!(ev["routeKey"], "ANY /aws/{proxy+}");
        assert_eq!(ev["rawPath"], "/aws/caf%C3%A9/x%2Fy");
        assert_eq!(ev["rawQueryString"], q);
        assert_eq!(ev["cookies"], json!(["s=1", "t=2", "u=3", "v=4"]));
        assert_eq!(ev["headers"]["x-multi"], "a,b, c");
        assert!(
            ev["headers"].get("cookie").is_none(),
            "cookies move out of headers"
        );
        assert_eq!(ev["headers"]["host"], "api.example.com:8443");
        assert_eq!(ev["queryStringParameters"]["a"], "1,2");
        assert_eq!(ev["queryStringParameters"]["flag"], "");
        assert_eq!(ev["queryStringParameters"]["sp"], "x y");
        assert_eq!(ev["queryStringParameters"]["uni"], "✓");
        assert_eq!(ev["pathParameters"], json!({"proxy": "café/x/y"}));
        assert!(ev.get("stageVariables").is_none());
        assert_eq!(ev["body"], "héllo");
        assert_eq!(ev["isBase64Encoded"], false);
        let rc = &ev["requestContext"];
        assert_eq!(rc["routeKey"], "ANY /aws/{proxy+}");
        assert_eq!(rc["stage"], "$default");
        assert_eq!(rc["time"], "30/Nov/2026:06:00:00 +0000");
        assert_eq!(rc["timeEpoch"], 1_796_018_400_123u64);
        assert_eq!(rc["domainName"], "api.example.com");
        assert_eq!(rc["domainPrefix"], "api");
        assert_eq!(
            rc["http"],
            json!({"method": "POST", "path": "/aws/caf%C3%A9/x%2Fy", "protocol": "HTTP/1.1",
                   "sourceIp": "203.0.113.9", "userAgent": "ua"})
        );
        assert_eq!(rc["accountId"], DEFAULT_ACCOUNT_ID);
    }

    #[test]
    fn v2_absent_fields_and_route_keys() {
        let h = HeaderMap::new();
        let mut v = view(&h, None, b"");
        v.proxy_path = None;
        let ev = parse(apigw_v2_event(&v, &EventSettings::default()));
        for key in [
            "cookies",
            "queryStringParameters",
            "pathParameters",
            "stageVariables",
            "body",
        ] {
            assert!(ev.get(key).is_none(), "{key} absent");
        }
        assert_eq!(ev["rawQueryString"], "");
        assert_eq!(ev["routeKey"], "$default");
        assert_eq!(ev["isBase64Encoded"], false);
        assert_eq!(ev["headers"], json!({"host": "api.example.com:8443"}));
        // Only empty cookie pieces: no cookies array, and no cookie header either.
        let h = headers(&[("cookie", b" ; ")]);
        let ev = parse(apigw_v2_event(&view(&h, None, b""), &settings()));
        assert!(ev.get("cookies").is_none());
        assert!(ev["headers"].get("cookie").is_none());
        let mut s = settings();
        for (resource, key) in [
            ("", "$default"),
            ("$default", "$default"),
            ("GET /pets", "GET /pets"),
        ] {
            s.resource = resource.into();
            let ev = parse(apigw_v2_event(&view(&h, None, b""), &s));
            assert_eq!(ev["routeKey"], key);
            assert_eq!(ev["requestContext"]["routeKey"], key);
        }
    }

    #[test]
    fn v2_binary_body() {
        let h = headers(&[("content-type", b"application/octet-stream")]);
        let ev = parse(apigw_v2_event(&view(&h, None, b"abc"), &settings()));
        assert_eq!(ev["isBase64Encoded"], true);
        assert_eq!(ev["body"], "YWJj");
    }

    #[test]
    fn kong_args_merge_query_and_form() {
        let h = headers(&[(
            "content-type",
            b"Application/X-WWW-Form-Urlencoded; charset=utf-8",
        )]);
        let ev = parse(kong_args_event(&view(
            &h,
            Some("a=1&a=2&flag&shared=q&sp=x+y&=nokey"),
            b"f=1&f=2&g=h+i&solo&shared=body",
        )));
        assert_eq!(
            ev,
            json!({"a": ["1", "2"], "flag": true, "sp": "x y",
                   "f": ["1", "2"], "g": "h i", "solo": true, "shared": "body"})
        );
        // No body, no query: an empty object (never an empty payload).
        let none = headers(&[]);
        assert_eq!(kong_args_event(&view(&none, None, b"")), b"{}");
        // Query only; a body without a content type contributes nothing (as Kong).
        assert_eq!(
            parse(kong_args_event(&view(&none, Some("q=1"), b"{\"x\":1}"))),
            json!({"q": "1"})
        );
        let text = headers(&[("content-type", b"text/plain")]);
        assert_eq!(
            parse(kong_args_event(&view(&text, Some("q=1"), b"x=1"))),
            json!({"q": "1"})
        );
    }

    #[test]
    fn kong_args_json_bodies() {
        let h = headers(&[("content-type", b"application/json; charset=utf-8")]);
        // No query: the body byte for byte (`[]` and `2.50` stay as written).
        let body = b" {\"b\":1, \"n\":{\"x\":[1, 2.50, []]}} ";
        assert_eq!(kong_args_event(&view(&h, None, body)), body.to_vec());
        // With a query: merged, the body's members embedded as written, the body wins.
        let out = kong_args_event(&view(&h, Some("b=q&q=1"), body));
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.contains("\"n\":{\"x\":[1, 2.50, []]}"), "{text}");
        assert_eq!(
            parse(out),
            json!({"q": "1", "b": 1, "n": {"x": [1, 2.5, []]}})
        );
        // `{}` with a query: the query.
        assert_eq!(
            parse(kong_args_event(&view(&h, Some("q=1"), b"{ }"))),
            json!({"q": "1"})
        );
        // Arrays: as they are without a query, under "1", "2"... with one (a Lua array merged
        // into the query's table); `[]` is `{}` (an empty Lua table).
        assert_eq!(kong_args_event(&view(&h, None, b"[1,\"x\"]")), b"[1,\"x\"]");
        assert_eq!(
            parse(kong_args_event(&view(&h, Some("q=1&1=z"), b"[1,\"x\"]"))),
            json!({"q": "1", "1": 1, "2": "x"})
        );
        assert_eq!(kong_args_event(&view(&h, None, b"[]")), b"{}");
        // Scalars and invalid JSON contribute nothing.
        for bad in [&b"\"str\""[..], b"42", b"null", b"{\"a\":", b"not json"] {
            assert_eq!(
                parse(kong_args_event(&view(&h, Some("q=1"), bad))),
                json!({"q": "1"}),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        // `application/vnd.api+json` does not start with `application/json`: Kong ignores it.
        let vnd = headers(&[("content-type", b"application/vnd.api+json")]);
        assert_eq!(kong_args_event(&view(&vnd, None, b"{\"a\":1}")), b"{}");
    }

    #[test]
    fn kong_args_multipart() {
        let h = headers(&[("content-type", b"multipart/form-data; boundary=\"XyZ\"")]);
        let body = b"preamble\r\n--XyZ\r\n\
            Content-Disposition: form-data; name=\"title\"\r\n\r\nhello world\r\n\
            --XyZ\r\nContent-Disposition: form-data; name=\"tag\"\r\n\r\na\r\n\
            --XyZ\r\ncontent-disposition: form-data; name=tag\r\n\r\nb\r\n\
            --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n\
            Content-Type: application/octet-stream\r\n\r\n\x89PNG\r\nline2\r\n\
            --XyZ\r\nContent-Type: text/plain\r\n\r\nno name, skipped\r\n\
            --XyZ--\r\nepilogue";
        let ev = parse(kong_args_event(&view(&h, Some("q=1&title=q"), body)));
        assert_eq!(
            ev,
            json!({"q": "1", "title": "hello world", "tag": ["a", "b"],
                   "file": "\u{FFFD}PNG\r\nline2"})
        );
        // No boundary, or not multipart at all: the query only.
        let nob = headers(&[("content-type", b"multipart/form-data")]);
        assert_eq!(
            parse(kong_args_event(&view(&nob, Some("q=1"), body))),
            json!({"q": "1"})
        );
        assert_eq!(
            parse(kong_args_event(&view(&h, Some("q=1"), b"just text"))),
            json!({"q": "1"})
        );
    }

    #[test]
    fn forward_event_shapes() {
        let h = headers(&[
            ("content-type", b"application/x-www-form-urlencoded"),
            ("x-multi", b"a"),
            ("x-multi", b"b"),
        ]);
        let q = "a=1&a=2&flag&e=&=nokey&sp=x+y";
        let ev = parse(forward_event(
            &view(&h, Some(q), b"f=1&f=2&g=h+i&solo"),
            true,
            true,
            true,
            true,
            &BodyEncoding::default_auto(),
        ));
        assert_eq!(ev["request_method"], "POST");
        assert_eq!(ev["request_uri"], format!("/aws/caf%C3%A9/x%2Fy?{q}"));
        assert_eq!(
            ev["request_uri_args"],
            json!({"a": ["1", "2"], "flag": true, "e": "", "sp": "x y"})
        );
        assert_eq!(ev["request_headers"]["x-multi"], json!(["a", "b"]));
        assert_eq!(ev["request_headers"]["host"], "api.example.com:8443");
        assert_eq!(ev["request_body"], "f=1&f=2&g=h+i&solo");
        assert_eq!(ev["request_body_base64"], false);
        assert_eq!(
            ev["request_body_args"],
            json!({"f": ["1", "2"], "g": "h i", "solo": true})
        );
    }

    #[test]
    fn forward_event_only_enabled_keys() {
        let h = headers(&[("content-type", b"application/json")]);
        let body = b" {\"nested\": {\"x\": [1, 2.50, []]}} ";
        let v = view(&h, None, body);
        let ev = parse(forward_event(
            &v,
            false,
            false,
            false,
            true,
            &BodyEncoding::Always,
        ));
        let keys: Vec<_> = ev.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys.len(), 3, "{keys:?}");
        assert_eq!(ev["request_body_base64"], true);
        assert_eq!(ev["request_body"], STANDARD.encode(body));
        assert_eq!(
            ev["request_body_args"],
            json!({"nested": {"x": [1, 2.50, []]}})
        );
        // The JSON body is embedded byte for byte (no re-encoding of 2.50 or []).
        let raw = forward_event(&v, false, false, false, true, &BodyEncoding::Always);
        assert!(String::from_utf8(raw)
            .unwrap()
            .contains("{\"nested\": {\"x\": [1, 2.50, []]}}"));
        // Not an object / invalid JSON: no request_body_args.
        for b in [&b"[1,2]"[..], b"{\"a\":", b"\xff"] {
            let ev = parse(forward_event(
                &view(&h, None, b),
                false,
                false,
                false,
                true,
                &BodyEncoding::Never,
            ));
            assert!(ev.get("request_body_args").is_none(), "{b:?}");
        }
        let ev = parse(forward_event(
            &v,
            true,
            false,
            false,
            false,
            &BodyEncoding::Never,
        ));
        assert_eq!(ev, json!({"request_method": "POST"}));
        assert_eq!(
            parse(forward_event(
                &v,
                false,
                false,
                false,
                false,
                &BodyEncoding::Never
            )),
            json!({})
        );
        // No query: "request_uri" without "?", empty args object.
        let ev = parse(forward_event(
            &v,
            false,
            true,
            false,
            false,
            &BodyEncoding::Never,
        ));
        assert_eq!(
            ev,
            json!({"request_uri": "/aws/caf%C3%A9/x%2Fy", "request_uri_args": {}})
        );
        // Empty body.
        let ev = parse(forward_event(
            &view(&h, None, b""),
            false,
            false,
            false,
            true,
            &BodyEncoding::Always,
        ));
        assert_eq!(
            (
                ev["request_body"].as_str(),
                ev["request_body_base64"].as_bool()
            ),
            (Some(""), Some(false))
        );
    }

    #[test]
    fn domain_names() {
        assert_eq!(domain(Some("a.b.c:443")), (Some("a.b.c"), Some("a")));
        assert_eq!(
            domain(Some("localhost")),
            (Some("localhost"), Some("localhost"))
        );
        assert_eq!(domain(Some("[::1]:8080")), (Some("[::1]"), Some("[::1]")));
        assert_eq!(domain(Some("[::1")), (Some("[::1"), Some("[::1")));
        assert_eq!(domain(Some("")), (None, None));
        assert_eq!(domain(None), (None, None));
    }

    #[test]
    fn capacity_is_enough_for_typical_events() {
        let h = headers(&[("content-type", b"application/json"), ("x-a", b"1")]);
        let v = view(&h, Some("a=1"), b"{}");
        // Sized once: the buffer never had to grow.
        let ev = apigw_v1_event(&v, &settings());
        assert_eq!(
            ev.capacity(),
            estimate(&v, 2, V1_FIXED),
            "{} bytes",
            ev.len()
        );
        let ev = apigw_v2_event(&v, &settings());
        assert_eq!(
            ev.capacity(),
            estimate(&v, 1, V2_FIXED),
            "{} bytes",
            ev.len()
        );
        let big = vec![b'x'; 100_000];
        let ev = apigw_v1_event(&view(&h, Some("a=1"), &big), &settings());
        assert!(
            ev.capacity() < 2 * ev.len(),
            "{} / {}",
            ev.len(),
            ev.capacity()
        );
    }
}
