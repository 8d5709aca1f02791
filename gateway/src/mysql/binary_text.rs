//! Binary data inside SQL text.
//!
//! MySQL's text protocol lets a client put raw bytes into a statement as
//! `_binary'…'` (backslash-escaped, otherwise verbatim) — PyMySQL sends every `bytes`
//! parameter that way — so a statement is not necessarily UTF-8. Rosetta's dialect
//! plugins take UTF-8 text; this module re-spells each such literal as `X'hex'` (the same
//! value) so that the rest of the statement can be decoded. It is a transport-level
//! re-encoding, not SQL interpretation: nothing else in the text changes.

use std::borrow::Cow;

/// The statement as UTF-8: as is when it already is, else with every `_binary'…'`
/// literal re-spelled as `X'…'`. `None` when bytes outside such literals are not UTF-8.
pub fn utf8_statement(raw: &[u8]) -> Option<Cow<'_, str>> {
    if let Ok(s) = std::str::from_utf8(raw) {
        return Some(Cow::Borrowed(s));
    }
    let mut out = Vec::with_capacity(raw.len() * 2);
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if matches!(b, b'\'' | b'"' | b'`') {
            // Copy a quoted string or identifier through unchanged.
            let end = quoted_end(raw, i)?;
            out.extend_from_slice(&raw[i..end]);
            i = end;
        } else if starts_binary_introducer(raw, i) {
            let mut j = i + "_binary".len();
            while raw.get(j).is_some_and(u8::is_ascii_whitespace) {
                j += 1;
            }
            if raw.get(j) == Some(&b'\'') {
                let (bytes, end) = unescape(raw, j)?;
                out.extend_from_slice(b"X'");
                for byte in bytes {
                    out.extend_from_slice(format!("{byte:02X}").as_bytes());
                }
                out.push(b'\'');
                i = end;
            } else {
                out.extend_from_slice(&raw[i..j]);
                i = j;
            }
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}

/// True when `_binary` starts a word at `i`.
fn starts_binary_introducer(raw: &[u8], i: usize) -> bool {
    let word = b"_binary";
    let Some(candidate) = raw.get(i..i + word.len()) else {
        return false;
    };
    let before_ok = i == 0
        || !raw
            .get(i - 1)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_');
    before_ok && candidate.eq_ignore_ascii_case(word)
}

/// The index just past the quoted string or identifier opening at `start`.
fn quoted_end(raw: &[u8], start: usize) -> Option<usize> {
    let quote = raw[start];
    let mut i = start + 1;
    while i < raw.len() {
        match raw[i] {
            b'\\' if quote != b'`' => i += 2,
            c if c == quote => {
                if raw.get(i + 1) == Some(&quote) {
                    i += 2;
                } else {
                    return Some(i + 1);
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// The bytes of the single-quoted literal opening at `start` (MySQL's backslash escapes
/// and doubled quotes), and the index just past it.
fn unescape(raw: &[u8], start: usize) -> Option<(Vec<u8>, usize)> {
    let mut bytes = Vec::new();
    let mut i = start + 1;
    while i < raw.len() {
        match raw[i] {
            b'\\' => {
                let c = *raw.get(i + 1)?;
                if matches!(c, b'%' | b'_') {
                    // `\%` and `\_` keep their backslash (they matter to LIKE).
                    bytes.push(b'\\');
                }
                bytes.push(match c {
                    b'0' => 0,
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'b' => 8,
                    b'Z' => 26,
                    other => other,
                });
                i += 2;
            }
            b'\'' if raw.get(i + 1) == Some(&b'\'') => {
                bytes.push(b'\'');
                i += 2;
            }
            b'\'' => return Some((bytes, i + 1)),
            other => {
                bytes.push(other);
                i += 1;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn utf8_text_is_untouched() {
        assert_eq!(
            utf8_statement(b"SELECT 'h\xc3\xa9'").unwrap(),
            "SELECT 'hé'"
        );
    }

    #[test]
    fn binary_literals_become_hex() {
        let sql = b"INSERT INTO t VALUES (1, _binary'\\0\xff\\'x', 'a''b')";
        assert_eq!(
            utf8_statement(sql).unwrap(),
            "INSERT INTO t VALUES (1, X'00FF2778', 'a''b')"
        );
        assert!(utf8_statement(b"SELECT '\xff'").is_none());
        assert!(utf8_statement(b"SELECT _binary'\xff").is_none());
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = utf8_statement(&bytes);
        }
    }
}
