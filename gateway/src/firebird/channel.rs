//! The byte channel of one Firebird connection: TCP, optional Arc4, and packet framing by
//! trial decoding.
//!
//! ```text
//!   socket ──read──▶ [Arc4 decrypt] ──▶ inbox ──decode(packet fn)──▶ request
//!   answer ──▶ outbox ──flush──▶ [Arc4 encrypt] ──▶ socket
//! ```
//!
//! Since packets have no length prefix, [`Channel::next`] runs a decoder over the bytes
//! received so far and reads more only when the decoder says [`XdrError::Incomplete`].
//! The inbox is capped ([`MAX_INBOX`]): a client that sends an endless "packet" is cut off.
//! Answers are collected in the outbox and flushed just before the channel has to wait for
//! the client — so pipelined ("lazy") requests get all their answers in one write, and an
//! answer is never held back while the client waits for it.
//!
//! Arc4 (RC4 keyed with the 20-byte SRP session key, one state per direction, no
//! discarded keystream; guide §6.2) is switched on by [`Channel::enable_arc4`] for both
//! directions at once; bytes already in the inbox that follow the switching packet are
//! decrypted then.

use rc4::{consts::U20, KeyInit, Rc4, StreamCipher};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::xdr::{Reader, XdrError};

/// The most undecoded input a connection may hold (a single packet can be this large).
pub const MAX_INBOX: usize = 64 * 1024 * 1024;

/// Why the channel stopped.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// The socket failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The client sent bytes that are not a packet we understand.
    #[error("{0}")]
    Malformed(String),
    /// The client closed the connection in the middle of a packet.
    #[error("connection closed inside a packet")]
    Truncated,
    /// A packet grew beyond [`MAX_INBOX`].
    #[error("packet larger than {MAX_INBOX} bytes")]
    TooLarge,
}

/// One connection's transport.
pub struct Channel<S> {
    stream: S,
    inbox: Vec<u8>,
    start: usize,
    outbox: Vec<u8>,
    read_cipher: Option<Rc4<U20>>,
    write_cipher: Option<Rc4<U20>>,
}

impl<S> std::fmt::Debug for Channel<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("buffered", &(self.inbox.len() - self.start))
            .field("pending_out", &self.outbox.len())
            .field("encrypted", &self.read_cipher.is_some())
            .finish()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Channel<S> {
    /// Wraps a connected stream (plaintext).
    pub fn new(stream: S) -> Self {
        Self {
            stream,
            inbox: Vec::with_capacity(16 * 1024),
            start: 0,
            outbox: Vec::with_capacity(16 * 1024),
            read_cipher: None,
            write_cipher: None,
        }
    }

    /// Decodes the next packet with `decode`, reading more bytes as needed. `Ok(None)`:
    /// the client closed the connection between packets.
    pub async fn next<T>(
        &mut self,
        mut decode: impl FnMut(&mut Reader<'_>) -> Result<T, XdrError>,
    ) -> Result<Option<T>, ChannelError> {
        loop {
            if self.start < self.inbox.len() {
                let mut reader = Reader::new(&self.inbox[self.start..]);
                match decode(&mut reader) {
                    Ok(packet) => {
                        self.start += reader.position();
                        if self.start == self.inbox.len() {
                            self.inbox.clear();
                            self.start = 0;
                        }
                        return Ok(Some(packet));
                    }
                    Err(XdrError::Malformed(why)) => {
                        let head = &self.inbox[self.start..self.inbox.len().min(self.start + 64)];
                        tracing::debug!(?head, "malformed packet: {why}");
                        return Err(ChannelError::Malformed(why));
                    }
                    Err(XdrError::Incomplete) => {}
                }
            }
            if self.inbox.len() - self.start >= MAX_INBOX {
                return Err(ChannelError::TooLarge);
            }
            self.flush().await?;
            if self.start > 0 {
                self.inbox.drain(..self.start);
                self.start = 0;
            }
            let old = self.inbox.len();
            let want = (old + 64 * 1024).min(MAX_INBOX + 64 * 1024);
            self.inbox.resize(want, 0);
            let n = match self.stream.read(&mut self.inbox[old..]).await {
                Ok(n) => n,
                Err(e) => {
                    self.inbox.truncate(old);
                    return Err(e.into());
                }
            };
            self.inbox.truncate(old + n);
            if n == 0 {
                return if old == 0 {
                    Ok(None)
                } else {
                    Err(ChannelError::Truncated)
                };
            }
            if let Some(cipher) = &mut self.read_cipher {
                cipher.apply_keystream(&mut self.inbox[old..]);
            }
        }
    }

    /// Reads what the client sends next into the inbox (decrypted); `false` at end of
    /// stream. Cancel-safe (nothing is lost when the future is dropped before it
    /// completes), so it can race a running statement to notice an `op_cancel`; the
    /// `op_cancel` packets at the start of what was read are taken out and returned
    /// (their kinds). A client sends `op_cancel` on its own while it waits, so it starts a
    /// read even when deferred packets (isql's `op_fetch`) are still in the inbox.
    pub async fn read_more(&mut self, cancels: &mut Vec<i32>) -> Result<bool, ChannelError> {
        let mut buf = [0u8; 4096];
        let n = self.stream.read(&mut buf).await?;
        let Some(chunk) = buf.get_mut(..n).filter(|c| !c.is_empty()) else {
            return Ok(false);
        };
        if self.inbox.len() - self.start >= MAX_INBOX {
            return Err(ChannelError::TooLarge);
        }
        if let Some(cipher) = &mut self.read_cipher {
            cipher.apply_keystream(chunk);
        }
        let mut rest: &[u8] = chunk;
        while let Some((kind, after)) = cancel_packet(rest) {
            cancels.push(kind);
            rest = after;
        }
        self.inbox.extend_from_slice(rest);
        Ok(true)
    }

    /// True when a complete or partial packet is already buffered (the client pipelined).
    pub fn has_buffered_input(&self) -> bool {
        self.start < self.inbox.len()
    }

    /// Queues an answer (written at the next [`Channel::flush`]).
    pub fn send(&mut self, bytes: &[u8]) {
        self.outbox.extend_from_slice(bytes);
    }

    /// Encrypts (if on) and writes everything queued.
    pub async fn flush(&mut self) -> Result<(), ChannelError> {
        if self.outbox.is_empty() {
            return Ok(());
        }
        if let Some(cipher) = &mut self.write_cipher {
            cipher.apply_keystream(&mut self.outbox);
        }
        self.stream.write_all(&self.outbox).await?;
        self.stream.flush().await?;
        self.outbox.clear();
        Ok(())
    }

    /// Switches both directions to Arc4 keyed with `key` (the SRP session key). Answers
    /// queued before this call still go out in plaintext; flush them first if they must.
    pub fn enable_arc4(&mut self, key: &[u8; 20]) {
        let mut read = Rc4::<U20>::new(key.into());
        let write = Rc4::<U20>::new(key.into());
        if self.start < self.inbox.len() {
            read.apply_keystream(&mut self.inbox[self.start..]);
        }
        self.read_cipher = Some(read);
        self.write_cipher = Some(write);
    }

    /// True once Arc4 is on.
    pub fn encrypted(&self) -> bool {
        self.write_cipher.is_some()
    }

    /// Flushes and shuts the write side down (best effort).
    pub async fn close(&mut self) {
        let _ = self.flush().await;
        let _ = self.stream.shutdown().await;
    }
}

/// An `op_cancel` packet at the start of `bytes`: its kind and the bytes after it.
fn cancel_packet(bytes: &[u8]) -> Option<(i32, &[u8])> {
    let (op, rest) = bytes.split_first_chunk::<4>()?;
    if i32::from_be_bytes(*op) != 91 {
        return None;
    }
    let (kind, rest) = rest.split_first_chunk::<4>()?;
    Some((i32::from_be_bytes(*kind), rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Appendix B: the first keystream bytes of RC4 keyed with the reference session key.
    #[test]
    fn arc4_matches_the_reference_keystream() {
        let key: [u8; 20] = hex("55A6B56E68F1ABBC62A64B56A06FC3370FB46270");
        let mut cipher = Rc4::<U20>::new(&key.into());
        let mut buf = [0u8; 16];
        cipher.apply_keystream(&mut buf);
        assert_eq!(
            buf.to_vec(),
            hex::<16>("c001f1262d26fbdd5566f17a883b5a6e").to_vec()
        );
    }

    fn hex<const N: usize>(s: &str) -> [u8; N] {
        let mut out = [0u8; N];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap_or(0);
        }
        out
    }

    #[tokio::test]
    async fn cancel_is_taken_while_a_request_runs() {
        let (client, server) = tokio::io::duplex(1024);
        let mut channel = Channel::new(server);
        let mut client = client;
        let mut bytes = 91i32.to_be_bytes().to_vec();
        bytes.extend(3i32.to_be_bytes());
        bytes.extend(93i32.to_be_bytes());
        client.write_all(&bytes).await.expect("write");
        let mut cancels = Vec::new();
        assert!(channel.read_more(&mut cancels).await.expect("read"));
        assert_eq!(cancels, vec![3]);
        // The op_ping after it stays for the ordinary decoder.
        let op = channel.next(|r| r.int()).await.expect("next");
        assert_eq!(op, Some(93));
        // A truncated op_cancel is not taken.
        client.write_all(&91i32.to_be_bytes()).await.expect("write");
        assert!(channel.read_more(&mut cancels).await.expect("read"));
        assert_eq!(cancels, vec![3]);
    }

    #[tokio::test]
    async fn split_and_pipelined_packets_are_framed() {
        let (client, server) = tokio::io::duplex(64);
        let mut channel = Channel::new(server);
        let writer = tokio::spawn(async move {
            let mut client = client;
            // Two packets (int + buffer), delivered byte by byte.
            let mut w = super::super::xdr::Writer::new();
            w.int(1).buffer(b"hello").int(2).buffer(b"x");
            for b in w.into_bytes() {
                client.write_all(&[b]).await.ok();
            }
            client
        });
        let decode = |r: &mut Reader<'_>| -> Result<(i32, Vec<u8>), XdrError> {
            Ok((r.int()?, r.buffer()?.to_vec()))
        };
        assert_eq!(
            channel.next(decode).await.ok().flatten(),
            Some((1, b"hello".to_vec()))
        );
        assert_eq!(
            channel.next(decode).await.ok().flatten(),
            Some((2, b"x".to_vec()))
        );
        drop(writer.await);
        assert!(matches!(channel.next(decode).await, Ok(None)));
    }
}
