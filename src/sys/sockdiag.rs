//! Sockets as the kernel reports them: the `sock_diag` netlink dumps of
//! UNIX stream and seqpacket sockets (with their peers, names and a
//! listener's pending connections) and of TCP sockets (v4 and v6, with
//! their addresses and states), and which of a process's descriptors are
//! sockets (/proc/PID/fd). What `ss -xp` and `ss -tp` read.
//!
//! The replies are parsed by plain functions over bytes: a truncated or
//! malformed reply is an error (EBADMSG), never a panic, and a dump stops
//! at `MAX_SOCKETS` and `MAX_REPLY_BYTES` whatever the kernel sends.
//! sock_diag(7), linux/unix_diag.h, linux/inet_diag.h.

use core::mem::size_of;

use super::{Error, Fd, RawFd, Result, c_string, check};
use crate::base::prelude::*;

/// The most sockets one dump returns before it is abandoned as an error:
/// a namespace with more is beyond what an ordered stop is for.
pub const MAX_SOCKETS: usize = 262_144;
/// The most bytes of replies one dump reads (a UNIX socket with its name
/// and peer is under 200 bytes, a TCP socket 88).
const MAX_REPLY_BYTES: usize = 64 << 20;

const NETLINK_SOCK_DIAG: i32 = 4;
const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// linux/inet_diag.h: the request before SOCK_DIAG_BY_FAMILY, of either
/// family.
const TCPDIAG_GETSOCK: u16 = 18;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_DUMP: u16 = 0x300;
const NLMSG_HEADER: usize = 16;

// linux/unix_diag.h
const UDIAG_SHOW_NAME: u32 = 0x01;
const UDIAG_SHOW_PEER: u32 = 0x04;
const UDIAG_SHOW_ICONS: u32 = 0x08;
const UNIX_DIAG_NAME: u16 = 0;
const UNIX_DIAG_PEER: u16 = 2;
const UNIX_DIAG_ICONS: u16 = 3;
/// The fixed part of a `unix_diag_msg`: family, type, state, pad, inode,
/// cookie.
const UNIX_DIAG_MSG: usize = 16;

// include/net/tcp_states.h, which UNIX sockets share.
pub const TCP_ESTABLISHED: u8 = 1;
pub const TCP_FIN_WAIT1: u8 = 4;
pub const TCP_FIN_WAIT2: u8 = 5;
pub const TCP_CLOSE_WAIT: u8 = 8;
pub const TCP_LISTEN: u8 = 10;

/// The fixed part of an `inet_diag_msg`: family, state, timer, retrans,
/// the 48-byte socket id, expires, rqueue, wqueue, uid, inode.
const INET_DIAG_MSG: usize = 72;

/// A UNIX stream or seqpacket socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnixSocket {
    pub inode: u32,
    pub seqpacket: bool,
    pub state: u8,
    /// The other end's inode, for a connected socket.
    pub peer: Option<u32>,
    /// The bound name (a path, or an abstract name starting with NUL);
    /// an accepted socket carries its listener's. Empty when unbound.
    pub name: Vec<u8>,
    /// A listener's connections not yet accepted: their clients' inodes.
    pub pending: Vec<u32>,
}

impl UnixSocket {
    pub fn listening(&self) -> bool {
        self.state == TCP_LISTEN
    }
}

/// One end of a TCP socket: an IPv6 address (IPv4 as v4-mapped, so that a
/// v6 socket's view of a v4 peer compares equal) and a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Endpoint {
    pub address: [u8; 16],
    pub port: u16,
}

impl Endpoint {
    /// `0.0.0.0` or `::`: a listener on every address.
    pub fn is_unspecified(&self) -> bool {
        self.address == [0; 16] || self.address == v4_mapped([0; 4])
    }
}

/// A TCP socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpSocket {
    /// 0 for a socket no descriptor refers to (one waiting in a
    /// listener's accept queue).
    pub inode: u32,
    pub state: u8,
    pub local: Endpoint,
    pub remote: Endpoint,
}

fn v4_mapped(v4: [u8; 4]) -> [u8; 16] {
    let mut address = [0; 16];
    address[10] = 0xff;
    address[11] = 0xff;
    address[12..].copy_from_slice(&v4);
    address
}

/// Every UNIX stream and seqpacket socket of grace's network namespace.
pub fn unix_sockets() -> Result<Vec<UnixSocket>> {
    // unix_diag_req: family, protocol, pad, states, inode, show, cookie.
    let mut request = Vec::with_capacity(24);
    request.extend_from_slice(&[libc::AF_UNIX as u8, 0, 0, 0]);
    request.extend_from_slice(&u32::MAX.to_ne_bytes());
    request.extend_from_slice(&0u32.to_ne_bytes());
    request
        .extend_from_slice(&(UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_ICONS).to_ne_bytes());
    request.extend_from_slice(&[0xff; 8]);
    let mut sockets = Vec::new();
    dump(SOCK_DIAG_BY_FAMILY, &request, &mut |message| {
        if let Some(socket) = parse_unix(message)? {
            sockets.push(socket);
        }
        Ok(())
    })?;
    Ok(sockets)
}

/// Every TCP socket of grace's network namespace that is listening or
/// connected (established, or closing on one side), v4 and v6.
pub fn tcp_sockets() -> Result<Vec<TcpSocket>> {
    let states: u32 = [
        TCP_ESTABLISHED,
        TCP_FIN_WAIT1,
        TCP_FIN_WAIT2,
        TCP_CLOSE_WAIT,
        TCP_LISTEN,
    ]
    .iter()
    .fold(0, |mask, state| mask | 1 << state);
    // The old request (TCPDIAG_GETSOCK, an inet_diag_req: family, the
    // lengths, ext, a zeroed 48-byte socket id, states, dbs) dumps both
    // families in one walk of the kernel's table of connections, which is
    // the machine's, every namespace's (262,144 buckets here): one walk
    // instead of one per family halves a cost that is there with no
    // socket at all (BENCHMARKS.md, "The stop order").
    let mut request = Vec::with_capacity(60);
    request.extend_from_slice(&[0; 52]);
    request.extend_from_slice(&states.to_ne_bytes());
    request.extend_from_slice(&[0; 4]);
    let mut sockets = Vec::new();
    dump(TCPDIAG_GETSOCK, &request, &mut |message| {
        sockets.push(parse_tcp(message)?);
        Ok(())
    })?;
    Ok(sockets)
}

/// One dump (`kind`: SOCK_DIAG_BY_FAMILY or TCPDIAG_GETSOCK): sends `request` and hands each reply's
/// payload to `each`, until the kernel says it is done. `dyn`: one copy
/// of the loop for both dumps, not one per caller.
fn dump(kind: u16, request: &[u8], each: &mut dyn FnMut(&[u8]) -> Result<()>) -> Result<()> {
    let socket = open_sock_diag()?;
    let mut message = Vec::with_capacity(NLMSG_HEADER + request.len());
    message.extend_from_slice(&((NLMSG_HEADER + request.len()) as u32).to_ne_bytes());
    message.extend_from_slice(&kind.to_ne_bytes());
    message.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    message.extend_from_slice(&1u32.to_ne_bytes());
    message.extend_from_slice(&0u32.to_ne_bytes());
    message.extend_from_slice(request);
    send_to_kernel(socket.raw(), &message)?;
    // The kernel fills each datagram up to the reader's buffer, at most
    // about 32 KiB (a page per skb for dumps).
    let mut buffer = vec![0u8; 64 * 1024];
    let (mut read, mut count) = (0usize, 0usize);
    loop {
        let length = receive(socket.raw(), &mut buffer)?;
        if length == 0 {
            return Err(malformed("the sock_diag dump ended early"));
        }
        read += length;
        if read > MAX_REPLY_BYTES {
            return Err(Error::with_detail(libc::E2BIG, "too many sockets"));
        }
        match parse_datagram(&buffer[..length], &mut |payload| {
            count += 1;
            if count > MAX_SOCKETS {
                return Err(Error::with_detail(libc::E2BIG, "too many sockets"));
            }
            each(payload)
        })? {
            Datagram::More => {}
            Datagram::Done => return Ok(()),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Datagram {
    More,
    Done,
}

fn malformed(detail: &'static str) -> Error {
    Error::with_detail(libc::EBADMSG, detail)
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

const fn align4(length: usize) -> usize {
    (length + 3) & !3
}

/// The netlink messages of one datagram: each reply's payload to `each`;
/// whether the dump is done. A message that claims more bytes than are
/// there, or fewer than its header, is an error.
fn parse_datagram(datagram: &[u8], each: &mut dyn FnMut(&[u8]) -> Result<()>) -> Result<Datagram> {
    let mut at = 0;
    while at < datagram.len() {
        let rest = &datagram[at..];
        let (Some(length), Some(kind)) = (u32_at(rest, 0), u16_at(rest, 4)) else {
            return Err(malformed("a truncated netlink header"));
        };
        let length = length as usize;
        if length < NLMSG_HEADER || length > rest.len() {
            return Err(malformed("a netlink message of impossible length"));
        }
        let payload = &rest[NLMSG_HEADER..length];
        match kind {
            NLMSG_DONE => return Ok(Datagram::Done),
            NLMSG_ERROR => {
                let code = u32_at(payload, 0).map_or(libc::EBADMSG, |code| -(code as i32));
                return Err(Error::from_raw_os_error(code));
            }
            // A reply has its request's type; below 16, netlink's own.
            16.. => each(payload)?,
            _ => {}
        }
        at += align4(length);
    }
    Ok(Datagram::More)
}

/// The attributes after a reply's fixed part: (type, value) each.
fn attributes(mut bytes: &[u8], mut each: impl FnMut(u16, &[u8]) -> Result<()>) -> Result<()> {
    while !bytes.is_empty() {
        let (Some(length), Some(kind)) = (u16_at(bytes, 0), u16_at(bytes, 2)) else {
            return Err(malformed("a truncated attribute"));
        };
        let length = usize::from(length);
        if length < 4 || length > bytes.len() {
            return Err(malformed("an attribute of impossible length"));
        }
        each(kind, &bytes[4..length])?;
        bytes = &bytes[align4(length).min(bytes.len())..];
    }
    Ok(())
}

/// A `unix_diag_msg` and its attributes; None for a socket of another
/// type (datagram).
fn parse_unix(message: &[u8]) -> Result<Option<UnixSocket>> {
    if message.len() < UNIX_DIAG_MSG {
        return Err(malformed("a truncated unix_diag_msg"));
    }
    let seqpacket = match i32::from(message[1]) {
        libc::SOCK_STREAM => false,
        libc::SOCK_SEQPACKET => true,
        _ => return Ok(None),
    };
    let mut socket = UnixSocket {
        inode: u32_at(message, 4).unwrap_or_default(),
        seqpacket,
        state: message[2],
        peer: None,
        name: Vec::new(),
        pending: Vec::new(),
    };
    attributes(&message[UNIX_DIAG_MSG..], |kind, value| {
        match kind {
            UNIX_DIAG_NAME => socket.name = value.to_vec(),
            UNIX_DIAG_PEER => {
                let peer = u32_at(value, 0).ok_or(malformed("a truncated peer"))?;
                socket.peer = (peer != 0).then_some(peer);
            }
            UNIX_DIAG_ICONS => {
                socket.pending = value
                    .chunks_exact(4)
                    .filter_map(|inode| u32_at(inode, 0))
                    .collect();
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(Some(socket))
}

/// An `inet_diag_msg` (its attributes are not asked for).
fn parse_tcp(message: &[u8]) -> Result<TcpSocket> {
    if message.len() < INET_DIAG_MSG {
        return Err(malformed("a truncated inet_diag_msg"));
    }
    let family = i32::from(message[0]);
    // The socket id: source and destination ports (big-endian), then the
    // two addresses, 16 bytes each (a v4 address in the first 4).
    let endpoint = |port_at: usize, address_at: usize| -> Result<Endpoint> {
        let port = u16::from_be_bytes([message[port_at], message[port_at + 1]]);
        let raw = &message[address_at..address_at + 16];
        let address = match family {
            libc::AF_INET => v4_mapped([raw[0], raw[1], raw[2], raw[3]]),
            libc::AF_INET6 => raw.try_into().map_err(|_| malformed("an address"))?,
            _ => return Err(malformed("a socket of another family")),
        };
        Ok(Endpoint { address, port })
    };
    Ok(TcpSocket {
        inode: u32_at(message, 68).unwrap_or_default(),
        state: message[1],
        local: endpoint(4, 8)?,
        remote: endpoint(6, 24)?,
    })
}

/// socket(2) AF_NETLINK, NETLINK_SOCK_DIAG.
fn open_sock_diag() -> Result<Fd> {
    // SAFETY: integer arguments only; the result is a new descriptor.
    let fd = check(unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            NETLINK_SOCK_DIAG,
        )
    } as libc::c_long)?;
    Ok(Fd(fd as RawFd))
}

/// sendto(2) the kernel (netlink port 0).
fn send_to_kernel(fd: RawFd, message: &[u8]) -> Result<()> {
    // SAFETY: all-zero bytes are a valid sockaddr_nl (integers only).
    let mut kernel: libc::sockaddr_nl = unsafe { core::mem::zeroed() };
    kernel.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    loop {
        // SAFETY: a live buffer of the length passed and a live
        // sockaddr_nl with its size.
        let sent = unsafe {
            libc::sendto(
                fd,
                message.as_ptr().cast(),
                message.len(),
                0,
                (&kernel as *const libc::sockaddr_nl).cast(),
                size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        match check(sent as libc::c_long) {
            Ok(_) => return Ok(()),
            Err(error) if error.raw_os_error() == Some(libc::EINTR) => {}
            Err(error) => return Err(error),
        }
    }
}

/// recv(2) one datagram; one larger than the buffer is an error rather
/// than silently cut (MSG_TRUNC gives its real length).
fn receive(fd: RawFd, buffer: &mut [u8]) -> Result<usize> {
    loop {
        // SAFETY: a live buffer of the length passed.
        let read = unsafe {
            libc::recv(
                fd,
                buffer.as_mut_ptr().cast(),
                buffer.len(),
                libc::MSG_TRUNC,
            )
        };
        match check(read as libc::c_long) {
            Ok(read) if read as usize > buffer.len() => {
                return Err(malformed("a sock_diag reply larger than its buffer"));
            }
            Ok(read) => return Ok(read as usize),
            Err(error) if error.raw_os_error() == Some(libc::EINTR) => {}
            Err(error) => return Err(error),
        }
    }
}

/// The inodes of the sockets among process `pid`'s descriptors (its
/// /proc/PID/fd links read `socket:[INODE]`), appended to `inodes`; at
/// most `budget` descriptors are looked at: beyond it, E2BIG. One
/// getdents64 pass and one readlinkat per descriptor, relative to the
/// directory, which is the least /proc allows.
pub fn socket_inodes(pid: i32, inodes: &mut Vec<u32>, budget: &mut usize) -> Result<()> {
    let path = c_string(format!("/proc/{pid}/fd").as_bytes())?;
    // SAFETY: a NUL-terminated path; the result is a new descriptor.
    let fd = check(unsafe {
        libc::open(
            path.as_ptr().cast(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    } as libc::c_long)?;
    let directory = Fd(fd as RawFd);
    // The fixed part of a linux_dirent64: inode, offset, record length,
    // type; the NUL-terminated name follows.
    const NAME_OFFSET: usize = 8 + 8 + 2 + 1;
    let mut records = [0u8; 8192];
    let mut target = [0u8; 64];
    loop {
        // SAFETY: a live buffer of the length passed, filled with records.
        let result = unsafe {
            libc::syscall(
                libc::SYS_getdents64,
                directory.raw(),
                records.as_mut_ptr(),
                records.len(),
            )
        };
        let filled = match check(result) {
            Ok(0) => return Ok(()),
            Ok(filled) => (filled as usize).min(records.len()),
            Err(error) if error.raw_os_error() == Some(libc::EINTR) => continue,
            Err(error) => return Err(error),
        };
        let mut at = 0;
        while at + NAME_OFFSET < filled {
            let length = usize::from(u16::from_ne_bytes([records[at + 16], records[at + 17]]));
            if length <= NAME_OFFSET || at + length > filled {
                return Err(malformed("a truncated directory record"));
            }
            let name = &records[at + NAME_OFFSET..at + length];
            at += length;
            // "." and ".." start with a dot; descriptors are digits.
            if !name.first().is_some_and(u8::is_ascii_digit) || !name.contains(&0) {
                continue;
            }
            if *budget == 0 {
                return Err(Error::with_detail(libc::E2BIG, "too many descriptors"));
            }
            *budget -= 1;
            // SAFETY: the name is NUL-terminated (checked above) and lives
            // in `records`; `target` is a live buffer of the length passed.
            let read = unsafe {
                libc::readlinkat(
                    directory.raw(),
                    name.as_ptr().cast(),
                    target.as_mut_ptr().cast(),
                    target.len(),
                )
            };
            // A descriptor closed since the listing is simply not there.
            if read > 0
                && let Some(inode) = socket_inode(&target[..(read as usize).min(target.len())])
            {
                inodes.push(inode);
            }
        }
    }
}

/// The inode in a descriptor link's `socket:[INODE]`.
pub fn socket_inode(link: &[u8]) -> Option<u32> {
    let digits = link.strip_prefix(b"socket:[")?.strip_suffix(b"]")?;
    core::str::from_utf8(digits).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: u16, payload: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&((NLMSG_HEADER + payload.len()) as u32).to_ne_bytes());
        bytes.extend_from_slice(&kind.to_ne_bytes());
        bytes.extend_from_slice(&[0; 10]);
        bytes.extend_from_slice(payload);
        while bytes.len() % 4 != 0 {
            bytes.push(0);
        }
        bytes
    }

    fn attribute(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
        bytes.extend_from_slice(&kind.to_ne_bytes());
        bytes.extend_from_slice(value);
        while bytes.len() % 4 != 0 {
            bytes.push(0);
        }
        bytes
    }

    fn unix_reply(inode: u32, state: u8, attributes: &[Vec<u8>]) -> Vec<u8> {
        let mut bytes = vec![libc::AF_UNIX as u8, libc::SOCK_STREAM as u8, state, 0];
        bytes.extend_from_slice(&inode.to_ne_bytes());
        bytes.extend_from_slice(&[0; 8]);
        for attribute in attributes {
            bytes.extend_from_slice(attribute);
        }
        bytes
    }

    fn collect(datagram: &[u8]) -> Result<(Vec<Vec<u8>>, Datagram)> {
        let mut payloads = Vec::new();
        let end = parse_datagram(datagram, &mut |payload| {
            payloads.push(payload.to_vec());
            Ok(())
        })?;
        Ok((payloads, end))
    }

    #[test]
    fn a_unix_reply_gives_its_peer_name_and_pending_connections() {
        let reply = unix_reply(
            7,
            TCP_LISTEN,
            &[
                attribute(UNIX_DIAG_NAME, b"\0abstract"),
                attribute(
                    UNIX_DIAG_ICONS,
                    &[11u32.to_ne_bytes(), 12u32.to_ne_bytes()].concat(),
                ),
                attribute(99, b"unknown attributes are skipped"),
            ],
        );
        let datagram = [
            message(SOCK_DIAG_BY_FAMILY, &reply),
            message(NLMSG_DONE, &[0; 4]),
        ]
        .concat();
        let (payloads, end) = collect(&datagram).unwrap();
        assert_eq!(end, Datagram::Done);
        let socket = parse_unix(&payloads[0]).unwrap().unwrap();
        assert_eq!(
            socket,
            UnixSocket {
                inode: 7,
                seqpacket: false,
                state: TCP_LISTEN,
                peer: None,
                name: b"\0abstract".to_vec(),
                pending: vec![11, 12],
            }
        );
        assert!(socket.listening());
        let connected = unix_reply(
            8,
            TCP_ESTABLISHED,
            &[attribute(UNIX_DIAG_PEER, &9u32.to_ne_bytes())],
        );
        assert_eq!(parse_unix(&connected).unwrap().unwrap().peer, Some(9));
        let mut datagram_socket = connected.clone();
        datagram_socket[1] = libc::SOCK_DGRAM as u8;
        assert_eq!(parse_unix(&datagram_socket).unwrap(), None);
    }

    #[test]
    fn malformed_or_truncated_replies_are_errors() {
        let reply = unix_reply(
            8,
            TCP_ESTABLISHED,
            &[attribute(UNIX_DIAG_PEER, &9u32.to_ne_bytes())],
        );
        let whole = message(SOCK_DIAG_BY_FAMILY, &reply);
        // Every cut of a message is refused, never read past.
        for cut in 1..whole.len() {
            assert!(collect(&whole[..cut]).is_err(), "cut at {cut}");
        }
        for cut in 0..reply.len() {
            let parsed = parse_unix(&reply[..cut]);
            assert!(
                parsed.is_err() || cut == UNIX_DIAG_MSG,
                "cut at {cut}: {parsed:?}"
            );
        }
        // A length below the header's own would loop forever.
        let mut zero = whole.clone();
        zero[..4].copy_from_slice(&0u32.to_ne_bytes());
        assert!(collect(&zero).is_err());
        let bad_attribute = unix_reply(8, 1, &[vec![2, 0, 2, 0]]);
        assert!(parse_unix(&bad_attribute).is_err());
        let short_peer = unix_reply(8, 1, &[attribute(UNIX_DIAG_PEER, &[1, 2])]);
        assert!(parse_unix(&short_peer).is_err());
        assert!(parse_tcp(&[0; INET_DIAG_MSG - 1]).is_err());
        // The kernel's refusal is its errno.
        let error = message(NLMSG_ERROR, &(-libc::EPERM).to_ne_bytes());
        assert_eq!(
            collect(&error).unwrap_err().raw_os_error(),
            Some(libc::EPERM)
        );
    }

    #[test]
    fn tcp_addresses_compare_across_families() {
        let mut v4 = vec![libc::AF_INET as u8, TCP_ESTABLISHED, 0, 0];
        v4.extend_from_slice(&8080u16.to_be_bytes());
        v4.extend_from_slice(&40000u16.to_be_bytes());
        v4.extend_from_slice(&[127, 0, 0, 1]);
        v4.extend_from_slice(&[0; 12]);
        v4.extend_from_slice(&[127, 0, 0, 2]);
        v4.extend_from_slice(&[0; 12]);
        v4.extend_from_slice(&[0; 4 + 8 + 16]);
        v4.extend_from_slice(&77u32.to_ne_bytes());
        let socket = parse_tcp(&v4).unwrap();
        assert_eq!(socket.inode, 77);
        assert_eq!(socket.local.port, 8080);
        assert_eq!(socket.remote.port, 40000);
        assert_eq!(socket.local.address, v4_mapped([127, 0, 0, 1]));
        assert_eq!(socket.remote.address, v4_mapped([127, 0, 0, 2]));
        assert!(!socket.local.is_unspecified());
        assert!(
            Endpoint {
                address: v4_mapped([0; 4]),
                port: 1
            }
            .is_unspecified()
        );
    }

    #[test]
    fn descriptor_links_name_socket_inodes() {
        assert_eq!(socket_inode(b"socket:[12345]"), Some(12345));
        assert_eq!(socket_inode(b"pipe:[12345]"), None);
        assert_eq!(socket_inode(b"socket:[]"), None);
        assert_eq!(socket_inode(b"socket:[99999999999]"), None);
        assert_eq!(socket_inode(b"/dev/null"), None);
    }

    #[test]
    fn the_dumps_see_this_process_sockets() {
        use std::os::linux::net::SocketAddrExt;
        use std::os::unix::net::{UnixListener, UnixStream};
        let listener = UnixListener::bind_addr(
            &std::os::unix::net::SocketAddr::from_abstract_name(format!(
                "grace-sockdiag-{}",
                std::process::id()
            ))
            .unwrap(),
        )
        .unwrap();
        let client = UnixStream::connect_addr(&listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let tcp_client = std::net::TcpStream::connect(tcp.local_addr().unwrap()).unwrap();
        let mut inodes = Vec::new();
        let mut budget = usize::MAX;
        socket_inodes(std::process::id() as i32, &mut inodes, &mut budget).unwrap();
        let unix = unix_sockets().unwrap();
        let find = |fd: &dyn std::os::fd::AsRawFd| {
            let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap();
            socket_inode(link.as_os_str().as_encoded_bytes()).unwrap()
        };
        let (l, c, s) = (find(&listener), find(&client), find(&server));
        for inode in [l, c, s] {
            assert!(inodes.contains(&inode), "{inode} in {inodes:?}");
        }
        let socket = |inode| unix.iter().find(|u| u.inode == inode).unwrap();
        assert!(socket(l).listening());
        assert_eq!(socket(c).peer, Some(s));
        assert_eq!(socket(s).peer, Some(c));
        assert_eq!(
            socket(s).name,
            socket(l).name,
            "an accepted socket carries its listener's name"
        );
        assert!(socket(c).name.is_empty());
        let tcp_sockets = tcp_sockets().unwrap();
        let (tl, tc) = (find(&tcp), find(&tcp_client));
        let listening = tcp_sockets.iter().find(|t| t.inode == tl).unwrap();
        assert_eq!(listening.state, TCP_LISTEN);
        let connected = tcp_sockets.iter().find(|t| t.inode == tc).unwrap();
        assert_eq!(connected.remote, listening.local);
        // Not yet accepted: the server's end exists, held by no descriptor.
        assert!(
            tcp_sockets.iter().any(|t| t.inode == 0
                && t.local == connected.remote
                && t.remote == connected.local)
        );
    }
}
