//! `FunctionName` and qualifiers: the path segment decoded, the name forms (name, partial and
//! full ARNs) validated with Lambda's patterns and limits, the `Qualifier` query parameter, and
//! which version a qualifier runs (`$LATEST`, `1`, alias `prod`).

use percent_encoding::percent_decode;

use super::{ApiError, ACCOUNT};

/// Longest `FunctionName` (any form).
const MAX_FUNCTION_NAME: usize = 170;
/// Longest plain function name.
const MAX_NAME: usize = 64;
/// Longest qualifier.
const MAX_QUALIFIER: usize = 128;

const NAME_PATTERN: &str = r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?";
const QUALIFIER_PATTERN: &str = r"(|[a-zA-Z0-9$_-]+)";

/// A `FunctionName` taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionName {
    /// The short name (`my-function`).
    pub name: String,
    /// The qualifier suffix (`:prod`), if the name had one.
    pub qualifier: Option<String>,
}

/// The function's ARN in this emulator's region and account, optionally qualified.
pub fn function_arn(region: &str, name: &str, qualifier: Option<&str>) -> String {
    let mut arn = format!("arn:aws:lambda:{region}:{ACCOUNT}:function:{name}");
    if let Some(q) = qualifier {
        arn.push(':');
        arn.push_str(q);
    }
    arn
}

/// Percent-decodes the `FunctionName` path segment.
pub fn decode_segment(segment: &[u8]) -> Result<String, ApiError> {
    let decoded = percent_decode(segment).decode_utf8().map_err(|_| {
        let shown = String::from_utf8_lossy(segment);
        name_validation(&shown)
    })?;
    Ok(decoded.into_owned())
}

fn name_validation(value: &str) -> ApiError {
    ApiError::validation(
        value,
        "functionName",
        &format!("Member must satisfy regular expression pattern: {NAME_PATTERN}"),
    )
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn is_name_qualifier(s: &str) -> bool {
    s == "$LATEST"
        || (!s.is_empty()
            && s.len() <= MAX_QUALIFIER
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_')))
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Parses a decoded `FunctionName`: `name`, `name:qualifier`, `123456789012:function:name[:q]`
/// or `arn:aws:lambda:<region>:123456789012:function:name[:q]`. Malformed names are a 400
/// `ValidationException`; another region, partition or account is a 404 (no such function here).
pub fn parse_function_name(s: &str, region: &str) -> Result<FunctionName, ApiError> {
    let invalid = || name_validation(s);
    if s.is_empty() || s.len() > MAX_FUNCTION_NAME {
        return Err(ApiError::validation(
            s,
            "functionName",
            &format!("Member must have length between 1 and {MAX_FUNCTION_NAME}"),
        ));
    }
    let parts: Vec<&str> = s.split(':').collect();
    let (account, name, qualifier, arn_scope) = match parts.as_slice() {
        [name] => (None, *name, None, None),
        [name, q] => (None, *name, Some(*q), None),
        [acct, "function", name] => (Some(*acct), *name, None, None),
        [acct, "function", name, q] => (Some(*acct), *name, Some(*q), None),
        ["arn", partition, "lambda", r, acct, "function", name] => {
            (Some(*acct), *name, None, Some((*partition, *r)))
        }
        ["arn", partition, "lambda", r, acct, "function", name, q] => {
            (Some(*acct), *name, Some(*q), Some((*partition, *r)))
        }
        _ => return Err(invalid()),
    };
    if !is_name(name) || !qualifier.is_none_or(is_name_qualifier) {
        return Err(invalid());
    }
    if let Some(acct) = account {
        if !is_account(acct) {
            return Err(invalid());
        }
    }
    if let Some((partition, r)) = arn_scope {
        if !partition.starts_with("aws") || r.is_empty() {
            return Err(invalid());
        }
        if partition != "aws" || r != region {
            let acct = account.unwrap_or(ACCOUNT);
            let mut arn = format!("arn:{partition}:lambda:{r}:{acct}:function:{name}");
            if let Some(q) = qualifier {
                arn.push(':');
                arn.push_str(q);
            }
            return Err(ApiError::not_found(&arn));
        }
    }
    if let Some(acct) = account {
        if acct != ACCOUNT {
            let mut arn = format!("arn:aws:lambda:{region}:{acct}:function:{name}");
            if let Some(q) = qualifier {
                arn.push(':');
                arn.push_str(q);
            }
            return Err(ApiError::not_found(&arn));
        }
    }
    Ok(FunctionName {
        name: name.to_string(),
        qualifier: qualifier.map(str::to_string),
    })
}

/// The `Qualifier` query parameter, percent-decoded; empty counts as absent.
pub fn query_qualifier(raw_query: Option<&[u8]>) -> Result<Option<String>, ApiError> {
    let Some(query) = raw_query else {
        return Ok(None);
    };
    for pair in query.split(|&b| b == b'&') {
        let (key, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        if key != b"Qualifier" {
            continue;
        }
        let plus_as_space: Vec<u8> = value
            .iter()
            .map(|&b| if b == b'+' { b' ' } else { b })
            .collect();
        let decoded = percent_decode(&plus_as_space)
            .decode_utf8()
            .map(|s| s.into_owned())
            .unwrap_or_else(|_| String::from_utf8_lossy(value).into_owned());
        let valid = decoded.len() <= MAX_QUALIFIER
            && decoded
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'$' | b'_' | b'-'));
        if !valid {
            return Err(ApiError::validation(
                &decoded,
                "qualifier",
                &format!("Member must satisfy regular expression pattern: {QUALIFIER_PATTERN}"),
            ));
        }
        return Ok((!decoded.is_empty()).then_some(decoded));
    }
    Ok(None)
}

/// The qualifier in effect: from the name or the query; both given and different is a 400.
pub fn resolve_qualifier(
    from_name: Option<&str>,
    from_query: Option<&str>,
) -> Result<Option<String>, ApiError> {
    match (from_name, from_query) {
        (Some(a), Some(b)) if a != b => Err(ApiError::invalid_parameter(
            "The derived qualifier from the function name does not match the specified qualifier.",
        )),
        (Some(q), _) | (None, Some(q)) => Ok(Some(q.to_string())),
        (None, None) => Ok(None),
    }
}

/// The version a qualifier runs: none or `$LATEST` → `$LATEST`; `1` and alias `prod` → `1`.
/// Anything else does not exist (404 naming the qualified ARN).
pub fn executed_version(
    region: &str,
    name: &str,
    qualifier: Option<&str>,
) -> Result<&'static str, ApiError> {
    match qualifier {
        None | Some("$LATEST") => Ok("$LATEST"),
        Some("1") | Some("prod") => Ok("1"),
        Some(q) => Err(ApiError::not_found(&function_arn(region, name, Some(q)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: &str = "us-east-1";

    fn parsed(s: &str) -> Result<(String, Option<String>), u16> {
        parse_function_name(s, R)
            .map(|f| (f.name, f.qualifier))
            .map_err(|e| e.status)
    }

    fn ok(name: &str, q: Option<&str>) -> Result<(String, Option<String>), u16> {
        Ok((name.to_string(), q.map(str::to_string)))
    }

    #[test]
    fn function_name_forms() {
        assert_eq!(parsed("echo"), ok("echo", None));
        assert_eq!(parsed("echo:prod"), ok("echo", Some("prod")));
        assert_eq!(parsed("echo:$LATEST"), ok("echo", Some("$LATEST")));
        assert_eq!(parsed("123456789012:function:echo"), ok("echo", None));
        assert_eq!(
            parsed("123456789012:function:echo:1"),
            ok("echo", Some("1"))
        );
        assert_eq!(
            parsed("arn:aws:lambda:us-east-1:123456789012:function:my.fn_x-1"),
            ok("my.fn_x-1", None)
        );
        assert_eq!(
            parsed("arn:aws:lambda:us-east-1:123456789012:function:echo:prod"),
            ok("echo", Some("prod"))
        );
    }

    #[test]
    fn function_name_errors() {
        // Malformed: 400 ValidationException.
        for bad in [
            "",
            "a b",
            "a/b",
            "echo:",
            ":echo",
            "echo:pr.od",
            "echo:q:r",
            "12345:function:echo",
            "123456789012:func:echo",
            "arn:aws:lambda:us-east-1:123456789012:function:",
            "arn:aws:lambda::123456789012:function:echo",
            "arn:xyz:lambda:us-east-1:123456789012:function:echo",
            "arn:aws:s3:us-east-1:123456789012:function:echo",
            "arn:aws:lambda:us-east-1:123456789012:function:echo:1:2",
            "ሴ",
        ] {
            let err = parse_function_name(bad, R).unwrap_err();
            assert_eq!(err.status, 400, "{bad:?}");
            assert_eq!(err.error_type, "ValidationException", "{bad:?}");
        }
        assert_eq!(parsed(&"a".repeat(64)), ok(&"a".repeat(64), None));
        assert_eq!(parsed(&"a".repeat(65)), Err(400));
        assert_eq!(parsed(&format!("a:{}", "q".repeat(171))), Err(400));

        // Another region, partition or account: 404 naming that ARN.
        let err = parse_function_name("arn:aws:lambda:eu-west-1:123456789012:function:echo", R)
            .unwrap_err();
        assert_eq!(err.status, 404);
        assert_eq!(err.error_type, "ResourceNotFoundException");
        assert_eq!(
            err.json()["Message"],
            "Function not found: arn:aws:lambda:eu-west-1:123456789012:function:echo"
        );
        assert_eq!(
            parsed("arn:aws-cn:lambda:us-east-1:123456789012:function:echo"),
            Err(404)
        );
        assert_eq!(parsed("210987654321:function:echo"), Err(404));
        // The configured region decides.
        assert!(parse_function_name(
            "arn:aws:lambda:eu-west-1:123456789012:function:echo",
            "eu-west-1"
        )
        .is_ok());
    }

    #[test]
    fn segment_decoding() {
        assert_eq!(
            decode_segment(
                b"arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Aecho%3A%24LATEST"
            )
            .unwrap(),
            "arn:aws:lambda:us-east-1:123456789012:function:echo:$LATEST"
        );
        assert_eq!(decode_segment(b"echo:prod").unwrap(), "echo:prod");
        assert_eq!(decode_segment(b"%ff").unwrap_err().status, 400);
        // A bad escape stays literal and then fails the name rules.
        let s = decode_segment(b"%zz").unwrap();
        assert_eq!(parse_function_name(&s, R).unwrap_err().status, 400);
    }

    #[test]
    fn qualifier_rules() {
        assert_eq!(query_qualifier(None), Ok(None));
        assert_eq!(query_qualifier(Some(b"")), Ok(None));
        assert_eq!(query_qualifier(Some(b"Qualifier=")), Ok(None));
        assert_eq!(
            query_qualifier(Some(b"x=1&Qualifier=prod")),
            Ok(Some("prod".into()))
        );
        assert_eq!(
            query_qualifier(Some(b"Qualifier=%24LATEST")),
            Ok(Some("$LATEST".into()))
        );
        assert_eq!(query_qualifier(Some(b"qualifier=prod")), Ok(None));
        assert_eq!(
            query_qualifier(Some(b"Qualifier=a.b"))
                .unwrap_err()
                .error_type,
            "ValidationException"
        );
        assert_eq!(
            query_qualifier(Some(b"Qualifier=a+b")).unwrap_err().status,
            400
        );

        assert_eq!(resolve_qualifier(None, None), Ok(None));
        assert_eq!(resolve_qualifier(Some("1"), None), Ok(Some("1".into())));
        assert_eq!(
            resolve_qualifier(None, Some("prod")),
            Ok(Some("prod".into()))
        );
        assert_eq!(
            resolve_qualifier(Some("prod"), Some("prod")),
            Ok(Some("prod".into()))
        );
        let err = resolve_qualifier(Some("prod"), Some("1")).unwrap_err();
        assert_eq!(err.status, 400);
        assert_eq!(err.error_type, "InvalidParameterValueException");

        assert_eq!(executed_version(R, "echo", None), Ok("$LATEST"));
        assert_eq!(executed_version(R, "echo", Some("$LATEST")), Ok("$LATEST"));
        assert_eq!(executed_version(R, "echo", Some("1")), Ok("1"));
        assert_eq!(executed_version(R, "echo", Some("prod")), Ok("1"));
        let err = executed_version(R, "echo", Some("2")).unwrap_err();
        assert_eq!(err.status, 404);
        assert_eq!(
            err.body,
            r#"{"Type":"User","Message":"Function not found: arn:aws:lambda:us-east-1:123456789012:function:echo:2"}"#
        );
    }
}
