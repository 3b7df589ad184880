//! The ordered stop's readers and order, end to end, in a real PID and
//! network namespace: real processes hold a UNIX server with three
//! clients (one not yet accepted), a TCP server with two, and a
//! socketpair; the sockets are read from the whole namespace as grace
//! would read them (every process in /proc, both sock_diag dumps), checked
//! against iproute2's `ss -xp` and `ss -tp`, and ordered; then the clients
//! exit for real and the order follows. The test re-runs its own binary
//! as PID 1 of new namespaces (`inside`, ignored when run directly).

use std::collections::BTreeSet;
use std::os::fd::OwnedFd;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
use std::process::{Child, Command, Stdio};

use crate::base::time::Instant;
use crate::init::order::{After, Due, Order, Process, Reason, Why};
use crate::process::{procfs, sockets};
use crate::sys;

#[test]
fn the_order_of_real_processes_in_a_namespace_agrees_with_ss() {
    let missing: Vec<&str> = ["unshare", "ss", "ip"]
        .into_iter()
        .filter(|tool| {
            Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .is_ok_and(|o| !o.status.success())
        })
        .collect();
    if !missing.is_empty() || sys::effective_uid() != 0 {
        eprintln!("SKIPPED: needs root, unshare, ss and ip (missing: {missing:?})");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let output = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "--net", "sh", "-c"])
        .arg("ip link set lo up && exec \"$0\" --exact testing::order_namespace::inside --ignored --nocapture")
        .arg(exe)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains("1 passed"),
        "the inside test did not run: {text}"
    );
}

/// A `sleep` holding `fds` as its descriptors 0, 1 and 2.
struct Holder(Child);

impl Holder {
    fn new(fds: Vec<OwnedFd>) -> Self {
        let mut fds = fds.into_iter().map(Stdio::from);
        let mut command = Command::new("sleep");
        command.arg("1000");
        command.stdin(fds.next().unwrap_or_else(Stdio::null));
        command.stdout(fds.next().unwrap_or_else(Stdio::null));
        command.stderr(fds.next().unwrap_or_else(Stdio::null));
        Holder(command.spawn().unwrap())
    }

    fn pid(&self) -> i32 {
        self.0.id() as i32
    }

    fn exit(mut self) -> i32 {
        let pid = self.pid();
        self.0.kill().unwrap();
        self.0.wait().unwrap();
        pid
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

type Listed = (u32, Option<u32>, BTreeSet<i32>);

/// (inode, peer inode, pids) of each socket `ss ARGS` lists, its inode
/// read from `ino:` (TCP) or the local column (UNIX).
fn ss(args: &[&str]) -> Vec<Listed> {
    let output = Command::new("ss").args(args).output().unwrap();
    assert!(output.status.success(), "ss {args:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    let mut found = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let pids: BTreeSet<i32> = line
            .split("pid=")
            .skip(1)
            .filter_map(|rest| rest.split(',').next()?.parse().ok())
            .collect();
        let (inode, peer) = match words.iter().find_map(|w| w.strip_prefix("ino:")) {
            Some(ino) => (ino.parse().unwrap(), None),
            // u_str STATE RECVQ SENDQ ADDRESS INODE PEER PEER-INODE
            None => (
                words[5].parse().unwrap(),
                words[7].parse().ok().filter(|&p: &u32| p != 0),
            ),
        };
        found.push((inode, peer, pids));
    }
    found
}

/// Every process but this one (PID 1), with its parent.
fn tree() -> Vec<Process> {
    procfs::list_pids()
        .unwrap()
        .into_iter()
        .filter(|&pid| pid != 1)
        .filter_map(|pid| procfs::read_stat(pid).ok())
        .map(|stat| Process {
            pid: stat.pid,
            ppid: stat.ppid,
        })
        .collect()
}

#[test]
#[ignore = "run by the test above as PID 1 of new namespaces"]
fn inside() {
    assert_eq!(std::process::id(), 1, "run as PID 1");
    let listener =
        UnixListener::bind_addr(&SocketAddr::from_abstract_name("grace-order").unwrap()).unwrap();
    let address = listener.local_addr().unwrap();
    let connect = || UnixStream::connect_addr(&address).unwrap();
    let (c1, c2, c3) = (connect(), connect(), connect());
    let (a1, a2) = (listener.accept().unwrap().0, listener.accept().unwrap().0);
    let server = Holder::new(vec![listener.into(), a1.into(), a2.into()]);
    let client1 = Holder::new(vec![c1.into()]);
    let client2 = Holder::new(vec![c2.into()]);
    // Connected, not yet accepted.
    let queued = Holder::new(vec![c3.into()]);
    let (p1, p2) = UnixStream::pair().unwrap();
    let pair1 = Holder::new(vec![p1.into()]);
    let pair2 = Holder::new(vec![p2.into()]);
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let at = tcp.local_addr().unwrap();
    let t1 = std::net::TcpStream::connect(at).unwrap();
    let t2 = std::net::TcpStream::connect(at).unwrap();
    let accepted = tcp.accept().unwrap().0;
    let tcp_server = Holder::new(vec![tcp.into(), accepted.into()]);
    let tcp_client = Holder::new(vec![t1.into()]);
    let tcp_queued = Holder::new(vec![t2.into()]);

    // Read as grace would: every process of the namespace.
    let processes = tree();
    let pids: Vec<i32> = processes.iter().map(|p| p.pid).collect();
    let reading = sockets::read(&pids).unwrap();
    let c = |client: &Holder, server: &Holder| sockets::Connection {
        client: client.pid(),
        server: server.pid(),
    };
    let mut expected = vec![
        c(&client1, &server),
        c(&client2, &server),
        c(&queued, &server),
        c(&tcp_client, &tcp_server),
        c(&tcp_queued, &tcp_server),
    ];
    expected.sort();
    assert_eq!(reading.connections, expected);

    // Every socket ss shows held by a process, this reader sees in the
    // same hands, with the same peer; the namespace has no other.
    let unix = sys::unix_sockets().unwrap();
    let mut compared = 0;
    for args in [&["-xpnH", "-a"][..], &["-tpneH", "-a"][..]] {
        for (inode, peer, holders) in ss(args) {
            if holders.is_empty() {
                continue;
            }
            let seen: BTreeSet<i32> = reading.holders.of(inode).collect();
            assert_eq!(seen, holders, "holders of {inode} ({args:?})");
            if args[0].starts_with("-x") {
                let socket = unix.iter().find(|s| s.inode == inode).unwrap();
                assert_eq!(socket.peer, peer, "peer of {inode}");
            }
            compared += 1;
        }
    }
    // 4 + 3 + 2 UNIX sockets, 3 TCP ones.
    assert_eq!(compared, 12);

    // The order: the clients and the pair at once, each server after its
    // clients.
    let t0 = Instant::now();
    let latest = t0 + core::time::Duration::from_secs(5);
    let mut order = Order::new(1, None, &processes, reading.connections, t0, latest);
    let connected = |holder: &Holder| After {
        pid: holder.pid(),
        reason: Reason::Connected,
    };
    assert_eq!(order.waits_for(server.pid()), {
        let mut waits = vec![connected(&client1), connected(&client2), connected(&queued)];
        waits.sort();
        waits
    });
    let mut at_once: Vec<i32> = order.take_due(t0).iter().map(|d| d.pid).collect();
    at_once.sort();
    let mut expected: Vec<i32> = [
        &client1,
        &client2,
        &queued,
        &pair1,
        &pair2,
        &tcp_client,
        &tcp_queued,
    ]
    .iter()
    .map(|h| h.pid())
    .collect();
    expected.sort();
    assert_eq!(at_once, expected);

    // The clients exit for real: the order follows without reading again,
    // and reading again agrees.
    let tcp_clients = [tcp_client.exit(), tcp_queued.exit()];
    order.on_exits(Instant::now(), &tcp_clients);
    let due = order.take_due(Instant::now());
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].pid, tcp_server.pid());
    assert!(
        matches!(
            due[0].why,
            Why::Released(After {
                reason: Reason::Connected,
                ..
            })
        ),
        "{due:?}"
    );
    let exited = [client1.exit(), client2.exit()];
    order.on_exits(Instant::now(), &exited);
    assert_eq!(order.take_due(Instant::now()), []);
    let last = queued.exit();
    order.on_exits(Instant::now(), &[last]);
    assert_eq!(
        order.take_due(Instant::now()),
        [Due {
            pid: server.pid(),
            why: Why::Released(After {
                pid: last,
                reason: Reason::Connected
            })
        }]
    );
    let pids: Vec<i32> = tree().iter().map(|p| p.pid).collect();
    assert_eq!(sockets::read(&pids).unwrap().connections, []);
}
