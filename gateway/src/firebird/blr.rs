//! BLR message descriptions and the packed message format (guide §12).
//!
//! Row and parameter data have no self-description: their layout is given by a BLR
//! message the client sends alongside (`in_blr` of `op_execute`, `out_blr` of `op_fetch`).
//! [`parse_message_blr`] turns that BLR into a list of [`Item`]s (one per column; the
//! `blr_short 0` NULL-indicator items that follow each column are checked and dropped).
//! Messages are then packed (protocol ≥ 13): a NULL bitmap of ⌈n/8⌉ bytes padded to 4,
//! then each non-NULL value in its XDR wire form.
//!
//! [`read_message`] decodes a message into [`Wire`] values; [`write_message`] encodes
//! them. Both are total: wrong lengths or unknown BLR codes are [`XdrError::Malformed`].

use super::xdr::{malformed, pad, Reader, Result, Writer};

/// Most columns a message may describe (Firebird's own limit is lower).
pub const MAX_COLUMNS: usize = 32_767;

/// The wire type of one column, as the client's BLR says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    /// `blr_text`/`blr_text2`: exactly `len` bytes (CHAR, space padded).
    Text { len: u16, charset: u16 },
    /// `blr_varying`/`blr_varying2`: a length `int` then at most `max` bytes.
    Varying { max: u16, charset: u16 },
    /// `blr_cstring`/`blr_cstring2`: sent like `varying`.
    CString { max: u16, charset: u16 },
    /// `blr_short` with a decimal scale.
    Short(i8),
    /// `blr_long` with a decimal scale.
    Long(i8),
    /// `blr_int64` with a decimal scale.
    Int64(i8),
    /// `blr_int128` with a decimal scale (Firebird 4+).
    Int128(i8),
    /// `blr_quad` (blob id in firebirdsql's BLR).
    Quad(i8),
    /// `blr_blob2`: a blob id; the sub type (1 = text) and charset.
    Blob { sub_type: u16, charset: u16 },
    /// `blr_float`.
    Float,
    /// `blr_double` / `blr_d_float`.
    Double,
    /// `blr_sql_date`.
    Date,
    /// `blr_sql_time`.
    Time,
    /// `blr_timestamp`.
    Timestamp,
    /// `blr_bool`.
    Bool,
}

/// A decoded wire value.
#[derive(Debug, Clone, PartialEq)]
pub enum Wire {
    /// Text or binary bytes (any of the string items).
    Bytes(Vec<u8>),
    /// An integer with a decimal scale: value × 10^scale.
    Scaled(i128, i8),
    /// A blob id.
    BlobId([u8; 8]),
    /// `blr_float`.
    Float(f32),
    /// `blr_double`.
    Double(f64),
    /// Days since 1858-11-17.
    Date(i32),
    /// Units of 100 µs since midnight.
    Time(u32),
    /// Date and time as above.
    Timestamp(i32, u32),
    /// `blr_bool`.
    Bool(bool),
}

fn u16_le(r: &mut Reader<'_>) -> Result<u16> {
    let b = r.bytes(2)?;
    Ok(u16::from_le_bytes([b[0], b[1]]))
}

fn u8_(r: &mut Reader<'_>) -> Result<u8> {
    Ok(r.bytes(1)?[0])
}

/// Parses a message BLR (`blr_version4/5 blr_begin blr_message n count items blr_end
/// blr_eoc`). An empty BLR means "no message" (zero columns).
pub fn parse_message_blr(blr: &[u8]) -> Result<Vec<Item>> {
    // The BLR is complete in its buffer, so running out of bytes is malformed here.
    parse_inner(blr).map_err(|e| match e {
        super::xdr::XdrError::Incomplete => {
            super::xdr::XdrError::Malformed("truncated message BLR".into())
        }
        other => other,
    })
}

fn parse_inner(blr: &[u8]) -> Result<Vec<Item>> {
    if blr.is_empty() {
        return Ok(Vec::new());
    }
    let mut r = Reader::new(blr);
    let version = u8_(&mut r)?;
    if version != 4 && version != 5 {
        return malformed(format!("BLR version {version}"));
    }
    if u8_(&mut r)? != 2 {
        return malformed("BLR does not start with blr_begin");
    }
    if u8_(&mut r)? != 4 {
        return malformed("BLR is not a message description");
    }
    let _number = u8_(&mut r)?;
    let count = u16_le(&mut r)? as usize;
    if !count.is_multiple_of(2) || count / 2 > MAX_COLUMNS {
        return malformed(format!("message of {count} items"));
    }
    let mut items = Vec::with_capacity(count / 2);
    for _ in 0..count / 2 {
        items.push(parse_item(&mut r)?);
        // Every column is followed by its NULL indicator, a `blr_short 0`.
        if parse_item(&mut r)? != Item::Short(0) {
            return malformed("column without a blr_short NULL indicator");
        }
    }
    if u8_(&mut r)? != 255 {
        return malformed("message BLR without blr_end");
    }
    Ok(items)
}

fn parse_item(r: &mut Reader<'_>) -> Result<Item> {
    let code = u8_(r)?;
    Ok(match code {
        14 => Item::Text {
            len: u16_le(r)?,
            charset: 0,
        },
        15 => {
            let charset = u16_le(r)?;
            Item::Text {
                len: u16_le(r)?,
                charset,
            }
        }
        37 => Item::Varying {
            max: u16_le(r)?,
            charset: 0,
        },
        38 => {
            let charset = u16_le(r)?;
            Item::Varying {
                max: u16_le(r)?,
                charset,
            }
        }
        40 => Item::CString {
            max: u16_le(r)?,
            charset: 0,
        },
        41 => {
            let charset = u16_le(r)?;
            Item::CString {
                max: u16_le(r)?,
                charset,
            }
        }
        7 => Item::Short(u8_(r)? as i8),
        8 => Item::Long(u8_(r)? as i8),
        16 => Item::Int64(u8_(r)? as i8),
        26 => Item::Int128(u8_(r)? as i8),
        9 => Item::Quad(u8_(r)? as i8),
        17 => {
            let sub_type = u16_le(r)?;
            Item::Blob {
                sub_type,
                charset: u16_le(r)?,
            }
        }
        10 => Item::Float,
        11 | 27 => Item::Double,
        12 => Item::Date,
        13 => Item::Time,
        35 => Item::Timestamp,
        23 => Item::Bool,
        other => return malformed(format!("unsupported BLR data type {other}")),
    })
}

/// Builds message BLR for `items` (the inverse of [`parse_message_blr`]; tests and the
/// fuzzer use it).
pub fn message_blr(items: &[Item]) -> Vec<u8> {
    let mut out = vec![5, 2, 4, 0];
    out.extend_from_slice(&((items.len() * 2) as u16).to_le_bytes());
    for item in items {
        match *item {
            Item::Text { len, charset } => {
                out.push(15);
                out.extend_from_slice(&charset.to_le_bytes());
                out.extend_from_slice(&len.to_le_bytes());
            }
            Item::Varying { max, charset } => {
                out.push(38);
                out.extend_from_slice(&charset.to_le_bytes());
                out.extend_from_slice(&max.to_le_bytes());
            }
            Item::CString { max, charset } => {
                out.push(41);
                out.extend_from_slice(&charset.to_le_bytes());
                out.extend_from_slice(&max.to_le_bytes());
            }
            Item::Short(s) => out.extend_from_slice(&[7, s as u8]),
            Item::Long(s) => out.extend_from_slice(&[8, s as u8]),
            Item::Int64(s) => out.extend_from_slice(&[16, s as u8]),
            Item::Int128(s) => out.extend_from_slice(&[26, s as u8]),
            Item::Quad(s) => out.extend_from_slice(&[9, s as u8]),
            Item::Blob { sub_type, charset } => {
                out.push(17);
                out.extend_from_slice(&sub_type.to_le_bytes());
                out.extend_from_slice(&charset.to_le_bytes());
            }
            Item::Float => out.push(10),
            Item::Double => out.push(27),
            Item::Date => out.push(12),
            Item::Time => out.push(13),
            Item::Timestamp => out.push(35),
            Item::Bool => out.push(23),
        }
        out.extend_from_slice(&[7, 0]);
    }
    out.extend_from_slice(&[255, 76]);
    out
}

/// Reads one packed message laid out by `items`; `None` marks a NULL column.
pub fn read_message(r: &mut Reader<'_>, items: &[Item]) -> Result<Vec<Option<Wire>>> {
    let bitmap_len = items.len().div_ceil(8);
    let bitmap = r.opaque(bitmap_len)?.to_vec();
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let null = bitmap.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0);
        out.push(if null {
            None
        } else {
            Some(read_value(r, item)?)
        });
    }
    Ok(out)
}

fn read_value(r: &mut Reader<'_>, item: &Item) -> Result<Wire> {
    Ok(match *item {
        Item::Text { len, .. } => Wire::Bytes(r.opaque(len as usize)?.to_vec()),
        Item::Varying { max, .. } | Item::CString { max, .. } => {
            let len = r.length()?;
            if len > max as usize {
                return malformed(format!("string of {len} bytes in a field of {max}"));
            }
            Wire::Bytes(r.opaque(len)?.to_vec())
        }
        Item::Short(s) => Wire::Scaled(r.int()? as i16 as i128, s),
        Item::Long(s) => Wire::Scaled(r.int()? as i128, s),
        Item::Int64(s) => Wire::Scaled(r.hyper()? as i128, s),
        Item::Int128(s) => {
            let hi = r.hyper()? as i128;
            let lo = r.hyper()? as u64 as i128;
            Wire::Scaled((hi << 64) | lo, s)
        }
        Item::Quad(_) | Item::Blob { .. } => Wire::BlobId(r.quad()?),
        Item::Float => Wire::Float(f32::from_bits(r.int()? as u32)),
        Item::Double => Wire::Double(f64::from_bits(r.hyper()? as u64)),
        Item::Date => Wire::Date(r.int()?),
        Item::Time => Wire::Time(r.int()? as u32),
        Item::Timestamp => Wire::Timestamp(r.int()?, r.int()? as u32),
        Item::Bool => {
            let b = r.opaque(1)?[0];
            Wire::Bool(b != 0)
        }
    })
}

/// Reads one unpacked message (the BLR request API, guide §19): every item in order,
/// NULL indicators included, no bitmap.
pub fn read_unpacked(r: &mut Reader<'_>, items: &[Item]) -> Result<Vec<Wire>> {
    items.iter().map(|item| read_value(r, item)).collect()
}

/// Writes one unpacked message; a missing or mismatched value is written as zero.
pub fn write_unpacked(w: &mut Writer, items: &[Item], values: &[Wire]) {
    for (i, item) in items.iter().enumerate() {
        match values.get(i) {
            Some(v) => write_value(w, item, v),
            None => write_value(w, item, &zero(item)),
        }
    }
}

/// The wire item of a declared BLR data type (`dtype` as in BLR, with its modifiers).
pub fn item_of(dtype: u8, scale: i8, length: u16, sub_type: u16, charset: u16) -> Option<Item> {
    Some(match dtype {
        14 | 15 => Item::Text {
            len: length,
            charset,
        },
        37 | 38 => Item::Varying {
            max: length,
            charset,
        },
        40 | 41 => Item::CString {
            max: length,
            charset,
        },
        7 => Item::Short(scale),
        8 => Item::Long(scale),
        16 => Item::Int64(scale),
        26 => Item::Int128(scale),
        9 => Item::Quad(scale),
        17 => Item::Blob { sub_type, charset },
        10 => Item::Float,
        11 | 27 => Item::Double,
        12 => Item::Date,
        13 => Item::Time,
        35 => Item::Timestamp,
        23 => Item::Bool,
        _ => return None,
    })
}

/// Writes one packed message. `values` must match `items` in length and kind (the
/// caller converted them with [`super::types`]); a mismatch writes a NULL.
pub fn write_message(w: &mut Writer, items: &[Item], values: &[Option<Wire>]) {
    let mut bitmap = vec![0u8; items.len().div_ceil(8)];
    for i in 0..items.len() {
        if values.get(i).is_none_or(|v| v.is_none()) {
            if let Some(b) = bitmap.get_mut(i / 8) {
                *b |= 1 << (i % 8);
            }
        }
    }
    w.opaque(&bitmap);
    for (item, value) in items.iter().zip(values) {
        if let Some(value) = value {
            write_value(w, item, value);
        }
    }
}

fn write_value(w: &mut Writer, item: &Item, value: &Wire) {
    match (item, value) {
        (Item::Text { len, .. }, Wire::Bytes(b)) => {
            let len = *len as usize;
            let mut data = b.clone();
            data.resize(len, b' ');
            w.opaque(&data);
        }
        (Item::Varying { max, .. } | Item::CString { max, .. }, Wire::Bytes(b)) => {
            let n = b.len().min(*max as usize);
            w.int(n as i32);
            w.raw(&b[..n]);
            w.raw(&[0u8; 3][..pad(n)]);
        }
        (Item::Short(_), Wire::Scaled(v, _)) => {
            w.int(*v as i16 as i32);
        }
        (Item::Long(_), Wire::Scaled(v, _)) => {
            w.int(*v as i32);
        }
        (Item::Int64(_), Wire::Scaled(v, _)) => {
            w.hyper(*v as i64);
        }
        (Item::Int128(_), Wire::Scaled(v, _)) => {
            w.hyper((*v >> 64) as i64);
            w.hyper(*v as i64);
        }
        (Item::Quad(_) | Item::Blob { .. }, Wire::BlobId(id)) => {
            w.raw(id);
        }
        (Item::Float, Wire::Float(f)) => {
            w.int(f.to_bits() as i32);
        }
        (Item::Double, Wire::Double(f)) => {
            w.hyper(f.to_bits() as i64);
        }
        (Item::Date, Wire::Date(d)) => {
            w.int(*d);
        }
        (Item::Time, Wire::Time(t)) => {
            w.int(*t as i32);
        }
        (Item::Timestamp, Wire::Timestamp(d, t)) => {
            w.int(*d);
            w.int(*t as i32);
        }
        (Item::Bool, Wire::Bool(b)) => {
            w.opaque(&[*b as u8]);
        }
        // The converter never produces a mismatch; write a zero value of the right size
        // rather than corrupt the stream.
        (item, _) => write_value(w, item, &zero(item)),
    }
}

/// A zero value of an item's kind.
pub fn zero(item: &Item) -> Wire {
    match item {
        Item::Text { .. } | Item::Varying { .. } | Item::CString { .. } => Wire::Bytes(Vec::new()),
        Item::Short(s) | Item::Long(s) | Item::Int64(s) | Item::Int128(s) => Wire::Scaled(0, *s),
        Item::Quad(_) | Item::Blob { .. } => Wire::BlobId([0; 8]),
        Item::Float => Wire::Float(0.0),
        Item::Double => Wire::Double(0.0),
        Item::Date => Wire::Date(0),
        Item::Time => Wire::Time(0),
        Item::Timestamp => Wire::Timestamp(0, 0),
        Item::Bool => Wire::Bool(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// isql's fetch BLR for the guide's 14-column table (§12.3).
    #[test]
    fn parses_isql_fetch_blr() {
        let blr = [
            0x05, 0x02, 0x04, 0x00, 0x1C, 0x00, 0x08, 0x00, 0x07, 0x00, 0x26, 0x00, 0x00, 0x14,
            0x00, 0x07, 0x00, 0x0F, 0x00, 0x00, 0x04, 0x00, 0x07, 0x00, 0x07, 0x00, 0x07, 0x00,
            0x10, 0x00, 0x07, 0x00, 0x08, 0xFE, 0x07, 0x00, 0x10, 0xFC, 0x07, 0x00, 0x1B, 0x07,
            0x00, 0x0A, 0x07, 0x00, 0x17, 0x07, 0x00, 0x0C, 0x07, 0x00, 0x0D, 0x07, 0x00, 0x23,
            0x07, 0x00, 0x11, 0x01, 0x00, 0x00, 0x00, 0x07, 0x00, 0xFF, 0x4C,
        ];
        let items = parse_message_blr(&blr).expect("parse");
        assert_eq!(items.len(), 14);
        assert_eq!(
            items[1],
            Item::Varying {
                max: 20,
                charset: 0
            }
        );
        assert_eq!(items[2], Item::Text { len: 4, charset: 0 });
        assert_eq!(items[5], Item::Long(-2));
        assert_eq!(items[6], Item::Int64(-4));
        assert_eq!(
            items[13],
            Item::Blob {
                sub_type: 1,
                charset: 0
            }
        );
    }

    /// Row 2 of the guide's capture: columns 2..14 NULL, ID 2.
    #[test]
    fn null_bitmap_matches_capture() {
        let items = [Item::Long(0); 14];
        let mut values = vec![None; 14];
        values[0] = Some(Wire::Scaled(2, 0));
        let mut w = Writer::new();
        write_message(&mut w, &items, &values);
        assert_eq!(w.into_bytes(), vec![0xFE, 0x3F, 0, 0, 0, 0, 0, 2]);
    }

    fn item() -> impl Strategy<Value = Item> {
        prop_oneof![
            (0u16..40).prop_map(|len| Item::Text { len, charset: 4 }),
            (0u16..40).prop_map(|max| Item::Varying { max, charset: 4 }),
            any::<i8>().prop_map(Item::Short),
            any::<i8>().prop_map(Item::Long),
            any::<i8>().prop_map(Item::Int64),
            Just(Item::Double),
            Just(Item::Date),
            Just(Item::Timestamp),
            Just(Item::Bool),
            Just(Item::Blob {
                sub_type: 1,
                charset: 4
            }),
        ]
    }

    proptest! {
        #[test]
        fn blr_round_trips(items in proptest::collection::vec(item(), 0..20)) {
            let parsed = parse_message_blr(&message_blr(&items)).expect("parse");
            if items.is_empty() {
                prop_assert!(parsed.is_empty());
            } else {
                prop_assert_eq!(parsed, items);
            }
        }

        /// Arbitrary bytes as BLR or as a message never panic.
        #[test]
        fn decoders_are_total(blr in proptest::collection::vec(any::<u8>(), 0..64),
                              msg in proptest::collection::vec(any::<u8>(), 0..128),
                              items in proptest::collection::vec(item(), 0..8)) {
            let _ = parse_message_blr(&blr);
            let _ = read_message(&mut Reader::new(&msg), &items);
        }

        #[test]
        fn messages_round_trip(items in proptest::collection::vec(item(), 1..12), nulls in any::<u16>()) {
            let values: Vec<Option<Wire>> = items.iter().enumerate()
                .map(|(i, it)| if nulls & (1 << i) != 0 { None } else { Some(zero(it)) })
                .map(|v| v.map(|w| match w { Wire::Bytes(_) => Wire::Bytes(Vec::new()), o => o }))
                .collect();
            let mut w = Writer::new();
            write_message(&mut w, &items, &values);
            let bytes = w.into_bytes();
            let back = read_message(&mut Reader::new(&bytes), &items).expect("decode");
            // Text items come back space padded to their length.
            for ((it, a), b) in items.iter().zip(&values).zip(&back) {
                match (it, a) {
                    (Item::Text { len, .. }, Some(_)) => prop_assert_eq!(b, &Some(Wire::Bytes(vec![b' '; *len as usize]))),
                    _ => prop_assert_eq!(a, b),
                }
            }
        }
    }
}
