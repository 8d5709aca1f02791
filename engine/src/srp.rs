//! Firebird SRP verifiers.
//!
//! Firebird's `Srp` and `Srp256` authentication plugins are SRP-6a over a fixed 1024-bit
//! group. The server keeps, per user, a salt and a verifier `v = g^x mod N` where
//! `x = SHA1(salt ‖ SHA1(USER ‖ ":" ‖ password))`; the password itself is never stored.
//! Two Firebird conventions matter and are easy to miss:
//!
//! * the salt that is hashed is the *hex text* Firebird sends (64 upper-case characters
//!   for 32 random bytes), not the raw bytes — so we store that text as the salt;
//! * `USER` is the user name as Firebird normalises it: an unquoted name is upper-cased
//!   (the engine's user `admin` is `ADMIN` to Firebird clients).
//!
//! The gateway runs the exchange itself (`rosetta_gateway::firebird::srp`) from what is
//! computed here; both use the same group constants.

use num_bigint::BigUint;
use sha1::{Digest, Sha1};

/// The group prime `N` of Firebird's SRP (hex).
pub const PRIME_HEX: &str = "E67D2E994B2F900C3F41F08F5BB2627ED0D49EE1FE767A52EFCD565CD6E768812C3E1E9CE8F0A8BEA6CB13CD29DDEBF7A96D4A93B55D488DF099A15C89DCB0640738EB2CBDD9A8F7BAB561AB1B0DC1C6CDABF303264A08D1BCA932D1F1EE428B619D970F342ABA9A65793B8B2F041AE5364350C16F735F56ECBCA87BD57B29E7";

/// The group generator `g`.
pub const GENERATOR: u32 = 2;

/// The verifier Firebird clients can authenticate against, for `user` (any case: it is
/// upper-cased here) with a fresh random salt.
pub fn verifier(user: &str, password: &str) -> rosetta_proto::SrpVerifier {
    let raw: [u8; 32] = rand::random();
    let salt: String = raw.iter().map(|b| format!("{b:02X}")).collect();
    verifier_with_salt(user, password, salt.as_bytes())
}

/// The verifier for a given salt text (deterministic; used by tests and by
/// [`verifier`]).
pub fn verifier_with_salt(user: &str, password: &str, salt: &[u8]) -> rosetta_proto::SrpVerifier {
    let user = user.to_uppercase();
    let inner = Sha1::new()
        .chain_update(user.as_bytes())
        .chain_update(b":")
        .chain_update(password.as_bytes())
        .finalize();
    let x = BigUint::from_bytes_be(
        &Sha1::new()
            .chain_update(salt)
            .chain_update(inner)
            .finalize(),
    );
    let v = BigUint::from(GENERATOR).modpow(&x, &prime());
    rosetta_proto::SrpVerifier {
        salt: salt.to_vec(),
        verifier: v.to_bytes_be(),
    }
}

fn prime() -> BigUint {
    // The constant is valid hex, so parsing cannot fail; an empty fallback would only make
    // every login fail, never panic.
    BigUint::parse_bytes(PRIME_HEX.as_bytes(), 16).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Appendix B of the Firebird wire guide (cross-checked with firebirdsql's `srp.py`).
    #[test]
    fn matches_the_reference_vector() {
        let salt = b"9E21D9C5BD2F8AB31C5A3D53C5B2C2F4F93E8F0A4B6D0E1F2A3B4C5D6E7F8091";
        let v = verifier_with_salt("sysdba", "masterkey", salt);
        let expected = BigUint::parse_bytes(
            b"38F091AC9C65AB518C9CB491D961ADE0C1C9660F3D3625EE6E925698E9784E6CB9602131A68087C31E8AFC120E8AF9EAD03A6978817DB573376FCD39C420DABE45D353A6631E180607F2F20693BEC536B695733FE5DAFAB77ECF1901009F2CB6FCA81E0EAF4D6E93E21CFAEE8373672CCA8D920DAC85EA8A5DD3A7303013855",
            16,
        )
        .expect("hex");
        assert_eq!(BigUint::from_bytes_be(&v.verifier), expected);
        assert_eq!(v.salt, salt.to_vec());
    }

    #[test]
    fn fresh_salts_are_64_hex_characters() {
        let a = verifier("admin", "pw");
        let b = verifier("admin", "pw");
        assert_eq!(a.salt.len(), 64);
        assert!(a.salt.iter().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a.salt, b.salt);
    }
}
