//! Text input functions: PostgreSQL's `*in` routines for each type.

use crate::datetime::{days_from_ymd, MICROS_PER_DAY};
use crate::ops::Width;
use crate::{Result, TypeError};
use rust_decimal::Decimal;

/// `invalid input syntax for type T: "text"`.
pub(crate) fn invalid(type_name: &str, text: &str) -> TypeError {
    TypeError::InvalidText {
        type_name: type_name.into(),
        text: text.into(),
    }
}

/// Splits an optional leading sign off.
fn sign(s: &str) -> (bool, &str) {
    match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    }
}

fn all_digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

/// `int2in` / `int4in` / `int8in`: optional sign and decimal digits, surrounding
/// whitespace allowed; `1.5` is a syntax error, not a rounding.
pub(crate) fn parse_int(text: &str, width: Width) -> Result<crate::Value> {
    let (neg, digits) = sign(text.trim());
    if digits.is_empty() || !all_digits(digits) {
        return Err(invalid(width.name(), text));
    }
    let mut acc: i128 = 0;
    for b in digits.bytes() {
        acc = acc * 10 + i128::from(b - b'0');
        if acc > i128::from(u64::MAX) {
            return Err(TypeError::OutOfRange(width.name().into()));
        }
    }
    width.fit(if neg { -acc } else { acc })
}

/// `boolin`: t/true/yes/on/1 and f/false/no/off/0, any case, unique prefixes accepted.
pub(crate) fn parse_bool(text: &str) -> Result<bool> {
    let s = text.trim().to_ascii_lowercase();
    let prefix_of = |word: &str, min: usize| s.len() >= min && word.starts_with(s.as_str());
    if prefix_of("true", 1) || prefix_of("yes", 1) || prefix_of("on", 2) || s == "1" {
        Ok(true)
    } else if prefix_of("false", 1) || prefix_of("no", 1) || prefix_of("off", 2) || s == "0" {
        Ok(false)
    } else {
        Err(invalid("boolean", text))
    }
}

/// Rounds a big-endian digit string by dropping its last `k` digits, half away from zero.
fn round_off(digits: &mut Vec<u8>, k: usize) {
    if k == 0 {
        return;
    }
    let keep = digits.len().saturating_sub(k);
    let round_up = digits.get(keep).is_some_and(|d| *d >= 5);
    digits.truncate(keep);
    if round_up {
        for d in digits.iter_mut().rev() {
            if *d == 9 {
                *d = 0;
            } else {
                *d += 1;
                return;
            }
        }
        digits.insert(0, 1);
    }
}

/// `numeric_in` within a Decimal's limits: `[+-]digits[.digits][e[+-]digits]`. Digits
/// beyond 28 decimal places are rounded away; values too large are "numeric out of range".
/// NaN and infinities cannot be represented, so they are syntax errors here.
pub(crate) fn parse_numeric(text: &str) -> Result<Decimal> {
    let bad = || invalid("numeric", text);
    let out = || TypeError::OutOfRange("numeric".into());
    let (neg, s) = sign(text.trim());
    let (mantissa, exp) = match s.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (s, None),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if (int_part.is_empty() && frac_part.is_empty())
        || !all_digits(int_part)
        || !all_digits(frac_part)
    {
        return Err(bad());
    }
    let exp: i64 = match exp {
        None => 0,
        Some(e) => {
            let (eneg, edigits) = sign(e);
            if edigits.is_empty() || !all_digits(edigits) {
                return Err(bad());
            }
            let v: i64 = edigits.parse().map_err(|_| out())?;
            if v > 1000 {
                // Far beyond any Decimal either way.
                return if eneg { Ok(Decimal::ZERO) } else { Err(out()) };
            }
            if eneg {
                -v
            } else {
                v
            }
        }
    };
    let mut digits: Vec<u8> = int_part
        .bytes()
        .chain(frac_part.bytes())
        .map(|b| b - b'0')
        .collect();
    let mut scale = frac_part.len() as i64 - exp;
    let first = digits.iter().position(|d| *d != 0).unwrap_or(digits.len());
    digits.drain(..first);
    if digits.is_empty() {
        return Ok(Decimal::new(0, scale.clamp(0, 28) as u32));
    }
    if scale < 0 {
        if digits.len() as i64 - scale > 29 {
            return Err(out());
        }
        digits.extend(std::iter::repeat_n(0, (-scale) as usize));
        scale = 0;
    }
    // Digits to drop so that at most 29 significant digits and 28 decimals remain.
    let excess = (digits.len() as i64 - 29).max(scale - 28).max(0);
    if excess > scale {
        return Err(out());
    }
    round_off(&mut digits, excess as usize);
    scale -= excess;
    loop {
        let m = digits
            .iter()
            .fold(0i128, |acc, d| acc * 10 + i128::from(*d));
        let m = if neg { -m } else { m };
        match Decimal::try_from_i128_with_scale(m, scale as u32) {
            Ok(d) => return Ok(d),
            Err(_) if scale > 0 => {
                round_off(&mut digits, 1);
                scale -= 1;
            }
            Err(_) => return Err(out()),
        }
    }
}

/// A float literal: one of PostgreSQL's special spellings, or text for Rust's parser.
enum FloatLit<'a> {
    Special(f64),
    Number(&'a str),
}

fn float_literal<'a>(text: &'a str, type_name: &str) -> Result<FloatLit<'a>> {
    let s = text.trim();
    let (neg, rest) = sign(s);
    let lower = rest.to_ascii_lowercase();
    let special = match lower.as_str() {
        "infinity" | "inf" => Some(f64::INFINITY),
        "nan" if s.len() == rest.len() => Some(f64::NAN),
        _ => None,
    };
    if let Some(f) = special {
        return Ok(FloatLit::Special(if neg { -f } else { f }));
    }
    let ok = !rest.is_empty()
        && rest.bytes().any(|b| b.is_ascii_digit())
        && rest
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if ok {
        Ok(FloatLit::Number(s))
    } else {
        Err(invalid(type_name, text))
    }
}

/// True if the mantissa of a numeric literal has a nonzero digit (so a zero result is an
/// underflow, not a zero).
fn nonzero_mantissa(s: &str) -> bool {
    s.split(['e', 'E'])
        .next()
        .is_some_and(|m| m.bytes().any(|b| (b'1'..=b'9').contains(&b)))
}

/// `float8in`: decimal or exponent notation, `Infinity`/`inf`/`NaN` in any case; values
/// beyond the type's range are errors rather than silent infinities or zeros.
pub(crate) fn parse_double(text: &str) -> Result<f64> {
    const NAME: &str = "double precision";
    match float_literal(text, NAME)? {
        FloatLit::Special(f) => Ok(f),
        FloatLit::Number(s) => {
            let f: f64 = s.parse().map_err(|_| invalid(NAME, text))?;
            if f.is_infinite() || (f == 0.0 && nonzero_mantissa(s)) {
                return Err(TypeError::OutOfRange(NAME.into()));
            }
            Ok(f)
        }
    }
}

/// `float4in`: as [`parse_double`], parsed directly in single precision.
pub(crate) fn parse_real(text: &str) -> Result<f32> {
    const NAME: &str = "real";
    match float_literal(text, NAME)? {
        FloatLit::Special(f) => Ok(f as f32),
        FloatLit::Number(s) => {
            let f: f32 = s.parse().map_err(|_| invalid(NAME, text))?;
            if f.is_infinite() || (f == 0.0 && nonzero_mantissa(s)) {
                return Err(TypeError::OutOfRange(NAME.into()));
            }
            Ok(f)
        }
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `byteain`: the hex format `\x4142` (whitespace allowed between pairs), otherwise the
/// escape format where `\\` is a backslash and `\ooo` an octal byte.
pub(crate) fn parse_bytea(text: &str) -> Result<Vec<u8>> {
    let bad = || invalid("bytea", text);
    if let Some(hex) = text
        .strip_prefix("\\x")
        .or_else(|| text.strip_prefix("\\X"))
    {
        let mut out = Vec::with_capacity(hex.len() / 2);
        let mut bytes = hex.bytes();
        while let Some(hi) = bytes.next() {
            if hi.is_ascii_whitespace() {
                continue;
            }
            let lo = bytes.next().ok_or_else(bad)?;
            let (Some(h), Some(l)) = (hex_value(hi), hex_value(lo)) else {
                return Err(bad());
            };
            out.push(h << 4 | l);
        }
        return Ok(out);
    }
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes().peekable();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'\\') => out.push(b'\\'),
            Some(d0 @ b'0'..=b'3') => {
                let (Some(d1 @ b'0'..=b'7'), Some(d2 @ b'0'..=b'7')) = (bytes.next(), bytes.next())
                else {
                    return Err(bad());
                };
                out.push((d0 - b'0') << 6 | (d1 - b'0') << 3 | (d2 - b'0'));
            }
            _ => return Err(bad()),
        }
    }
    Ok(out)
}

/// Consumes a run of ASCII digits (at most `max`) and returns its value.
fn take_number(s: &mut &str, max: usize) -> Option<u32> {
    let len = s.bytes().take(max).take_while(u8::is_ascii_digit).count();
    if len == 0 {
        return None;
    }
    let (digits, rest) = s.split_at(len);
    *s = rest;
    digits.parse().ok()
}

fn expect(s: &mut &str, c: char) -> Option<()> {
    *s = s.strip_prefix(c)?;
    Some(())
}

/// A parsed `YYYY-MM-DD[( |T)HH:MM[:SS[.f]]][tz]`, fields not yet range-checked.
struct Fields {
    year: u32,
    month: u32,
    day: u32,
    /// Microseconds into the day, `None` when there was no time part.
    time: Option<(u32, u32, u32, u32)>,
}

/// Splits date/time text into fields; `None` on a syntax error.
fn fields(text: &str) -> Option<Fields> {
    let mut s = text.trim();
    let year = take_number(&mut s, 9)?;
    expect(&mut s, '-')?;
    let month = take_number(&mut s, 2)?;
    expect(&mut s, '-')?;
    let day = take_number(&mut s, 2)?;
    let mut f = Fields {
        year,
        month,
        day,
        time: None,
    };
    if s.is_empty() {
        return Some(f);
    }
    s = s
        .strip_prefix('T')
        .or_else(|| s.strip_prefix('t'))
        .unwrap_or(s)
        .trim_start();
    f.time = Some(time_fields(&mut s)?);
    Some(f)
}

/// Parses `HH:MM[:SS[.f]]` and an optional (ignored) time zone, which must end the text:
/// hours, minutes, seconds and microseconds (a seventh fraction digit rounds).
fn time_fields(s: &mut &str) -> Option<(u32, u32, u32, u32)> {
    let hour = take_number(s, 2)?;
    expect(s, ':')?;
    let minute = take_number(s, 2)?;
    let (mut second, mut micros) = (0, 0);
    if expect(s, ':').is_some() {
        second = take_number(s, 2)?;
        if expect(s, '.').is_some() {
            let len = s.bytes().take_while(u8::is_ascii_digit).count();
            let (digits, rest) = s.split_at(len);
            *s = rest;
            for i in 0..6 {
                micros = micros * 10 + digits.as_bytes().get(i).map_or(0, |d| u32::from(d - b'0'));
            }
            if digits.as_bytes().get(6).is_some_and(|d| *d >= b'5') {
                micros += 1;
            }
        }
    }
    // A time zone is accepted and ignored, as for PostgreSQL's types without time zone.
    let tz = s.trim_start();
    let tz_ok = tz.is_empty()
        || tz.eq_ignore_ascii_case("z")
        || tz.eq_ignore_ascii_case("utc")
        || (tz.starts_with(['+', '-'])
            && tz.len() > 1
            && tz[1..].bytes().all(|b| b.is_ascii_digit() || b == b':'));
    if !tz_ok {
        return None;
    }
    *s = "";
    Some((hour, minute, second, micros))
}

/// Microseconds into the day of checked time fields; a fraction that rounds up to the
/// next second carries. `None` when a field is out of range or the result reaches 24:00.
fn micros_of_day((h, m, s, us): (u32, u32, u32, u32)) -> Option<i64> {
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    let t = ((i64::from(h) * 60 + i64::from(m)) * 60 + i64::from(s)) * 1_000_000 + i64::from(us);
    (t < MICROS_PER_DAY).then_some(t)
}

/// `time_in`: `HH:MM[:SS[.ffffff]]`, or a timestamp whose time part is taken; the result
/// is microseconds since midnight (below 24:00:00).
pub(crate) fn parse_time(text: &str) -> Result<i64> {
    let trimmed = text.trim();
    let parts = if trimmed.len() > 4 && trimmed.as_bytes().get(4) == Some(&b'-') {
        fields(trimmed).and_then(|f| f.time)
    } else if trimmed.eq_ignore_ascii_case("allballs") {
        Some((0, 0, 0, 0))
    } else {
        let mut s = trimmed;
        time_fields(&mut s)
    };
    let parts = parts.ok_or_else(|| invalid("time", text))?;
    micros_of_day(parts).ok_or_else(|| TypeError::DateTimeOutOfRange(text.into()))
}

/// The day number of the date fields, or the "out of range" error.
fn day_number(f: &Fields, text: &str) -> Result<i32> {
    i32::try_from(f.year)
        .ok()
        .filter(|y| *y != 0)
        .and_then(|y| days_from_ymd(y, f.month, f.day))
        .ok_or_else(|| TypeError::DateTimeOutOfRange(text.into()))
}

/// `date_in` for ISO dates; a time part is validated and dropped.
pub(crate) fn parse_date(text: &str) -> Result<i32> {
    let f = fields(text).ok_or_else(|| invalid("date", text))?;
    if f.time.is_some() {
        parse_timestamp(text)?;
    }
    day_number(&f, text)
}

/// `timestamp_in` for ISO timestamps (space or `T` separator, optional seconds and up to
/// microsecond fractions) and bare dates (midnight).
pub(crate) fn parse_timestamp(text: &str) -> Result<i64> {
    let f = fields(text).ok_or_else(|| invalid("timestamp", text))?;
    let days = day_number(&f, text)?;
    let (h, m, s, us) = f.time.unwrap_or((0, 0, 0, 0));
    let end_of_day = h == 24 && m == 0 && s == 0 && us == 0;
    if (h > 23 && !end_of_day) || m > 59 || s > 60 {
        return Err(TypeError::DateTimeOutOfRange(text.into()));
    }
    let of_day =
        ((i64::from(h) * 60 + i64::from(m)) * 60 + i64::from(s)) * 1_000_000 + i64::from(us);
    i64::from(days)
        .checked_mul(MICROS_PER_DAY)
        .and_then(|t| t.checked_add(of_day))
        .ok_or_else(|| TypeError::OutOfRange("timestamp".into()))
}
