//! `mysql_native_password`: the client proves it knows the password with
//! `SHA1(password) XOR SHA1(scramble ‖ SHA1(SHA1(password)))`; the engine stores only
//! `SHA1(SHA1(password))`. The check recovers `SHA1(password)` from the proof and compares
//! its hash with the stored one in constant time.

use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

/// Length of a SHA-1 digest, of the proof and of the stored verifier.
const DIGEST_LEN: usize = 20;

/// True when `proof` (the client's auth response) proves knowledge of the password whose
/// `SHA1(SHA1(password))` is `stored`, for the per-connection `scramble`.
///
/// An empty stored verifier never matches (a user created without a MySQL verifier
/// cannot log in over MySQL), and neither does an empty proof.
pub fn verify_native(scramble: &[u8], stored: &[u8], proof: &[u8]) -> bool {
    if stored.len() != DIGEST_LEN || proof.len() != DIGEST_LEN {
        // Still hash, so that a wrong-length answer costs about the same time.
        let _ = Sha1::digest(scramble);
        return false;
    }
    let mut h = Sha1::new();
    h.update(scramble);
    h.update(stored);
    let mask = h.finalize();
    let stage1: Vec<u8> = proof.iter().zip(mask.iter()).map(|(a, b)| a ^ b).collect();
    let candidate = Sha1::digest(&stage1);
    candidate.as_slice().ct_eq(stored).into()
}

/// The proof a client computes (for tests and for the fake check on unknown users).
pub fn client_proof(scramble: &[u8], password: &str) -> Vec<u8> {
    let stage1 = Sha1::digest(password.as_bytes());
    let stage2 = Sha1::digest(stage1);
    let mut h = Sha1::new();
    h.update(scramble);
    h.update(stage2);
    let mask = h.finalize();
    stage1.iter().zip(mask.iter()).map(|(a, b)| a ^ b).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(password: &str) -> Vec<u8> {
        Sha1::digest(Sha1::digest(password.as_bytes())).to_vec()
    }

    #[test]
    fn right_password_verifies() {
        let scramble = b"abcdefghijklmnopqrst";
        let proof = client_proof(scramble, "secret");
        assert!(verify_native(scramble, &stored("secret"), &proof));
    }

    #[test]
    fn wrong_password_or_scramble_fails() {
        let scramble = b"abcdefghijklmnopqrst";
        let proof = client_proof(scramble, "wrong");
        assert!(!verify_native(scramble, &stored("secret"), &proof));
        let proof = client_proof(b"ABCDEFGHIJKLMNOPQRST", "secret");
        assert!(!verify_native(scramble, &stored("secret"), &proof));
        assert!(!verify_native(scramble, &stored("secret"), &[]));
        assert!(!verify_native(scramble, &[], &proof));
    }
}
