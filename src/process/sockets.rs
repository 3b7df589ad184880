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

// The stop wires these in (issue 20); until then only the tests use them.
#![cfg_attr(not(test), allow(dead_code))]

use crate::base::prelude::*;
use crate::sys::{self, Endpoint, TCP_LISTEN, TcpSocket, UnixSocket};

/// The most descriptors read across all processes before the mapping is
/// abandoned: about 3 µs each, so 200,000 is about 0.6 s, a small part
/// of any grace period worth ordering.
pub const MAX_DESCRIPTORS: usize = 200_000;

/// Which processes hold each socket: (inode, pid), sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holders {
    pairs: Vec<(u32, i32)>,
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
            pairs.extend(inodes.iter().map(|&inode| (inode, pid)));
        }
        Ok(Holders::from_pairs(pairs))
    }

    pub fn from_pairs(mut pairs: Vec<(u32, i32)>) -> Self {
        pairs.sort_unstable();
        pairs.dedup();
        Holders { pairs }
    }

    /// The processes holding socket `inode`.
    pub fn of(&self, inode: u32) -> impl Iterator<Item = i32> + '_ {
        let start = self.pairs.partition_point(|&(i, _)| i < inode);
        self.pairs[start..]
            .iter()
            .take_while(move |&&(i, _)| i == inode)
            .map(|&(_, pid)| pid)
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
    let mut found = Vec::new();
    unix_connections(unix, holders, &mut found);
    tcp_connections(tcp, holders, &mut found);
    found.retain(|c| c.client != c.server);
    found.sort_unstable();
    found.dedup();
    found
}

fn link(
    client: u32,
    server: impl Iterator<Item = i32>,
    holders: &Holders,
    found: &mut Vec<Connection>,
) {
    let servers: Vec<i32> = server.collect();
    for client in holders.of(client) {
        found.extend(servers.iter().map(|&server| Connection { client, server }));
    }
}

fn unix_connections(unix: &[UnixSocket], holders: &Holders, found: &mut Vec<Connection>) {
    let mut by_inode: Vec<&UnixSocket> = unix.iter().collect();
    by_inode.sort_unstable_by_key(|socket| socket.inode);
    let find = |inode: u32| {
        by_inode
            .binary_search_by_key(&inode, |socket| socket.inode)
            .ok()
            .map(|at| by_inode[at])
    };
    let listeners: Vec<&UnixSocket> = unix.iter().filter(|s| s.listening()).collect();
    let mut queued: Vec<(u32, u32)> = listeners
        .iter()
        .flat_map(|listener| {
            listener
                .pending
                .iter()
                .map(|&client| (client, listener.inode))
        })
        .collect();
    queued.sort_unstable();
    let named = |name: &[u8]| !name.is_empty() && listeners.iter().any(|l| l.name == name);
    for socket in unix
        .iter()
        .filter(|s| !s.listening() && holders.holds(s.inode))
    {
        // Still in a listener's queue: its server is the listener's.
        let start = queued.partition_point(|&(client, _)| client < socket.inode);
        let waiting: Vec<u32> = queued[start..]
            .iter()
            .take_while(|&&(client, _)| client == socket.inode)
            .map(|&(_, listener)| listener)
            .collect();
        if !waiting.is_empty() {
            let servers = waiting.iter().flat_map(|&listener| holders.of(listener));
            link(socket.inode, servers, holders, found);
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
            link(socket.inode, holders.of(peer.inode), holders, found);
        } else {
            let servers = listeners
                .iter()
                .filter(|l| l.name == peer.name)
                .flat_map(|l| holders.of(l.inode));
            link(socket.inode, servers, holders, found);
        }
    }
}

fn tcp_connections(tcp: &[TcpSocket], holders: &Holders, found: &mut Vec<Connection>) {
    let listeners: Vec<&TcpSocket> = tcp.iter().filter(|s| s.state == TCP_LISTEN).collect();
    let mut ends: Vec<(Endpoint, Endpoint, u32)> = tcp
        .iter()
        .filter(|s| s.state != TCP_LISTEN)
        .map(|s| (s.local, s.remote, s.inode))
        .collect();
    ends.sort_unstable();
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
        let start = ends.partition_point(|&(l, r, _)| (l, r) < (socket.remote, socket.local));
        let other: Vec<u32> = ends[start..]
            .iter()
            .take_while(|&&(l, r, _)| (l, r) == (socket.remote, socket.local))
            .map(|&(_, _, inode)| inode)
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
            let servers = serving.iter().flat_map(|l| holders.of(l.inode));
            link(socket.inode, servers, holders, found);
        } else {
            link(socket.inode, accepted.into_iter(), holders, found);
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
