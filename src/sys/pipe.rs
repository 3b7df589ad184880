//! Services' output (`services::output`): pipes, reads and writes that
//! never wait, a second, non-blocking open of grace's stdout or stderr,
//! and ppoll.

use core::ffi::c_int;
use core::time::Duration;

use super::{Error, Fd, RawFd, Result, check};
use crate::base::prelude::*;

/// pipe2(2) with O_CLOEXEC: `(read end, write end)`. The read end is made
/// non-blocking (fcntl on its own open file description, which only grace
/// holds); the write end stays blocking, as a child expects its stdout.
pub fn pipe() -> Result<(Fd, Fd)> {
    let mut ends: [c_int; 2] = [-1; 2];
    // SAFETY: a live array of two ints for the kernel to fill.
    check(unsafe { libc::pipe2(ends.as_mut_ptr(), libc::O_CLOEXEC) } as libc::c_long)?;
    let (read, write) = (Fd(ends[0]), Fd(ends[1]));
    // SAFETY: integer arguments on a descriptor we own.
    let flags = check(unsafe { libc::fcntl(read.raw(), libc::F_GETFL) } as libc::c_long)?;
    // SAFETY: as above.
    check(
        unsafe { libc::fcntl(read.raw(), libc::F_SETFL, flags as c_int | libc::O_NONBLOCK) }
            as libc::c_long,
    )?;
    Ok((read, write))
}

/// What a descriptor refers to, as fstat(2) sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DescriptorKind {
    /// A regular file or a block device: writes complete without waiting
    /// for a reader.
    File,
    /// A pipe, a FIFO or a character device (terminal, /dev/null).
    Stream,
    Socket,
    Other,
}

/// fstat(2): what `fd` is; EBADF when it is not open.
pub fn descriptor_kind(fd: RawFd) -> Result<DescriptorKind> {
    // SAFETY: all-zero bytes are a valid `struct stat` (integers only).
    let mut status: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: a live stat buffer for the kernel to fill.
    check(unsafe { libc::fstat(fd, &mut status) } as libc::c_long)?;
    Ok(match status.st_mode & libc::S_IFMT {
        libc::S_IFREG | libc::S_IFBLK => DescriptorKind::File,
        libc::S_IFIFO | libc::S_IFCHR => DescriptorKind::Stream,
        libc::S_IFSOCK => DescriptorKind::Socket,
        _ => DescriptorKind::Other,
    })
}

/// open(2) of `/proc/self/fd/N` write-only, non-blocking, close-on-exec
/// and without becoming a controlling terminal: a new open file
/// description of what `fd` refers to, whose O_NONBLOCK nobody else
/// shares. ENXIO for a socket; also fails without /proc.
pub fn reopen_nonblocking(fd: RawFd) -> Result<Fd> {
    const PREFIX: &[u8] = b"/proc/self/fd/";
    let mut path = [0u8; PREFIX.len() + 12];
    path[..PREFIX.len()].copy_from_slice(PREFIX);
    let mut digits = [0u8; 10];
    let mut count = 0;
    let mut rest = u32::try_from(fd).map_err(|_| Error::from_raw_os_error(libc::EBADF))?;
    loop {
        digits[count] = b'0' + (rest % 10) as u8;
        count += 1;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for (at, digit) in digits[..count].iter().rev().enumerate() {
        path[PREFIX.len() + at] = *digit;
    }
    let flags = libc::O_WRONLY | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;
    // SAFETY: a NUL-terminated path (the array's tail is zeros) that
    // outlives the call; the result is a new descriptor.
    let new = check(unsafe { libc::open(path.as_ptr().cast(), flags) } as libc::c_long)?;
    Ok(Fd(new as RawFd))
}

/// One read(2) into `buffer`: `Ok(Some(0))` at end of file, `Ok(None)`
/// when a non-blocking descriptor has nothing yet.
pub fn read_some(fd: RawFd, buffer: &mut [u8]) -> Result<Option<usize>> {
    loop {
        // SAFETY: a read into a live buffer of the length passed.
        let result = unsafe { libc::read(fd, buffer.as_mut_ptr().cast(), buffer.len()) };
        match check(result as libc::c_long) {
            Ok(read) => return Ok(Some(read as usize)),
            Err(error) if error.code() == libc::EINTR => {}
            Err(error) if error.code() == libc::EAGAIN => return Ok(None),
            Err(error) => return Err(error),
        }
    }
}

/// `read_some` into the spare room of `buffer`, up to `max` bytes, and
/// appended to what it holds: no zeroing of the room first (a flood reads
/// 64 KiB at a time).
pub fn read_append(fd: RawFd, buffer: &mut Vec<u8>, max: usize) -> Result<Option<usize>> {
    buffer.reserve(max);
    let room = buffer.spare_capacity_mut();
    let room = &mut room[..max];
    loop {
        // SAFETY: a read into `room`, live and `room.len()` bytes long; the
        // kernel writes, never reads, the uninitialised bytes.
        let result = unsafe { libc::read(fd, room.as_mut_ptr().cast(), room.len()) };
        match check(result as libc::c_long) {
            Ok(read) => {
                let read = read as usize;
                // SAFETY: the kernel initialised the first `read` bytes of
                // the spare room, which `reserve` made at least `max` long.
                unsafe { buffer.set_len(buffer.len() + read) };
                return Ok(Some(read));
            }
            Err(error) if error.code() == libc::EINTR => {}
            Err(error) if error.code() == libc::EAGAIN => return Ok(None),
            Err(error) => return Err(error),
        }
    }
}

/// memchr(3): where `byte` first is in `bytes` (the C library's scan is a
/// word at a time; a plain loop in a binary built for size is a byte).
pub fn find_byte(bytes: &[u8], byte: u8) -> Option<usize> {
    // SAFETY: a live buffer of the length passed; the result is null or
    // points into it.
    let found = unsafe { libc::memchr(bytes.as_ptr().cast(), byte.into(), bytes.len()) };
    (!found.is_null()).then(|| found as usize - bytes.as_ptr() as usize)
}

/// memrchr(3): where `byte` last is in `bytes`.
pub fn find_last_byte(bytes: &[u8], byte: u8) -> Option<usize> {
    // SAFETY: as for `find_byte`.
    let found = unsafe { libc::memrchr(bytes.as_ptr().cast(), byte.into(), bytes.len()) };
    (!found.is_null()).then(|| found as usize - bytes.as_ptr() as usize)
}

/// One write(2): how much was written, `Ok(None)` when a non-blocking
/// descriptor has no room.
pub fn write_some(fd: RawFd, bytes: &[u8]) -> Result<Option<usize>> {
    loop {
        // SAFETY: a read-only buffer of the length passed.
        let result = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        match check(result as libc::c_long) {
            Ok(written) => return Ok(Some(written as usize)),
            Err(error) if error.code() == libc::EINTR => {}
            Err(error) if error.code() == libc::EAGAIN => return Ok(None),
            Err(error) => return Err(error),
        }
    }
}

/// send(2) with MSG_DONTWAIT and MSG_NOSIGNAL: `write_some` for a socket
/// whose open file description must stay blocking for its other users.
pub fn send_some(fd: RawFd, bytes: &[u8]) -> Result<Option<usize>> {
    loop {
        let flags = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
        // SAFETY: a read-only buffer of the length passed.
        let result = unsafe { libc::send(fd, bytes.as_ptr().cast(), bytes.len(), flags) };
        match check(result as libc::c_long) {
            Ok(written) => return Ok(Some(written as usize)),
            Err(error) if error.code() == libc::EINTR => {}
            Err(error) if error.code() == libc::EAGAIN => return Ok(None),
            Err(error) => return Err(error),
        }
    }
}

/// ppoll(2) with every signal kept blocked, waiting at most `timeout`
/// (`None`: without limit): how many entries have events; 0 on timeout.
pub fn poll(fds: &mut [libc::pollfd], timeout: Option<Duration>) -> Result<usize> {
    super::signal::poll_all(fds, timeout)
}
