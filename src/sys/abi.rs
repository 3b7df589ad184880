//! What grace assumes about the architecture it is compiled for, checked
//! when it is compiled: a build for a target that breaks an assumption
//! fails (scripts/release builds every shipped architecture) instead of
//! shipping a binary that misreads the kernel.
//!
//! Supported: the architectures with Linux's common signal numbering
//! (x86, arm, aarch64, powerpc, s390x; riscv64 and loongarch64 share it),
//! 32- or 64-bit. Not supported: mips, sparc and alpha (and parisc), which
//! number signals differently (SIGUSR1 is 16 on mips, 30 on sparc and
//! alpha): grace's signal names and its forwarding rules (signals.rs)
//! follow the common numbers, and a name on the command line must mean
//! the same signal as in Docker's and the kernel's tables.
//!
//! 32-bit targets (i686, armv7): the libc crate binds musl's 32-bit
//! `time_t` calls. The monotonic clock (every deadline) counts from boot
//! and is unaffected; the wall clock, used only for log timestamps, reads
//! correctly until 2038-01-19.

use core::ffi::{c_long, c_ulong};
use core::mem::{offset_of, size_of};

#[cfg(any(
    target_arch = "mips",
    target_arch = "mips64",
    target_arch = "sparc",
    target_arch = "sparc64",
))]
compile_error!("this architecture numbers signals differently from the ones grace supports");

/// The numbers signals.rs writes down, as the target's C library has them.
const SIGNAL_NUMBERS: [(i32, i32); 31] = [
    (libc::SIGHUP, 1),
    (libc::SIGINT, 2),
    (libc::SIGQUIT, 3),
    (libc::SIGILL, 4),
    (libc::SIGTRAP, 5),
    (libc::SIGABRT, 6),
    (libc::SIGBUS, 7),
    (libc::SIGFPE, 8),
    (libc::SIGKILL, 9),
    (libc::SIGUSR1, 10),
    (libc::SIGSEGV, 11),
    (libc::SIGUSR2, 12),
    (libc::SIGPIPE, 13),
    (libc::SIGALRM, 14),
    (libc::SIGTERM, 15),
    (libc::SIGSTKFLT, 16),
    (libc::SIGCHLD, 17),
    (libc::SIGCONT, 18),
    (libc::SIGSTOP, 19),
    (libc::SIGTSTP, 20),
    (libc::SIGTTIN, 21),
    (libc::SIGTTOU, 22),
    (libc::SIGURG, 23),
    (libc::SIGXCPU, 24),
    (libc::SIGXFSZ, 25),
    (libc::SIGVTALRM, 26),
    (libc::SIGPROF, 27),
    (libc::SIGWINCH, 28),
    (libc::SIGIO, 29),
    (libc::SIGPWR, 30),
    (libc::SIGSYS, 31),
];

const _: () = {
    let mut i = 0;
    while i < SIGNAL_NUMBERS.len() {
        assert!(
            SIGNAL_NUMBERS[i].0 == SIGNAL_NUMBERS[i].1,
            "a signal number differs from Linux's common numbering"
        );
        i += 1;
    }
};

// The signalfd is read as an array of the libc crate's records: each must
// be the kernel's 128 bytes, with the fields grace reads where the kernel
// writes them (native byte order, which the struct's types give).
const _: () = {
    assert!(size_of::<libc::signalfd_siginfo>() == 128);
    assert!(offset_of!(libc::signalfd_siginfo, ssi_signo) == 0);
    assert!(offset_of!(libc::signalfd_siginfo, ssi_code) == 8);
    assert!(offset_of!(libc::signalfd_siginfo, ssi_pid) == 12);
};

// Signal masks cross into the kernel as one u64 (signal.rs). The kernel's
// sigset is an array of unsigned longs: one on 64-bit targets, whatever the
// byte order; two on 32-bit ones, where the u64's low half must come first,
// i.e. little endian. A 32-bit big-endian target would need the halves
// swapped.
const _: () = {
    assert!(super::signal::KERNEL_SIGSET_BYTES == size_of::<u64>());
    assert!(
        size_of::<c_ulong>() == 8 || cfg!(target_endian = "little"),
        "a 32-bit big-endian sigset is not a u64"
    );
};

// Raw syscall results come back as c_long and are turned into descriptors,
// pids and byte counts: c_long must be as wide as a pointer (true of every
// Linux ABI grace supports; x32 is not one of them).
const _: () = assert!(size_of::<c_long>() == size_of::<usize>());

// getdents64 records are parsed by offset (file.rs): the kernel's
// linux_dirent64, the same on every architecture.
const _: () = {
    assert!(offset_of!(libc::dirent64, d_reclen) == 16);
    assert!(offset_of!(libc::dirent64, d_name) == 19);
};

// The 2038 note above holds while the libc crate binds musl's 32-bit time_t
// on 32-bit targets. The crate has announced a move to 64 bits (hence its
// deprecation warning): this fails when that happens, so that the note and
// the symbols linked are looked at again. ppoll's timeout is clamped to
// i32::MAX seconds (signal.rs), which either width holds.
#[allow(deprecated)]
const _: () = assert!(size_of::<libc::time_t>() == size_of::<c_long>());
