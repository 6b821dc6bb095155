//! `--source ADDR[,ADDR...]`: the local addresses connections are made
//! from. One source address has about 28,000 ephemeral ports toward one
//! destination (net.ipv4.ip_local_port_range); several addresses multiply
//! that. Addresses may be listed or given as inclusive ranges
//! (`127.0.0.2-127.0.0.9`), IPv4 or IPv6, and must belong to this machine
//! and to the target's family: both are checked here, before a run starts.

use crate::error::{usage, Error};
use crate::units::thousands;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Most addresses one `--source` may name (a /16 of IPv4).
pub const MAX_SOURCES: usize = 65_536;

/// The parsed list, in the order given (ranges expanded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceList(pub Vec<IpAddr>);

/// clap's value parser: `127.0.0.2,127.0.0.3`, `127.0.0.2-127.0.0.9`, `::1`, `[::1]`.
pub fn parse(s: &str) -> Result<SourceList, String> {
    let mut out = Vec::new();
    for item in s.split(',').map(str::trim) {
        if item.is_empty() {
            return Err(format!("'{s}' has an empty address"));
        }
        match item.split_once('-') {
            None => out.push(ip(item)?),
            Some((a, b)) => expand(ip(a.trim())?, ip(b.trim())?, item, &mut out)?,
        }
        if out.len() > MAX_SOURCES {
            return Err(format!("'{s}' names more than {MAX_SOURCES} addresses"));
        }
    }
    Ok(SourceList(out))
}

fn ip(s: &str) -> Result<IpAddr, String> {
    let bare = s
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(s);
    bare.parse()
        .map_err(|_| format!("'{s}' is not an IP address (e.g. 127.0.0.2 or ::1)"))
}

/// Append `first..=last` to `out`.
fn expand(first: IpAddr, last: IpAddr, item: &str, out: &mut Vec<IpAddr>) -> Result<(), String> {
    let (lo, hi, v4) = match (first, last) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a) as u128, u32::from(b) as u128, true),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), false),
        _ => return Err(format!("'{item}' mixes IPv4 and IPv6")),
    };
    if lo > hi {
        return Err(format!("'{item}': the range ends before it starts"));
    }
    if hi - lo >= MAX_SOURCES as u128 {
        return Err(format!("'{item}' names more than {MAX_SOURCES} addresses"));
    }
    for n in lo..=hi {
        out.push(if v4 {
            IpAddr::V4(Ipv4Addr::from(n as u32))
        } else {
            IpAddr::V6(Ipv6Addr::from(n))
        });
    }
    Ok(())
}

/// The checks that need the target: same family, and each address one this
/// machine can bind (connecting from one it cannot would fail every time).
pub fn check(list: &SourceList, target: SocketAddr) -> Result<Vec<IpAddr>, Error> {
    let mut bound = std::collections::HashSet::new();
    for &ip in &list.0 {
        if ip.is_ipv4() != target.is_ipv4() {
            let (mine, theirs) = if ip.is_ipv4() {
                ("IPv4", "IPv6")
            } else {
                ("IPv6", "IPv4")
            };
            return Err(usage(format!(
                "--source {ip} is {mine} but the target {target} is {theirs}: \
                 give source addresses of the target's family"
            )));
        }
        if ip.is_unspecified() || ip.is_multicast() {
            return Err(usage(format!(
                "--source {ip}: not an address a connection can come from"
            )));
        }
        if bound.insert(ip) {
            std::net::UdpSocket::bind(SocketAddr::new(ip, 0)).map_err(|e| {
                usage(format!(
                    "--source {ip}: not an address of this machine (bind: {e})"
                ))
            })?;
        }
    }
    Ok(list.0.clone())
}

/// `net.ipv4.ip_local_port_range` (IPv6 uses it too): the local ports one
/// source address has toward one destination.
pub fn local_port_range() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    let mut it = text.split_whitespace().map(|n| n.parse::<u64>());
    match (it.next(), it.next()) {
        (Some(Ok(lo)), Some(Ok(hi))) if lo <= hi => Some((lo, hi)),
        _ => None,
    }
}

/// Each connection to one target takes a local port of its source address:
/// more connections from one address than it has ports can never all
/// connect, and every failing attempt costs the kernel a search of the
/// whole range (measured: two cores busy, the target starved). Refuse such
/// a run up front. `sources` as `check` returned it (empty: one address).
pub fn check_ports(
    connections: u64,
    sources: &[IpAddr],
    target: SocketAddr,
    (lo, hi): (u64, u64),
) -> Result<(), Error> {
    let ports = hi - lo + 1;
    let mut per_address = std::collections::HashMap::new();
    let n = sources.len().max(1) as u64;
    for i in 0..n {
        let share = connections / n + u64::from(i < connections % n);
        *per_address.entry(sources.get(i as usize)).or_insert(0u64) += share;
    }
    let busiest = per_address.values().copied().max().unwrap_or(0);
    if busiest <= ports {
        return Ok(());
    }
    let need = connections.div_ceil(ports);
    let from = match per_address.len() {
        1 if sources.is_empty() => "one source address has".to_string(),
        1 => "one --source address has".to_string(),
        k => format!("--source gives {k} addresses; one of them would need {busiest} but has"),
    };
    Err(usage(format!(
        "-c {connections} to {target}: {from} {} local ports \
         (net.ipv4.ip_local_port_range {lo}-{hi}): spread the connections over \
         {need} or more addresses with --source, or widen the range",
        thousands(ports)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn lists_and_ranges() {
        assert_eq!(
            parse("127.0.0.2, 127.0.0.4-127.0.0.6,[::1]").unwrap().0,
            ["127.0.0.2", "127.0.0.4", "127.0.0.5", "127.0.0.6", "::1"].map(v4)
        );
        assert_eq!(parse("::1-::3").unwrap().0, ["::1", "::2", "::3"].map(v4));
        assert_eq!(parse("10.0.0.255-10.0.1.0").unwrap().0.len(), 2);
    }

    #[test]
    fn bad_lists_say_why() {
        for (s, needle) in [
            ("", "empty"),
            ("127.0.0.2,,127.0.0.3", "empty"),
            ("localhost", "not an IP address"),
            ("127.0.0.9-127.0.0.2", "ends before it starts"),
            ("127.0.0.1-::1", "mixes"),
            ("10.0.0.0-10.255.255.255", "more than 65536"),
            ("::-ffff::", "more than 65536"),
        ] {
            let e = parse(s).unwrap_err();
            assert!(e.contains(needle), "{s}: {e}");
        }
    }

    #[test]
    fn family_must_match_the_target() {
        let target: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let e = check(&parse("::1").unwrap(), target).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("is IPv6 but the target"), "{e}");
        let list = parse("127.0.0.2,127.0.0.3").unwrap();
        assert_eq!(check(&list, target).unwrap().len(), 2);
    }

    #[test]
    fn more_connections_than_local_ports_is_refused() {
        let target: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let range = (32768, 60999);
        let three = parse("127.0.0.2-127.0.0.4").unwrap().0;
        assert!(check_ports(28_232, &[], target, range).is_ok());
        assert!(check_ports(60_000, &three, target, range).is_ok());
        let e = check_ports(60_000, &[], target, range).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert_eq!(
            e.to_string(),
            "-c 60000 to 127.0.0.1:80: one source address has 28,232 local ports \
             (net.ipv4.ip_local_port_range 32768-60999): spread the connections over \
             3 or more addresses with --source, or widen the range"
        );
        let e = check_ports(90_000, &three, target, range).unwrap_err();
        assert!(e.to_string().contains("--source gives 3 addresses"), "{e}");
        assert!(e.to_string().contains("over 4 or more"), "{e}");
        // The same address twice is one address's ports.
        let twice = parse("127.0.0.2,127.0.0.2").unwrap().0;
        let e = check_ports(30_000, &twice, target, range).unwrap_err();
        assert!(e.to_string().contains("one --source address has"), "{e}");
    }

    #[test]
    fn foreign_addresses_are_refused() {
        let target: SocketAddr = "127.0.0.1:80".parse().unwrap();
        // TEST-NET-1 (RFC 5737): never assigned to a machine.
        let e = check(&parse("192.0.2.1").unwrap(), target).unwrap_err();
        assert!(
            e.to_string().contains("not an address of this machine"),
            "{e}"
        );
    }
}
