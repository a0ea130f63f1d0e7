//! The two SigV4 timestamps of a signing time, in UTC, formatted on the stack: `YYYYMMDD` (the
//! date of the credential scope and of the signing key) and `YYYYMMDD'T'HHMMSS'Z'` (the
//! `X-Amz-Date` header and the string to sign). Sub-seconds are dropped, as aws-sigv4 does.

use std::time::{SystemTime, UNIX_EPOCH};

use super::SignError;

const SECONDS_PER_DAY: i64 = 86_400;

/// A signing time formatted as `YYYYMMDDTHHMMSSZ`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct AmzDate([u8; 16]);

impl AmzDate {
    /// Formats `time`. Years outside 0000..=9999 are refused (aws-sigv4's date library
    /// cannot represent them either).
    pub(super) fn new(time: SystemTime) -> Result<Self, SignError> {
        // Whole seconds since the epoch, rounded down (also before 1970).
        let secs = match time.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).ok(),
            Err(e) => {
                let d = e.duration();
                i64::try_from(d.as_secs())
                    .ok()
                    .map(|s| -s - i64::from(d.subsec_nanos() > 0))
            }
        };
        let out_of_range = || SignError::new("the signing time is out of range");
        let secs = secs.ok_or_else(out_of_range)?;
        let (year, month, day) = civil_from_days(secs.div_euclid(SECONDS_PER_DAY));
        if !(0..=9999).contains(&year) {
            return Err(out_of_range());
        }
        let of_day = secs.rem_euclid(SECONDS_PER_DAY);
        let mut buf = *b"00000000T000000Z";
        put_digits(&mut buf[0..4], year);
        put_digits(&mut buf[4..6], month);
        put_digits(&mut buf[6..8], day);
        put_digits(&mut buf[9..11], of_day / 3600);
        put_digits(&mut buf[11..13], of_day / 60 % 60);
        put_digits(&mut buf[13..15], of_day % 60);
        Ok(Self(buf))
    }

    /// `YYYYMMDDTHHMMSSZ`.
    pub(super) fn date_time(&self) -> &str {
        // Only ASCII digits, `T` and `Z` are ever written.
        std::str::from_utf8(&self.0).expect("ASCII")
    }

    /// `YYYYMMDD`.
    pub(super) fn date(&self) -> &str {
        &self.date_time()[..8]
    }
}

/// Writes `n` (non-negative) as zero-padded decimal filling `out`.
fn put_digits(out: &mut [u8], mut n: i64) {
    for b in out.iter_mut().rev() {
        *b = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// (year, month, day) of the proleptic Gregorian calendar for a count of days since
/// 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March first
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn fmt(secs: i64, nanos: u32) -> String {
        let t = if secs >= 0 {
            UNIX_EPOCH + Duration::new(secs as u64, nanos)
        } else {
            UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
                + Duration::from_nanos(nanos.into())
        };
        AmzDate::new(t).unwrap().date_time().to_owned()
    }

    #[test]
    fn formats_utc() {
        assert_eq!(fmt(0, 0), "19700101T000000Z");
        assert_eq!(fmt(1_440_938_160, 999_999_999), "20150830T123600Z");
        assert_eq!(fmt(951_782_400, 0), "20000229T000000Z");
        assert_eq!(fmt(4_102_444_799, 0), "20991231T235959Z");
        assert_eq!(fmt(4_107_542_399, 0), "21000228T235959Z");
        assert_eq!(fmt(-1, 500_000_000), "19691231T235959Z");
        assert_eq!(fmt(-86_400, 0), "19691231T000000Z");
        assert_eq!(fmt(253_402_300_799, 0), "99991231T235959Z");
        let d = AmzDate::new(UNIX_EPOCH + Duration::from_secs(1_440_938_160)).unwrap();
        assert_eq!(d.date(), "20150830");
    }

    #[test]
    fn refuses_years_past_9999() {
        let t = UNIX_EPOCH + Duration::from_secs(253_402_300_800);
        assert!(AmzDate::new(t).is_err());
    }

    /// Consecutive days give consecutive calendar dates (month lengths, leap years) over 800
    /// years around the anchor 1970-01-01. The `X-Amz-Date` the signer emits is also compared
    /// with aws-sigv4's in `differential/`.
    #[test]
    fn civil_dates_are_consecutive() {
        let (mut y, mut m, mut d) = civil_from_days(-200 * 366);
        for days in (-200 * 366 + 1)..(600 * 366) {
            let (y2, m2, d2) = civil_from_days(days);
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let month_len = match m {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            let want = if d < month_len {
                (y, m, d + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
            assert_eq!((y2, m2, d2), want, "day {days}");
            (y, m, d) = (y2, m2, d2);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
    }
}
