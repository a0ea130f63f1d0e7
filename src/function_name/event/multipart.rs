//! `multipart/form-data` bodies split into their named fields (for Kong's arguments payload).

/// The named fields of a `multipart/form-data` body as `(name, content)`, sorted by name
/// (stable); `None` when the content type has no boundary or the body is not multipart.
pub(super) fn multipart_fields(content_type: &[u8], body: &[u8]) -> Option<Vec<(String, String)>> {
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
    // A part ends at CRLF + delimiter; the delimiter is that without its CRLF.
    let closing = format!("\r\n--{boundary}");
    let closing = closing.as_bytes();
    let delim = &closing[2..];
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
        let end = find(rest, closing)?;
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
