//! The query string (and form bodies) as events render them: form-decoded pairs grouped by key,
//! written as the last value, every value, values joined with `,`, or Kong's shapes.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// A query string split into form-decoded `(key, value)` pairs, sorted by key (stable, so the
/// values of one key keep their order). `None` is a valueless argument (`?flag`).
pub(super) struct Query<'a> {
    pub(super) pairs: Vec<(Cow<'a, str>, Option<Cow<'a, str>>)>,
}

impl<'a> Query<'a> {
    /// Split on `&` (only: `;` is data, as in API Gateway), skip empty pieces, and arguments
    /// with an empty key when `skip_empty_keys` (nginx does, for Kong's event).
    pub(super) fn parse(raw: &'a str, skip_empty_keys: bool) -> Self {
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

    pub(super) fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    pub(super) fn groups(&self) -> impl Iterator<Item = &[(Cow<'a, str>, Option<Cow<'a, str>>)]> {
        self.pairs.chunk_by(|a, b| a.0 == b.0)
    }
}

/// `application/x-www-form-urlencoded` decoding of one key or value: `+` is a space, `%XX` a
/// byte; malformed escapes stay as they are; invalid UTF-8 becomes U+FFFD. Also used by
/// `crate::authorizers` (query-string identity sources decode keys and values the same way).
pub(crate) fn form_decode(s: &str) -> Cow<'_, str> {
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
pub(super) enum QueryShape {
    /// v1 `queryStringParameters`: the last value, valueless `""`.
    Last,
    /// v1 `multiValueQueryStringParameters`: every value, valueless `""`.
    Multi,
    /// v2 `queryStringParameters`: values joined with `,`, valueless `""`.
    Joined,
    /// Kong: string when single, array when repeated, valueless `true`.
    Kong,
}

pub(super) struct QueryMap<'q, 'a>(pub(super) &'q Query<'a>, pub(super) QueryShape);

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

pub(super) type Pair<'a> = (Cow<'a, str>, Option<Cow<'a, str>>);

/// The values of one key; valueless as `true` when `kong`, else `""`.
pub(super) struct ValueSeq<'q, 'a>(pub(super) &'q [Pair<'a>], pub(super) bool);

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

pub(super) struct KongValue<'a>(pub(super) Option<&'a str>);

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
