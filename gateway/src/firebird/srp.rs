//! The server side of Firebird's SRP-6a exchange (plugins `Srp` and `Srp256`, guide §4).
//!
//! ```text
//!  client                                   server (verifier v, salt s from the engine)
//!    A = g^a            ── hex(A) ──▶        refuse A mod N = 0
//!                       ◀── s, hex(B) ──     B = k·v + g^b
//!    u = H(A,B), K = SHA1(S)                 u = H(A,B), S = (A·v^u)^b, K = SHA1(S)
//!    M = H'(n1, n2, s, A, B, K) ── hex(M) ─▶ recompute M, compare in constant time
//! ```
//!
//! Firebird's quirks, all reproduced here: integers are hashed as minimal big-endian
//! bytes (only `k` pads `g`), the salt is hashed as its hex *text*, `n1` is
//! `SHA1(N)^SHA1(g) mod N` (a modular power, not XOR), `n2 = SHA1(USER)`, `K` is always
//! SHA-1 and only the proof `M` uses the plugin's hash (SHA-1 for `Srp`, SHA-256 for
//! `Srp256`). There is no server proof: a success answer is all the client gets.
//!
//! An unknown user gets a [`Exchange::fake`]: a random salt and verifier, so the first
//! answer looks the same and the failure comes only at the proof — user names cannot be
//! probed.

use num_bigint::BigUint;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const PRIME_HEX: &[u8] = b"E67D2E994B2F900C3F41F08F5BB2627ED0D49EE1FE767A52EFCD565CD6E768812C3E1E9CE8F0A8BEA6CB13CD29DDEBF7A96D4A93B55D488DF099A15C89DCB0640738EB2CBDD9A8F7BAB561AB1B0DC1C6CDABF303264A08D1BCA932D1F1EE428B619D970F342ABA9A65793B8B2F041AE5364350C16F735F56ECBCA87BD57B29E7";

/// Which proof hash the client's plugin uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plugin {
    /// `Srp`: SHA-1 proof.
    Srp,
    /// `Srp256`: SHA-256 proof.
    Srp256,
}

impl Plugin {
    /// The plugin for a name the client sent (`None`: not an SRP plugin we offer).
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim() {
            "Srp" => Some(Plugin::Srp),
            "Srp256" => Some(Plugin::Srp256),
            _ => None,
        }
    }

    /// The name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Plugin::Srp => "Srp",
            Plugin::Srp256 => "Srp256",
        }
    }
}

struct Group {
    n: BigUint,
    g: BigUint,
    k: BigUint,
}

fn group() -> Group {
    let n = BigUint::parse_bytes(PRIME_HEX, 16).unwrap_or_default();
    let g = BigUint::from(2u32);
    let n_bytes = n.to_bytes_be();
    let mut padded_g = vec![0u8; n_bytes.len().saturating_sub(1)];
    padded_g.push(2);
    let k = BigUint::from_bytes_be(
        &Sha1::new()
            .chain_update(&n_bytes)
            .chain_update(&padded_g)
            .finalize(),
    );
    Group { n, g, k }
}

fn sha1_int(parts: &[&[u8]]) -> BigUint {
    let mut h = Sha1::new();
    for p in parts {
        h.update(p);
    }
    BigUint::from_bytes_be(&h.finalize())
}

/// Parses an SRP integer sent as hex text (any case, odd lengths allowed).
pub fn parse_hex(text: &[u8]) -> Option<BigUint> {
    let text = std::str::from_utf8(text).ok()?.trim();
    if text.is_empty() || text.len() > 1024 {
        return None;
    }
    BigUint::parse_bytes(text.as_bytes(), 16)
}

/// The server's half of one SRP exchange.
#[derive(Debug, Clone)]
pub struct Exchange {
    salt: Vec<u8>,
    v: BigUint,
    b: BigUint,
    big_b: BigUint,
}

impl Exchange {
    /// Starts an exchange for a stored `(salt, verifier)` with a fresh random `b`.
    pub fn new(salt: &[u8], verifier: &[u8]) -> Self {
        let b: [u8; 128] = rand_bytes();
        Self::with_secret(salt, verifier, &b)
    }

    /// A decoy exchange for an unknown user: random salt and verifier.
    pub fn fake() -> Self {
        let raw: [u8; 32] = rand_bytes();
        let salt: String = raw.iter().map(|b| format!("{b:02X}")).collect();
        let v: [u8; 128] = rand_bytes();
        Self::new(salt.as_bytes(), &v)
    }

    /// Deterministic form of [`Exchange::new`] (tests).
    pub fn with_secret(salt: &[u8], verifier: &[u8], b: &[u8]) -> Self {
        let grp = group();
        let v = BigUint::from_bytes_be(verifier) % &grp.n;
        let b = BigUint::from_bytes_be(b) % &grp.n;
        let big_b = (&grp.k * &v + grp.g.modpow(&b, &grp.n)) % &grp.n;
        Self {
            salt: salt.to_vec(),
            v,
            b,
            big_b,
        }
    }

    /// The server's first answer: `u16 LE len(salt) ‖ salt ‖ u16 LE len(hexB) ‖ hexB`.
    pub fn server_data(&self) -> Vec<u8> {
        let hex_b = format!("{:X}", self.big_b);
        let mut out = Vec::with_capacity(4 + self.salt.len() + hex_b.len());
        out.extend_from_slice(&(self.salt.len() as u16).to_le_bytes());
        out.extend_from_slice(&self.salt);
        out.extend_from_slice(&(hex_b.len() as u16).to_le_bytes());
        out.extend_from_slice(hex_b.as_bytes());
        out
    }

    /// The session key `K` for the client's public key `A` (`None` if `A` is invalid).
    pub fn session_key(&self, a: &BigUint) -> Option<[u8; 20]> {
        let grp = group();
        if (a % &grp.n) == BigUint::default() {
            return None;
        }
        let u = sha1_int(&[&a.to_bytes_be(), &self.big_b.to_bytes_be()]);
        let s = (a * self.v.modpow(&u, &grp.n)).modpow(&self.b, &grp.n);
        let mut key = [0u8; 20];
        key.copy_from_slice(&Sha1::digest(s.to_bytes_be()));
        Some(key)
    }

    /// The proof `M` a client with the right password sends, for `user` (already
    /// normalised), public key `A` and session key `K`.
    pub fn expected_proof(
        &self,
        plugin: Plugin,
        user: &str,
        a: &BigUint,
        key: &[u8; 20],
    ) -> Vec<u8> {
        let grp = group();
        let n1 =
            sha1_int(&[&grp.n.to_bytes_be()]).modpow(&sha1_int(&[&grp.g.to_bytes_be()]), &grp.n);
        let n2 = sha1_int(&[user.as_bytes()]);
        let parts: [&[u8]; 6] = [
            &n1.to_bytes_be(),
            &n2.to_bytes_be(),
            &self.salt,
            &a.to_bytes_be(),
            &self.big_b.to_bytes_be(),
            key,
        ];
        match plugin {
            Plugin::Srp => {
                let mut h = Sha1::new();
                parts.iter().for_each(|p| h.update(p));
                h.finalize().to_vec()
            }
            Plugin::Srp256 => {
                let mut h = Sha256::new();
                parts.iter().for_each(|p| h.update(p));
                h.finalize().to_vec()
            }
        }
    }

    /// Checks the client's proof (hex text); returns the session key on success.
    pub fn verify(
        &self,
        plugin: Plugin,
        user: &str,
        a_hex: &[u8],
        proof_hex: &[u8],
    ) -> Option<[u8; 20]> {
        let a = parse_hex(a_hex)?;
        let key = self.session_key(&a);
        // Compute the expected proof even for an invalid A so that timing says nothing.
        let expected = self.expected_proof(plugin, user, &a, &key.unwrap_or([0; 20]));
        let received = parse_hex(proof_hex)?.to_bytes_be();
        let mut padded = vec![0u8; expected.len().saturating_sub(received.len())];
        padded.extend_from_slice(&received);
        let ok: bool = padded.ct_eq(&expected).into();
        if ok {
            key
        } else {
            None
        }
    }
}

fn rand_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    rand::fill(&mut out[..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(hex: &str) -> BigUint {
        BigUint::parse_bytes(hex.as_bytes(), 16).expect("hex")
    }

    const SALT: &[u8] = b"9E21D9C5BD2F8AB31C5A3D53C5B2C2F4F93E8F0A4B6D0E1F2A3B4C5D6E7F8091";
    const V: &str = "38F091AC9C65AB518C9CB491D961ADE0C1C9660F3D3625EE6E925698E9784E6CB9602131A68087C31E8AFC120E8AF9EAD03A6978817DB573376FCD39C420DABE45D353A6631E180607F2F20693BEC536B695733FE5DAFAB77ECF1901009F2CB6FCA81E0EAF4D6E93E21CFAEE8373672CCA8D920DAC85EA8A5DD3A7303013855";
    const A: &str = "712C5F8A2DB82464C4D640AE971025AA50AB64906D4F044F822E8AF8A58ADABBDBE1EFABA00BCCD4CDAA8A955BC43C3600BEAB9EBB9BD41ACC56E37F1A48F17293F24E876B53EEA6A60712D3F943769056B63202416827B400E162A8C0938D482274307585E0BC1D9DD52EFA7330B28E41B7CFCEFD9E8523FD11440EE5DE93A8";

    fn reference() -> Exchange {
        let b = int("1A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F708192A3B4C5D6E7F809");
        Exchange::with_secret(SALT, &int(V).to_bytes_be(), &b.to_bytes_be())
    }

    /// Appendix B of the guide: k, B, K and both proofs.
    #[test]
    fn matches_the_reference_vector() {
        assert_eq!(group().k, int("DFC212B4BD69674855CFCEB30002B5C306AC60B5"));
        let ex = reference();
        assert_eq!(ex.big_b, int("3FB96EB485E309A6A83DCE359D697345FE69D1D732045A24CB34467722C89D3E2F23A60B33EA2EDF60B3BB35A3DA5D5A3979E1F4DD4C34132DA46A95B9AAA0CFB3278EA8923215B72F5A213605CB564C902A460996BAD36DC9FF19C10FC921462C2A08261B7D469A5FA97A1DB21E6748D583E4E74C49697FB745B231685BFB5F"));
        let key = ex.session_key(&int(A)).expect("key");
        assert_eq!(
            BigUint::from_bytes_be(&key),
            int("55A6B56E68F1ABBC62A64B56A06FC3370FB46270")
        );
        let m1 = "CFB6BAAB3580AD3339C668B24C88CA5DA9876C15";
        let m256 = "6026771A8AE0A41EA389C80A77A5076F4624D99A222C17CAB48107FCBD92C25A";
        assert_eq!(
            ex.verify(Plugin::Srp, "SYSDBA", A.as_bytes(), m1.as_bytes()),
            Some(key)
        );
        assert_eq!(
            ex.verify(
                Plugin::Srp256,
                "SYSDBA",
                A.to_lowercase().as_bytes(),
                m256.to_lowercase().as_bytes()
            ),
            Some(key)
        );
        assert_eq!(
            ex.verify(Plugin::Srp256, "SYSDBA", A.as_bytes(), m1.as_bytes()),
            None
        );
        assert_eq!(
            ex.verify(Plugin::Srp, "OTHER", A.as_bytes(), m1.as_bytes()),
            None
        );
    }

    #[test]
    fn server_data_layout() {
        let data = reference().server_data();
        assert_eq!(&data[..2], &[64, 0]);
        assert_eq!(&data[2..66], SALT);
        let len = u16::from_le_bytes([data[66], data[67]]) as usize;
        assert_eq!(data.len(), 68 + len);
    }

    #[test]
    fn zero_a_and_garbage_are_refused() {
        let ex = reference();
        assert_eq!(ex.verify(Plugin::Srp, "SYSDBA", b"0", b"00"), None);
        assert_eq!(ex.verify(Plugin::Srp, "SYSDBA", b"zz", b"00"), None);
        assert_eq!(ex.verify(Plugin::Srp, "SYSDBA", b"", b""), None);
        let _ = Exchange::fake().server_data();
    }
}
