//! Quota periods in UTC: which period contains an instant, its name in Redis keys and its end.
//!
//! Names: `DAY` → `2026-12-05`; `WEEK` (ISO weeks, starting Monday) → `w2026-11-30`, the
//! date of its Monday (no ISO week-year arithmetic, and it sorts); `MONTH` → `2026-12`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::function_name::event::civil_from_days;

/// A quota period; all in UTC. A week starts on Monday 00:00 UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Period {
    Day,
    Week,
    Month,
}

/// The period containing some instant: its key suffix and its bounds (Unix seconds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    pub name: String,
    pub start: u64,
    pub end: u64,
}

const DAY: u64 = 86_400;

impl Span {
    /// The period of kind `p` containing `now` (instants before 1970 count as 1970-01-01).
    pub fn of(p: Period, now: SystemTime) -> Span {
        let secs = now
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs();
        let days = (secs / DAY) as i64;
        match p {
            Period::Day => {
                let (y, m, d) = civil_from_days(days);
                Span {
                    name: format!("{y:04}-{m:02}-{d:02}"),
                    start: days as u64 * DAY,
                    end: (days as u64 + 1) * DAY,
                }
            }
            Period::Week => {
                // 1970-01-01 was a Thursday: (days + 3) % 7 is 0 on Mondays.
                let monday = days - (days + 3).rem_euclid(7);
                let (y, m, d) = civil_from_days(monday);
                Span {
                    name: format!("w{y:04}-{m:02}-{d:02}"),
                    start: monday.max(0) as u64 * DAY,
                    end: (monday + 7) as u64 * DAY,
                }
            }
            Period::Month => {
                let (y, m, _) = civil_from_days(days);
                let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                Span {
                    name: format!("{y:04}-{m:02}"),
                    start: days_from_civil(y, m, 1) as u64 * DAY,
                    end: days_from_civil(ny, nm, 1) as u64 * DAY,
                }
            }
        }
    }

    /// Time from `now` until the period ends.
    pub fn until_end(&self, now: SystemTime) -> Duration {
        let end = UNIX_EPOCH + Duration::from_secs(self.end);
        end.duration_since(now).unwrap_or(Duration::ZERO)
    }
}

/// (year, month, day) → days since 1970-01-01; H. Hinnant's `days_from_civil`.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i64, m: u32, d: u32, secs_in_day: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(days_from_civil(y, m, d) as u64 * DAY + secs_in_day)
    }

    #[test]
    fn civil_round_trip() {
        for z in [-1000i64, 0, 59, 60, 365, 10_957, 20_000, 20_427, 50_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_427), (2025, 12, 5));
    }

    #[test]
    fn day_week_month_bounds() {
        // Saturday 2026-12-05 13:00 UTC.
        let now = at(2026, 12, 5, 13 * 3600);
        let d = Span::of(Period::Day, now);
        assert_eq!(d.name, "2026-12-05");
        assert_eq!(d.until_end(now), Duration::from_secs(11 * 3600));
        let w = Span::of(Period::Week, now);
        assert_eq!(w.name, "w2026-11-30");
        assert_eq!(w.start, days_from_civil(2026, 11, 30) as u64 * DAY);
        assert_eq!(w.end, days_from_civil(2026, 12, 7) as u64 * DAY);
        let m = Span::of(Period::Month, now);
        assert_eq!(m.name, "2026-12");
        assert_eq!(m.end, days_from_civil(2027, 1, 1) as u64 * DAY);
        // Sunday 23:59:59 and Monday 00:00 are in different weeks.
        let sun = at(2026, 12, 6, DAY - 1);
        let mon = at(2026, 12, 7, 0);
        assert_eq!(Span::of(Period::Week, sun).name, "w2026-11-30");
        assert_eq!(Span::of(Period::Week, mon).name, "w2026-12-07");
        assert_eq!(
            Span::of(Period::Week, sun).until_end(sun),
            Duration::from_secs(1)
        );
        // February of a leap year.
        let feb = Span::of(Period::Month, at(2028, 2, 29, 5));
        assert_eq!(feb.name, "2028-02");
        assert_eq!(feb.end - feb.start, 29 * DAY);
    }
}
