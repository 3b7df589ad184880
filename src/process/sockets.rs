//! Who is connected to whom: which processes hold each socket (through
//! /proc/PID/fd), and from the kernel's socket dumps (`sys::unix_sockets`,
//! `sys::tcp_sockets`) the connections from a client process to a server
//! process, which an ordered stop follows (issue 20, rule 2).
//!
//! The server of a connection is the side that accepted it, and so holds
//! (or inherited) its listening socket:
//! - UNIX stream and seqpacket: an accepted socket carries its listener's
//!   name, the client's end none (or a name of its own that no listener
//!   has); a connection still in the listener's queue is found through the
//!   listener's pending list. A `socketpair` has no name on either end: it
//!   is never a connection here, between a parent and its child or not.
//! - TCP: the client's end is connected to an address a listener of the
//!   namespace listens on, and the other end of that connection is in the
//!   dump too (so the connection does not leave the namespace).
//!
//! The cost is one `readlinkat` per descriptor of every process, the floor
//! any mapping from sockets to processes pays, plus two netlink dumps;
//! beyond `MAX_DESCRIPTORS` it is refused, and the stop falls back to
//! `main-first`.

use crate::base::prelude::*;
use crate::sys::{self, Endpoint, TCP_LISTEN, TcpSocket, UnixSocket};

/// The most descriptors read across all processes before the mapping is
/// abandoned and the stop goes on as main-first (one warning). A
/// descriptor costs 3 µs on an idle machine and 20-50 µs on a loaded one
/// (BENCHMARKS.md, "The stop order"), and grace's loop waits meanwhile:
/// 50,000 is 0.15 s to 2.5 s, within half of the default grace period even
/// loaded, and above 5,000 processes of 6 descriptors each (30,000), which
/// the figures order.
pub const MAX_DESCRIPTORS: usize = 50_000;

// Every table here is (i32, i32) pairs, sorted: the order's tables are
// too, and each element type sorted is kilobytes of the binary. A key
// that is not a pid is an inode or a hash (`key`, `route`), the value an
// index into the dump when it is not a pid.

/// An inode as a key of the tables: not the inodes' own order, but one
/// order, which is all a binary search needs.
fn key(inode: u32) -> i32 {
    inode as i32
}

/// The values of the entries of `table` (sorted) under `key`: the lookup
/// of these tables and of the stop order's.
pub fn under(table: &[(i32, i32)], key: i32) -> impl Iterator<Item = i32> + '_ {
    let start = table.partition_point(|entry| entry.0 < key);
    table[start..]
        .iter()
        .take_while(move |entry| entry.0 == key)
        .map(|entry| entry.1)
}

fn sorted(mut table: Vec<(i32, i32)>) -> Vec<(i32, i32)> {
    table.sort_unstable();
    table.dedup();
    table
}

/// Which processes hold each socket: (inode's key, pid), sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holders {
    pairs: Vec<(i32, i32)>,
}

impl Holders {
    /// The sockets among the descriptors of `pids`. A process that exits
    /// meanwhile holds nothing; more than `MAX_DESCRIPTORS` in all is an
    /// error (E2BIG).
    pub fn read(pids: &[i32]) -> sys::Result<Self> {
        let mut budget = MAX_DESCRIPTORS;
        let mut pairs = Vec::new();
        let mut inodes = Vec::new();
        for &pid in pids {
            inodes.clear();
            match sys::socket_inodes(pid, &mut inodes, &mut budget) {
                Ok(()) => {}
                Err(error) if error.raw_os_error() == Some(libc::E2BIG) => return Err(error),
                // Gone, or not ours to read: it holds nothing we can see.
                Err(_) => {}
            }
            pairs.extend(inodes.iter().map(|&inode| (key(inode), pid)));
        }
        Ok(Holders {
            pairs: sorted(pairs),
        })
    }

    #[cfg(test)]
    pub fn from_pairs(pairs: Vec<(u32, i32)>) -> Self {
        Holders {
            pairs: sorted(pairs.into_iter().map(|(i, pid)| (key(i), pid)).collect()),
        }
    }

    /// The processes holding socket `inode`.
    pub fn of(&self, inode: u32) -> impl Iterator<Item = i32> + '_ {
        under(&self.pairs, key(inode))
    }

    fn holds(&self, inode: u32) -> bool {
        self.of(inode).next().is_some()
    }
}

/// A client process holding one end of a connection whose server end is
/// in `server`'s hands (or in the queue of a listener it holds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Connection {
    pub client: i32,
    pub server: i32,
}

/// The processes' sockets and the connections among them, read now.
#[derive(Debug, Clone, Default)]
pub struct Reading {
    /// Who holds which socket: the namespace test checks it against `ss`.
    #[cfg_attr(not(test), allow(dead_code))]
    pub holders: Holders,
    pub connections: Vec<Connection>,
}

/// Reads the sockets of `pids` and the connections among them.
pub fn read(pids: &[i32]) -> sys::Result<Reading> {
    let unix = sys::unix_sockets()?;
    let tcp = sys::tcp_sockets()?;
    let holders = Holders::read(pids)?;
    let connections = connections(&unix, &tcp, &holders);
    Ok(Reading {
        holders,
        connections,
    })
}

/// Every connection from a client process to a server process (never to
/// itself), sorted and without repeats.
pub fn connections(unix: &[UnixSocket], tcp: &[TcpSocket], holders: &Holders) -> Vec<Connection> {
    // (client, server)
    let mut found = Vec::new();
    unix_connections(unix, holders, &mut found);
    tcp_connections(tcp, holders, &mut found);
    found.retain(|c| c.0 != c.1);
    sorted(found)
        .into_iter()
        .map(|(client, server)| Connection { client, server })
        .collect()
}

/// Each holder of `client` is a client of each of `servers`. `dyn`: one
/// copy for the five kinds of server lists.
fn link(
    client: u32,
    servers: &mut dyn Iterator<Item = i32>,
    holders: &Holders,
    found: &mut Vec<(i32, i32)>,
) {
    let servers: Vec<i32> = servers.collect();
    for client in holders.of(client) {
        found.extend(servers.iter().map(|&server| (client, server)));
    }
}

/// (a key, the index of its socket in `sockets`) for each socket, sorted.
fn indexed<T>(sockets: &[T], key: impl Fn(&T) -> Option<i32>) -> Vec<(i32, i32)> {
    sorted(
        sockets
            .iter()
            .enumerate()
            .filter_map(|(at, socket)| Some((key(socket)?, at as i32)))
            .collect(),
    )
}

fn unix_connections(unix: &[UnixSocket], holders: &Holders, found: &mut Vec<(i32, i32)>) {
    let by_inode = indexed(unix, |socket| Some(key(socket.inode)));
    let find = |inode: u32| {
        under(&by_inode, key(inode))
            .next()
            .map(|at| &unix[at as usize])
    };
    let listeners: Vec<&UnixSocket> = unix.iter().filter(|s| s.listening()).collect();
    // (a queued client's inode, its listener's index)
    let queued = sorted(
        unix.iter()
            .enumerate()
            .filter(|(_, s)| s.listening())
            .flat_map(|(at, listener)| {
                listener
                    .pending
                    .iter()
                    .map(move |&client| (key(client), at as i32))
            })
            .collect(),
    );
    let named = |name: &[u8]| !name.is_empty() && listeners.iter().any(|l| l.name == name);
    for socket in unix
        .iter()
        .filter(|s| !s.listening() && holders.holds(s.inode))
    {
        // Still in a listener's queue: its server is the listener's.
        let waiting: Vec<u32> = under(&queued, key(socket.inode))
            .map(|at| unix[at as usize].inode)
            .collect();
        if !waiting.is_empty() {
            let mut servers = waiting.iter().flat_map(|&listener| holders.of(listener));
            link(socket.inode, &mut servers, holders, found);
            continue;
        }
        let Some(peer) = socket.peer.and_then(find) else {
            continue;
        };
        // The accepted end carries its listener's name; the client's end
        // has none, or one of its own that no listener has.
        let client = !peer.name.is_empty()
            && peer.name != socket.name
            && (socket.name.is_empty() || named(&peer.name));
        if !client {
            continue;
        }
        if holders.holds(peer.inode) {
            link(socket.inode, &mut holders.of(peer.inode), holders, found);
        } else {
            let mut servers = listeners
                .iter()
                .filter(|l| l.name == peer.name)
                .flat_map(|l| holders.of(l.inode));
            link(socket.inode, &mut servers, holders, found);
        }
    }
}

/// A hash of a connection's two ends, the key its sockets are found by
/// (each candidate checked).
fn route(local: &Endpoint, remote: &Endpoint) -> i32 {
    let mut hash: u32 = 0x811c_9dc5;
    for end in [local, remote] {
        for &byte in end.address.iter().chain(&end.port.to_be_bytes()) {
            hash = (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193);
        }
    }
    hash as i32
}

fn tcp_connections(tcp: &[TcpSocket], holders: &Holders, found: &mut Vec<(i32, i32)>) {
    let listeners: Vec<&TcpSocket> = tcp.iter().filter(|s| s.state == TCP_LISTEN).collect();
    let ends = indexed(tcp, |s| {
        (s.state != TCP_LISTEN).then(|| route(&s.local, &s.remote))
    });
    let listens_on = |listener: &TcpSocket, at: &Endpoint| {
        listener.local.port == at.port
            && (listener.local.address == at.address || listener.local.is_unspecified())
    };
    for socket in tcp
        .iter()
        .filter(|s| s.state != TCP_LISTEN && holders.holds(s.inode))
    {
        // A server's own accepted end is connected to an ephemeral port.
        if listeners.iter().any(|l| listens_on(l, &socket.local)) {
            continue;
        }
        let serving: Vec<&&TcpSocket> = listeners
            .iter()
            .filter(|l| listens_on(l, &socket.remote))
            .collect();
        if serving.is_empty() {
            continue;
        }
        // The other end, in the namespace: the server's accepted socket,
        // or one still queued (inode 0) that the listener's holder will
        // accept.
        let other: Vec<u32> = under(&ends, route(&socket.remote, &socket.local))
            .map(|at| &tcp[at as usize])
            .filter(|end| end.local == socket.remote && end.remote == socket.local)
            .map(|end| end.inode)
            .collect();
        if other.is_empty() {
            continue;
        }
        let accepted: Vec<i32> = other
            .iter()
            .filter(|&&inode| inode != 0)
            .flat_map(|&inode| holders.of(inode))
            .collect();
        if accepted.is_empty() {
            let mut servers = serving.iter().flat_map(|l| holders.of(l.inode));
            link(socket.inode, &mut servers, holders, found);
        } else {
            link(socket.inode, &mut accepted.into_iter(), holders, found);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::TCP_ESTABLISHED;

    fn unix(inode: u32, state: u8, peer: Option<u32>, name: &[u8], pending: &[u32]) -> UnixSocket {
        UnixSocket {
            inode,
            seqpacket: false,
            state,
            peer,
            name: name.to_vec(),
            pending: pending.to_vec(),
        }
    }

    fn c(client: i32, server: i32) -> Connection {
        Connection { client, server }
    }

    #[test]
    fn holders_are_looked_up_by_inode() {
        let holders = Holders::from_pairs(vec![(5, 2), (3, 1), (5, 1), (5, 2), (9, 4)]);
        assert_eq!(holders.of(5).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(holders.of(3).collect::<Vec<_>>(), [1]);
        assert_eq!(holders.of(4).count(), 0);
        assert_eq!(holders.of(10).count(), 0);
    }

    #[test]
    fn a_unix_client_connects_to_whoever_accepted() {
        let sockets = [
            unix(1, TCP_LISTEN, None, b"/run/db.sock", &[]),
            // Accepted by the server (pid 10), from the client (pid 20).
            unix(2, TCP_ESTABLISHED, Some(3), b"/run/db.sock", &[]),
            unix(3, TCP_ESTABLISHED, Some(2), b"", &[]),
        ];
        let holders = Holders::from_pairs(vec![(1, 10), (2, 11), (3, 20)]);
        assert_eq!(connections(&sockets, &[], &holders), [c(20, 11)]);
        // The client's copy inherited by its child is a connection too.
        let holders = Holders::from_pairs(vec![(1, 10), (2, 11), (3, 20), (3, 21)]);
        assert_eq!(connections(&sockets, &[], &holders), [c(20, 11), c(21, 11)]);
    }

    #[test]
    fn a_socketpair_is_no_connection() {
        let sockets = [
            unix(4, TCP_ESTABLISHED, Some(5), b"", &[]),
            unix(5, TCP_ESTABLISHED, Some(4), b"", &[]),
        ];
        let holders = Holders::from_pairs(vec![(4, 1), (5, 2)]);
        assert_eq!(connections(&sockets, &[], &holders), []);
    }

    #[test]
    fn a_queued_unix_client_connects_to_the_listener_holder() {
        let sockets = [
            unix(1, TCP_LISTEN, None, b"\0app", &[7]),
            // The embryo the client is connected to: no descriptor.
            unix(8, TCP_ESTABLISHED, Some(7), b"\0app", &[]),
            unix(7, TCP_ESTABLISHED, Some(8), b"", &[]),
        ];
        let holders = Holders::from_pairs(vec![(1, 10), (7, 30)]);
        assert_eq!(connections(&sockets, &[], &holders), [c(30, 10)]);
        // Even when the kernel does not list the embryo.
        let holders = Holders::from_pairs(vec![(1, 10), (7, 30)]);
        assert_eq!(connections(&sockets[..1], &[], &holders), []);
        let sockets = [
            sockets[0].clone(),
            unix(7, TCP_ESTABLISHED, Some(8), b"", &[]),
        ];
        assert_eq!(connections(&sockets, &[], &holders), [c(30, 10)]);
    }

    #[test]
    fn a_bound_client_is_told_from_the_server_by_the_listener_names() {
        let sockets = [
            unix(1, TCP_LISTEN, None, b"/srv", &[]),
            unix(2, TCP_ESTABLISHED, Some(3), b"/srv", &[]),
            unix(3, TCP_ESTABLISHED, Some(2), b"/client", &[]),
        ];
        let holders = Holders::from_pairs(vec![(1, 10), (2, 10), (3, 20)]);
        assert_eq!(connections(&sockets, &[], &holders), [c(20, 10)]);
    }

    fn v4(last: u8, port: u16) -> Endpoint {
        let mut address = [0; 16];
        address[10] = 0xff;
        address[11] = 0xff;
        address[12..].copy_from_slice(&[127, 0, 0, last]);
        Endpoint { address, port }
    }

    fn tcp(inode: u32, state: u8, local: Endpoint, remote: Endpoint) -> TcpSocket {
        TcpSocket {
            inode,
            state,
            local,
            remote,
        }
    }

    #[test]
    fn a_tcp_client_connects_to_the_accepting_process() {
        let any = Endpoint {
            address: [0; 16],
            port: 5432,
        };
        let zero = Endpoint {
            address: [0; 16],
            port: 0,
        };
        let sockets = [
            tcp(1, TCP_LISTEN, any, zero),
            tcp(2, TCP_ESTABLISHED, v4(1, 5432), v4(1, 40000)),
            tcp(3, TCP_ESTABLISHED, v4(1, 40000), v4(1, 5432)),
            // Queued: the server's end has no descriptor yet.
            tcp(0, TCP_ESTABLISHED, v4(1, 5432), v4(1, 40001)),
            tcp(4, TCP_ESTABLISHED, v4(1, 40001), v4(1, 5432)),
            // To a server outside the namespace: no other end here.
            tcp(5, TCP_ESTABLISHED, v4(1, 40002), v4(9, 5432)),
        ];
        let holders = Holders::from_pairs(vec![(1, 10), (2, 11), (3, 20), (4, 21), (5, 22)]);
        assert_eq!(connections(&[], &sockets, &holders), [c(20, 11), c(21, 10)]);
    }
}
