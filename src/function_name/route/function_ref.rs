//! A Lambda function reference as a route names it: `name`, `name:qualifier`, a partial ARN
//! (`account:function:name`) or a full ARN, checked as the Invoke API would; and the region
//! taken from the environment when the reference has none.

/// A parsed function reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionRef {
    /// As written, without a qualifier suffix when one was split off.
    pub function: String,
    pub region: Option<String>,
    pub qualifier: Option<String>,
}

/// Parses `name`, `name:qualifier`, `account:function:name[:qualifier]` or
/// `arn:partition:lambda:region:account:function:name[:qualifier]`.
pub fn parse_function_name(s: &str) -> Result<FunctionRef, String> {
    let bad = |why: &str| Err(format!("`{s}` is not a Lambda function name or ARN: {why}"));
    if s.is_empty() || s.len() > 170 {
        return bad("must be 1 to 170 characters");
    }
    let parts: Vec<&str> = s.split(':').collect();
    let (prefix, name, qualifier, region) = match parts.as_slice() {
        [name] => ("", *name, None, None),
        [name, q] => ("", *name, Some(*q), None),
        [acct, "function", name] => (&s[..acct.len() + 10], *name, None, check_account(acct)?),
        [acct, "function", name, q] => {
            (&s[..acct.len() + 10], *name, Some(*q), check_account(acct)?)
        }
        ["arn", partition, "lambda", region, acct, "function", name, rest @ ..]
            if rest.len() <= 1 =>
        {
            if !partition.starts_with("aws") {
                return bad("the partition must be aws, aws-cn, aws-us-gov...");
            }
            check_account(acct)?;
            if !is_region(region) {
                return bad("the region is not valid");
            }
            let head = s.len() - name.len() - rest.first().map_or(0, |q| q.len() + 1);
            (
                &s[..head],
                *name,
                rest.first().copied(),
                Some(region.to_string()),
            )
        }
        _ => return bad("expected name, name:qualifier, a partial ARN or a full ARN"),
    };
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    {
        return bad("the name must be 1-64 letters, digits, `-`, `_` or `.`");
    }
    if let Some(q) = qualifier {
        check_qualifier(q).map_err(|e| format!("`{s}`: {e}"))?;
    }
    Ok(FunctionRef {
        function: format!("{prefix}{name}"),
        region,
        qualifier: qualifier.map(str::to_string),
    })
}

fn check_account(acct: &str) -> Result<Option<String>, String> {
    if acct.len() == 12 && acct.bytes().all(|b| b.is_ascii_digit()) {
        Ok(None)
    } else {
        Err(format!("`{acct}` is not a 12-digit account id"))
    }
}

pub fn check_qualifier(q: &str) -> Result<(), String> {
    if q == "$LATEST"
        || (!q.is_empty()
            && q.len() <= 128
            && q.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    {
        Ok(())
    } else {
        Err(format!("`{q}` is not a version or alias"))
    }
}

pub(super) fn is_region(r: &str) -> bool {
    !r.is_empty()
        && r.len() <= 32
        && r.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && r.contains('-')
}

pub(super) fn env_region() -> Option<String> {
    ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_references() {
        let f = parse_function_name("my-fn").unwrap();
        assert_eq!(
            (f.function.as_str(), f.region, f.qualifier),
            ("my-fn", None, None)
        );
        let f = parse_function_name("my-fn:prod").unwrap();
        assert_eq!(
            (f.function.as_str(), f.qualifier.as_deref()),
            ("my-fn", Some("prod"))
        );
        let f = parse_function_name("123456789012:function:my-fn:$LATEST").unwrap();
        assert_eq!(f.function, "123456789012:function:my-fn");
        assert_eq!(f.qualifier.as_deref(), Some("$LATEST"));
        let f =
            parse_function_name("arn:aws:lambda:eu-west-1:123456789012:function:my-fn:7").unwrap();
        assert_eq!(
            f.function,
            "arn:aws:lambda:eu-west-1:123456789012:function:my-fn"
        );
        assert_eq!(
            (f.region.as_deref(), f.qualifier.as_deref()),
            (Some("eu-west-1"), Some("7"))
        );
        for bad in [
            "",
            "a b",
            "fn:bad qualifier",
            "12345:function:x",
            "arn:aws:s3:eu-west-1:123456789012:function:x",
            "arn:aws:lambda:EU:123456789012:function:x",
            "a:b:c:d:e",
            &"x".repeat(65),
        ] {
            assert!(parse_function_name(bad).is_err(), "{bad} accepted");
        }
    }
}
