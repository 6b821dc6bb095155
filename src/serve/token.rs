//! The token check, one for the API (the `Authorization` header) and the
//! web UI (the header or `?token=`): compared in constant time, so how long
//! a refusal takes says nothing of how much of a guess was right.

/// Constant-time equality: every byte is compared whatever differs.
pub(super) fn same(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u8 | u8::from(a.len() != b.len());
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= x ^ y;
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    #[test]
    fn same_is_equality() {
        assert!(super::same(b"secret", b"secret"));
        assert!(!super::same(b"secret", b"secreT"));
        assert!(!super::same(b"secret", b"secret2"));
        assert!(!super::same(b"", b"x"));
        assert!(super::same(b"", b""));
    }
}
