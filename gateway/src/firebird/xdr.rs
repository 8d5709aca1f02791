//! XDR primitives, total and bounded.
//!
//! Firebird packets carry no length prefix: the only way to find the end of a packet is to
//! decode it completely (guide §2.1). So the [`Reader`] works on whatever bytes have
//! arrived so far and every read either succeeds, says [`XdrError::Incomplete`] ("wait
//! for more bytes and decode the packet again from its start"), or says
//! [`XdrError::Malformed`] (the client sent something no Firebird client sends; the
//! connection is closed). No read can panic, and every variable length is checked against
//! a cap before anything is allocated, so a hostile length costs nothing.
//!
//! Encodings (all big-endian, every item padded to a multiple of 4 bytes):
//!
//! ```text
//!  int     4 bytes             short  4 bytes, low 16 bits used (sign-extended on the wire)
//!  hyper   8 bytes             quad   8 bytes (high int, low int): blob ids
//!  buffer  int n, n bytes, pad to 4  opaque(n)  n bytes, pad to 4
//! ```

/// The longest variable-length item we accept in any packet (SQL text, parameter blocks,
/// segments). Firebird clients never come close; anything longer is hostile.
pub const MAX_ITEM: usize = 16 * 1024 * 1024;

/// Why a packet could not be decoded from the bytes at hand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XdrError {
    /// The packet continues past the bytes received so far.
    #[error("incomplete packet")]
    Incomplete,
    /// The bytes cannot be a valid packet.
    #[error("malformed packet: {0}")]
    Malformed(String),
}

/// Shorthand for a decoding result.
pub type Result<T> = std::result::Result<T, XdrError>;

/// A malformed-packet error with a reason.
pub fn malformed<T>(why: impl Into<String>) -> Result<T> {
    Err(XdrError::Malformed(why.into()))
}

/// Reads XDR items from a byte slice; `pos` tells how much a complete decode consumed.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts reading at the beginning of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Takes exactly `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or(XdrError::Incomplete)?;
        let slice = self.buf.get(self.pos..end).ok_or(XdrError::Incomplete)?;
        self.pos = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N)?);
        Ok(out)
    }

    /// A signed 32-bit `int`.
    pub fn int(&mut self) -> Result<i32> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    /// A `short`: four bytes of which the low 16 bits count (handles, versions, …).
    pub fn short(&mut self) -> Result<u16> {
        Ok(self.int()? as u32 as u16)
    }

    /// A 64-bit `hyper`.
    pub fn hyper(&mut self) -> Result<i64> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    /// An 8-byte `quad` kept as raw bytes (blob ids are opaque).
    pub fn quad(&mut self) -> Result<[u8; 8]> {
        self.array()
    }

    /// `n` bytes followed by padding to a multiple of 4.
    pub fn opaque(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > MAX_ITEM {
            return malformed(format!("item of {n} bytes is too long"));
        }
        let data = self.bytes(n)?;
        self.bytes(pad(n))?;
        Ok(data)
    }

    /// A length read the way Firebird's own reader does: a value whose top 16 bits are all
    /// ones is a sign-extended 16-bit length and is masked.
    pub fn length(&mut self) -> Result<usize> {
        let raw = self.int()? as u32;
        let len = if raw & 0xFFFF_0000 == 0xFFFF_0000 {
            raw & 0xFFFF
        } else {
            raw
        };
        Ok(len as usize)
    }

    /// A `buffer`: length, bytes, padding; at most `max` bytes.
    pub fn buffer_max(&mut self, max: usize) -> Result<&'a [u8]> {
        let len = self.length()?;
        if len > max.min(MAX_ITEM) {
            return malformed(format!("buffer of {len} bytes exceeds {max}"));
        }
        self.opaque(len)
    }

    /// A `buffer` of at most [`MAX_ITEM`] bytes.
    pub fn buffer(&mut self) -> Result<&'a [u8]> {
        self.buffer_max(MAX_ITEM)
    }
}

/// Padding bytes after `n` bytes of data.
pub fn pad(n: usize) -> usize {
    (4 - n % 4) % 4
}

/// Appends XDR items to a byte vector.
#[derive(Debug, Default, Clone)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The bytes written so far.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when nothing was written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// A 32-bit `int`.
    pub fn int(&mut self, v: i32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// A `short`, sign-extended as C's `xdr_short` does (0xFFFF travels as FFFFFFFF).
    pub fn short(&mut self, v: u16) -> &mut Self {
        self.int(v as i16 as i32)
    }

    /// An unsigned `ushort`, zero-extended.
    pub fn ushort(&mut self, v: u16) -> &mut Self {
        self.int(v as i32)
    }

    /// A 64-bit `hyper`.
    pub fn hyper(&mut self, v: i64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Raw bytes plus padding to a multiple of 4.
    pub fn opaque(&mut self, data: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(data);
        self.buf.extend(std::iter::repeat_n(0u8, pad(data.len())));
        self
    }

    /// A `buffer`: length, bytes, padding.
    pub fn buffer(&mut self, data: &[u8]) -> &mut Self {
        self.int(data.len() as i32);
        self.opaque(data)
    }

    /// Raw bytes without padding (pieces of a larger padded item).
    pub fn raw(&mut self, data: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(data);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn shorts_are_sign_extended_and_masked() {
        let mut w = Writer::new();
        w.short(0xFFFF).short(0x800F).short(3);
        let bytes = w.into_bytes();
        assert_eq!(
            &bytes[..8],
            &[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x80, 0x0F]
        );
        let mut r = Reader::new(&bytes);
        assert_eq!(r.short(), Ok(0xFFFF));
        assert_eq!(r.short(), Ok(0x800F));
        assert_eq!(r.short(), Ok(3));
        assert_eq!(r.short(), Err(XdrError::Incomplete));
    }

    #[test]
    fn buffers_round_trip_with_padding() {
        let mut w = Writer::new();
        w.buffer(b"abcde").buffer(b"").int(7);
        let bytes = w.into_bytes();
        assert_eq!(bytes.len(), 4 + 8 + 4 + 4);
        let mut r = Reader::new(&bytes);
        assert_eq!(r.buffer(), Ok(&b"abcde"[..]));
        assert_eq!(r.buffer(), Ok(&b""[..]));
        assert_eq!(r.int(), Ok(7));
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn huge_lengths_are_refused_without_allocation() {
        let mut w = Writer::new();
        w.int(0x7FFF_FFFF);
        let bytes = w.into_bytes();
        assert!(matches!(
            Reader::new(&bytes).buffer(),
            Err(XdrError::Malformed(_))
        ));
        // A sign-extended 16-bit length is masked like Firebird does.
        let mut w = Writer::new();
        w.int(-4).raw(&[0; 8]);
        let bytes = w.into_bytes();
        assert!(matches!(
            Reader::new(&bytes).buffer(),
            Err(XdrError::Incomplete)
        ));
    }

    proptest! {
        /// Any byte string either decodes or fails cleanly, never panics, and a decode
        /// never claims more bytes than it was given.
        #[test]
        fn reader_is_total(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let mut r = Reader::new(&bytes);
            loop {
                let before = r.position();
                let step = match before % 3 {
                    0 => r.buffer().map(|_| ()),
                    1 => r.int().map(|_| ()),
                    _ => r.quad().map(|_| ()),
                };
                prop_assert!(r.position() <= bytes.len());
                if step.is_err() { break; }
            }
        }

        #[test]
        fn buffers_round_trip(data in proptest::collection::vec(any::<u8>(), 0..100)) {
            let mut w = Writer::new();
            w.buffer(&data);
            let bytes = w.into_bytes();
            prop_assert_eq!(bytes.len() % 4, 0);
            let mut r = Reader::new(&bytes);
            prop_assert_eq!(r.buffer().map(|b| b.to_vec()), Ok(data));
            // Every strict prefix is incomplete, never malformed.
            for cut in 0..bytes.len() {
                prop_assert_eq!(Reader::new(&bytes[..cut]).buffer().err(), Some(XdrError::Incomplete));
            }
        }
    }
}
