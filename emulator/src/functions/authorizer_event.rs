//! The event API Gateway HTTP API sends a Lambda (REQUEST) authorizer, checked strictly: its
//! `version` picks payload format 1.0 or 2.0, and every field that format always carries must
//! be there with its type. What the authorizers need is kept: the format, the ARN a policy
//! names (`methodArn` / `routeArn`) and the identity values.

use serde_json::{Map, Value};

/// The prefix of every API Gateway execute-api ARN.
const EXECUTE_API_ARN: &str = "arn:aws:execute-api:";

/// The authorizer payload format version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    V1,
    V2,
}

/// What an authorizer reads from a valid event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthEvent {
    pub format: Format,
    /// `methodArn` (1.0) or `routeArn` (2.0).
    pub arn: String,
    /// `identitySource`: the array (2.0) or the string split at `,` (1.0).
    pub identities: Vec<String>,
}

impl AuthEvent {
    /// The first identity value (empty when there is none).
    pub fn token(&self) -> &str {
        self.identities.first().map_or("", String::as_str)
    }
}

/// Checks `event` and extracts what the authorizers use; the error names what is wrong.
pub fn parse(event: &Value) -> Result<AuthEvent, String> {
    let event = event
        .as_object()
        .ok_or("invalid authorizer event: not a JSON object")?;
    let format = match event.get("version").and_then(Value::as_str) {
        Some("1.0") => Format::V1,
        Some("2.0") => Format::V2,
        Some(_) => return Err(invalid("version must be \"1.0\" or \"2.0\"")),
        None => return Err(invalid("missing version")),
    };
    if Fields::top(event).string("type")? != "REQUEST" {
        return Err(invalid("type must be \"REQUEST\""));
    }
    match format {
        Format::V1 => parse_v1(event),
        Format::V2 => parse_v2(event),
    }
}

fn parse_v1(event: &Map<String, Value>) -> Result<AuthEvent, String> {
    let top = Fields::top(event);
    let arn = top.arn("methodArn")?;
    let identity = top.string("identitySource")?;
    if top.string("authorizationToken")? != identity {
        return Err(invalid("authorizationToken must equal identitySource"));
    }
    for key in ["resource", "path", "httpMethod"] {
        top.string(key)?;
    }
    top.string_map("headers")?;
    let multi = top.object("multiValueHeaders")?;
    if !multi.map.values().all(is_string_array) {
        return Err(invalid(
            "multiValueHeaders values must be arrays of strings",
        ));
    }
    top.object("requestContext")?;
    Ok(AuthEvent {
        format: Format::V1,
        arn,
        identities: identity.split(',').map(str::to_string).collect(),
    })
}

fn parse_v2(event: &Map<String, Value>) -> Result<AuthEvent, String> {
    let top = Fields::top(event);
    let arn = top.arn("routeArn")?;
    let identities = top.field("identitySource")?;
    if !is_string_array(identities) {
        return Err(invalid("identitySource must be an array of strings"));
    }
    let identities = identities
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    top.string("routeKey")?;
    top.string("rawPath")?;
    top.string_map("headers")?;
    let context = top.object("requestContext")?;
    context.string("requestId")?;
    let http = context.object("http")?;
    http.string("method")?;
    http.string("path")?;
    Ok(AuthEvent {
        format: Format::V2,
        arn,
        identities,
    })
}

fn invalid(what: &str) -> String {
    format!("invalid authorizer event: {what}")
}

fn is_string_array(v: &Value) -> bool {
    v.as_array().is_some_and(|a| a.iter().all(Value::is_string))
}

/// One JSON object of the event and its dotted name (for the error messages).
struct Fields<'a> {
    map: &'a Map<String, Value>,
    name: String,
}

impl<'a> Fields<'a> {
    fn top(map: &'a Map<String, Value>) -> Self {
        Fields {
            map,
            name: String::new(),
        }
    }

    fn name(&self, key: &str) -> String {
        format!("{}{key}", self.name)
    }

    fn field(&self, key: &str) -> Result<&'a Value, String> {
        self.map
            .get(key)
            .ok_or_else(|| invalid(&format!("missing {}", self.name(key))))
    }

    fn string(&self, key: &str) -> Result<&'a str, String> {
        self.field(key)?
            .as_str()
            .ok_or_else(|| invalid(&format!("{} must be a string", self.name(key))))
    }

    fn object(&self, key: &str) -> Result<Fields<'a>, String> {
        let map = self
            .field(key)?
            .as_object()
            .ok_or_else(|| invalid(&format!("{} must be an object", self.name(key))))?;
        Ok(Fields {
            map,
            name: format!("{}.", self.name(key)),
        })
    }

    /// An object whose values are all strings (`headers`).
    fn string_map(&self, key: &str) -> Result<(), String> {
        if self.object(key)?.map.values().all(Value::is_string) {
            Ok(())
        } else {
            Err(invalid(&format!(
                "{} values must be strings",
                self.name(key)
            )))
        }
    }

    /// A string that is an execute-api ARN.
    fn arn(&self, key: &str) -> Result<String, String> {
        let arn = self.string(key)?;
        if arn.starts_with(EXECUTE_API_ARN) {
            Ok(arn.to_string())
        } else {
            Err(invalid(&format!(
                "{} must start with {EXECUTE_API_ARN}",
                self.name(key)
            )))
        }
    }
}
