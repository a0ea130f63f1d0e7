//! Checks run before anything is forked, signalled or handed over, so that `-t`, a start and an
//! upgrade (`-u`) fail at once, with the field and the reason, instead of in a process that is
//! already running (or, for an upgrade, after the old process was told to go).
//!
//! * Every address the process will listen on (listeners and metrics) must be bindable. An
//!   address the running gateway already listens on is not: its socket comes over through
//!   `upgrade_sock` on an upgrade, so `-t` and `-u` accept it. Which process holds a busy
//!   address is read from `/proc/net/tcp{,6}` (the listening socket's inode) and
//!   `/proc/<pid>/fd` (who has that inode open); "the running gateway" is the process in
//!   `pid_file` when that file names a live lambda-proxy, otherwise any other lambda-proxy
//!   process of this user. A plain start (neither `-t` nor `-u`) needs every address free.
//! * An upgrade also needs the directory of `upgrade_sock`, and a daemon the directory of
//!   `pid_file`, to be writable: Pingora unwraps both, after the point of no return.
//!
//! TLS certificate/key checks live with the listener set-up (`server::build_listeners`).

use std::collections::HashSet;
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;

use crate::config::Config;

/// What the process is about to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `-t`: report, change nothing.
    Test,
    /// A fresh start: every address must be free.
    Start,
    /// `-u`: the running gateway's addresses come over; the others must be free.
    Upgrade,
}

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Field path, e.g. `listeners[1].address`.
    pub field: String,
    pub reason: String,
    /// Fatal problems stop the process; the others are warnings.
    pub fatal: bool,
}

/// Runs every check for `mode`; an empty result means nothing was found.
pub fn check(config: &Config, mode: Mode) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut addresses: Vec<(String, &str)> = config
        .gateway
        .listeners
        .iter()
        .enumerate()
        .map(|(i, l)| (format!("listeners[{i}].address"), l.address.as_str()))
        .collect();
    if let Some(m) = &config.gateway.metrics {
        addresses.push(("metrics.address".into(), m.address.as_str()));
    }
    let mut gateway: Option<Vec<u32>> = None;
    for (field, address) in addresses {
        let Ok(addr) = address.parse::<SocketAddr>() else {
            continue; // validation already rejected it
        };
        if let Some((reason, fatal)) =
            check_address(addr, mode, &config.server.pid_file, &mut gateway)
        {
            out.push(Finding {
                field,
                reason,
                fatal,
            });
        }
    }
    if mode != Mode::Test {
        let server = &config.server;
        if mode == Mode::Upgrade {
            if let Some(r) = writable_dir_of(&server.upgrade_sock) {
                out.push(Finding {
                    field: "upgrade_sock".into(),
                    reason: format!("{}: {r}", server.upgrade_sock),
                    fatal: true,
                });
            }
        }
        if server.daemon {
            if let Some(r) = writable_dir_of(&server.pid_file) {
                out.push(Finding {
                    field: "pid_file".into(),
                    reason: format!("{}: {r}", server.pid_file),
                    fatal: true,
                });
            }
        }
    }
    out
}

/// `None` when `addr` can be used in `mode`, otherwise the reason and whether it is fatal.
fn check_address(
    addr: SocketAddr,
    mode: Mode,
    pid_file: &str,
    gateway: &mut Option<Vec<u32>>,
) -> Option<(String, bool)> {
    let err = match test_bind(addr) {
        Ok(()) => return None,
        Err(e) => e,
    };
    match err.kind() {
        ErrorKind::AddrInUse => {}
        ErrorKind::PermissionDenied => {
            let why = format!(
                "{addr} cannot be bound: {err} (ports below 1024 need CAP_NET_BIND_SERVICE; the systemd unit grants it)"
            );
            // `-t` by hand runs without the service's capability: say so, do not fail.
            return Some((why, mode != Mode::Test));
        }
        _ => return Some((format!("{addr} cannot be bound: {err}"), true)),
    }
    let holders = listening_conflicts(addr);
    let gateway = gateway.get_or_insert_with(|| running_gateway(pid_file));
    let held_by_gateway: Vec<&(SocketAddr, u64)> = holders
        .iter()
        .filter(|(_, inode)| gateway.iter().any(|&pid| pid_has_inode(pid, *inode)))
        .collect();
    if !held_by_gateway.is_empty() && held_by_gateway.len() == holders.len() {
        let pids = join_pids(gateway);
        if mode == Mode::Start {
            return Some((
                format!("{addr} is in use by the running lambda-proxy (pid {pids}); stop it first, or take its sockets over with an upgrade (-u)"),
                true,
            ));
        }
        if let Some((other, _)) = held_by_gateway
            .iter()
            .find(|(held, _)| canonical(*held) != canonical(addr))
        {
            return Some((
                format!("{addr} overlaps {other}, which the running lambda-proxy (pid {pids}) listens on: sockets are handed over by address, so {addr} could only be bound once the old process has stopped (change one of them per upgrade, or stop and start)"),
                true,
            ));
        }
        return None; // the very socket comes over on the upgrade
    }
    let others: HashSet<u64> = holders.iter().map(|(_, i)| *i).collect();
    let owners = owners_of(&others);
    let who = if owners.is_empty() {
        "another program (its owner is not visible to this user)".to_string()
    } else {
        format!("another program ({})", owners.join(", "))
    };
    Some((format!("{addr} is in use by {who}"), true))
}

/// Binds (without listening) the way Pingora does: SO_REUSEADDR, no SO_REUSEPORT, the
/// system's IPV6_V6ONLY default.
fn test_bind(addr: SocketAddr) -> std::io::Result<()> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)
}

fn canonical(a: SocketAddr) -> (IpAddr, u16) {
    (a.ip().to_canonical(), a.port())
}

/// Whether two listening addresses cannot both be bound (same port; same IP, or either one a
/// wildcard; IPv4-mapped IPv6 counts as IPv4). Errs on the side of "conflict": it only explains
/// a bind that already failed.
fn conflicts(a: SocketAddr, b: SocketAddr) -> bool {
    let (ia, pa) = canonical(a);
    let (ib, pb) = canonical(b);
    pa == pb && (ia == ib || ia.is_unspecified() || ib.is_unspecified())
}

/// Listening TCP sockets (address, inode) that conflict with `addr`.
fn listening_conflicts(addr: SocketAddr) -> Vec<(SocketAddr, u64)> {
    let mut out = Vec::new();
    for (file, v6) in [("/proc/net/tcp", false), ("/proc/net/tcp6", true)] {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for line in text.lines().skip(1) {
            if let Some((local, inode)) = parse_listen_line(line, v6) {
                if conflicts(local, addr) {
                    out.push((local, inode));
                }
            }
        }
    }
    out
}

/// One line of `/proc/net/tcp{,6}`: the local address and inode of a LISTEN socket.
fn parse_listen_line(line: &str, v6: bool) -> Option<(SocketAddr, u64)> {
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() < 10 || f[3] != "0A" {
        return None;
    }
    let (ip_hex, port_hex) = f[1].split_once(':')?;
    let port = u16::from_str_radix(port_hex, 16).ok()?;
    // The kernel prints the address as native-endian 32-bit words.
    let word = |i: usize| -> Option<[u8; 4]> {
        Some(
            u32::from_str_radix(ip_hex.get(i * 8..i * 8 + 8)?, 16)
                .ok()?
                .to_ne_bytes(),
        )
    };
    let ip = if v6 {
        let mut b = [0u8; 16];
        for i in 0..4 {
            b[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
        }
        IpAddr::V6(Ipv6Addr::from(b))
    } else {
        IpAddr::V4(Ipv4Addr::from(word(0)?))
    };
    Some((SocketAddr::new(ip, port), f[9].parse().ok()?))
}

fn own_comm() -> String {
    comm(std::process::id()).unwrap_or_else(|| "lambda-proxy".into())
}

fn comm(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim().to_string())
}

/// The running gateway: the live lambda-proxy named in `pid_file`, else every other
/// lambda-proxy process visible here.
fn running_gateway(pid_file: &str) -> Vec<u32> {
    let me = std::process::id();
    let name = own_comm();
    if let Some(pid) = std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
    {
        if pid != me && comm(pid).as_deref() == Some(name.as_str()) {
            return vec![pid];
        }
    }
    pids()
        .into_iter()
        .filter(|&p| p != me && comm(p).as_deref() == Some(name.as_str()))
        .collect()
}

fn pids() -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

fn pid_has_inode(pid: u32, inode: u64) -> bool {
    let want = format!("socket:[{inode}]");
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    dir.filter_map(|e| e.ok())
        .any(|e| std::fs::read_link(e.path()).is_ok_and(|l| l.as_os_str() == want.as_str()))
}

/// `pid (name)` of the visible processes holding one of `inodes` (for the error message).
fn owners_of(inodes: &HashSet<u64>) -> Vec<String> {
    if inodes.is_empty() {
        return Vec::new();
    }
    let wanted: HashSet<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    let me = std::process::id();
    let mut out = Vec::new();
    for pid in pids() {
        if pid == me {
            continue;
        }
        let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        let holds = dir.filter_map(|e| e.ok()).any(|e| {
            std::fs::read_link(e.path())
                .is_ok_and(|l| l.to_str().is_some_and(|s| wanted.contains(s)))
        });
        if holds {
            out.push(format!(
                "pid {pid} {}",
                comm(pid).unwrap_or_else(|| "?".into())
            ));
        }
    }
    out
}

fn join_pids(pids: &[u32]) -> String {
    pids.iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `None` when the directory of `path` exists and a file can be created in it.
fn writable_dir_of(path: &str) -> Option<String> {
    let dir = Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Some(format!("directory {} does not exist", dir.display()));
    }
    let probe = dir.join(format!(".lambda-proxy-check-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            None
        }
        Err(e) => Some(format!("cannot create files in {}: {e}", dir.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_net_tcp_lines() {
        let v4 = "   1: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0";
        assert_eq!(
            parse_listen_line(v4, false),
            Some(("127.0.0.1:8080".parse().unwrap(), 12345))
        );
        let established = v4.replace(" 0A ", " 01 ");
        assert_eq!(parse_listen_line(&established, false), None);
        let v6 = "   0: 00000000000000000000000000000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 10 0";
        assert_eq!(
            parse_listen_line(v6, true),
            Some(("[::]:443".parse().unwrap(), 777))
        );
    }

    #[test]
    fn conflicts_follow_wildcards_and_ports() {
        let a = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert!(conflicts(a("0.0.0.0:80"), a("127.0.0.1:80")));
        assert!(conflicts(a("[::]:80"), a("127.0.0.1:80")));
        assert!(conflicts(a("[::ffff:127.0.0.1]:80"), a("127.0.0.1:80")));
        assert!(!conflicts(a("127.0.0.1:80"), a("127.0.0.2:80")));
        assert!(!conflicts(a("0.0.0.0:80"), a("0.0.0.0:81")));
    }

    #[test]
    fn a_port_held_by_this_process_is_found_and_named() {
        let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = held.local_addr().unwrap();
        let holders = listening_conflicts(addr);
        assert_eq!(holders.len(), 1, "{holders:?}");
        assert!(pid_has_inode(std::process::id(), holders[0].1));
        // Not the running gateway (no such process here): in use by another program.
        let mut none = Some(Vec::new());
        let (why, fatal) = check_address(addr, Mode::Upgrade, "/nonexistent", &mut none).unwrap();
        assert!(fatal && why.contains("in use by another program"), "{why}");
        drop(held);
        assert_eq!(
            check_address(addr, Mode::Start, "/nonexistent", &mut None),
            None
        );
    }
}
