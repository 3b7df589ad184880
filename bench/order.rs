//! The workloads, the floor and the real binary's figures of the ordered
//! stop (issue 20), which `bench/order` runs; the order's computation is
//! timed by an ignored unit test (src/testing/order_bench.rs) run as PID 1
//! of a new PID and network namespace.
//!
//! - `workload N`: N client processes, each holding a UNIX stream
//!   connection and a TCP connection to one of N/100 + 1 server processes
//!   (which hold the listeners and the accepted ends), and a socketpair,
//!   and nothing else (6 descriptors a client, with its server's share);
//!   prints `ready` once every connection is accepted, and on EOF of its
//!   stdin kills them all and reaps them.
//! - `floor`: the scan floor: one pass of getdents64 (readdir) and
//!   readlinkat over every /proc/PID/fd, as a C program would do it;
//!   prints its nanoseconds and how many descriptors it read.
//! - `first-signal GRACE SIZES ROUNDS`: grace as PID 1 of new PID and
//!   network namespaces, its main process (`main N`) with `workload N`
//!   around it; the time from the SIGTERM sent to grace until the main
//!   process takes it (sigwaitinfo, CLOCK_MONOTONIC on both sides), and
//!   until the namespace is gone (a pidfd on grace), under each
//!   `--stop-order`, in interleaved rounds.
//! - `shapes GRACE T_MS ROUNDS`: chains of processes connected by UNIX
//!   sockets (the main process a client at the head, orphans of grace
//!   below it, each accepting its client), each with a cleanup of T_MS on
//!   SIGTERM (`shape KIND T_MS` is the main process); the stop from the
//!   SIGTERM until the namespace is gone, against the floor: the cleanups
//!   along the chain, one after the other.

use std::ffi::CString;
use std::io::Read;
use std::time::Instant;

/// Clients per server.
const FAN_IN: usize = 100;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["workload", n] => workload(n.parse().unwrap()),
        ["main", n] => first_signal_main(n.parse().unwrap()),
        ["first-signal", grace, sizes, rounds] => {
            first_signal(grace, sizes, rounds.parse().unwrap())
        }
        ["shape", kind, t] => shape_main(kind, t.parse().unwrap()),
        ["shapes", grace, t, rounds] => shapes(grace, t.parse().unwrap(), rounds.parse().unwrap()),
        ["floor"] => {
            let start = Instant::now();
            let descriptors = floor();
            println!("{} {descriptors}", start.elapsed().as_nanos());
        }
        _ => {
            eprintln!(
                "usage: order workload N | floor | first-signal GRACE SIZES ROUNDS | shapes GRACE T_MS ROUNDS"
            );
            std::process::exit(2);
        }
    }
}

fn check(result: libc::c_int, what: &str) -> libc::c_int {
    if result < 0 {
        panic!("{what}: {}", std::io::Error::last_os_error());
    }
    result
}

/// An abstract UNIX address, `\0grace-order-PID-N`, PID the workload's.
fn unix_address(server: usize) -> (libc::sockaddr_un, libc::socklen_t) {
    // SAFETY: all-zero bytes are a valid sockaddr_un.
    let mut address: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    address.sun_family = libc::AF_UNIX as libc::sa_family_t;
    // SAFETY: no arguments; the workload's pid, in its children too.
    let name = format!("grace-order-{}-{server}", unsafe { libc::getpgrp() });
    for (slot, byte) in address.sun_path[1..].iter_mut().zip(name.bytes()) {
        *slot = byte as libc::c_char;
    }
    let length = std::mem::size_of::<libc::sa_family_t>() + 1 + name.len();
    (address, length as libc::socklen_t)
}

/// A UNIX stream listener at `unix_address(name)`.
fn unix_listener(name: usize, backlog: libc::c_int) -> libc::c_int {
    let listener = socket(libc::AF_UNIX);
    let (address, length) = unix_address(name);
    // SAFETY: a live address of the length passed.
    check(
        unsafe {
            libc::bind(
                listener,
                (&address as *const libc::sockaddr_un).cast(),
                length,
            )
        },
        "bind",
    );
    // SAFETY: integer arguments.
    check(unsafe { libc::listen(listener, backlog) }, "listen");
    listener
}

/// A UNIX stream connection to `unix_address(name)`.
fn unix_client(name: usize) -> libc::c_int {
    let client = socket(libc::AF_UNIX);
    let (address, length) = unix_address(name);
    // SAFETY: a live address of the length passed.
    check(
        unsafe {
            libc::connect(
                client,
                (&address as *const libc::sockaddr_un).cast(),
                length,
            )
        },
        "connect",
    );
    client
}

fn loopback(port: u16) -> libc::sockaddr_in {
    // SAFETY: all-zero bytes are a valid sockaddr_in.
    let mut address: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    address.sin_family = libc::AF_INET as libc::sa_family_t;
    address.sin_port = port.to_be();
    address.sin_addr.s_addr = u32::from_be_bytes([127, 0, 0, 1]).to_be();
    address
}

fn socket(family: libc::c_int) -> libc::c_int {
    // SAFETY: integer arguments.
    check(
        unsafe { libc::socket(family, libc::SOCK_STREAM, 0) },
        "socket",
    )
}

/// A UNIX and a TCP listener for server `server`: (unix, tcp, tcp port).
fn listeners(server: usize) -> (libc::c_int, libc::c_int, u16) {
    let unix = unix_listener(server, 4096);
    let tcp = socket(libc::AF_INET);
    let address = loopback(0);
    let size = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: a live address of the size passed.
    check(
        unsafe { libc::bind(tcp, (&address as *const libc::sockaddr_in).cast(), size) },
        "bind",
    );
    // SAFETY: integer arguments.
    check(unsafe { libc::listen(tcp, 4096) }, "listen");
    let mut bound = loopback(0);
    let mut size = size;
    // SAFETY: a live address and its size for the kernel to fill.
    check(
        unsafe {
            libc::getsockname(
                tcp,
                (&mut bound as *mut libc::sockaddr_in).cast(),
                &mut size,
            )
        },
        "getsockname",
    );
    (unix, tcp, u16::from_be(bound.sin_port))
}

/// A server: accepts `expected` connections on its two listeners, writes
/// a byte to `ready` for each, then waits to be killed.
fn serve(unix: libc::c_int, tcp: libc::c_int, expected: usize, ready: libc::c_int) -> ! {
    let mut fds = [
        libc::pollfd {
            fd: unix,
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: tcp,
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    let mut accepted = 0;
    while accepted < expected {
        // SAFETY: two live pollfds.
        check(unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) }, "poll");
        for fd in &fds {
            if fd.revents & libc::POLLIN != 0 {
                // SAFETY: accept without the peer's address.
                check(
                    unsafe { libc::accept(fd.fd, std::ptr::null_mut(), std::ptr::null_mut()) },
                    "accept",
                );
                accepted += 1;
                // SAFETY: one byte from the stack.
                unsafe { libc::write(ready, b"s".as_ptr().cast(), 1) };
            }
        }
    }
    loop {
        // SAFETY: waits for the SIGKILL.
        unsafe { libc::pause() };
    }
}

/// A client: a UNIX and a TCP connection to its server, a socketpair,
/// a byte to `ready`, then waits to be killed.
fn client(server: usize, port: u16, ready: libc::c_int) -> ! {
    let _unix = unix_client(server);
    let tcp = socket(libc::AF_INET);
    let address = loopback(port);
    let size = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: a live address of the size passed.
    check(
        unsafe { libc::connect(tcp, (&address as *const libc::sockaddr_in).cast(), size) },
        "connect",
    );
    let mut pair = [0; 2];
    // SAFETY: room for two descriptors.
    check(
        unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, pair.as_mut_ptr()) },
        "socketpair",
    );
    // SAFETY: one byte from the stack; then the client holds its four
    // sockets only (its server two more): about 30,000 descriptors for
    // 5,000 processes.
    unsafe {
        libc::write(ready, b"c".as_ptr().cast(), 1);
        libc::close(ready);
        libc::close(2);
    }
    loop {
        // SAFETY: waits for the SIGKILL.
        unsafe { libc::pause() };
    }
}

/// A workload process must not outlive a workload that failed.
fn die_with_parent() {
    // SAFETY: integer arguments.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
}

fn workload(clients: usize) {
    // Its own process group, whose number names its sockets.
    // SAFETY: integer arguments.
    check(unsafe { libc::setpgid(0, 0) }, "setpgid");
    let servers = clients / FAN_IN + 1;
    let mut ready = [0; 2];
    // SAFETY: room for two descriptors.
    check(unsafe { libc::pipe(ready.as_mut_ptr()) }, "pipe");
    let mut children = Vec::new();
    let mut ports = Vec::new();
    for server in 0..servers {
        let (unix, tcp, port) = listeners(server);
        let expected = 2 * (0..clients).filter(|c| c % servers == server).count();
        // SAFETY: the child only makes system calls until it is killed.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            die_with_parent();
            serve(unix, tcp, expected, ready[1]);
        }
        children.push(pid);
        ports.push(port);
        // SAFETY: the listeners are the server's now.
        unsafe {
            libc::close(unix);
            libc::close(tcp);
        }
    }
    for client_number in 0..clients {
        let server = client_number % servers;
        // SAFETY: the child only makes system calls until it is killed.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            die_with_parent();
            // SAFETY: the client keeps stderr and the ready pipe only.
            unsafe {
                libc::close(0);
                libc::close(1);
                libc::close(ready[0]);
            }
            client(server, ports[server], ready[1]);
        }
        check(pid, "fork");
        children.push(pid);
    }
    // SAFETY: the write end is the children's.
    unsafe { libc::close(ready[1]) };
    let mut expected = clients + 2 * clients;
    let mut bytes = [0u8; 4096];
    while expected > 0 {
        let mut fd = libc::pollfd {
            fd: ready[0],
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one live pollfd.
        let polled = unsafe { libc::poll(&mut fd, 1, 60_000) };
        assert!(polled > 0, "the workload is not ready after a minute");
        // SAFETY: a live buffer of the length passed.
        let read = unsafe {
            libc::read(
                ready[0],
                bytes.as_mut_ptr().cast(),
                bytes.len().min(expected),
            )
        };
        assert!(read > 0, "a workload process died");
        expected -= read as usize;
    }
    println!("ready {}", children.len() + 1);
    let _ = std::io::stdin().lock().read_to_end(&mut Vec::new());
    for &pid in &children {
        // SAFETY: our own children.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    for &pid in &children {
        // SAFETY: reaping our own children.
        unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
    }
}

/// One pass of readdir and readlinkat over every /proc/PID/fd: the
/// descriptors read.
fn floor() -> usize {
    let proc = CString::new("/proc").unwrap();
    let mut count = 0;
    let mut target = [0u8; 256];
    // SAFETY: opendir/readdir/closedir on a directory stream used by this
    // function alone; readlinkat into a live buffer of the length passed.
    unsafe {
        let processes = libc::opendir(proc.as_ptr());
        assert!(!processes.is_null());
        loop {
            let entry = libc::readdir(processes);
            if entry.is_null() {
                break;
            }
            let name = std::ffi::CStr::from_ptr((*entry).d_name.as_ptr());
            if !name.to_bytes().first().is_some_and(u8::is_ascii_digit) {
                continue;
            }
            let path = CString::new(format!("/proc/{}/fd", name.to_str().unwrap())).unwrap();
            let fds = libc::opendir(path.as_ptr());
            if fds.is_null() {
                continue;
            }
            let dirfd = libc::dirfd(fds);
            loop {
                let entry = libc::readdir(fds);
                if entry.is_null() {
                    break;
                }
                let name = (*entry).d_name.as_ptr();
                if *name == b'.' as libc::c_char {
                    continue;
                }
                if libc::readlinkat(dirfd, name, target.as_mut_ptr().cast(), target.len()) > 0 {
                    count += 1;
                }
            }
            libc::closedir(fds);
        }
        libc::closedir(processes);
    }
    count
}

// The real binary's figures: grace as PID 1 of new PID and network
// namespaces (`unshare`), stopped by a SIGTERM from outside, as a
// container runtime stops it.

/// CLOCK_MONOTONIC in nanoseconds: one clock across PID namespaces.
fn monotonic_ns() -> u64 {
    // SAFETY: all-zero bytes are a valid timespec.
    let mut now: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: a live timespec for the kernel to fill.
    check(
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) },
        "clock_gettime",
    );
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

/// SIGTERM blocked, to be taken by `await_sigterm` (grace's SIGCONT,
/// which comes with it, changes nothing).
fn block_sigterm() {
    // SAFETY: a local set, filled before use.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        check(
            libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()),
            "sigprocmask",
        );
    }
}

fn await_sigterm() {
    // SAFETY: a local set, filled before use.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        while libc::sigwaitinfo(&set, std::ptr::null_mut()) != libc::SIGTERM {}
    }
}

/// The main process of `first-signal`: `workload N` around it (its child,
/// holding the connections), then `ready` on stdout; on SIGTERM, the
/// monotonic nanoseconds it was taken at, and exit.
fn first_signal_main(clients: usize) {
    use std::io::{BufRead, BufReader, Write};
    let mut workload = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["workload", &clients.to_string()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(workload.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("ready"), "the workload: {line}");
    block_sigterm();
    println!("ready");
    std::io::stdout().flush().unwrap();
    await_sigterm();
    let at = monotonic_ns();
    println!("signalled {at}");
    std::io::stdout().flush().unwrap();
    // The workload kills its own on EOF; grace reaps them.
    std::process::exit(0);
}

/// An unshare running `grace ARGS` as PID 1 of new PID and network
/// namespaces (loopback up), its stdout piped.
struct Namespace {
    unshare: std::process::Child,
    lines: std::io::BufReader<std::process::ChildStdout>,
}

impl Namespace {
    fn start(grace: &str, args: &[&str]) -> Self {
        let mut unshare = std::process::Command::new("unshare")
            .args(["--pid", "--fork", "--mount-proc", "--net", "sh", "-c"])
            .arg("ip link set lo up && exec \"$@\"")
            .arg("sh")
            .arg(grace)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let lines = std::io::BufReader::new(unshare.stdout.take().unwrap());
        Namespace { unshare, lines }
    }

    fn line(&mut self) -> String {
        use std::io::BufRead;
        let mut line = String::new();
        self.lines.read_line(&mut line).unwrap();
        line.trim().to_string()
    }

    /// grace's pid here: unshare's one child.
    fn grace(&self) -> i32 {
        let pid = self.unshare.id();
        let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap();
        children.split_whitespace().next().unwrap().parse().unwrap()
    }

    /// SIGTERMs grace: (the monotonic ns it was sent at, a pidfd on grace,
    /// readable once the namespace is empty).
    fn stop(&self) -> (u64, libc::c_int) {
        let grace = self.grace();
        // SAFETY: integer arguments; the result is a new descriptor.
        let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, grace, 0) } as libc::c_int;
        check(pidfd, "pidfd_open");
        let at = monotonic_ns();
        // SAFETY: integer arguments; grace, PID 1 of its own namespace.
        check(unsafe { libc::kill(grace, libc::SIGTERM) }, "kill");
        (at, pidfd)
    }

    /// Waits for the pidfd (grace and its namespace gone): when, in
    /// monotonic ns; then reaps unshare.
    fn wait(mut self, pidfd: libc::c_int) -> u64 {
        let mut fd = libc::pollfd {
            fd: pidfd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one live pollfd; the descriptor is ours.
        let polled = unsafe { libc::poll(&mut fd, 1, 60_000) };
        let at = monotonic_ns();
        assert!(polled > 0, "grace still running a minute after its stop");
        // SAFETY: ours, closed once.
        unsafe { libc::close(pidfd) };
        let status = self.unshare.wait().unwrap();
        assert!(status.code().is_some(), "grace: {status}");
        at
    }
}

const MODES: [&str; 3] = ["auto", "main-first", "all"];

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The main process's signal, from the SIGTERM to grace until the main
/// process takes it, under each `--stop-order`, with `order workload N`
/// around it; interleaved rounds, medians. Prints a markdown table.
fn first_signal(grace: &str, sizes: &str, rounds: usize) {
    let me = std::env::current_exe().unwrap();
    let me = me.to_str().unwrap();
    println!(
        "| processes | auto (µs) | main-first (µs) | all (µs) | auto ÷ main-first | auto ÷ all | stop with auto (ms) | main-first (ms) | all (ms) |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for clients in sizes.split(',') {
        let mut latency = [Vec::new(), Vec::new(), Vec::new()];
        let mut stop = [Vec::new(), Vec::new(), Vec::new()];
        // The clients, their servers, the workload, the main process.
        let n: usize = clients.parse().unwrap();
        let processes = n + n / FAN_IN + 1 + 2;
        // The first round warms the caches and is not counted.
        for round in 0..=rounds {
            for turn in 0..MODES.len() {
                let mode = (round + turn) % MODES.len();
                let mut namespace = Namespace::start(
                    grace,
                    &["--stop-order", MODES[mode], "--", me, "main", clients],
                );
                assert_eq!(namespace.line(), "ready");
                let (sent, pidfd) = namespace.stop();
                let taken: u64 = namespace
                    .line()
                    .strip_prefix("signalled ")
                    .expect("the main process's signal")
                    .parse()
                    .unwrap();
                let gone = namespace.wait(pidfd);
                if round > 0 {
                    latency[mode].push(taken.saturating_sub(sent) as f64 / 1e3);
                    stop[mode].push((gone - sent) as f64 / 1e6);
                }
            }
        }
        let [auto, main_first, all] = latency.map(median);
        let [stop_auto, stop_main_first, stop_all] = stop.map(median);
        println!(
            "| {processes} | {auto:.0} | {main_first:.0} | {all:.0} | {:.2} | {:.2} | {stop_auto:.1} | {stop_main_first:.1} | {stop_all:.1} |",
            auto / main_first,
            auto / all,
        );
    }
}

/// A process of a shape, an orphan of the main process (grace's child):
/// listens on `listen` (then a byte `l` to `ready`), connects to
/// `connect`, accepts `accepts` connections, then a byte `r`; on SIGTERM,
/// its cleanup of `cleanup_ms`, and exit.
fn shape_node(
    listen: Option<usize>,
    accepts: usize,
    connect: Option<usize>,
    cleanup_ms: u64,
    ready: libc::c_int,
) -> ! {
    block_sigterm();
    let mut held = Vec::new();
    if let Some(name) = listen {
        held.push(unix_listener(name, 64));
        // SAFETY: one byte from the stack.
        unsafe { libc::write(ready, b"l".as_ptr().cast(), 1) };
    }
    if let Some(name) = connect {
        held.push(unix_client(name));
    }
    for _ in 0..accepts {
        // SAFETY: accept without the peer's address.
        held.push(check(
            unsafe { libc::accept(held[0], std::ptr::null_mut(), std::ptr::null_mut()) },
            "accept",
        ));
    }
    // SAFETY: one byte from the stack; the pipe is not needed after.
    unsafe {
        libc::write(ready, b"r".as_ptr().cast(), 1);
        libc::close(ready);
    }
    await_sigterm();
    std::thread::sleep(std::time::Duration::from_millis(cleanup_ms));
    std::process::exit(0);
}

/// Starts `node` as an orphan (a double fork: grace adopts it) with a
/// pipe it reports on; the read end.
fn orphan(node: impl FnOnce(libc::c_int)) -> libc::c_int {
    let mut pipe = [0; 2];
    // SAFETY: room for two descriptors.
    check(unsafe { libc::pipe(pipe.as_mut_ptr()) }, "pipe");
    // SAFETY: the children only make system calls (and sleep) until they
    // exit.
    let middle = check(unsafe { libc::fork() }, "fork");
    if middle == 0 {
        // SAFETY: as above.
        if check(unsafe { libc::fork() }, "fork") == 0 {
            // SAFETY: integer arguments. The node holds its report pipe
            // as descriptor 3 and nothing else it inherited (the reports
            // of the nodes before it): what it holds is what it makes.
            unsafe {
                check(libc::dup2(pipe[1], 3), "dup2");
                libc::close_range(4, libc::c_uint::MAX, 0);
            }
            node(3);
            // SAFETY: a node never returns; if it did, it must not run on.
            unsafe { libc::_exit(1) };
        }
        // SAFETY: no destructors to run in a forked child.
        unsafe { libc::_exit(0) };
    }
    // SAFETY: our child; the write end is the node's.
    unsafe {
        libc::waitpid(middle, std::ptr::null_mut(), 0);
        libc::close(pipe[1]);
    }
    pipe[0]
}

fn expect_byte(fd: libc::c_int, byte: u8) {
    let mut got = 0u8;
    // SAFETY: one byte into a live local.
    let read = unsafe { libc::read(fd, (&mut got as *mut u8).cast(), 1) };
    assert!(read == 1 && got == byte, "a shape's process failed");
}

/// The shapes: (name, servers below the main process in one chain, idle
/// orphans beside them). The main process is a client of the first
/// server, each server of the next; the last only serves.
const SHAPES: [(&str, usize, usize); 3] = [
    ("app → db", 1, 0),
    ("app → proxy → db", 2, 0),
    ("app → db, 200 idle orphans", 1, 200),
];

/// The main process of a shape: the app at the head of its chain; then
/// `ready` on stdout; on SIGTERM, its cleanup of `cleanup_ms`, and exit.
fn shape_main(kind: &str, cleanup_ms: u64) {
    use std::io::Write;
    let (_, servers, idle) = SHAPES
        .iter()
        .find(|shape| shape.0 == kind)
        .copied()
        .expect("a shape of SHAPES");
    let mut reports = Vec::new();
    // From the chain's end, each listening before its client connects.
    for server in (0..servers).rev() {
        let connect = (server + 1 < servers).then_some(server + 1);
        let report = orphan(|ready| shape_node(Some(server), 1, connect, cleanup_ms, ready));
        expect_byte(report, b'l');
        reports.push(report);
    }
    for _ in 0..idle {
        reports.push(orphan(|ready| {
            // SAFETY: one byte from the stack; then the default SIGTERM.
            unsafe {
                libc::write(ready, b"r".as_ptr().cast(), 1);
                libc::close(ready);
                loop {
                    libc::pause();
                }
            }
        }));
    }
    let _app = unix_client(0);
    for report in reports {
        expect_byte(report, b'r');
        // SAFETY: ours, closed once.
        unsafe { libc::close(report) };
    }
    block_sigterm();
    println!("ready");
    std::io::stdout().flush().unwrap();
    await_sigterm();
    std::thread::sleep(std::time::Duration::from_millis(cleanup_ms));
    std::process::exit(0);
}

/// The stop time of each shape under each `--stop-order`, from the SIGTERM
/// to grace until its namespace is gone, against the floor: the cleanups
/// along the chain, one after the other. Prints a markdown table.
fn shapes(grace: &str, cleanup_ms: u64, rounds: usize) {
    let me = std::env::current_exe().unwrap();
    let me = me.to_str().unwrap();
    let t = cleanup_ms.to_string();
    println!(
        "| shape | floor (ms) | auto (ms) | auto − floor (ms) | target: floor + 5 % + 10 ms | met | main-first (ms) | all (ms) |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |");
    for (kind, servers, _) in SHAPES {
        let floor = ((servers + 1) as u64 * cleanup_ms) as f64;
        let mut stop = [Vec::new(), Vec::new(), Vec::new()];
        for round in 0..=rounds {
            for turn in 0..MODES.len() {
                let mode = (round + turn) % MODES.len();
                let mut namespace = Namespace::start(
                    grace,
                    &["--stop-order", MODES[mode], "--", me, "shape", kind, &t],
                );
                assert_eq!(namespace.line(), "ready");
                let (sent, pidfd) = namespace.stop();
                let gone = namespace.wait(pidfd);
                if round > 0 {
                    stop[mode].push((gone - sent) as f64 / 1e6);
                }
            }
        }
        let [auto, main_first, all] = stop.map(median);
        let target = floor * 1.05 + 10.0;
        println!(
            "| {kind} | {floor:.0} | {auto:.1} | {:+.1} | {target:.0} | {} | {main_first:.1} | {all:.1} |",
            auto - floor,
            if auto <= target { "yes" } else { "**no**" },
        );
    }
}
