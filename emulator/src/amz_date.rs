//! The SigV4 timestamp format (`YYYYMMDD'T'HHMMSS'Z'`, UTC): strict parsing, formatting and the
//! clock-skew window check, without a date-time crate.

use std::time::{SystemTime, UNIX_EPOCH};

/// How far `x-amz-date` may be from the emulator's clock, either way.
pub const ALLOWED_SKEW_SECS: i64 = 5 * 60;

/// Parses `20150830T123600Z` into seconds since the Unix epoch. Anything else is `None`.
pub fn parse(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = &b[range];
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        part.iter()
            .try_fold(0i64, |acc, d| Some(acc * 10 + i64::from(d - b'0')))
    };
    let (year, month, day) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hour, minute, second) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Formats seconds since the Unix epoch as `20150830T123600Z`.
pub fn format(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// Seconds since the Unix epoch for a `SystemTime` (negative before 1970).
pub fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

/// Checks the request time against `now` (both Unix seconds) the way AWS words the failure.
pub fn check_skew(request: i64, now: i64) -> Result<(), String> {
    let (min, max) = (now - ALLOWED_SKEW_SECS, now + ALLOWED_SKEW_SECS);
    let minutes = ALLOWED_SKEW_SECS / 60;
    if request < min {
        return Err(format!(
            "Signature expired: {} is now earlier than {} ({} - {minutes} min.)",
            format(request),
            format(min),
            format(now)
        ));
    }
    if request > max {
        return Err(format!(
            "Signature not yet current: {} is still later than {} ({} + {minutes} min.)",
            format(request),
            format(max),
            format(now)
        ));
    }
    Ok(())
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_format_round_trip() {
        assert_eq!(parse("19700101T000000Z"), Some(0));
        assert_eq!(parse("20150830T123600Z"), Some(1_440_938_160));
        assert_eq!(format(1_440_938_160), "20150830T123600Z");
        assert_eq!(
            parse("20240229T235959Z").map(format).as_deref(),
            Some("20240229T235959Z")
        );
        for bad in [
            "",
            "20150830T123600",
            "20150830 123600Z",
            "2015083OT123600Z",
            "20150230T123600Z",
            "20151301T000000Z",
            "20150830T246000Z",
            "+0150830T123600Z",
            "２0150830T12360Z",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn skew_window() {
        let now = 1_440_938_160;
        assert!(check_skew(now, now).is_ok());
        assert!(check_skew(now - 300, now).is_ok());
        assert!(check_skew(now + 300, now).is_ok());
        assert_eq!(
            check_skew(now - 301, now).unwrap_err(),
            "Signature expired: 20150830T123059Z is now earlier than 20150830T123100Z \
             (20150830T123600Z - 5 min.)"
        );
        assert!(check_skew(now + 301, now)
            .unwrap_err()
            .starts_with("Signature not yet current: 20150830T124101Z is still later than"));
    }
}
