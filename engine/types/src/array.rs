//! One-dimensional arrays: PostgreSQL's text form (`{1,2,NULL,"a b"}`), its parsing, and
//! the array comparison order.
//!
//! Rosetta's arrays have one dimension and lower bound 1 (`Value::Array`); the element
//! type is carried by the static [`DataType::Array`] type, the values themselves are
//! ordinary scalar [`Value`]s (NULL allowed).

use std::cmp::Ordering;

use crate::cast::{cast, CastMode};
use crate::{DataType, Result, TypeError, Value};

/// Largest number of elements a text array literal may have (guards memory on hostile
/// input; PostgreSQL's limit is about 134 million, far above what Rosetta needs).
const MAX_ELEMENTS: usize = 1 << 24;

/// Appends PostgreSQL's text form of an array whose elements print as `element` says
/// (`None` = NULL): `{a,b}`, elements double-quoted when empty, equal to `NULL`
/// (any case) or containing `{ } , " \` or white space, with `"` and `\` escaped.
///
/// Protocols pass their own element formatter, so an array prints its elements exactly
/// as they would print on their own.
pub fn write_array_text(
    items: &[Value],
    out: &mut String,
    element: &mut dyn FnMut(&Value) -> Option<String>,
) {
    out.push('{');
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match element(v) {
            None => out.push_str("NULL"),
            Some(text) => push_element(&text, out),
        }
    }
    out.push('}');
}

/// The text form of an array (see [`write_array_text`]).
pub fn array_text(items: &[Value], element: &mut dyn FnMut(&Value) -> Option<String>) -> String {
    let mut out = String::new();
    write_array_text(items, &mut out, element);
    out
}

fn push_element(text: &str, out: &mut String) {
    let needs_quotes = text.is_empty()
        || text.eq_ignore_ascii_case("NULL")
        || text
            .chars()
            .any(|c| matches!(c, '{' | '}' | ',' | '"' | '\\') || c.is_ascii_whitespace());
    if !needs_quotes {
        out.push_str(text);
        return;
    }
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// Parses PostgreSQL's text form of a one-dimensional array (`{1,2}`, `{"a b",NULL}`,
/// `{}`), converting each element to `element` with the element type's input rules.
/// Multi-dimensional input and explicit bounds (`[0:1]={…}`) are refused (22P02 /
/// 0A000-like `InvalidText`).
pub fn parse_array(text: &str, element: &DataType) -> Result<Vec<Value>> {
    let bad = || TypeError::InvalidText {
        type_name: format!("{}[]", crate::type_name(element)),
        text: text.to_string(),
    };
    let body = text
        .trim()
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .ok_or_else(bad)?;
    let mut items = Vec::new();
    if body.trim().is_empty() {
        return Ok(items);
    }
    let mut chars = body.chars().peekable();
    loop {
        // One element: optional white space, then a quoted or an unquoted string.
        while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        let mut quoted = false;
        if chars.peek() == Some(&'"') {
            quoted = true;
            chars.next();
            loop {
                match chars.next() {
                    None => return Err(bad()),
                    Some('"') => break,
                    Some('\\') => value.push(chars.next().ok_or_else(bad)?),
                    Some(c) => value.push(c),
                }
            }
            while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
                chars.next();
            }
        } else {
            while let Some(&c) = chars.peek() {
                match c {
                    ',' => break,
                    '{' | '}' | '"' => return Err(bad()),
                    '\\' => {
                        chars.next();
                        value.push(chars.next().ok_or_else(bad)?);
                    }
                    c => {
                        value.push(c);
                        chars.next();
                    }
                }
            }
            let trimmed = value.trim_end_matches(|c: char| c.is_ascii_whitespace());
            value.truncate(trimmed.len());
            if value.is_empty() {
                return Err(bad());
            }
        }
        if items.len() >= MAX_ELEMENTS {
            return Err(TypeError::OutOfRange("array size".into()));
        }
        items.push(if !quoted && value.eq_ignore_ascii_case("NULL") {
            Value::Null
        } else {
            cast(&Value::Text(value), element, CastMode::Explicit)?
        });
        match chars.next() {
            None => break,
            Some(',') => continue,
            Some(_) => return Err(bad()),
        }
    }
    Ok(items)
}

/// PostgreSQL's array order (`btarraycmp`): element by element, NULL elements equal to
/// each other and greater than any value, then the shorter array first. `None` when two
/// elements have no comparison between them.
pub(crate) fn array_cmp(
    a: &[Value],
    b: &[Value],
    element_cmp: impl Fn(&Value, &Value) -> Option<Ordering>,
) -> Option<Ordering> {
    for (x, y) in a.iter().zip(b) {
        let o = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => element_cmp(x, y)?,
        };
        if o != Ordering::Equal {
            return Some(o);
        }
    }
    Some(a.len().cmp(&b.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::to_text;

    fn ints(v: &[i32]) -> Value {
        Value::Array(v.iter().map(|i| Value::Int32(*i)).collect())
    }

    #[test]
    fn text_form_quotes_what_it_must() {
        let v = Value::Array(vec![
            Value::Text("a".into()),
            Value::Text("".into()),
            Value::Text("b c".into()),
            Value::Text("null".into()),
            Value::Null,
            Value::Text("q\"\\".into()),
            Value::Text("x,y".into()),
        ]);
        assert_eq!(
            to_text(&v).as_deref(),
            Some(r#"{a,"","b c","null",NULL,"q\"\\","x,y"}"#)
        );
        assert_eq!(to_text(&ints(&[1, 2])).as_deref(), Some("{1,2}"));
        assert_eq!(to_text(&Value::Array(vec![])).as_deref(), Some("{}"));
        assert_eq!(
            to_text(&Value::Array(vec![Value::Bool(true)])).as_deref(),
            Some("{t}")
        );
    }

    #[test]
    fn parse_round_trips() {
        let text = r#"{a,"","b c","null",NULL,"q\"\\","x,y"}"#;
        let v = Value::Array(parse_array(text, &DataType::Text).unwrap_or_default());
        assert_eq!(to_text(&v).as_deref(), Some(text));
        assert_eq!(
            parse_array(" { 1 , 2 } ", &DataType::SmallInt),
            Ok(vec![Value::Int16(1), Value::Int16(2)])
        );
        assert_eq!(parse_array("{}", &DataType::Integer), Ok(vec![]));
    }

    #[test]
    fn bad_input_is_an_error() {
        for bad in ["", "1,2", "{1,2", "{1,,2}", "{{1},{2}}", "{\"a}", "{a\"b}"] {
            assert!(parse_array(bad, &DataType::Text).is_err(), "{bad}");
        }
        assert!(parse_array("{x}", &DataType::Integer).is_err());
    }

    #[test]
    fn order_is_elementwise_then_length() {
        use crate::ops::compare;
        let c = |a: &Value, b: &Value| compare(a, b).ok().flatten();
        assert_eq!(c(&ints(&[1, 2]), &ints(&[1, 2])), Some(Ordering::Equal));
        assert_eq!(c(&ints(&[1, 2]), &ints(&[1, 3])), Some(Ordering::Less));
        assert_eq!(c(&ints(&[1]), &ints(&[1, 0])), Some(Ordering::Less));
        assert_eq!(
            c(
                &Value::Array(vec![Value::Null]),
                &Value::Array(vec![Value::Int32(5)])
            ),
            Some(Ordering::Greater)
        );
    }

    #[test]
    fn key_encoding_orders_and_round_trips() {
        use crate::key::{decode, encode_all};
        let (a, b, c) = (ints(&[1]), ints(&[1, 0]), ints(&[2]));
        assert!(encode_all(std::slice::from_ref(&a)) < encode_all(std::slice::from_ref(&b)));
        assert!(encode_all(std::slice::from_ref(&b)) < encode_all(std::slice::from_ref(&c)));
        let bytes = encode_all(std::slice::from_ref(&b));
        assert_eq!(
            decode(&mut bytes.as_slice()),
            Ok(Value::Array(vec![Value::Int64(1), Value::Int64(0)]))
        );
        // A nested array tag is corrupt input, not a deeper recursion.
        let mut nested = vec![0x60, 0x01];
        nested.extend_from_slice(&bytes);
        assert!(decode(&mut nested.as_slice()).is_err());
    }
}
