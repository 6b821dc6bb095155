//! `--allow-target`: where a run may send its traffic.
//!
//! An entry is a host-name glob (`*.svc.local`, `localhost`), matched
//! against the URL's host as the caller wrote it: the operator named that
//! host and trusts whatever it resolves to. Or it is an address entry: an
//! IPv4 or IPv6 address, a CIDR block (`10.0.0.0/8`, `fd00::/8`), or an
//! IPv4 glob made only of digits, dots and `*` (`10.0.0.*`). A host passes
//! the address entries only when every address its one lookup gave lies
//! inside them; a name never passes an address entry by how it reads, since
//! `10.0.0.1.attacker.test` resolves wherever its owner likes. The lookup
//! that was checked is the one the run connects with (`Resolved`, pinned
//! into the run's flags), so a rebinding DNS gets no second question.

use super::refusal::Refusal;
use crate::config::url::{lookup, parse_url, Resolved};
use std::net::IpAddr;

/// `--allow-target`'s entries, checked at start.
#[derive(Clone, Debug, Default)]
pub struct AllowList {
    entries: Vec<Entry>,
    /// The list as the operator gave it, for refusals.
    given: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
enum Entry {
    /// A lowercased host-name glob.
    Name(String),
    /// A network (host bits cleared) and its prefix length.
    Net(IpAddr, u8),
    /// An IPv4 glob over the dotted quad.
    V4Glob(String),
}

impl AllowList {
    /// Check each entry; the error names the first bad one and why.
    pub fn parse(list: &[String]) -> Result<AllowList, String> {
        let entries = list
            .iter()
            .map(|e| entry(e.trim()).map_err(|why| format!("--allow-target '{}': {why}", e.trim())))
            .collect::<Result<_, _>>()?;
        Ok(AllowList {
            entries,
            given: list.iter().map(|e| e.trim().to_string()).collect(),
        })
    }

    /// No list: any target.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether a name entry matches `host` (case does not matter).
    pub fn names(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.entries.iter().any(|e| match e {
            Entry::Name(g) => glob(g.as_bytes(), host.as_bytes()),
            _ => false,
        })
    }

    /// Whether the list has an address entry at all.
    pub fn has_addresses(&self) -> bool {
        self.entries.iter().any(|e| !matches!(e, Entry::Name(_)))
    }

    /// Whether `ip` lies inside an address entry. An IPv4-mapped IPv6
    /// address is judged as the IPv4 address it reaches.
    pub fn holds(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.entries.iter().any(|e| match (e, ip) {
            (Entry::Net(net, len), _) => masked(ip, *len) == Some(*net),
            (Entry::V4Glob(g), IpAddr::V4(v4)) => glob(g.as_bytes(), v4.to_string().as_bytes()),
            _ => false,
        })
    }
}

/// One entry: an address, a CIDR block, an IPv4 glob, or a name glob.
fn entry(e: &str) -> Result<Entry, String> {
    if e.is_empty() {
        return Err("an empty entry".into());
    }
    if let Some((addr, len)) = e.split_once('/') {
        let ip: IpAddr = addr
            .parse()
            .map_err(|_| format!("'{addr}' is not an IPv4 or IPv6 address (CIDR is ADDR/LEN)"))?;
        let bits = if ip.is_ipv4() { 32 } else { 128 };
        // u8's parser takes "+8": digits only.
        let len: u8 = match len.parse() {
            Ok(n) if len.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => {
                return Err(format!(
                    "the prefix length '{len}' is not a number 0..={bits}"
                ))
            }
        };
        return match masked(ip, len) {
            Some(net) => Ok(Entry::Net(net, len)),
            None => Err(format!(
                "the prefix length {len} is over {bits} for an {} address",
                if bits == 32 { "IPv4" } else { "IPv6" }
            )),
        };
    }
    if let Ok(ip) = e.parse::<IpAddr>() {
        let ip = ip.to_canonical();
        let len = if ip.is_ipv4() { 32 } else { 128 };
        return Ok(Entry::Net(ip, len));
    }
    if e != "*"
        && e.bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'*')
    {
        return v4_glob(e);
    }
    if e.contains(':') {
        return Err("not an address, a CIDR block (fd00::/8) or a host name".into());
    }
    if !e
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._*".contains(&b))
    {
        return Err("not a host name glob (letters, digits, '-', '.', '_' and '*')".into());
    }
    Ok(Entry::Name(e.to_ascii_lowercase()))
}

/// `10.0.0.*`, `10.*`: at most four dot-separated parts, each a number
/// 0..=255 or a run with `*`.
fn v4_glob(e: &str) -> Result<Entry, String> {
    let parts: Vec<&str> = e.split('.').collect();
    if parts.len() > 4 {
        return Err("an IPv4 pattern has at most four parts".into());
    }
    for p in &parts {
        if p.is_empty() {
            return Err("an empty part in an IPv4 pattern".into());
        }
        if !p.contains('*') && !p.parse::<u8>().is_ok_and(|_| p.len() <= 3) {
            return Err(format!("'{p}' is not a number 0..=255"));
        }
    }
    if !e.contains('*') {
        return Err("not an IPv4 address".into());
    }
    Ok(Entry::V4Glob(e.into()))
}

/// `ip` with all but its first `len` bits cleared; None when `len` is
/// longer than the address.
fn masked(ip: IpAddr, len: u8) -> Option<IpAddr> {
    match ip {
        IpAddr::V4(v4) if len <= 32 => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            Some(IpAddr::V4((u32::from(v4) & mask).into()))
        }
        IpAddr::V6(v6) if len <= 128 => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            Some(IpAddr::V6((u128::from(v6) & mask).into()))
        }
        _ => None,
    }
}

/// Check `url`'s host against `list`: Ok(None) when the list is empty or a
/// name entry names it (the run looks it up itself, once); Ok(lookup) when
/// every address it resolves to lies inside the address entries; else 403.
pub(super) fn pin(url: &str, list: &AllowList) -> Result<Option<Resolved>, Refusal> {
    let u = parse_url(url).map_err(|e| Refusal::bad("url", e.to_string()))?;
    if list.is_empty() || list.names(&u.host) {
        return Ok(None);
    }
    let forbidden = |why: String| {
        let given = list.given.join(",");
        let msg = format!(
            "target host '{}' is not allowed here (--allow-target {given}): {why}",
            u.host
        );
        Refusal::new(403, Some("url"), msg)
    };
    if !list.has_addresses() {
        return Err(forbidden("no entry names it".into()));
    }
    let found = lookup(&u)
        .map_err(|e| forbidden(format!("{e}, and only an address entry could allow it")))?;
    if let Some(out) = found.addrs.iter().find(|a| !list.holds(a.ip())) {
        let all: Vec<String> = found.addrs.iter().map(|a| a.ip().to_string()).collect();
        let why = match all.len() {
            1 => format!("it resolves to {}, outside every address entry", all[0]),
            _ => format!(
                "it resolves to {}, and {} is outside every address entry",
                all.join(", "),
                out.ip()
            ),
        };
        return Err(forbidden(why));
    }
    Ok(Some(found))
}

/// `*` matches any run of bytes; `p` and `s` are already lowercased.
fn glob(p: &[u8], s: &[u8]) -> bool {
    // Iterative matcher with one backtrack point (the last '*').
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if pi < p.len() && p[pi] == s[si] {
            pi += 1;
            si += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
#[path = "allow_tests.rs"]
mod tests;
