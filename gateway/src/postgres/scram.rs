//! SCRAM-SHA-256 (RFC 5802 / RFC 7677), server side, against PostgreSQL-style stored
//! verifiers.
//!
//! pgwire's built-in SCRAM wants a password-equivalent secret and compares proofs with
//! `==` (architecture §5). Here the engine hands us only `StoredKey`/`ServerKey` and we
//! verify the client's proof the way PostgreSQL does:
//!
//! ```text
//! ClientSignature = HMAC(StoredKey, AuthMessage)
//! ClientKey       = ClientProof XOR ClientSignature
//! ok              = SHA256(ClientKey) == StoredKey        (constant time)
//! ServerSignature = HMAC(ServerKey, AuthMessage)           (sent in server-final)
//! ```
//!
//! Unknown users get a complete, plausible exchange with a fake salt derived from the
//! user name and a per-process secret ([`ScramServer::new_fake`]), and fail at the end
//! exactly like a wrong password, so user names cannot be probed. Channel binding is not
//! offered (no TLS yet): a client asking for `p=` binding is refused.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rosetta_proto::ScramVerifier;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Iteration count announced for unknown users (PostgreSQL's default).
const FAKE_ITERATIONS: u32 = 4096;
/// Longest SCRAM message accepted from a client.
const MAX_SCRAM_MESSAGE: usize = 4096;

/// Why a SCRAM exchange failed. Every variant ends the connection with 28P01 or 08P01;
/// the distinction is for logs only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScramError {
    /// The client's message does not follow the SCRAM grammar.
    #[error("malformed SCRAM message: {0}")]
    Malformed(&'static str),
    /// The client wants channel binding, which we do not offer.
    #[error("channel binding is not supported")]
    ChannelBinding,
    /// Nonce or channel-binding echo does not match what was exchanged.
    #[error("SCRAM nonce or channel binding mismatch")]
    Mismatch,
    /// Wrong password (or unknown user).
    #[error("password authentication failed")]
    BadProof,
}

/// The server side of one SCRAM-SHA-256 exchange, between client-first and client-final.
pub struct ScramServer {
    verifier: ScramVerifier,
    /// False for the fake exchange of an unknown user: always fails at the end.
    real: bool,
    server_nonce: String,
    state: Option<FirstDone>,
}

struct FirstDone {
    client_first_bare: String,
    server_first: String,
    gs2_header: String,
    nonce: String,
}

impl std::fmt::Debug for ScramServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("ScramServer")
            .field("real", &self.real)
            .finish_non_exhaustive()
    }
}

impl ScramServer {
    /// An exchange against a real user's verifier, with a fresh random server nonce.
    pub fn new(verifier: ScramVerifier) -> Self {
        Self::with_nonce(verifier, true, random_nonce())
    }

    /// A fake exchange for an unknown user: the salt is derived deterministically from
    /// `user` and `process_secret` (the same user always sees the same salt, as a real
    /// one would), and the exchange always fails at the end.
    pub fn new_fake(user: &str, process_secret: &[u8]) -> Self {
        let salt = hmac(process_secret, user.as_bytes());
        let verifier = ScramVerifier {
            salt: salt[..16].to_vec(),
            iterations: FAKE_ITERATIONS,
            stored_key: hmac(process_secret, b"stored").to_vec(),
            server_key: hmac(process_secret, b"server").to_vec(),
        };
        Self::with_nonce(verifier, false, random_nonce())
    }

    fn with_nonce(verifier: ScramVerifier, real: bool, server_nonce: String) -> Self {
        Self {
            verifier,
            real,
            server_nonce,
            state: None,
        }
    }

    /// Handles client-first-message; returns server-first-message.
    pub fn client_first(&mut self, message: &[u8]) -> Result<String, ScramError> {
        if message.len() > MAX_SCRAM_MESSAGE {
            return Err(ScramError::Malformed("message too long"));
        }
        let message =
            std::str::from_utf8(message).map_err(|_| ScramError::Malformed("not UTF-8"))?;
        // gs2-header: cbind-flag "," [authzid] ","
        let (flag, rest) = message
            .split_once(',')
            .ok_or(ScramError::Malformed("missing gs2 header"))?;
        match flag {
            "n" | "y" => {}
            f if f.starts_with("p=") => return Err(ScramError::ChannelBinding),
            _ => return Err(ScramError::Malformed("bad channel binding flag")),
        }
        let (authzid, bare) = rest
            .split_once(',')
            .ok_or(ScramError::Malformed("missing gs2 header"))?;
        if !authzid.is_empty() && !authzid.starts_with("a=") {
            return Err(ScramError::Malformed("bad authzid"));
        }
        let gs2_header = format!("{flag},{authzid},");
        // client-first-message-bare: [reserved-mext ","] username "," nonce ["," ext]
        // PostgreSQL ignores the SCRAM user name (the startup packet's user counts).
        let mut client_nonce = None;
        for (i, attr) in bare.split(',').enumerate() {
            if i == 0 && attr.starts_with("m=") {
                return Err(ScramError::Malformed(
                    "mandatory extensions are not supported",
                ));
            }
            if let Some(n) = attr.strip_prefix("r=") {
                client_nonce = Some(n);
                break;
            }
        }
        let client_nonce = client_nonce.ok_or(ScramError::Malformed("missing nonce"))?;
        if client_nonce.is_empty()
            || !client_nonce
                .bytes()
                .all(|b| (0x21..=0x7e).contains(&b) && b != b',')
        {
            return Err(ScramError::Malformed("bad nonce"));
        }
        let nonce = format!("{client_nonce}{}", self.server_nonce);
        let server_first = format!(
            "r={nonce},s={},i={}",
            B64.encode(&self.verifier.salt),
            self.verifier.iterations
        );
        self.state = Some(FirstDone {
            client_first_bare: bare.to_string(),
            server_first: server_first.clone(),
            gs2_header,
            nonce,
        });
        Ok(server_first)
    }

    /// Handles client-final-message; returns server-final-message (`v=…`) when the proof
    /// is right.
    pub fn client_final(&mut self, message: &[u8]) -> Result<String, ScramError> {
        let first = self
            .state
            .take()
            .ok_or(ScramError::Malformed("client-final before client-first"))?;
        if message.len() > MAX_SCRAM_MESSAGE {
            return Err(ScramError::Malformed("message too long"));
        }
        let message =
            std::str::from_utf8(message).map_err(|_| ScramError::Malformed("not UTF-8"))?;
        let (without_proof, proof) = message
            .rsplit_once(",p=")
            .ok_or(ScramError::Malformed("missing proof"))?;
        let mut channel_binding = None;
        let mut nonce = None;
        for attr in without_proof.split(',') {
            if let Some(c) = attr.strip_prefix("c=") {
                channel_binding = Some(c);
            } else if let Some(r) = attr.strip_prefix("r=") {
                nonce = Some(r);
            }
        }
        let channel_binding = channel_binding.ok_or(ScramError::Malformed("missing c="))?;
        let nonce = nonce.ok_or(ScramError::Malformed("missing r="))?;
        let cb = B64
            .decode(channel_binding)
            .map_err(|_| ScramError::Malformed("bad c= encoding"))?;
        if cb != first.gs2_header.as_bytes() || nonce != first.nonce {
            return Err(ScramError::Mismatch);
        }
        let proof = B64
            .decode(proof)
            .map_err(|_| ScramError::Malformed("bad proof encoding"))?;
        if proof.len() != 32 || self.verifier.stored_key.len() != 32 {
            return Err(ScramError::BadProof);
        }
        let auth_message = format!(
            "{},{},{}",
            first.client_first_bare, first.server_first, without_proof
        );
        let client_signature = hmac(&self.verifier.stored_key, auth_message.as_bytes());
        let client_key: Vec<u8> = proof
            .iter()
            .zip(client_signature.iter())
            .map(|(a, b)| a ^ b)
            .collect();
        let computed: [u8; 32] = Sha256::digest(&client_key).into();
        let matches: bool = computed
            .as_slice()
            .ct_eq(self.verifier.stored_key.as_slice())
            .into();
        if !(matches && self.real) {
            return Err(ScramError::BadProof);
        }
        let server_signature = hmac(&self.verifier.server_key, auth_message.as_bytes());
        Ok(format!("v={}", B64.encode(server_signature)))
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return [0; 32],
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn random_nonce() -> String {
    let bytes: [u8; 18] = rand::random();
    B64.encode(bytes)
}

/// A random per-process secret for [`ScramServer::new_fake`].
pub fn process_secret() -> [u8; 32] {
    rand::random()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a PostgreSQL-style verifier from a password (what the engine stores).
    pub(crate) fn verifier(password: &str, salt: &[u8], iterations: u32) -> ScramVerifier {
        let mut salted = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, iterations, &mut salted);
        let client_key = hmac(&salted, b"Client Key");
        let server_key = hmac(&salted, b"Server Key");
        ScramVerifier {
            salt: salt.to_vec(),
            iterations,
            stored_key: Sha256::digest(client_key).to_vec(),
            server_key: server_key.to_vec(),
        }
    }

    fn rfc7677_server() -> ScramServer {
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").expect("salt");
        ScramServer::with_nonce(
            verifier("pencil", &salt, 4096),
            true,
            "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0".into(),
        )
    }

    #[test]
    fn rfc7677_test_vector() {
        let mut server = rfc7677_server();
        let first = server
            .client_first(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
            .expect("client-first");
        assert_eq!(
            first,
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        );
        let last = server
            .client_final(
                b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            )
            .expect("client-final");
        assert_eq!(last, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    }

    #[test]
    fn wrong_proof_fails() {
        let mut server = rfc7677_server();
        server
            .client_first(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
            .expect("client-first");
        let err = server
            .client_final(
                b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=AHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            )
            .expect_err("wrong proof");
        assert_eq!(err, ScramError::BadProof);
    }

    #[test]
    fn wrong_nonce_fails() {
        let mut server = rfc7677_server();
        server
            .client_first(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
            .expect("client-first");
        let err = server
            .client_final(
                b"c=biws,r=rOprNGfwEbeRWgbNEkqOXXX,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            )
            .expect_err("wrong nonce");
        assert_eq!(err, ScramError::Mismatch);
    }

    #[test]
    fn fake_exchange_is_stable_and_always_fails() {
        let secret = [7u8; 32];
        let mut a = ScramServer::new_fake("mallory", &secret);
        let mut b = ScramServer::new_fake("mallory", &secret);
        let fa = a.client_first(b"n,,n=,r=abc").expect("first");
        let fb = b.client_first(b"n,,n=,r=abc").expect("first");
        // Same salt and iterations each time (the nonce differs).
        let tail = |s: &str| s.split_once(",s=").map(|(_, t)| t.to_string());
        assert_eq!(tail(&fa), tail(&fb));
        let nonce = fa
            .strip_prefix("r=")
            .and_then(|s| s.split(',').next())
            .expect("nonce")
            .to_string();
        let msg = format!("c=biws,r={nonce},p={}", B64.encode([0u8; 32]));
        assert_eq!(a.client_final(msg.as_bytes()), Err(ScramError::BadProof));
    }

    #[test]
    fn malformed_messages_are_errors() {
        let mut s = rfc7677_server();
        for bad in [
            &b""[..],
            b"x",
            b"n,",
            b"n,,n=user",
            b"p=tls-server-end-point,,n=,r=a",
            b"\xff\xfe",
        ] {
            assert!(s.client_first(bad).is_err(), "{bad:?}");
        }
        let mut s = rfc7677_server();
        assert!(s.client_final(b"c=biws,r=x,p=y").is_err());
    }
}
