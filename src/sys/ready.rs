//! The descriptors a service's readiness is read from, besides the pipe of
//! an s6-style notification fd (`pipe`): the datagram socket sd_notify
//! writes to, and a TCP connect that must not block the loop. All are
//! close-on-exec and non-blocking on grace's side: the loop learns from
//! `ppoll` when to read, and a read never waits (`pipe::read_some`).

use core::mem::size_of;
use core::net::{IpAddr, SocketAddr};

use super::{Error, Fd, RawFd, Result, c_string, check};

/// A datagram socket bound at `path`, for sd_notify(3) messages: what
/// systemd gives a `Type=notify` service as NOTIFY_SOCKET. A stale socket
/// file left by an earlier grace is replaced.
pub fn notify_socket(path: &str) -> Result<Fd> {
    let address = unix_address(path)?;
    let c_path = c_string(path.as_bytes())?;
    // SAFETY: unlink of a NUL-terminated path; failure (none there) is fine.
    unsafe { libc::unlink(c_path.as_ptr().cast()) };
    let fd = datagram_socket()?;
    // The kernel attaches each sender's pid to its datagrams: who may say
    // a service is ready is decided from that (`receive_with_sender`).
    let on: libc::c_int = 1;
    // SAFETY: setsockopt from a live int with its size.
    check(unsafe {
        libc::setsockopt(
            fd.raw(),
            libc::SOL_SOCKET,
            libc::SO_PASSCRED,
            (&on as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    } as libc::c_long)?;
    // SAFETY: a live sockaddr_un and its size.
    check(unsafe {
        libc::bind(
            fd.raw(),
            (&address as *const libc::sockaddr_un).cast(),
            size_of::<libc::sockaddr_un>() as libc::socklen_t,
        )
    } as libc::c_long)?;
    Ok(fd)
}

/// `path` as a UNIX socket address.
fn unix_address(path: &str) -> Result<libc::sockaddr_un> {
    let mut address: libc::sockaddr_un = unsafe_zeroed_sockaddr_un();
    let bytes = path.as_bytes();
    if bytes.len() >= address.sun_path.len() {
        return Err(Error::with_detail(
            libc::ENAMETOOLONG,
            "the socket's path is longer than a socket address holds",
        ));
    }
    for (slot, &byte) in address.sun_path.iter_mut().zip(bytes) {
        *slot = byte as libc::c_char;
    }
    address.sun_family = libc::AF_UNIX as libc::sa_family_t;
    Ok(address)
}

fn datagram_socket() -> Result<Fd> {
    // SAFETY: integer arguments only.
    let fd = check(unsafe {
        libc::socket(
            libc::AF_UNIX,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        )
    } as libc::c_long)?;
    Ok(Fd(fd as RawFd))
}

/// Sends `bytes` as one datagram to the socket bound at `path` (made by
/// `notify_socket`), which learns who sent it from the kernel. EACCES
/// when the socket's mode does not let this user write to it.
pub fn send_datagram(path: &str, bytes: &[u8]) -> Result<()> {
    let address = unix_address(path)?;
    let fd = datagram_socket()?;
    // SAFETY: a live buffer and a live sockaddr_un, with their sizes.
    check(unsafe {
        libc::sendto(
            fd.raw(),
            bytes.as_ptr().cast(),
            bytes.len(),
            libc::MSG_NOSIGNAL,
            (&address as *const libc::sockaddr_un).cast(),
            size_of::<libc::sockaddr_un>() as libc::socklen_t,
        )
    } as libc::c_long)?;
    Ok(())
}

/// An inotify descriptor watching the directory `path` for files renamed
/// into it (as a state file is replaced), close-on-exec and non-blocking:
/// readable once such a rename happened.
pub fn watch_renames(path: &str) -> Result<Fd> {
    let c_path = c_string(path.as_bytes())?;
    // SAFETY: integer arguments only.
    let fd = check(
        unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) } as libc::c_long,
    )?;
    let fd = Fd(fd as RawFd);
    // SAFETY: a descriptor of ours and a NUL-terminated path.
    check(
        unsafe { libc::inotify_add_watch(fd.raw(), c_path.as_ptr().cast(), libc::IN_MOVED_TO) }
            as libc::c_long,
    )?;
    Ok(fd)
}

/// Who sent a datagram, as the kernel vouches for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sender {
    /// In grace's PID namespace; 0 for a sender outside it.
    pub pid: i32,
    pub uid: u32,
}

/// One datagram from a socket made by `notify_socket`, into `buffer`: its
/// length and who sent it. None when nothing is waiting.
pub fn receive_with_sender(fd: &Fd, buffer: &mut [u8]) -> Result<Option<(usize, Sender)>> {
    // Room for one SCM_CREDENTIALS message, aligned as cmsghdr wants.
    let mut control = [0u64; 8];
    let mut part = libc::iovec {
        iov_base: buffer.as_mut_ptr().cast(),
        iov_len: buffer.len(),
    };
    // SAFETY: msghdr is plain data, valid when all zero.
    let mut message: libc::msghdr = unsafe { core::mem::zeroed() };
    message.msg_iov = &mut part;
    message.msg_iovlen = 1;
    message.msg_control = control.as_mut_ptr().cast();
    message.msg_controllen = size_of::<[u64; 8]>() as _;
    // SAFETY: a message header whose buffers are live for the call.
    let received = unsafe {
        libc::recvmsg(
            fd.raw(),
            &mut message,
            libc::MSG_DONTWAIT | libc::MSG_CMSG_CLOEXEC | libc::MSG_TRUNC,
        )
    };
    let length = match check(received as libc::c_long) {
        Ok(length) => length as usize,
        Err(error) if error.code() == libc::EAGAIN => return Ok(None),
        Err(error) => return Err(error),
    };
    // No credentials: nobody grace knows (a uid no user has).
    let mut sender = Sender {
        pid: 0,
        uid: u32::MAX,
    };
    // SAFETY: the kernel filled msg_control with msg_controllen bytes of
    // control messages; CMSG_FIRSTHDR and CMSG_NXTHDR stay within them.
    let mut header = unsafe { libc::CMSG_FIRSTHDR(&message) };
    while !header.is_null() {
        // SAFETY: a header within the control buffer (above).
        let (level, kind) = unsafe { ((*header).cmsg_level, (*header).cmsg_type) };
        if level == libc::SOL_SOCKET && kind == libc::SCM_CREDENTIALS {
            // SAFETY: an SCM_CREDENTIALS message carries one ucred, read
            // unaligned as the buffer may place it anywhere.
            let credentials: libc::ucred =
                unsafe { core::ptr::read_unaligned(libc::CMSG_DATA(header).cast()) };
            sender = Sender {
                pid: credentials.pid,
                uid: credentials.uid,
            };
        } else if level == libc::SOL_SOCKET && kind == libc::SCM_RIGHTS {
            // Descriptors nobody asked for: closed, not leaked.
            // SAFETY: as above, the header lies within the buffer.
            let data_length =
                unsafe { (*header).cmsg_len } as usize - unsafe { libc::CMSG_LEN(0) } as usize;
            for index in 0..data_length / size_of::<libc::c_int>() {
                // SAFETY: within the message's data, read unaligned.
                let passed: libc::c_int = unsafe {
                    core::ptr::read_unaligned(
                        libc::CMSG_DATA(header).cast::<libc::c_int>().add(index),
                    )
                };
                drop(Fd(passed));
            }
        }
        // SAFETY: as above.
        header = unsafe { libc::CMSG_NXTHDR(&message, header) };
    }
    Ok(Some((length.min(buffer.len()), sender)))
}

fn unsafe_zeroed_sockaddr_un() -> libc::sockaddr_un {
    // SAFETY: sockaddr_un is plain data, valid when all zero.
    unsafe { core::mem::zeroed() }
}

/// How a connect attempt stands.
pub enum Connect {
    /// Connected at once (loopback often is).
    Done,
    /// Under way: the socket becomes writable when it is decided.
    Pending(Fd),
    /// Refused or unreachable now.
    Failed,
}

/// A non-blocking TCP connect to `address`. The socket is closed as soon
/// as the answer is known: readiness only asks whether something listens.
pub fn connect(address: SocketAddr) -> Result<Connect> {
    let family = match address.ip() {
        IpAddr::V4(_) => libc::AF_INET,
        IpAddr::V6(_) => libc::AF_INET6,
    };
    // SAFETY: integer arguments only.
    let fd = check(unsafe {
        libc::socket(
            family,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        )
    } as libc::c_long)?;
    let fd = Fd(fd as RawFd);
    let result = match address {
        SocketAddr::V4(v4) => {
            let raw = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(v4.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: a live sockaddr_in and its size.
            unsafe {
                libc::connect(
                    fd.raw(),
                    (&raw as *const libc::sockaddr_in).cast(),
                    size_of::<libc::sockaddr_in>() as libc::socklen_t,
                )
            }
        }
        SocketAddr::V6(v6) => {
            let raw = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: v6.port().to_be(),
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.ip().octets(),
                },
                sin6_scope_id: 0,
            };
            // SAFETY: a live sockaddr_in6 and its size.
            unsafe {
                libc::connect(
                    fd.raw(),
                    (&raw as *const libc::sockaddr_in6).cast(),
                    size_of::<libc::sockaddr_in6>() as libc::socklen_t,
                )
            }
        }
    };
    if result == 0 {
        return Ok(Connect::Done);
    }
    let error = Error::last_os_error();
    Ok(if error.code() == libc::EINPROGRESS {
        Connect::Pending(fd)
    } else {
        Connect::Failed
    })
}

/// Once a pending connect's socket is writable: whether it connected.
pub fn connect_result(fd: &Fd) -> Result<()> {
    let mut error: libc::c_int = 0;
    let mut length = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt into a live int with its length.
    check(unsafe {
        libc::getsockopt(
            fd.raw(),
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&mut error as *mut libc::c_int).cast(),
            &mut length,
        )
    } as libc::c_long)?;
    if error == 0 {
        Ok(())
    } else {
        Err(Error::from_raw_os_error(error))
    }
}

/// /dev/null for writing, close-on-exec: where a probe's output goes.
pub fn open_null() -> Result<Fd> {
    // SAFETY: open of a NUL-terminated literal path.
    let fd = check(
        unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) }
            as libc::c_long,
    )?;
    Ok(Fd(fd as RawFd))
}
