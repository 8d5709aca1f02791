//! Calendar helpers shared by casts, arithmetic and text output.
//!
//! Dates are days since 1970-01-01 and timestamps microseconds since 1970-01-01 00:00:00;
//! chrono does the calendar math. Every date the crate produces stays within chrono's
//! range, so that formatting never has to guess.

use chrono::{Datelike, NaiveDate};

/// Microseconds in one day.
pub(crate) const MICROS_PER_DAY: i64 = 86_400_000_000;

/// `NaiveDate::num_days_from_ce` of 1970-01-01.
const EPOCH_CE_DAYS: i64 = 719_163;

/// The calendar date of a day number, `None` outside chrono's range.
pub(crate) fn date_from_days(days: i64) -> Option<NaiveDate> {
    let ce = i32::try_from(days.checked_add(EPOCH_CE_DAYS)?).ok()?;
    NaiveDate::from_num_days_from_ce_opt(ce)
}

/// The day number of a calendar date, `None` if the date does not exist.
pub(crate) fn days_from_ymd(year: i32, month: u32, day: u32) -> Option<i32> {
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    i32::try_from(i64::from(date.num_days_from_ce()) - EPOCH_CE_DAYS).ok()
}

/// A day number if it is a representable date (`None` past chrono's range).
pub(crate) fn checked_date(days: i64) -> Option<i32> {
    date_from_days(days)?;
    i32::try_from(days).ok()
}

/// Splits a timestamp into its day number and the microseconds into that day.
pub(crate) fn split_timestamp(micros: i64) -> (i64, i64) {
    (
        micros.div_euclid(MICROS_PER_DAY),
        micros.rem_euclid(MICROS_PER_DAY),
    )
}

/// `YYYY-MM-DD`, with PostgreSQL's ` BC` suffix for years before 1.
pub(crate) fn format_date(days: i64, out: &mut String) {
    use std::fmt::Write;
    match date_from_days(days) {
        Some(d) if d.year() >= 1 => {
            let _ = write!(out, "{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
        }
        Some(d) => {
            let year = 1 - i64::from(d.year());
            let _ = write!(out, "{:04}-{:02}-{:02} BC", year, d.month(), d.day());
        }
        // Unreachable for values this crate produced; still print something useful.
        None => {
            let _ = write!(out, "{days} days after 1970-01-01");
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff]`, trailing zeros of the fraction trimmed.
pub(crate) fn format_timestamp(micros: i64, out: &mut String) {
    use std::fmt::Write;
    let (days, of_day) = split_timestamp(micros);
    let mut date = String::new();
    format_date(days, &mut date);
    // The BC suffix goes after the time, as PostgreSQL prints it.
    let (date, bc) = match date.strip_suffix(" BC") {
        Some(d) => (d.to_string(), " BC"),
        None => (date, ""),
    };
    let _ = write!(out, "{date} ");
    format_time(of_day, out);
    out.push_str(bc);
}

/// `HH:MM:SS[.ffffff]` for microseconds since midnight, trailing zeros of the fraction
/// trimmed (PostgreSQL's `time_out`).
pub(crate) fn format_time(of_day: i64, out: &mut String) {
    use std::fmt::Write;
    let secs = of_day.div_euclid(1_000_000);
    let frac = of_day.rem_euclid(1_000_000);
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    if frac != 0 {
        let digits = format!("{frac:06}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_round_trips() {
        assert_eq!(days_from_ymd(1970, 1, 1), Some(0));
        assert_eq!(days_from_ymd(2000, 3, 1), Some(11017));
        assert_eq!(days_from_ymd(2023, 2, 30), None);
        let mut s = String::new();
        format_date(11017, &mut s);
        assert_eq!(s, "2000-03-01");
    }

    #[test]
    fn timestamps_format() {
        let mut s = String::new();
        format_timestamp(-1, &mut s);
        assert_eq!(s, "1969-12-31 23:59:59.999999");
        s.clear();
        format_timestamp(MICROS_PER_DAY + 1_500_000, &mut s);
        assert_eq!(s, "1970-01-02 00:00:01.5");
        s.clear();
        format_date(i64::from(days_from_ymd(0, 1, 1).unwrap_or(0)), &mut s);
        assert_eq!(s, "0001-01-01 BC");
    }

    #[test]
    fn times_format() {
        let mut s = String::new();
        format_time(0, &mut s);
        assert_eq!(s, "00:00:00");
        s.clear();
        format_time(MICROS_PER_DAY - 1, &mut s);
        assert_eq!(s, "23:59:59.999999");
        s.clear();
        format_time(3_723_500_000, &mut s);
        assert_eq!(s, "01:02:03.5");
    }
}
