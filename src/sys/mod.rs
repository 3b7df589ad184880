//! Every `unsafe` block and raw system call in grace lives in this module.
//!
//! The rest of the crate is safe Rust (`#![deny(unsafe_code)]` at the root).
//! Each wrapper names the system call it makes; each unsafe block says why it
//! is sound. One file per concern:
//! - `runtime`: what std would otherwise provide: the C entry point, the
//!   heap, the panic handler, the environment;
//! - `signal`: masks, dispositions, the signalfd, kill and pidfds;
//! - `process`: reaping, prctl, the terminal, and starting the command;
//! - `file`: reading files and directories, writing to descriptors, the
//!   working directory, what a path is and whether it may be executed;
//! - `ready`: what a service's readiness is read from (a pipe, the
//!   notify socket, a TCP connect), and the run directory; the control
//!   socket's datagrams, and the watch on the state file;
//! - `clock`: the monotonic and wall clocks;
//! - `sockdiag`: sockets as the kernel reports them (sock_diag), and which
//!   of a process's descriptors are sockets;
//! - `pipe`: services' output: pipes, reads and writes that never wait,
//!   a non-blocking second open of stdout, ppoll;
//! - `image`: grace's own code in memory, whose set-up pages are given
//!   back when the event loop first goes idle;
//! - `abi`: what grace assumes about the architecture (signal numbers,
//!   struct layouts, widths, byte order), checked at compile time.

mod abi;
mod clock;
mod file;
mod image;
mod pipe;
mod process;
mod ready;
mod runtime;
mod signal;
mod sockdiag;

use core::ffi::{CStr, c_int};
use core::fmt;
use core::ptr::NonNull;

use crate::base::prelude::*;

pub use clock::{monotonic_now, wall_clock_now};
pub use file::{
    FileType, change_directory, create_in, current_directory, descriptor_limit, effective_uid,
    file_type, give_socket, is_terminal, is_too_large, list_directory, list_directory_up_to,
    make_directories, make_directory, may_execute, may_write, open_descriptors, open_directory,
    open_in, read_file, read_head, read_link, read_up_to, rename, rename_in, set_mode, status_of,
    unlink, unlink_in, write_all,
};
pub use pipe::{
    DescriptorKind, descriptor_kind, find_byte, find_last_byte, pipe, poll, read_append, read_some,
    reopen_nonblocking, send_some, write_some,
};
pub use process::{
    ChildCredentials, ChildSetup, SpawnFailure, become_child_subreaper,
    detach_controlling_terminal, foreground_group, getpid, process_group, reap_one,
    set_foreground_group, set_parent_death_signal, spawn, yield_cpu,
};
pub use ready::{
    Connect, Sender, connect, connect_result, notify_socket, open_null, receive_with_sender,
    send_datagram, watch_renames,
};
pub use runtime::{Exclusive, environment};
pub use signal::{PidFd, ReceivedSignal, SignalFd, is_ignored, kill, set_signal_mask};
#[cfg(test)]
pub use sockdiag::TCP_ESTABLISHED;
pub use sockdiag::{
    Endpoint, TCP_LISTEN, TcpSocket, UnixSocket, socket_inodes, tcp_sockets, unix_sockets,
};

/// A descriptor number, as the kernel hands them out.
pub type RawFd = c_int;

/// A failed system call: its errno, and for failures grace detects itself
/// (malformed /proc contents) what was wrong.
///
/// Two words, not the three a `&'static str` detail beside the errno took:
/// every `Result` with an Error is built, copied and matched by each `?`,
/// and the third word cost 4 KB of code over the crate. The detail is kept
/// as its start, its length beside the errno.
#[derive(Clone, Copy)]
pub struct Error {
    /// The errno in the low half, the length of the detail given to
    /// `with_detail` in the high half (0: none): one word to write.
    code_and_len: u64,
    /// Where that detail starts, when its length is not 0 (else the
    /// errno's own message). Never null, which leaves `Result<(), Error>`
    /// two words as well.
    detail: NonNull<u8>,
}

// SAFETY: the pointer is to a `&'static str`, which any thread may read.
unsafe impl Send for Error {}
// SAFETY: as above.
unsafe impl Sync for Error {}

pub type Result<T> = core::result::Result<T, Error>;

impl Error {
    /// errno as the last failed call left it.
    pub fn last_os_error() -> Self {
        // SAFETY: __errno_location returns this thread's errno slot, always
        // valid to read.
        let code = unsafe { *libc::__errno_location() };
        Error::from_raw_os_error(code)
    }

    pub fn from_raw_os_error(code: i32) -> Self {
        Error {
            code_and_len: u64::from(code as u32),
            detail: NonNull::dangling(),
        }
    }

    /// A failure grace found itself, reported with `code` and `detail` (an
    /// empty one: the errno's message).
    pub fn with_detail(code: i32, detail: &'static str) -> Self {
        // (A detail is a short sentence: 4 GB would be none at all.)
        let Ok(detail_len) = u32::try_from(detail.len()) else {
            return Error::from_raw_os_error(code);
        };
        Error {
            code_and_len: u64::from(code as u32) | u64::from(detail_len) << 32,
            detail: NonNull::from_ref(detail.as_bytes()).cast(),
        }
    }

    pub fn raw_os_error(&self) -> Option<i32> {
        Some(self.code())
    }

    fn code(&self) -> i32 {
        self.code_and_len as u32 as i32
    }

    /// What `with_detail` was given.
    fn detail(&self) -> Option<&'static str> {
        let len = (self.code_and_len >> 32) as usize;
        if len == 0 {
            return None;
        }
        // SAFETY: a length that is not 0 is, with `detail`, that of a
        // `&'static str` (`with_detail`): valid UTF-8 that lives forever.
        // Nothing else sets either.
        Some(unsafe {
            core::str::from_utf8_unchecked(core::slice::from_raw_parts(self.detail.as_ptr(), len))
        })
    }
}

impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        self.code() == other.code() && self.detail() == other.detail()
    }
}

impl Eq for Error {}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("code", &self.code())
            .field("detail", &self.detail())
            .finish()
    }
}

impl fmt::Display for Error {
    /// As the standard library words it: `No such file or directory (os
    /// error 2)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(detail) = self.detail() {
            return f.write_str(detail);
        }
        // SAFETY: strerror returns a pointer to a static, NUL-terminated
        // message for any code (musl and glibc: "Unknown error" at worst);
        // grace is single-threaded, so no other call can overwrite it.
        let text = unsafe { CStr::from_ptr(libc::strerror(self.code())) };
        write!(f, "{} (os error {})", text.to_string_lossy(), self.code())
    }
}

/// A descriptor grace owns and closes when done with it.
pub struct Fd(RawFd);

impl Fd {
    /// The descriptor's number, for poll and for a child's dup2; it stays
    /// grace's to close.
    pub fn raw(&self) -> RawFd {
        self.0
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: the descriptor is ours and closed exactly once.
        unsafe { libc::close(self.0) };
    }
}

fn check(result: libc::c_long) -> Result<libc::c_long> {
    if result < 0 {
        Err(Error::last_os_error())
    } else {
        Ok(result)
    }
}

/// A NUL-terminated copy of `bytes` for a C call; EINVAL when `bytes`
/// holds a NUL itself, which no C string can carry.
fn c_string(bytes: &[u8]) -> Result<Vec<u8>> {
    if bytes.contains(&0) {
        return Err(Error::from_raw_os_error(libc::EINVAL));
    }
    let mut owned = Vec::with_capacity(bytes.len() + 1);
    owned.extend_from_slice(bytes);
    owned.push(0);
    Ok(owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_says_its_detail_or_its_errno() {
        let found = Error::with_detail(libc::EBADMSG, "malformed stat");
        assert_eq!(found.to_string(), "malformed stat");
        assert_eq!(found.raw_os_error(), Some(libc::EBADMSG));
        assert_eq!(found, Error::with_detail(libc::EBADMSG, "malformed stat"));
        assert_ne!(found, Error::from_raw_os_error(libc::EBADMSG));
        assert_ne!(found, Error::with_detail(libc::EBADMSG, "malformed status"));
        let os = Error::from_raw_os_error(libc::ENOENT);
        assert_eq!(os.to_string(), "No such file or directory (os error 2)");
        assert_eq!(os.raw_os_error(), Some(libc::ENOENT));
        assert_eq!(
            Error::with_detail(libc::ENOENT, "").to_string(),
            os.to_string()
        );
        assert_eq!(Error::with_detail(-1, "x").raw_os_error(), Some(-1));
    }
}
