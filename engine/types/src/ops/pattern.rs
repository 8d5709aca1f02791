//! Pattern matching: SQL `LIKE` and POSIX-style `~`.

use crate::{Result, TypeError};
use regex::{Regex, RegexBuilder};

/// One element of a compiled LIKE pattern.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok {
    /// A character that must match (case-folded when matching case-insensitively).
    Lit(char),
    /// `_`: exactly one character.
    One,
    /// `%`: any run of characters.
    Any,
}

/// A character for case-insensitive comparison: its lowercase form when that is a single
/// character (so that `_` still matches exactly one character of the text).
fn fold(c: char) -> char {
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// Tokenizes a LIKE pattern; consecutive `%` collapse since they match the same strings.
fn tokenize(pattern: &str, escape: char, ci: bool) -> Result<Vec<Tok>> {
    let mut toks = Vec::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        let tok = if c == escape {
            let next = chars.next().ok_or(TypeError::InvalidEscape)?;
            Tok::Lit(next)
        } else if c == '%' {
            Tok::Any
        } else if c == '_' {
            Tok::One
        } else {
            Tok::Lit(c)
        };
        let tok = match tok {
            Tok::Lit(c) if ci => Tok::Lit(fold(c)),
            t => t,
        };
        if !(tok == Tok::Any && toks.last() == Some(&Tok::Any)) {
            toks.push(tok);
        }
    }
    Ok(toks)
}

/// SQL `LIKE` / `ILIKE` (`case_insensitive`): `%` matches any run of characters, `_` one
/// character, the escape character (backslash when `None`, as in PostgreSQL) makes the next
/// one literal. Matching is by characters, not bytes, and uses the greedy wildcard
/// algorithm that only ever backtracks to the last `%`, so it runs in O(text × pattern)
/// at worst: user patterns cannot trigger exponential backtracking.
pub fn like(
    text: &str,
    pattern: &str,
    escape: Option<char>,
    case_insensitive: bool,
) -> Result<bool> {
    let pat = tokenize(pattern, escape.unwrap_or('\\'), case_insensitive)?;
    let text: Vec<char> = if case_insensitive {
        text.chars().map(fold).collect()
    } else {
        text.chars().collect()
    };
    let (mut t, mut p) = (0usize, 0usize);
    // After a `%`: the pattern index just past it and the text index it is tried from.
    let mut star: Option<(usize, usize)> = None;
    while let Some(&c) = text.get(t) {
        match pat.get(p) {
            Some(Tok::One) => {
                t += 1;
                p += 1;
                continue;
            }
            Some(Tok::Lit(l)) if *l == c => {
                t += 1;
                p += 1;
                continue;
            }
            Some(Tok::Any) => {
                p += 1;
                star = Some((p, t));
                continue;
            }
            _ => {}
        }
        match star {
            Some((sp, st)) => {
                p = sp;
                t = st + 1;
                star = Some((sp, st + 1));
            }
            None => return Ok(false),
        }
    }
    Ok(pat
        .get(p..)
        .unwrap_or_default()
        .iter()
        .all(|t| *t == Tok::Any))
}

/// Upper bound on a compiled regular expression, so that a hostile pattern cannot eat the
/// server's memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Compiles a `~` pattern with the crate's size limits; exposed so that the engine can
/// compile a constant pattern once and reuse it for every row.
pub fn compile_regex(pattern: &str, case_insensitive: bool) -> Result<Regex> {
    RegexBuilder::new(pattern)
        .case_insensitive(case_insensitive)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| TypeError::InvalidRegex(e.to_string()))
}

/// `text ~ pattern` (`~*` when `case_insensitive`): true if the pattern matches anywhere in
/// the text. The regex crate guarantees linear-time matching.
pub fn regex_match(text: &str, pattern: &str, case_insensitive: bool) -> Result<bool> {
    Ok(compile_regex(pattern, case_insensitive)?.is_match(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn l(t: &str, p: &str) -> bool {
        like(t, p, None, false).unwrap_or(false)
    }

    #[test]
    fn basics() {
        assert!(l("hello", "h%o"));
        assert!(l("hello", "h_llo"));
        assert!(!l("hello", "h_lo"));
        assert!(l("", "%"));
        assert!(!l("", "_"));
        assert!(l("a%b", "a\\%b"));
        assert!(!l("axb", "a\\%b"));
        assert!(!l("a_b", "a#_b"));
        assert_eq!(like("a_b", "a#_b", Some('#'), false), Ok(true));
        assert_eq!(like("axb", "a#_b", Some('#'), false), Ok(false));
        assert_eq!(
            like("abc", "abc\\", None, false),
            Err(TypeError::InvalidEscape)
        );
        assert!(l("héllo", "h_llo"));
        assert_eq!(like("HÉLLO", "hé%", None, true), Ok(true));
        assert_eq!(like("HÉLLO", "hé%", None, false), Ok(false));
    }

    #[test]
    fn no_exponential_backtracking() {
        let text = "a".repeat(100_000);
        let start = std::time::Instant::now();
        assert!(!l(&text, "%a%a%a%a%a%a%a%b"));
        assert!(start.elapsed().as_secs() < 2);
    }

    #[test]
    fn regexes() {
        assert_eq!(regex_match("foobar", "o+b", false), Ok(true));
        assert_eq!(regex_match("FOOBAR", "^foo", true), Ok(true));
        assert_eq!(regex_match("FOOBAR", "^foo", false), Ok(false));
        assert!(matches!(
            regex_match("x", "(", false),
            Err(TypeError::InvalidRegex(_))
        ));
        assert!(regex_match("x", "a{1000}{1000}", false).is_err());
    }

    /// Exponential but obviously correct reference matcher over chars.
    fn naive(t: &[char], p: &[char]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some(('%', rest)) => (0..=t.len()).any(|i| naive(&t[i..], rest)),
            Some(('_', rest)) => !t.is_empty() && naive(&t[1..], rest),
            Some(('\\', rest)) if !rest.is_empty() => {
                !t.is_empty() && t[0] == rest[0] && naive(&t[1..], &rest[1..])
            }
            Some((c, rest)) => !t.is_empty() && t[0] == *c && naive(&t[1..], rest),
        }
    }

    proptest! {
        #[test]
        fn like_matches_reference(t in "[ab%_é]{0,8}", p in "[ab%_é\\\\]{0,6}") {
            let tc: Vec<char> = t.chars().collect();
            let pc: Vec<char> = p.chars().collect();
            match like(&t, &p, None, false) {
                Ok(got) => prop_assert_eq!(got, naive(&tc, &pc)),
                Err(e) => {
                    prop_assert_eq!(e, TypeError::InvalidEscape);
                }
            }
        }
    }
}
