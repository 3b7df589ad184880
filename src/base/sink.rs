//! One of grace's own outputs (its stdout or stderr), written without ever
//! blocking, through a bounded queue of whole lines. grace's log
//! (`crate::base::log`) writes its lines through one, the services' output
//! (`services::output`) through two; the event loop waits for room with
//! POLLOUT on `poll_fd`, and only while something is queued.
//!
//! Choices, and why:
//! - **Never waiting.** O_NONBLOCK on an inherited fd 1 or 2 would change
//!   the open file description grace shares with the main command and with
//!   whoever started grace, who would then see EAGAIN. So a destination is
//!   classified once, in `open`:
//!   - a pipe, FIFO (containerd's shim hands FIFOs to `docker logs`) or
//!     character device (a terminal, /dev/null) is opened again through
//!     `/proc/self/fd/N`, write-only, O_NONBLOCK and O_NOCTTY: a new open
//!     file description of the same object, non-blocking for grace alone;
//!   - a regular file (or block device) is written directly: writes to
//!     one never wait for a reader, and a second open would have an offset
//!     of its own (0) and overwrite what the command wrote;
//!   - a socket (which /proc cannot open: ENXIO) gets send(2) with
//!     MSG_DONTWAIT, non-blocking for that call only;
//!   - anything that cannot be reopened (no /proc, EACCES on a terminal)
//!     is written only after poll said POLLOUT, one write of at most
//!     PIPE_BUF bytes each time, which a pipe then has room for;
//!   - a descriptor that is closed, or fails a write (EPIPE: its reader
//!     left; EIO: a terminal hung up), is given up: its lines are dropped
//!     and counted.
//! - **Whole lines.** Every write(2) is at most PIPE_BUF (4096) bytes and
//!   holds whole lines only, so a pipe's reader never sees a line torn or
//!   mixed with another writer's, the main command's included, and a
//!   non-blocking write to a pipe takes all of it or nothing. (One write
//!   may carry several lines: the kernel keeps it just as whole, with far
//!   fewer system calls under a flood.) A terminal may take part of a
//!   write; the rest stays first in the queue.

use crate::base::prelude::*;
use crate::sys::{self, RawFd};

/// The kernel writes this much to a pipe in one piece, never interleaved
/// with another writer's bytes.
pub const LINE_MAX: usize = libc::PIPE_BUF;
/// A queue holding this much takes no more: the log drops (and counts)
/// lines, the services' output stops reading their pipes.
pub const QUEUE_LIMIT: usize = 64 * 1024;
/// An emptied queue larger than this gives its memory back.
const QUEUE_KEEP: usize = 16 * 1024;

/// How a destination is written without blocking (see the module doc).
pub enum Way {
    Direct,
    Reopened(sys::Fd),
    Socket,
    AfterPollout,
    Gone,
}

/// One of grace's outputs and the lines waiting for it.
pub struct Sink {
    pub fd: RawFd,
    pub way: Way,
    queue: Vec<u8>,
    /// Where the unwritten part of `queue` starts.
    head: usize,
    /// Why the destination was given up, until someone says so.
    pub lost: Option<sys::Error>,
}

impl Sink {
    pub fn open(fd: RawFd) -> Sink {
        let way = match sys::descriptor_kind(fd) {
            Err(_) => Way::Gone,
            Ok(sys::DescriptorKind::File) => Way::Direct,
            Ok(sys::DescriptorKind::Socket) => Way::Socket,
            Ok(_) => match sys::reopen_nonblocking(fd) {
                Ok(own) => Way::Reopened(own),
                Err(_) => Way::AfterPollout,
            },
        };
        Sink {
            fd,
            way,
            queue: Vec::new(),
            head: 0,
            lost: None,
        }
    }

    /// What poll watches for room; `None` once given up.
    pub fn poll_fd(&self) -> Option<RawFd> {
        match &self.way {
            Way::Reopened(own) => Some(own.raw()),
            Way::Gone => None,
            _ => Some(self.fd),
        }
    }

    /// POLLOUT while something waits: appended to `out`.
    pub fn watch(&self, out: &mut Vec<libc::pollfd>) {
        if let Some(fd) = self.poll_fd()
            && self.queued() > 0
        {
            out.push(libc::pollfd {
                fd,
                events: libc::POLLOUT,
                revents: 0,
            });
        }
    }

    pub fn queued(&self) -> usize {
        self.queue.len() - self.head
    }

    pub fn full(&self) -> bool {
        self.queued() >= QUEUE_LIMIT
    }

    /// The queue, to append whole lines to; written-out bytes are dropped
    /// from its front once they are half of it.
    pub fn room(&mut self) -> &mut Vec<u8> {
        if self.head > 0 && self.head * 2 >= self.queue.len() {
            self.queue.drain(..self.head);
            self.head = 0;
        }
        &mut self.queue
    }

    /// Writes what it can without blocking: how many lines were given up
    /// (a failure also leaves its error in `lost`).
    pub fn flush(&mut self) -> usize {
        while self.head < self.queue.len() {
            let rest = &self.queue[self.head..];
            let window = &rest[..rest.len().min(LINE_MAX)];
            let size = sys::find_last_byte(window, b'\n').map_or(window.len(), |at| at + 1);
            let bytes = &rest[..size];
            let written = match &self.way {
                Way::Direct => sys::write_some(self.fd, bytes),
                Way::Reopened(own) => sys::write_some(own.raw(), bytes),
                Way::Socket => sys::send_some(self.fd, bytes),
                // Asked again before every write, never taken from the
                // loop's POLLOUT: another sink on the same pipe (stdout and
                // stderr both one pipe) may have filled it since, and this
                // write would block.
                Way::AfterPollout if self.room_now() => sys::write_some(self.fd, bytes),
                Way::AfterPollout => return 0,
                Way::Gone => return self.discard(),
            };
            match written {
                Ok(None) => return 0,
                Ok(Some(0)) | Err(_) => {
                    self.lost = Some(match written {
                        Err(error) => error,
                        _ => sys::Error::from_raw_os_error(libc::EIO),
                    });
                    self.way = Way::Gone;
                    return self.discard();
                }
                Ok(Some(n)) => self.head += n,
            }
        }
        self.queue.clear();
        self.head = 0;
        0
    }

    /// Gives back an empty queue's memory once the lines have stopped
    /// pouring in (its owner says when): during a flood the queue keeps
    /// it, rather than ask the allocator (musl maps such sizes itself) at
    /// every wake-up.
    pub fn release(&mut self) {
        if self.queued() == 0 && self.queue.capacity() > QUEUE_KEEP {
            self.queue = Vec::new();
            self.head = 0;
        }
    }

    /// `Way::AfterPollout`: whether a poll that does not wait says there
    /// is room now.
    fn room_now(&self) -> bool {
        let mut fds = [libc::pollfd {
            fd: self.fd,
            events: libc::POLLOUT,
            revents: 0,
        }];
        // An error or a hang-up counts too: the write then says which.
        matches!(sys::poll(&mut fds, Some(core::time::Duration::ZERO)), Ok(1))
    }

    /// Empties the queue: how many lines it held (a line partly written
    /// counts).
    pub fn discard(&mut self) -> usize {
        let lines = count_lines(&self.queue[self.head..]);
        self.queue = Vec::new();
        self.head = 0;
        lines
    }
}

/// Lines in `bytes`, an unterminated last one included.
pub fn count_lines(bytes: &[u8]) -> usize {
    let ends = bytes.iter().filter(|&&b| b == b'\n').count();
    ends + usize::from(bytes.last().is_some_and(|&b| b != b'\n'))
}
