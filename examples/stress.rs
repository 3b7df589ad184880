//! Abusive workloads for the hardening tests, run under grace:
//!
//! - `summary DIR NAME`: counts the signals it receives (USR1, USR2, HUP,
//!   WINCH, RTMIN..RTMIN+4) without doing any I/O per signal, so a storm
//!   cannot back it up; on SIGTERM writes NAME.summary (`count N` and a
//!   `seen S` line per signal number) and dies of SIGTERM.
//! - `fork-flood DIR`: forks as fast as it can, each child forking a
//!   grandchild and exiting, so grace is flooded with orphans; fork failures
//!   (a pids limit) are retried at once.
//! - `orphan-flood N DIR`: makes N short-lived orphans, writing how many
//!   so far to DIR/orphans.made every thousand, writes DIR/orphans.done,
//!   then waits for SIGTERM.
//!
//! Each writes DIR/NAME.ready (or DIR/flood.ready, DIR/main.ready) once set up.

use std::path::Path;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

static SEEN: AtomicU64 = AtomicU64::new(0);
static COUNT: AtomicU64 = AtomicU64::new(0);
static TERM_PIPE: AtomicI32 = AtomicI32::new(-1);
static TERM_READ: AtomicI32 = AtomicI32::new(-1);

const COUNTED: &[i32] = &[1, 10, 12, 28, 34, 35, 36, 37, 38];

extern "C" fn on_counted(signal: libc::c_int) {
    SEEN.fetch_or(1 << (signal - 1), Ordering::Relaxed);
    COUNT.fetch_add(1, Ordering::Relaxed);
}

extern "C" fn on_term(_: libc::c_int) {
    let byte = 1u8;
    // SAFETY: write(2) is async-signal-safe.
    unsafe {
        libc::write(
            TERM_PIPE.load(Ordering::Relaxed),
            (&byte as *const u8).cast(),
            1,
        )
    };
}

fn reserved_by_the_c_library(signal: i32) -> bool {
    signal < libc::SIGRTMIN()
}

fn install(signal: i32, handler: extern "C" fn(libc::c_int)) {
    // SAFETY: a zeroed sigaction with an async-signal-safe handler.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler as *const () as usize;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        assert_eq!(libc::sigaction(signal, &action, std::ptr::null_mut()), 0);
    }
}

fn ready(dir: &Path, name: &str) {
    let temporary = dir.join(format!(".{name}.tmp"));
    std::fs::write(&temporary, std::process::id().to_string()).unwrap();
    std::fs::rename(temporary, dir.join(format!("{name}.ready"))).unwrap();
}

fn wait_for_term() {
    let mut pipe = [0; 2];
    // SAFETY: pipe fills two ints.
    assert_eq!(
        unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) },
        0
    );
    TERM_READ.store(pipe[0], Ordering::Relaxed);
    TERM_PIPE.store(pipe[1], Ordering::Relaxed);
    install(libc::SIGTERM, on_term);
}

fn block_on_term_pipe() {
    let mut byte = 0u8;
    loop {
        // SAFETY: reading one byte into a live u8.
        let n = unsafe {
            libc::read(
                TERM_READ.load(Ordering::Relaxed),
                (&mut byte as *mut u8).cast(),
                1,
            )
        };
        if n == 1 {
            return;
        }
    }
}

fn die_of_term() -> ! {
    // SAFETY: restoring the default action and re-raising.
    unsafe {
        libc::signal(libc::SIGTERM, libc::SIG_DFL);
        libc::raise(libc::SIGTERM);
    }
    std::process::exit(143)
}

fn summary(dir: &Path, name: &str) {
    for &signal in COUNTED {
        // musl keeps the first real-time signals (32 to 34) for itself and
        // refuses them: a static build counts the rest.
        if signal < 32 || !reserved_by_the_c_library(signal) {
            install(signal, on_counted);
        }
    }
    wait_for_term();
    ready(dir, name);
    block_on_term_pipe();
    let seen = SEEN.load(Ordering::Relaxed);
    let mut text = format!("count {}\n", COUNT.load(Ordering::Relaxed));
    for signal in 1..=64 {
        if seen & (1 << (signal - 1)) != 0 {
            text.push_str(&format!("seen {signal}\n"));
        }
    }
    std::fs::write(dir.join(format!("{name}.summary")), text).unwrap();
    die_of_term();
}

fn reap_children() {
    // SAFETY: reaping our own children without blocking.
    while unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) } > 0 {}
}

/// Forks a child that forks a grandchild and exits: the grandchild is an
/// orphan for grace to reap. Returns false when fork failed.
fn make_orphan() -> bool {
    // SAFETY: fork in a single-threaded program; the children only fork
    // and _exit.
    match unsafe { libc::fork() } {
        -1 => false,
        0 => unsafe {
            libc::fork();
            libc::_exit(0)
        },
        _ => true,
    }
}

fn fork_flood(dir: &Path) -> ! {
    ready(dir, "flood");
    loop {
        make_orphan();
        reap_children();
    }
}

fn orphan_flood(count: usize, dir: &Path) {
    wait_for_term();
    let mut made = 0;
    while made < count {
        if make_orphan() {
            made += 1;
            if made % 1000 == 0 {
                std::fs::write(dir.join("orphans.made"), made.to_string()).unwrap();
            }
        }
        reap_children();
    }
    // Wait for our own children so that every grandchild is an orphan.
    // SAFETY: blocking waitpid on our own children until none is left.
    while unsafe { libc::waitpid(-1, std::ptr::null_mut(), 0) } > 0 {}
    std::fs::write(dir.join("orphans.done"), made.to_string()).unwrap();
    ready(dir, "main");
    block_on_term_pipe();
    die_of_term();
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["summary", dir, name] => summary(Path::new(dir), name),
        ["fork-flood", dir] => fork_flood(Path::new(dir)),
        ["orphan-flood", count, dir] => orphan_flood(count.parse().unwrap(), Path::new(dir)),
        _ => panic!("usage: stress summary DIR NAME | fork-flood DIR | orphan-flood N DIR"),
    }
}
