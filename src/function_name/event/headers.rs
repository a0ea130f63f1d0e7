//! The request headers as events render them: last value, every value, joined with `,` or Kong's
//! string-or-array; `host` filled in when missing, `cookie` left out for v2.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use http::header::{COOKIE, HOST, USER_AGENT};
use http::HeaderMap;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

pub(super) fn headers_size(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 8)
        .sum()
}

fn lossy(v: &http::HeaderValue) -> Cow<'_, str> {
    String::from_utf8_lossy(v.as_bytes())
}

pub(super) fn user_agent(headers: &HeaderMap) -> Option<Cow<'_, str>> {
    headers.get(USER_AGENT).map(lossy)
}

/// The request headers as an event sees them: `host` filled in when missing, `cookie` left out
/// for v2 (it goes to `cookies`).
#[derive(Clone, Copy)]
pub(super) struct HeaderView<'a> {
    map: &'a HeaderMap,
    add_host: Option<&'a str>,
    skip_cookie: bool,
}

impl<'a> HeaderView<'a> {
    pub(super) fn new(map: &'a HeaderMap, host: Option<&'a str>, skip_cookie: bool) -> Self {
        let add_host = host.filter(|_| !map.contains_key(HOST));
        HeaderView {
            map,
            add_host,
            skip_cookie,
        }
    }

    pub(super) fn is_empty(&self) -> bool {
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
pub(super) enum HeaderShape {
    /// v1 `headers`: the last value.
    Last,
    /// v1 `multiValueHeaders`: an array of every value.
    Multi,
    /// v2 `headers`: values joined with `,`.
    Joined,
    /// Kong: a string when single, an array when repeated.
    Kong,
}

pub(super) struct HeaderObject<'a> {
    pub(super) view: HeaderView<'a>,
    pub(super) shape: HeaderShape,
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

#[cfg(test)]
mod tests {
    use crate::function_name::event::test_support::*;
    use crate::function_name::event::{apigw_v1_event, apigw_v2_event};

    #[test]
    fn non_utf8_header_values_are_lossy_not_invalid_json() {
        let h = headers(&[("x-latin1", b"caf\xe9")]);
        let ev = parse(apigw_v1_event(&view(&h, None, b""), &settings()));
        assert_eq!(ev["headers"]["x-latin1"], "caf\u{FFFD}");
        let ev = parse(apigw_v2_event(&view(&h, None, b""), &settings()));
        assert_eq!(ev["headers"]["x-latin1"], "caf\u{FFFD}");
    }
}
