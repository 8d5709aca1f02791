//! Length-prefixed MessagePack frames over any async byte stream.
//!
//! A frame is a 4-byte big-endian payload length followed by that many bytes of
//! MessagePack. Lengths above [`MAX_FRAME`] are refused *before* anything is allocated,
//! so a hostile or broken peer cannot make us reserve gigabytes; a truncated frame is an
//! error, never a partial message.

use serde::{de::DeserializeOwned, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest frame payload accepted (64 MiB + room for framing of a maximal program).
pub const MAX_FRAME: usize = 80 << 20;

/// Why a frame could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The peer closed the connection cleanly between frames.
    #[error("connection closed")]
    Closed,
    #[error("frame of {0} bytes exceeds the {MAX_FRAME}-byte limit")]
    TooLarge(usize),
    #[error("malformed frame: {0}")]
    Malformed(String),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// Reads one frame and decodes it as `T`. A clean EOF before the length prefix is
/// [`FrameError::Closed`]; EOF inside a frame is an I/O error.
pub async fn read_frame<T, R>(reader: &mut R) -> Result<T, FrameError>
where
    T: DeserializeOwned,
    R: AsyncRead + Unpin,
{
    let mut len = [0u8; 4];
    match reader.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(FrameError::Closed),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge(len));
    }
    let mut payload = vec![0u8; len];
    reader.read_exact(&mut payload).await?;
    decode(&payload)
}

/// Decodes a frame payload (exposed for fuzzing and tests).
pub fn decode<T: DeserializeOwned>(payload: &[u8]) -> Result<T, FrameError> {
    let mut de = rmp_serde::Deserializer::from_read_ref(payload);
    de.set_max_depth(64);
    T::deserialize(&mut de).map_err(|e| FrameError::Malformed(e.to_string()))
}

/// Encodes `msg` as one frame and writes it (without flushing).
pub async fn write_frame<T, W>(writer: &mut W, msg: &T) -> Result<(), FrameError>
where
    T: Serialize,
    W: AsyncWrite + Unpin,
{
    let buf = encode(msg)?;
    writer.write_all(&buf).await?;
    Ok(())
}

/// Encodes `msg` as a complete frame (length prefix included).
pub fn encode<T: Serialize>(msg: &T) -> Result<Vec<u8>, FrameError> {
    let mut buf = vec![0u8; 4];
    rmp_serde::encode::write_named(&mut buf, msg)
        .map_err(|e| FrameError::Malformed(e.to_string()))?;
    let len = buf.len() - 4;
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge(len));
    }
    buf[..4].copy_from_slice(&(len as u32).to_be_bytes());
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Request, Response};
    use proptest::prelude::*;

    #[tokio::test]
    async fn round_trip() {
        let req = Request::Execute {
            program: vec![1, 2, 3],
            params: vec![rosetta_types::Value::Int32(7), rosetta_types::Value::Null],
            max_rows: 0,
        };
        let bytes = encode(&req).unwrap();
        let got: Request = read_frame(&mut &bytes[..]).await.unwrap();
        assert_eq!(got, req);
    }

    #[tokio::test]
    async fn oversized_length_is_refused_without_allocating() {
        let bytes = [0xff, 0xff, 0xff, 0xff];
        let got = read_frame::<Request, _>(&mut &bytes[..]).await;
        assert!(matches!(got, Err(FrameError::TooLarge(_))));
    }

    #[tokio::test]
    async fn truncated_frame_is_an_error() {
        let mut bytes = encode(&Response::Ok).unwrap();
        bytes[3] += 5;
        let got = read_frame::<Response, _>(&mut &bytes[..]).await;
        assert!(matches!(got, Err(FrameError::Io(_))));
    }

    #[tokio::test]
    async fn clean_eof_is_closed() {
        let got = read_frame::<Response, _>(&mut &[][..]).await;
        assert!(matches!(got, Err(FrameError::Closed)));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        /// Arbitrary payloads never panic the decoder, for either direction.
        #[test]
        fn decoder_is_total(payload in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode::<Request>(&payload);
            let _ = decode::<Response>(&payload);
        }
    }
}
