//! What the two API Gateway formats share: `requestTime` / `time`, `domainName` /
//! `domainPrefix`, `pathParameters.proxy`, and the size the event buffer is allocated with.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::body::base64_len;
use super::headers::headers_size;
use super::RequestView;

pub(super) struct ProxyParam<'a>(pub(super) &'a str);

impl Serialize for ProxyParam<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        // API Gateway hands path parameters to the function percent-decoded.
        let decoded = percent_encoding::percent_decode_str(self.0).decode_utf8_lossy();
        m.serialize_entry("proxy", &*decoded)?;
        m.end()
    }
}

/// Bytes of a v1 / v2 event besides headers, query, path and body (measured: ~900 / ~600).
pub(super) const V1_FIXED: usize = 1024;
pub(super) const V2_FIXED: usize = 768;

/// Output capacity: fixed part + `header_copies` renderings of the headers + query/path/body.
pub(super) fn estimate(req: &RequestView, header_copies: usize, fixed: usize) -> usize {
    let query = req.raw_query.map_or(0, str::len);
    fixed
        + header_copies * headers_size(req.headers)
        + 3 * req.raw_path.len()
        + 3 * query
        + req.proxy_path.map_or(0, str::len)
        + base64_len(req.body.len())
}

/// `requestTime` / `time` (`"30/Nov/2026:06:00:00 +0000"`) and the epoch in milliseconds.
pub(super) struct RequestTime {
    text: [u8; 26],
    pub(super) epoch_ms: u64,
}

impl RequestTime {
    /// Before 1970 counts as 1970; after 9999-12-31 as its last second (four-digit years).
    pub(super) fn new(t: SystemTime) -> Self {
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

    pub(super) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.text).unwrap_or("01/Jan/1970:00:00:00 +0000")
    }
}

/// Days since 1970-01-01 to (year, month 1-12, day 1-31), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
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
pub(crate) fn domain(host: Option<&str>) -> (Option<&str>, Option<&str>) {
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
    use crate::function_name::event::test_support::*;
    use crate::function_name::event::{apigw_v1_event, apigw_v2_event};
    use std::time::Duration;

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
