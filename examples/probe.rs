//! A test process whose signal behaviour is chosen on its command line and
//! which writes down what happened to it, so tests can assert on what a real
//! process observed rather than on what grace says about itself.
//!
//! probe --dir DIR --name NAME [--handle SIGS] [--ignore SIGS] [--block SIGS]
//!       [--exit-on SIGS] [--cleanup-ms N] [--exit-code N] [--setsid]
//!       [--daemonize] [--fork N] [--stop-self] [--exit-now] [--mark EVENT]
//!       [--tag TEXT] [--zombie] [--leader-exits] [--notify]
//!
//! Files in DIR:
//! - NAME.ready: the pid, written (atomically) once every disposition is set.
//! - NAME.log: one line per event, `<event> <detail> <monotonic-ms>`:
//!   `signal N`, `cleanup-start N`, `cleanup-done N`.
//!
//! --zombie: first forks a child that exits at once and is never reaped,
//! and writes its pid to NAME.zombie before NAME.ready.
//! --leader-exits: once set up, the main thread exits alone (what
//! pthread_exit from main does) and a second thread writes NAME.ready and
//! goes on as the probe: /proc then shows the leader as a zombie while the
//! process lives.
//! --notify: once NAME.ready is written, sends sd_notify's `READY=1` to
//! the datagram socket NOTIFY_SOCKET names (a service's readiness, without
//! systemd-notify, which busybox lacks), then writes NAME.notified.
//! --mark EVENT appends `EVENT 0 <ms>` to NAME.log and exits at once.
//! On a signal in --exit-on (default TERM; it is then also handled) the probe
//! "cleans up" for --cleanup-ms, logs `cleanup-done`, then dies of that
//! signal (like a well-behaved program) or exits with --exit-code.
//! SIGS is a comma list of numbers or `all` (every catchable signal).
//!
//! probe --report FILE: writes its own SigBlk/SigIgn lines and open
//! descriptors (`fd N TARGET`) to FILE and exits; nothing else runs first.

use std::collections::BTreeSet;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

static PIPE_WRITE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(signal: libc::c_int) {
    let byte = signal as u8;
    // SAFETY: write(2) is async-signal-safe; the byte lives on our stack.
    unsafe {
        libc::write(
            PIPE_WRITE.load(Ordering::Relaxed),
            (&byte as *const u8).cast(),
            1,
        )
    };
}

fn monotonic_ms() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a live timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1000 + ts.tv_nsec as u64 / 1_000_000
}

fn catchable() -> impl Iterator<Item = i32> {
    // 32 and 33 belong to glibc; 9 and 19 cannot be caught.
    (1..=64).filter(|s| !matches!(s, 9 | 19 | 32 | 33))
}

fn parse_set(text: &str) -> BTreeSet<i32> {
    if text == "all" {
        return catchable().collect();
    }
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().expect("signal number"))
        .collect()
}

struct Options {
    dir: PathBuf,
    name: String,
    handle: BTreeSet<i32>,
    ignore: BTreeSet<i32>,
    block: BTreeSet<i32>,
    exit_on: BTreeSet<i32>,
    cleanup_ms: u64,
    exit_code: Option<i32>,
    setsid: bool,
    daemonize: bool,
    fork: u32,
    stop_self: bool,
    exit_now: bool,
    mark: Option<String>,
    zombie: bool,
    leader_exits: bool,
    notify: bool,
}

fn parse_options() -> Options {
    let mut o = Options {
        dir: PathBuf::from("."),
        name: "probe".into(),
        handle: BTreeSet::new(),
        ignore: BTreeSet::new(),
        block: BTreeSet::new(),
        exit_on: [15].into(),
        cleanup_ms: 0,
        exit_code: None,
        setsid: false,
        daemonize: false,
        fork: 0,
        stop_self: false,
        exit_now: false,
        mark: None,
        zombie: false,
        leader_exits: false,
        notify: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().expect("option value");
        match flag.as_str() {
            "--dir" => o.dir = value().into(),
            "--name" => o.name = value(),
            // Only there to make the process recognisable in a listing.
            "--tag" => drop(value()),
            "--handle" => o.handle = parse_set(&value()),
            "--ignore" => o.ignore = parse_set(&value()),
            "--block" => o.block = parse_set(&value()),
            "--exit-on" => o.exit_on = parse_set(&value()),
            "--cleanup-ms" => o.cleanup_ms = value().parse().expect("ms"),
            "--exit-code" => o.exit_code = Some(value().parse().expect("code")),
            "--fork" => o.fork = value().parse().expect("count"),
            "--setsid" => o.setsid = true,
            "--daemonize" => o.daemonize = true,
            "--stop-self" => o.stop_self = true,
            "--exit-now" => o.exit_now = true,
            "--mark" => o.mark = Some(value()),
            "--zombie" => o.zombie = true,
            "--leader-exits" => o.leader_exits = true,
            "--notify" => o.notify = true,
            other => panic!("probe: unknown option {other}"),
        }
    }
    o
}

fn log_line(options: &Options, line: &str) {
    let path = options.dir.join(format!("{}.log", options.name));
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open log");
    file.write_all(format!("{line} {}\n", monotonic_ms()).as_bytes())
        .expect("write log");
}

fn report(path: &str) {
    let status = std::fs::read_to_string("/proc/self/status").expect("status");
    let mut text: String = status
        .lines()
        .filter(|line| line.starts_with("SigBlk") || line.starts_with("SigIgn"))
        .map(|line| format!("{line}\n"))
        .collect();
    let mut fds: Vec<(u32, String)> = std::fs::read_dir("/proc/self/fd")
        .expect("fd dir")
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let number = entry.file_name().to_str()?.parse().ok()?;
            let target = std::fs::read_link(entry.path()).ok()?;
            Some((number, target.display().to_string()))
        })
        .collect();
    fds.sort();
    for (number, target) in fds {
        text.push_str(&format!("fd {number} {target}\n"));
    }
    std::fs::write(path, text).expect("write report");
}

/// Forks a child that exits at once, and waits until it has exited without
/// reaping it (WNOWAIT): it stays a zombie for as long as this probe lives.
fn make_zombie(options: &Options) {
    // SAFETY: fork in a single-threaded program; the child only calls _exit.
    let child = unsafe { libc::fork() };
    if child == 0 {
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(0) };
    }
    assert!(child > 0, "fork failed");
    // SAFETY: an all-zero siginfo_t is valid for waitid to fill.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid on our own child with a live siginfo_t.
    let result = unsafe {
        libc::waitid(
            libc::P_PID,
            child as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOWAIT,
        )
    };
    assert_eq!(result, 0, "waitid");
    let path = options.dir.join(format!("{}.zombie", options.name));
    std::fs::write(path, child.to_string()).expect("write zombie pid");
}

fn main() {
    if let [_, flag, path] = &std::env::args().collect::<Vec<_>>()[..]
        && flag == "--report"
    {
        report(path);
        return;
    }
    let mut options = parse_options();
    if let Some(event) = &options.mark {
        log_line(&options, &format!("{event} 0"));
        return;
    }
    if options.exit_now {
        std::process::exit(options.exit_code.unwrap_or(0));
    }
    if options.daemonize {
        // The classic double fork: the middle process exits, so the probe
        // that goes on is an orphan in a session of its own.
        // SAFETY: fork in a single-threaded program.
        if unsafe { libc::fork() } != 0 {
            std::process::exit(0);
        }
        // SAFETY: plain system calls.
        unsafe { libc::setsid() };
        // SAFETY: as above.
        if unsafe { libc::fork() } != 0 {
            std::process::exit(0);
        }
    } else if options.setsid {
        // SAFETY: plain system call.
        unsafe { libc::setsid() };
    }
    if options.zombie {
        make_zombie(&options);
    }
    let base_name = options.name.clone();
    for index in 1..=options.fork {
        // SAFETY: fork in a single-threaded program.
        if unsafe { libc::fork() } == 0 {
            options.name = format!("{base_name}-{index}");
            break;
        }
    }

    let mut pipe = [0; 2];
    // SAFETY: pipe fills two ints.
    assert_eq!(
        unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) },
        0
    );
    PIPE_WRITE.store(pipe[1], Ordering::Relaxed);

    let handled: BTreeSet<i32> = options.handle.union(&options.exit_on).copied().collect();
    for &signal in &handled {
        // SAFETY: an all-zero sigaction is valid; the handler is
        // async-signal-safe.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as *const () as usize;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            assert_eq!(
                libc::sigaction(signal, &action, std::ptr::null_mut()),
                0,
                "sigaction {signal}"
            );
        }
    }
    for &signal in &options.ignore {
        // SAFETY: setting SIG_IGN.
        unsafe { libc::signal(signal, libc::SIG_IGN) };
    }
    // SAFETY: building and applying a sigset.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &signal in &options.block {
            libc::sigaddset(&mut set, signal);
        }
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }

    if options.leader_exits {
        // The new thread inherits the dispositions and the mask set above.
        std::thread::spawn(move || serve(options, pipe[0]));
        // exit(2) itself, not exit_group: only this thread ends, as at the
        // end of pthread_exit, with no unwinding through Rust frames.
        // SAFETY: a raw system call that does not return.
        unsafe { libc::syscall(libc::SYS_exit, 0) };
        unreachable!("exit returned");
    }
    serve(options, pipe[0]);
}

/// Writes NAME.ready, then logs each signal the handler passes on through
/// `signals`, and acts on it; never returns.
fn serve(options: Options, signals: libc::c_int) -> ! {
    let ready = options.dir.join(format!("{}.ready", options.name));
    let temporary = options.dir.join(format!(".{}.ready.tmp", options.name));
    std::fs::write(&temporary, std::process::id().to_string()).expect("write ready");
    std::fs::rename(&temporary, &ready).expect("rename ready");
    if options.notify {
        let socket = std::env::var_os("NOTIFY_SOCKET").expect("NOTIFY_SOCKET");
        std::os::unix::net::UnixDatagram::unbound()
            .and_then(|sender| sender.send_to(b"READY=1\n", socket))
            .expect("send READY=1");
        std::fs::write(&temporary, "").expect("write notified");
        std::fs::rename(
            &temporary,
            options.dir.join(format!("{}.notified", options.name)),
        )
        .expect("rename notified");
    }

    if options.stop_self {
        // SAFETY: plain system call.
        unsafe { libc::raise(libc::SIGSTOP) };
    }

    loop {
        let mut byte = 0u8;
        // SAFETY: reading one byte into a live u8.
        let n = unsafe { libc::read(signals, (&mut byte as *mut u8).cast(), 1) };
        if n != 1 {
            continue;
        }
        let signal = i32::from(byte);
        log_line(&options, &format!("signal {signal}"));
        if options.exit_on.contains(&signal) {
            log_line(&options, &format!("cleanup-start {signal}"));
            std::thread::sleep(Duration::from_millis(options.cleanup_ms));
            log_line(&options, &format!("cleanup-done {signal}"));
            if let Some(code) = options.exit_code {
                std::process::exit(code);
            }
            // SAFETY: restoring the default action and re-raising.
            unsafe {
                libc::signal(signal, libc::SIG_DFL);
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigaddset(&mut set, signal);
                libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
                libc::raise(signal);
            }
            std::process::exit(128 + signal);
        }
    }
}
