//! Packet framing: every MySQL message is one or more packets of a 3-byte little-endian
//! payload length, a 1-byte sequence number and the payload. A payload of 2²⁴−1 bytes
//! means "continued in the next packet".
//!
//! ```text
//!   | len (3, LE) | seq (1) | payload (len) |
//! ```
//!
//! The sequence number restarts at 0 with each command from the client and counts up
//! through the server's answer; [`PacketWriter`] continues from the client's last number.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest payload of a single packet; a payload this long continues in the next one.
const MAX_CHUNK: usize = 0xff_ffff;
/// Buffered output is flushed to the socket once it grows past this.
const FLUSH_AT: usize = 64 * 1024;

/// Reads whole (reassembled) packets from the client.
#[derive(Debug)]
pub struct PacketReader<R> {
    inner: R,
    /// Largest reassembled payload accepted.
    max_payload: usize,
}

impl<R: AsyncRead + Unpin> PacketReader<R> {
    /// Reads from `inner`, refusing payloads larger than `max_payload`.
    pub fn new(inner: R, max_payload: usize) -> Self {
        Self { inner, max_payload }
    }

    /// The next payload and the sequence number of its last packet; `None` when the
    /// client closed the connection between packets. Oversized payloads are an
    /// `InvalidData` error (the caller answers with an error packet and closes).
    pub async fn next(&mut self) -> io::Result<Option<(u8, Vec<u8>)>> {
        let mut payload = Vec::new();
        let mut first = true;
        loop {
            let mut header = [0u8; 4];
            if first {
                // A clean close before a header is the normal end of a session.
                match self.inner.read(&mut header[..1]).await? {
                    0 => return Ok(None),
                    _ => self.inner.read_exact(&mut header[1..]).await?,
                };
            } else {
                self.inner.read_exact(&mut header).await?;
            }
            first = false;
            let len =
                usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
            let seq = header[3];
            if payload.len() + len > self.max_payload {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "packet larger than max_allowed_packet ({} bytes)",
                        self.max_payload
                    ),
                ));
            }
            let start = payload.len();
            payload.resize(start + len, 0);
            self.inner.read_exact(&mut payload[start..]).await?;
            if len < MAX_CHUNK {
                return Ok(Some((seq, payload)));
            }
        }
    }
}

/// Buffers the server's packets and writes them with consecutive sequence numbers.
#[derive(Debug)]
pub struct PacketWriter<W> {
    inner: W,
    buf: Vec<u8>,
    seq: u8,
}

impl<W: AsyncWrite + Unpin> PacketWriter<W> {
    /// Writes to `inner`.
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            buf: Vec::with_capacity(FLUSH_AT),
            seq: 0,
        }
    }

    /// Sets the sequence number of the next packet (the client's number + 1).
    pub fn set_seq(&mut self, seq: u8) {
        self.seq = seq;
    }

    /// Queues one message, split into packets as needed; flushes when the buffer is big.
    pub async fn write(&mut self, payload: &[u8]) -> io::Result<()> {
        let mut rest = payload;
        loop {
            let n = rest.len().min(MAX_CHUNK);
            let len = (n as u32).to_le_bytes();
            self.buf.extend_from_slice(&len[..3]);
            self.buf.push(self.seq);
            self.seq = self.seq.wrapping_add(1);
            self.buf.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            if n < MAX_CHUNK {
                break;
            }
        }
        if self.buf.len() >= FLUSH_AT {
            self.flush().await?;
        }
        Ok(())
    }

    /// Sends everything queued.
    pub async fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.inner.write_all(&self.buf).await?;
            self.buf.clear();
        }
        self.inner.flush().await
    }

    /// Flushes and closes the write side.
    pub async fn shutdown(&mut self) -> io::Result<()> {
        self.flush().await?;
        self.inner.shutdown().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn packets_round_trip_including_continuations() {
        let (a, b) = tokio::io::duplex(1 << 20);
        let big_len = MAX_CHUNK + 10;
        // The writer runs concurrently: the pipe holds less than one big packet.
        let writer = tokio::spawn(async move {
            let mut w = PacketWriter::new(a);
            w.set_seq(3);
            w.write(b"hello").await.unwrap();
            w.write(&vec![7u8; big_len]).await.unwrap();
            w.flush().await.unwrap();
        });
        let mut r = PacketReader::new(b, 32 << 20);
        assert_eq!(r.next().await.unwrap(), Some((3, b"hello".to_vec())));
        let (seq, p) = r.next().await.unwrap().unwrap();
        assert_eq!((seq, p.len()), (5, big_len));
        writer.await.unwrap();
        assert_eq!(r.next().await.unwrap(), None);
    }

    #[tokio::test]
    async fn oversized_payloads_are_refused() {
        let (mut a, b) = tokio::io::duplex(1024);
        a.write_all(&[100, 0, 0, 0]).await.unwrap();
        let mut r = PacketReader::new(b, 10);
        assert!(r.next().await.is_err());
    }
}
