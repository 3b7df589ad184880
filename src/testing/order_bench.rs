//! The measuring side of bench/order's first part (issue 20's figures):
//! the ordered stop's computation (the sock_diag dumps, the map of sockets
//! to processes through /proc/PID/fd, the connections, the order, the
//! tree) against the scan floor (one C-like pass of readdir and readlinkat
//! over every /proc/PID/fd, `order floor` from bench/order.rs), in the
//! same run, on the workload of `order workload N`; then what an exit
//! costs the order afterwards (`Order::on_exits`, which reads nothing
//! again), against the whole computation. An ignored test, since it times
//! the order's parts one by one; bench/order runs it as PID 1 of new PID
//! and network namespaces.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant as Clock;

use crate::base::time::Instant;
use crate::init::order::{Order, Process};
use crate::process::{procfs, sockets};
use crate::sys;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn ms(since: Clock) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

#[derive(Default)]
struct Rounds {
    floor: Vec<f64>,
    dumps: Vec<f64>,
    map: Vec<f64>,
    /// Of `map`, the /proc part.
    scan: Vec<f64>,
    order: Vec<f64>,
    tree: Vec<f64>,
    exit: Vec<f64>,
    /// The exits of a server's clients, which release it.
    release: Vec<f64>,
}

#[test]
#[ignore = "a benchmark: bench/order runs it as PID 1 of namespaces of its own"]
fn figures() {
    let program = std::env::var("ORDER_BENCH").expect("ORDER_BENCH=the order example");
    let sizes: Vec<usize> = std::env::var("ORDER_SIZES")
        .unwrap_or_else(|_| "10,1000,5000".into())
        .split(',')
        .map(|n| n.parse().unwrap())
        .collect();
    let rounds: usize = std::env::var("ORDER_ROUNDS").map_or(7, |n| n.parse().unwrap());
    assert_eq!(std::process::id(), 1, "bench/order runs this as a PID 1");
    // After the harness's "test … " on the same line.
    println!();
    println!(
        "| processes | descriptors | scan floor | sock_diag dumps | fd map and connections (of which /proc) | order | computation ÷ floor | tree (stat of each) | with the tree ÷ floor | after a client's exit | after a server's last client's exit | full computation ÷ that |"
    );
    println!(
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for clients in sizes {
        let mut workload = Command::new(&program)
            .args(["workload", &clients.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(workload.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let processes: usize = line.trim().strip_prefix("ready ").unwrap().parse().unwrap();
        let helper = workload.id() as i32;
        let mut figures = Rounds::default();
        let mut descriptors = 0;
        // The first round warms the caches and is not counted.
        for round in 0..=rounds {
            let floor = || {
                let floor = Command::new(&program).arg("floor").output().unwrap();
                let text = String::from_utf8(floor.stdout).unwrap();
                let (nanoseconds, read) = text.trim().split_once(' ').unwrap();
                let descriptors: usize = read.parse().unwrap();
                (nanoseconds.parse::<f64>().unwrap() / 1e6, descriptors)
            };
            // The floor and the computation take turns going first.
            let mut floor_ms = 0.0;
            if round % 2 == 0 {
                (floor_ms, descriptors) = floor();
            }

            let start = Clock::now();
            let unix = sys::unix_sockets().unwrap();
            let tcp = sys::tcp_sockets().unwrap();
            let dumps_ms = ms(start);
            let start = Clock::now();
            let pids: Vec<i32> = procfs::list_pids()
                .unwrap()
                .into_iter()
                .filter(|&pid| pid != 1)
                .collect();
            let holders = sockets::Holders::read(&pids).unwrap();
            let scan_ms = ms(start);
            let connections = sockets::connections(&unix, &tcp, &holders);
            let map_ms = ms(start);
            let reading = sockets::Reading {
                holders,
                connections,
            };
            let tree_start = Clock::now();
            let tree: Vec<Process> = pids
                .iter()
                .filter_map(|&pid| procfs::read_stat(pid).ok())
                .map(|stat| Process {
                    pid: stat.pid,
                    ppid: stat.ppid,
                })
                .collect();
            let tree_ms = ms(tree_start);
            // Every client is seen connected to its server (by UNIX and
            // TCP alike: one pair of processes).
            assert_eq!(reading.connections.len(), clients, "connections");
            let client = reading.connections[0].client;
            let server = reading.connections[0].server;
            // The rest of that server's clients.
            let rest: Vec<i32> = reading
                .connections
                .iter()
                .filter(|c| c.server == server && c.client != client)
                .map(|c| c.client)
                .collect();
            let now = Instant::now();
            let order_start = Clock::now();
            // The helper stands for grace: its children are the units.
            let mut order = Order::new(
                helper,
                None,
                &tree,
                reading.connections,
                now,
                now + core::time::Duration::from_secs(5),
            );
            let order_ms = ms(order_start);
            // The clients wait for nothing; the servers wait for them.
            assert_eq!(order.take_due(now).len(), clients);
            let exit_start = Clock::now();
            order.on_exits(now, &[client]);
            let exit_ms = ms(exit_start);
            assert!(order.take_due(now).is_empty(), "one client released nobody");
            let release_start = Clock::now();
            order.on_exits(now, &rest);
            let released = order.take_due(now);
            let release_ms = ms(release_start);
            assert_eq!(released.len(), 1, "the server's last client released it");
            assert_eq!(released[0].pid, server);

            if round % 2 == 1 {
                (floor_ms, descriptors) = floor();
            }
            if round > 0 {
                figures.floor.push(floor_ms);
                figures.map.push(map_ms);
                figures.scan.push(scan_ms);
                figures.tree.push(tree_ms);
                figures.order.push(order_ms);
                figures.exit.push(exit_ms);
                figures.release.push(release_ms);
                figures.dumps.push(dumps_ms);
            }
        }
        let floor = median(figures.floor);
        let dumps = median(figures.dumps);
        let map = median(figures.map);
        let order = median(figures.order);
        let tree = median(figures.tree);
        let release = median(figures.release);
        println!(
            "| {processes} | {descriptors} | {floor:.2} ms | {dumps:.2} ms | {map:.2} ms ({:.2} ms) | {order:.2} ms | {:.2}x | {tree:.2} ms | {:.2}x | {:.1} µs | {:.1} µs | {:.0}x |",
            median(figures.scan),
            (dumps + map + order) / floor,
            (dumps + map + order + tree) / floor,
            median(figures.exit) * 1e3,
            release * 1e3,
            (dumps + map + order + tree) / release,
        );
        drop(workload.stdin.take());
        workload.wait().unwrap();
    }
}
