//! The workload and the floor for the ordered stop's figures (issue 20),
//! which `bench/order` measures: grace's side is an ignored unit test
//! (src/testing/order_bench.rs), since the order is not in the binary
//! yet, run as PID 1 of a new PID and network namespace.
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
        ["floor"] => {
            let start = Instant::now();
            let descriptors = floor();
            println!("{} {descriptors}", start.elapsed().as_nanos());
        }
        _ => {
            eprintln!("usage: order workload N | floor");
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
    let unix = socket(libc::AF_UNIX);
    let (address, length) = unix_address(server);
    // SAFETY: a live address of the length passed.
    check(
        unsafe { libc::bind(unix, (&address as *const libc::sockaddr_un).cast(), length) },
        "bind",
    );
    // SAFETY: integer arguments.
    check(unsafe { libc::listen(unix, 4096) }, "listen");
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
    let unix = socket(libc::AF_UNIX);
    let (address, length) = unix_address(server);
    // SAFETY: a live address of the length passed.
    check(
        unsafe { libc::connect(unix, (&address as *const libc::sockaddr_un).cast(), length) },
        "connect",
    );
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
