//! One pass over a result payload: the fields a result shape uses, each kept as whatever JSON it
//! was ([`Loose`], strings borrowed from the payload), everything else skipped unbuilt.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::{invalid, InvalidResult};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    V1,
    V2,
    Prelude,
}

/// The fields of a result object that the shape uses, each as whatever JSON it was.
#[derive(Default)]
pub(super) struct Fields<'a> {
    pub(super) status: Option<Loose<'a>>,
    pub(super) headers: Option<Loose<'a>>,
    pub(super) multi_value_headers: Option<Loose<'a>>,
    pub(super) cookies: Option<Loose<'a>>,
    pub(super) body: Option<Loose<'a>>,
    pub(super) is_base64_encoded: Option<Loose<'a>>,
}

/// `Ok(None)`: valid JSON that is not an object. Duplicate keys: the last one wins (as
/// `JSON.parse` and Jackson do).
pub(super) fn parse_object(json: &[u8], shape: Shape) -> Result<Option<Fields<'_>>, InvalidResult> {
    if json.trim_ascii_start().first() != Some(&b'{') {
        return match serde_json::from_slice::<IgnoredAny>(json) {
            Ok(_) => Ok(None),
            Err(e) => Err(invalid(format!("the result is not valid JSON: {e}"))),
        };
    }
    let mut de = serde_json::Deserializer::from_slice(json);
    let fields = FieldsSeed(shape)
        .deserialize(&mut de)
        .and_then(|f| de.end().map(|()| f))
        .map_err(|e| invalid(format!("the result is not valid JSON: {e}")))?;
    Ok(Some(fields))
}

struct FieldsSeed(Shape);

impl<'de> DeserializeSeed<'de> for FieldsSeed {
    type Value = Fields<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FieldsSeed {
    type Value = Fields<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a proxy-integration result object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let shape = self.0;
        let mut fields = Fields::default();
        while let Some(key) = map.next_key::<CowStr<'de>>()? {
            let slot = match (key.0.as_ref(), shape) {
                ("statusCode", _) => &mut fields.status,
                ("headers", _) => &mut fields.headers,
                ("multiValueHeaders", Shape::V1) => &mut fields.multi_value_headers,
                ("cookies", Shape::V2 | Shape::Prelude) => &mut fields.cookies,
                ("body", Shape::V1 | Shape::V2) => &mut fields.body,
                ("isBase64Encoded", Shape::V1 | Shape::V2) => &mut fields.is_base64_encoded,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            *slot = Some(map.next_value::<Loose<'de>>()?);
        }
        Ok(fields)
    }
}

/// A string that borrows from the payload when it has no escapes.
struct CowStr<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for CowStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CowStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// Any JSON value, strings borrowed; only the (few) fields a result uses are built as this.
/// serde_json's recursion limit bounds the nesting.
#[derive(Debug)]
pub(super) enum Loose<'a> {
    Null,
    Bool(bool),
    U64(u64),
    I64(i64),
    F64(f64),
    Str(Cow<'a, str>),
    Seq(Vec<Loose<'a>>),
    Map(Vec<(Cow<'a, str>, Loose<'a>)>),
}

impl Loose<'_> {
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Loose::Null => "null",
            Loose::Bool(_) => "a boolean",
            Loose::U64(_) | Loose::I64(_) | Loose::F64(_) => "a number",
            Loose::Str(_) => "a string",
            Loose::Seq(_) => "an array",
            Loose::Map(_) => "an object",
        }
    }
}

impl<'de> Deserialize<'de> for Loose<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LooseVisitor)
    }
}

struct LooseVisitor;

impl<'de> Visitor<'de> for LooseVisitor {
    type Value = Loose<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Loose::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Loose::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        Loose::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Loose::Bool(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Loose::U64(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Loose::I64(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Loose::F64(v))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Loose::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Loose::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Loose::Str(Cow::Owned(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element::<Loose<'de>>()? {
            items.push(item);
        }
        Ok(Loose::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
        while let Some((k, v)) = map.next_entry::<CowStr<'de>, Loose<'de>>()? {
            entries.push((k.0, v));
        }
        Ok(Loose::Map(entries))
    }
}
