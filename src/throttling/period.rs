//! Quota periods (API Gateway's `DAY`, `WEEK`, `MONTH`), in UTC: a day from midnight, a week
//! from Monday midnight, a month from the 1st. Pure functions of a time, so the store and
//! the tests agree on boundaries.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::config::PeriodConf;
use crate::function_name::event::civil_from_days;

/// The period containing `now`: its start (seconds since the epoch), its end, and a label for
/// keys (`2026-12-05`, `2026-W49`, `2026-12`).
pub fn bounds(period: PeriodConf, now: SystemTime) -> (u64, u64, String) {
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let day = (secs / 86_400) as i64;
    match period {
        PeriodConf::Day => {
            let (y, m, d) = civil_from_days(day);
            let start = day as u64 * 86_400;
            (start, start + 86_400, format!("{y:04}-{m:02}-{d:02}"))
        }
        PeriodConf::Week => {
            // 1970-01-01 was a Thursday: Monday-based weeks start 3 days before it.
            let monday = day - (day + 3).rem_euclid(7);
            let start = monday as u64 * 86_400;
            // ISO week-numbering year and week of that Monday's Thursday.
            let thursday = monday + 3;
            let (y, _, _) = civil_from_days(thursday);
            let jan1 = days_from_civil(y, 1, 1);
            let week = (thursday - jan1) / 7 + 1;
            (start, start + 7 * 86_400, format!("{y:04}-W{week:02}"))
        }
        PeriodConf::Month => {
            let (y, m, _) = civil_from_days(day);
            let start = days_from_civil(y, m, 1) as u64 * 86_400;
            let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            let end = days_from_civil(ny, nm, 1) as u64 * 86_400;
            (start, end, format!("{y:04}-{m:02}"))
        }
    }
}

/// Time left in the period containing `now`.
pub fn remaining(period: PeriodConf, now: SystemTime) -> Duration {
    let (_, end, _) = bounds(period, now);
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    Duration::from_secs(end.saturating_sub(secs))
}

/// (year, month, day) to days since 1970-01-01 (the inverse of `civil_from_days`, the events'
/// date arithmetic).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn periods_in_utc() {
        // 2026-12-05T15:30:00Z is a Saturday.
        let t = at(1_796_484_600);
        let (s, e, label) = bounds(PeriodConf::Day, t);
        assert_eq!(label, "2026-12-05");
        assert_eq!((s, e), (1_796_428_800, 1_796_515_200));
        let (s, e, label) = bounds(PeriodConf::Week, t);
        assert_eq!(label, "2026-W49");
        assert_eq!(s, 1_796_428_800 - 5 * 86_400, "Monday 2026-11-30");
        assert_eq!(e - s, 7 * 86_400);
        let (s, e, label) = bounds(PeriodConf::Month, t);
        assert_eq!(label, "2026-12");
        assert_eq!((s, e), (1_796_083_200, 1_798_761_600));
        assert_eq!(remaining(PeriodConf::Day, t), Duration::from_secs(30_600));
        // Boundaries: the last second of a period and the first of the next.
        assert_eq!(bounds(PeriodConf::Day, at(1_796_515_199)).2, "2026-12-05");
        assert_eq!(bounds(PeriodConf::Day, at(1_796_515_200)).2, "2026-12-06");
        assert_eq!(bounds(PeriodConf::Month, at(1_798_761_600)).2, "2027-01");
        // ISO week 1 of 2027 starts on Monday 2027-01-04; 2027-01-03 is in 2026-W53.
        assert_eq!(bounds(PeriodConf::Week, at(1_798_934_400)).2, "2026-W53");
        assert_eq!(bounds(PeriodConf::Week, at(1_799_020_800)).2, "2027-W01");
        for d in [-1000, 0, 59, 60, 365, 18_000, 20_000] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
    }
}
