//! The token check, one for the API (the `Authorization` header) and the
//! web UI (the header or `?token=`): compared in constant time, so how long
//! a refusal takes says nothing of how much of a guess was right.
//!
//! `subtle`'s `ConstantTimeEq` does the comparing, since a hand-written
//! loop is one the optimizer may turn into an early exit. It compares
//! slices of one length only (a length that differs returns at once), so
//! both sides are first padded to the longer one and the lengths compared
//! apart: the time then grows with the longer of the guess and the token,
//! and tells a caller nothing it did not send.

use subtle::ConstantTimeEq;

/// Constant-time equality: every byte is compared whatever differs.
pub fn same(given: &[u8], token: &[u8]) -> bool {
    let n = given.len().max(token.len());
    let pad = |s: &[u8]| {
        let mut v = vec![0u8; n];
        v[..s.len()].copy_from_slice(s);
        v
    };
    let bytes = pad(given).ct_eq(&pad(token));
    let lens = (given.len() as u64).ct_eq(&(token.len() as u64));
    (bytes & lens).into()
}

#[cfg(test)]
mod tests {
    #[test]
    fn same_is_equality() {
        assert!(super::same(b"secret", b"secret"));
        assert!(!super::same(b"secret", b"secreT"));
        assert!(!super::same(b"secret", b"secret2"));
        assert!(
            !super::same(b"secret", b"secret\0"),
            "padding is not a match"
        );
        assert!(!super::same(b"", b"x"));
        assert!(super::same(b"", b""));
    }
}
