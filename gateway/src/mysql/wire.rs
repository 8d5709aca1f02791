//! MySQL's basic wire encodings: fixed-width little-endian integers, length-encoded
//! integers and strings, NUL-terminated strings.
//!
//! Reading goes through [`Cursor`], which never panics: every read checks the bytes that
//! are left and fails with a [`WireError`] instead, so a truncated or hostile packet is a
//! protocol error for that client and nothing more. Writing appends to a `Vec<u8>`.

/// Why a packet could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The packet ended before a field it announced.
    #[error("malformed packet: truncated {0}")]
    Truncated(&'static str),
    /// A field holds a value that makes no sense (unknown type, impossible length …).
    #[error("malformed packet: {0}")]
    Invalid(String),
}

/// A read position in one packet's payload.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    buf: &'a [u8],
}

impl<'a> Cursor<'a> {
    /// Reads `buf` from its start.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// True once everything was read.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], WireError> {
        if n > self.buf.len() {
            return Err(WireError::Truncated(what));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    /// Everything that is left.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }

    /// One byte.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, WireError> {
        Ok(self.take(1, what)?[0])
    }

    /// A 2-byte little-endian integer.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, WireError> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    /// A 4-byte little-endian integer.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, WireError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// An 8-byte little-endian integer.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, WireError> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// A length-encoded integer (`0xfb`, SQL NULL in rows, is refused here).
    pub fn lenenc_int(&mut self, what: &'static str) -> Result<u64, WireError> {
        match self.u8(what)? {
            b @ 0..=0xfa => Ok(u64::from(b)),
            0xfc => Ok(u64::from(self.u16(what)?)),
            0xfd => {
                let b = self.take(3, what)?;
                Ok(u64::from(u32::from_le_bytes([b[0], b[1], b[2], 0])))
            }
            0xfe => self.u64(what),
            other => Err(WireError::Invalid(format!(
                "bad length-encoded integer prefix 0x{other:02x} in {what}"
            ))),
        }
    }

    /// A length-encoded byte string.
    pub fn lenenc_bytes(&mut self, what: &'static str) -> Result<&'a [u8], WireError> {
        let n = self.lenenc_int(what)?;
        let n = usize::try_from(n).map_err(|_| WireError::Truncated(what))?;
        self.take(n, what)
    }

    /// A NUL-terminated byte string (the NUL is consumed, not returned). A string that
    /// runs to the end of the packet without a NUL is accepted, as MySQL does.
    pub fn null_str(&mut self) -> &'a [u8] {
        match self.buf.iter().position(|&b| b == 0) {
            Some(i) => {
                let s = &self.buf[..i];
                self.buf = &self.buf[i + 1..];
                s
            }
            None => self.rest(),
        }
    }
}

/// Appends a length-encoded integer.
pub fn put_lenenc_int(out: &mut Vec<u8>, n: u64) {
    if n < 0xfb {
        out.push(n as u8);
    } else if n <= 0xffff {
        out.push(0xfc);
        out.extend_from_slice(&(n as u16).to_le_bytes());
    } else if n <= 0xff_ffff {
        out.push(0xfd);
        out.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
    } else {
        out.push(0xfe);
        out.extend_from_slice(&n.to_le_bytes());
    }
}

/// Appends a length-encoded byte string.
pub fn put_lenenc_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_lenenc_int(out, b.len() as u64);
    out.extend_from_slice(b);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lenenc_round_trips() {
        for n in [
            0u64,
            250,
            251,
            0xffff,
            0x10000,
            0xff_ffff,
            0x100_0000,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            put_lenenc_int(&mut out, n);
            assert_eq!(Cursor::new(&out).lenenc_int("n"), Ok(n));
        }
    }

    #[test]
    fn truncation_is_an_error() {
        assert!(Cursor::new(&[0xfc, 1]).lenenc_int("n").is_err());
        assert!(Cursor::new(&[5, b'a']).lenenc_bytes("s").is_err());
        assert!(Cursor::new(&[0xfb]).lenenc_int("n").is_err());
        let mut c = Cursor::new(b"abc");
        assert_eq!(c.null_str(), b"abc");
        assert!(c.is_empty());
    }

    proptest! {
        #[test]
        fn reads_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut c = Cursor::new(&bytes);
            let _ = c.lenenc_bytes("a");
            let _ = c.u32("b");
            let _ = c.null_str();
            let _ = c.lenenc_int("c");
        }
    }
}
