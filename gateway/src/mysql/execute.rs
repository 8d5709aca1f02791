//! COM_STMT_EXECUTE's parameter block:
//!
//! ```text
//!  flags (1) · iteration count (4) · [ NULL bitmap ((n+7)/8) · new-params-bound (1)
//!  · [ types (2·n: type, 0x80 = unsigned) ] · values ]
//! ```
//!
//! Types are sent with the first execution and may be left out later (the statement
//! remembers them); parameters sent with COM_STMT_SEND_LONG_DATA have a type but no
//! value here. Every length is checked: a hostile packet is an error, never a panic.

use std::collections::HashMap;

use super::types::{read_param, RawParam, ValueError};
use super::wire::{Cursor, WireError};

/// Decodes the parameters of one execution of a statement with `count` parameters.
/// `bound` holds the types of the previous execution and is updated when the packet
/// carries new ones; `long_data` holds COM_STMT_SEND_LONG_DATA contents by parameter.
pub fn parse_params<'a>(
    rest: &'a [u8],
    count: usize,
    bound: &mut Vec<(u8, bool)>,
    long_data: &'a HashMap<u16, Vec<u8>>,
) -> Result<Vec<RawParam<'a>>, ValueError> {
    let mut c = Cursor::new(rest);
    c.u8("flags")?;
    c.u32("iteration count")?;
    if count == 0 {
        return Ok(Vec::new());
    }
    let nulls = c.take(count.div_ceil(8), "NULL bitmap")?;
    if c.u8("new-params-bound flag")? == 1 {
        let types = c.take(count * 2, "parameter types")?;
        *bound = types
            .chunks_exact(2)
            .map(|t| (t[0], t[1] & 0x80 != 0))
            .collect();
    }
    if bound.len() != count {
        return Err(WireError::Invalid(
            "parameter types were never sent for this statement".into(),
        )
        .into());
    }
    let mut params = Vec::with_capacity(count);
    for (i, &(ty, unsigned)) in bound.iter().enumerate() {
        let is_null = nulls.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0);
        let long = u16::try_from(i).ok().and_then(|i| long_data.get(&i));
        params.push(match (is_null, long) {
            (true, _) => RawParam::Null,
            (false, Some(data)) => RawParam::Bytes(data),
            (false, None) => read_param(&mut c, ty, unsigned)?,
        });
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_typed_parameters_and_reuses_types() {
        // two params: LONG 7 and NULL string
        let mut p = vec![0, 1, 0, 0, 0, 0b10, 1, 0x03, 0, 0xfd, 0];
        p.extend_from_slice(&7i32.to_le_bytes());
        let mut bound = Vec::new();
        let long = HashMap::new();
        let params = parse_params(&p, 2, &mut bound, &long).unwrap();
        assert_eq!(params, vec![RawParam::Int(7), RawParam::Null]);
        let mut again = vec![0, 1, 0, 0, 0, 0, 0];
        again.extend_from_slice(&8i32.to_le_bytes());
        again.extend_from_slice(&[1, b'x']);
        let params = parse_params(&again, 2, &mut bound, &long).unwrap();
        assert_eq!(params, vec![RawParam::Int(8), RawParam::Bytes(b"x")]);
    }

    #[test]
    fn hostile_blocks_are_errors() {
        let long = HashMap::new();
        // types never sent
        assert!(parse_params(&[0, 1, 0, 0, 0, 0, 0], 1, &mut Vec::new(), &long).is_err());
        // truncated value
        assert!(parse_params(&[0, 1, 0, 0, 0, 0, 1, 3, 0, 1], 1, &mut Vec::new(), &long).is_err());
        // huge string length
        let p = [
            0, 1, 0, 0, 0, 0, 1, 0xfd, 0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
        ];
        assert!(parse_params(&p, 1, &mut Vec::new(), &long).is_err());
        // unknown type
        assert!(parse_params(
            &[0, 1, 0, 0, 0, 0, 1, 0x42, 0, 1],
            1,
            &mut Vec::new(),
            &long
        )
        .is_err());
    }

    proptest! {
        #[test]
        fn never_panics(count in 0usize..20, bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
            let long = HashMap::new();
            let mut bound = Vec::new();
            let _ = parse_params(&bytes, count, &mut bound, &long);
        }
    }
}
