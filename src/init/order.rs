//! The order of an ordered stop (issue 20): given the process tree and
//! the connections among processes, who gets the stop signal at once, who
//! waits for whose exit and why, and the latest time anyone may wait to.
//!
//! The rules:
//! 1. A process whose parent is alive, and is not grace, waits for its
//!    parent (`Parent`): the parent stops its own; an orphan is grace's
//!    child, and so a *unit* of the order, with its subtree.
//! 2. A unit whose subtree holds the server end of a connection waits for
//!    every other unit whose subtree holds a client end (`Connected`).
//!    Units in a cycle are signalled together, and each waits for what any
//!    of them waits for outside the cycle.
//! 3. Every unit but the main process waits for the main process (`Main`),
//!    which waits for nobody.
//! 4. Nobody waits past `latest` (the caller gives the moment half of the
//!    grace period is left): then everyone left is due, and a process that
//!    waits for nothing is due at once.
//!
//! Nothing here reads a clock or /proc: the tree and the connections come
//! in (`process::sockets` reads them), what is due comes out. When a
//! process exits, the order is worked out again from what is still valid
//! (the connections of the processes still alive, the tree with the exited
//! process's children now grace's), without reading anything again.

use crate::base::prelude::*;
use crate::base::time::Instant;
use crate::process::sockets::{Connection, under};

/// Why one process waits for another's exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// Its parent, which stops its own.
    Parent,
    /// A client of a server in its subtree.
    Connected,
    /// The main process, whose cleanup may need anyone.
    Main,
}

impl Reason {
    /// As `grace inspect --json` and the log name it.
    pub fn name(self) -> &'static str {
        match self {
            Reason::Parent => "parent",
            Reason::Connected => "connected",
            Reason::Main => "main",
        }
    }

    /// What the waited-for process is to the waiting one, as the log and
    /// `grace inspect` say it: `after 40 (app) exited: connected to it`.
    pub fn words(self) -> &'static str {
        match self {
            Reason::Parent => "its parent",
            Reason::Connected => "connected to it",
            Reason::Main => "the main process",
        }
    }
}

/// One process a process waits for, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct After {
    pub pid: i32,
    pub reason: Reason,
}

/// A live process: its pid and its parent's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Process {
    pub pid: i32,
    pub ppid: i32,
}

/// Why a process is due now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// It waited for nothing.
    AtOnce,
    /// The last process it waited for exited.
    Released(After),
    /// Half of the grace period is left: it waited long enough, still
    /// waiting for this one (and maybe others).
    Late(After),
}

/// A process due for the stop signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub pid: i32,
    pub why: Why,
}

/// The order, from the stop's beginning to the last exit.
///
/// Its maps are (pid, value) pairs sorted by pid and its sets sorted
/// pids, looked up by binary search: B-trees of five key and value types
/// were 20 KB of the binary.
#[derive(Debug, Clone)]
pub struct Order {
    grace: i32,
    main: Option<i32>,
    /// Each live process and its parent.
    parents: Vec<(i32, i32)>,
    /// The connections between live processes.
    connections: Vec<Connection>,
    /// Every pid that holds an end of a live connection (as of the last
    /// time the order was worked out).
    connected: Vec<i32>,
    /// The processes that had children, as of then.
    has_children: Vec<i32>,
    /// The units in a cycle, as of then.
    in_cycle: Vec<i32>,
    latest: Instant,
    /// When the order was last worked out: when a process that waits for
    /// nothing is due.
    computed: Instant,
    /// What each live process not yet signalled waits for: every live
    /// process not in it has had its signal.
    waits: Vec<(i32, Vec<After>)>,
    /// The exit that left a process waiting for nothing.
    released_by: Vec<(i32, After)>,
    /// (a process, one that waits for it), as of the last time the order
    /// was worked out.
    waited_by: Vec<(i32, i32)>,
}

/// Where `pid` is in a map sorted by pid.
fn at<T>(map: &[(i32, T)], pid: i32) -> Option<usize> {
    map.binary_search_by_key(&pid, |entry| entry.0).ok()
}

fn has(set: &[i32], pid: i32) -> bool {
    set.binary_search(&pid).is_ok()
}

/// `pids` sorted, without repeats, through the sort of (i32, i32) pairs
/// that the maps and `process::sockets` use: a sort of i32 of its own
/// would be kilobytes more of the binary.
fn sorted(pids: Vec<i32>) -> Vec<i32> {
    let mut pairs: Vec<(i32, i32)> = pids.into_iter().map(|pid| (pid, 0)).collect();
    pairs.sort_unstable();
    pairs.dedup();
    pairs.into_iter().map(|pair| pair.0).collect()
}

fn forget<T>(map: &mut Vec<(i32, T)>, pid: i32) {
    if let Some(at) = at(map, pid) {
        map.remove(at);
    }
}

fn release(released_by: &mut Vec<(i32, After)>, pid: i32, after: After) {
    match released_by.binary_search_by_key(&pid, |entry| entry.0) {
        Ok(at) => released_by[at].1 = after,
        Err(at) => released_by.insert(at, (pid, after)),
    }
}

impl Order {
    /// The order at `now` of `processes` (grace itself left out), whose
    /// main process is `main`, with `connections` among them; nobody
    /// waits past `latest`.
    pub fn new(
        grace: i32,
        main: Option<i32>,
        processes: &[Process],
        connections: Vec<Connection>,
        now: Instant,
        latest: Instant,
    ) -> Self {
        let mut parents: Vec<(i32, i32)> = processes
            .iter()
            .filter(|p| p.pid != grace)
            .map(|p| (p.pid, p.ppid))
            .collect();
        parents.sort_unstable();
        // A pid listed twice (never, from /proc) keeps one parent.
        parents.dedup_by_key(|entry| entry.0);
        let waits = parents.iter().map(|&(pid, _)| (pid, Vec::new())).collect();
        let mut order = Order {
            grace,
            main: main.filter(|&main| at(&parents, main).is_some()),
            parents,
            connections,
            connected: Vec::new(),
            has_children: Vec::new(),
            in_cycle: Vec::new(),
            latest,
            computed: now,
            waits,
            released_by: Vec::new(),
            waited_by: Vec::new(),
        };
        order.work_out();
        order
    }

    /// Everyone due at `now` who has not had the signal yet, now counted
    /// as signalled.
    pub fn take_due(&mut self, now: Instant) -> Vec<Due> {
        let late = now >= self.latest;
        let mut due = Vec::new();
        let released_by = &self.released_by;
        self.waits.retain(|(pid, waits)| {
            if !late && !waits.is_empty() {
                return true;
            }
            let why = match at(released_by, *pid) {
                _ if !waits.is_empty() => Why::Late(waits[0]),
                Some(at) => Why::Released(released_by[at].1),
                None => Why::AtOnce,
            };
            due.push(Due { pid: *pid, why });
            false
        });
        due
    }

    /// Processes exited (reaped, or gone from /proc): their children are
    /// grace's now, their connections are closed, and what waited for them
    /// waits no more. Nothing is read again: the order is worked out from
    /// what is still valid, and only as far as the exits change it. An
    /// exit nobody waited for changes nothing; a client that was a unit of
    /// its own, with no child and outside any cycle, only releases what
    /// waited for it; anything else (a parent, the main process, a member
    /// of a cycle, a process inside a unit) works the whole order out
    /// again.
    pub fn on_exits(&mut self, now: Instant, exited: &[i32]) {
        let gone = sorted(
            exited
                .iter()
                .copied()
                .filter(|&pid| at(&self.parents, pid).is_some())
                .collect(),
        );
        let is_gone = |pid: i32| has(&gone, pid);
        let mut whole = false;
        let mut released = Vec::new();
        for &pid in &gone {
            let unit = at(&self.parents, pid).is_some_and(|i| {
                let ppid = self.parents[i].1;
                ppid == self.grace || at(&self.parents, ppid).is_none()
            });
            let connected = has(&self.connected, pid);
            if self.main == Some(pid)
                || has(&self.has_children, pid)
                || (connected && (!unit || has(&self.in_cycle, pid)))
            {
                whole = true;
            } else if connected {
                released.push(pid);
            }
        }
        // One by one, not a pass over everyone: an exit is the common
        // event, and its cost should not grow with the namespace.
        for &pid in &gone {
            forget(&mut self.parents, pid);
            forget(&mut self.waits, pid);
            forget(&mut self.released_by, pid);
        }
        if self.main.is_some_and(is_gone) {
            self.main = None;
        }
        if !whole && released.is_empty() {
            return;
        }
        self.connections
            .retain(|c| !is_gone(c.client) && !is_gone(c.server));
        self.computed = now;
        if !whole {
            for pid in released {
                for waiter in under(&self.waited_by, pid) {
                    let Some(entry) = at(&self.waits, waiter) else {
                        continue;
                    };
                    let waits = &mut self.waits[entry].1;
                    let Some(at) = waits.iter().position(|a| a.pid == pid) else {
                        continue;
                    };
                    let after = waits.remove(at);
                    if waits.is_empty() {
                        release(&mut self.released_by, waiter, after);
                    }
                }
            }
            return;
        }
        for entry in &mut self.parents {
            if is_gone(entry.1) {
                entry.1 = self.grace;
            }
        }
        // What each waited for among the exited, to tell what released it;
        // a server whose client unit still runs was released by the exit
        // of the client inside it (one of them, if several exited).
        let client = gone.iter().copied().find(|&pid| has(&self.connected, pid));
        let was_waiting: Vec<(i32, After)> = self
            .waits
            .iter()
            .filter_map(|(pid, waits)| {
                let after = waits.iter().find(|a| is_gone(a.pid)).copied().or_else(|| {
                    let pid = client?;
                    let reason = Reason::Connected;
                    waits
                        .iter()
                        .any(|a| a.reason == reason)
                        .then_some(After { pid, reason })
                })?;
                Some((*pid, after))
            })
            .collect();
        self.work_out();
        for (pid, after) in was_waiting {
            if self.waits_for(pid).is_empty() {
                release(&mut self.released_by, pid, after);
            }
        }
    }

    /// The live processes whose exit changes the order: every one
    /// something waits for, and every end of a connection. Sorted. grace
    /// hears of its own children's exits by reaping them; the others'
    /// must be watched (`StopEffects::watch_exits`), or whoever waits for
    /// them waits until half the grace period.
    pub fn watched(&self) -> Vec<i32> {
        let mut pids = sorted(
            self.waited_by
                .iter()
                .map(|entry| entry.0)
                .chain(self.connected.iter().copied())
                .collect(),
        );
        pids.retain(|&pid| at(&self.parents, pid).is_some());
        pids
    }

    /// What `pid` waits for (nothing once it is signalled or gone).
    pub fn waits_for(&self, pid: i32) -> &[After] {
        at(&self.waits, pid).map_or(&[], |at| &self.waits[at].1)
    }

    /// When `pid` gets the signal at the latest; None once it has it, or
    /// when it is not in the order. (`grace inspect` reads the same off
    /// the stop's acts, where nothing exits by itself.)
    #[cfg(test)]
    pub fn at_latest(&self, pid: i32) -> Option<Instant> {
        let waits = &self.waits[at(&self.waits, pid)?].1;
        Some(if waits.is_empty() {
            self.computed
        } else {
            self.latest
        })
    }

    /// When someone is due even if nobody exits: None when everyone has
    /// the signal.
    pub fn next_due(&self) -> Option<Instant> {
        if self.waits.is_empty() {
            None
        } else if self.waits.iter().any(|(_, waits)| waits.is_empty()) {
            Some(self.computed)
        } else {
            Some(self.latest)
        }
    }

    /// The unit (grace's child, or a process whose parent is outside)
    /// whose subtree holds each live process, in the order of `parents`.
    fn units(&self) -> Vec<i32> {
        let parents = &self.parents;
        // 0: not known yet (no process is pid 0).
        let mut unit = vec![0; parents.len()];
        let mut path = Vec::new();
        for start in 0..parents.len() {
            // Walk up to a unit, at most once around the tree: a parent
            // link that loops (impossible in /proc) makes its own unit.
            let mut here = start;
            path.clear();
            let top = loop {
                if unit[here] != 0 {
                    break unit[here];
                }
                path.push(here);
                let ppid = parents[here].1;
                match at(parents, ppid) {
                    Some(up) if ppid != self.grace => {
                        if path.len() > parents.len() {
                            break parents[start].0;
                        }
                        here = up;
                    }
                    _ => break parents[here].0,
                }
            };
            for &member in &path {
                unit[member] = top;
            }
        }
        unit
    }

    /// Every unsignalled process's waits, from the tree and connections.
    fn work_out(&mut self) {
        self.connected = sorted(
            self.connections
                .iter()
                .flat_map(|c| [c.client, c.server])
                .collect(),
        );
        let unit = self.units();
        let parents = &self.parents;
        let unit_of = |pid: i32| at(parents, pid).map(|i| unit[i]);
        // Unit graph: (server unit, a client unit it waits for).
        let mut edges: Vec<(i32, i32)> = self
            .connections
            .iter()
            .filter_map(|c| {
                let (client, server) = (unit_of(c.client)?, unit_of(c.server)?);
                (client != server && Some(server) != self.main).then_some((server, client))
            })
            .collect();
        edges.sort_unstable();
        edges.dedup();
        let component = components(&edges);
        let component_of = |pid: i32| at(&component, pid).map(|i| component[i].1);
        // A component of more than one unit has a member other than its
        // root.
        let big = sorted(
            component
                .iter()
                .filter(|(unit, root)| unit != root)
                .map(|&(_, root)| root)
                .collect(),
        );
        self.in_cycle = component
            .iter()
            .filter(|&&(unit, root)| unit != root || has(&big, unit))
            .map(|&(unit, _)| unit)
            .collect();
        self.has_children = sorted(parents.iter().map(|entry| entry.1).collect());
        // What each component waits for outside itself: (its root, client).
        let mut outside: Vec<(i32, i32)> = edges
            .iter()
            .filter_map(|&(server, client)| {
                let own = component_of(server)?;
                (component_of(client)? != own).then_some((own, client))
            })
            .collect();
        outside.sort_unstable();
        outside.dedup();
        for (pid, after) in &mut self.waits {
            let pid = *pid;
            after.clear();
            let Some(i) = at(parents, pid) else {
                continue;
            };
            if unit[i] != pid {
                after.push(After {
                    pid: parents[i].1,
                    reason: Reason::Parent,
                });
                continue;
            }
            if let Some(own) = component_of(pid) {
                after.extend(under(&outside, own).map(|client| After {
                    pid: client,
                    reason: Reason::Connected,
                }));
            }
            if let Some(main) = self.main
                && main != pid
                && !after.iter().any(|a| a.pid == main)
            {
                after.push(After {
                    pid: main,
                    reason: Reason::Main,
                });
            }
        }
        let mut waited_by: Vec<(i32, i32)> = self
            .waits
            .iter()
            .flat_map(|(pid, waits)| waits.iter().map(|a| (a.pid, *pid)))
            .collect();
        waited_by.sort_unstable();
        self.waited_by = waited_by;
    }
}

/// The strongly connected components of a graph given as its edges
/// (from, to), sorted: each node and its component's root, sorted by node.
/// Tarjan's algorithm, iterative, so that a long chain cannot exhaust the
/// stack.
fn components(edges: &[(i32, i32)]) -> Vec<(i32, i32)> {
    let nodes = sorted(edges.iter().flat_map(|&(from, to)| [from, to]).collect());
    let number = |pid: i32| nodes.binary_search(&pid).unwrap_or(0);
    let first_edge = |node: usize| edges.partition_point(|entry| entry.0 < nodes[node]);
    const UNSEEN: usize = usize::MAX;
    let mut index = vec![UNSEEN; nodes.len()];
    let mut low = vec![0; nodes.len()];
    let mut on_stack = vec![false; nodes.len()];
    let mut root = vec![0; nodes.len()];
    let mut stack: Vec<usize> = Vec::new();
    let mut next = 0;
    for start in 0..nodes.len() {
        if index[start] != UNSEEN {
            continue;
        }
        // (node, its next edge)
        let mut calls: Vec<(usize, usize)> = vec![(start, first_edge(start))];
        index[start] = next;
        low[start] = next;
        next += 1;
        stack.push(start);
        on_stack[start] = true;
        while let Some((node, edge)) = calls.last_mut() {
            let node = *node;
            if let Some(&(from, to)) = edges.get(*edge)
                && from == nodes[node]
            {
                *edge += 1;
                let to = number(to);
                if index[to] == UNSEEN {
                    index[to] = next;
                    low[to] = next;
                    next += 1;
                    stack.push(to);
                    on_stack[to] = true;
                    calls.push((to, first_edge(to)));
                } else if on_stack[to] {
                    low[node] = low[node].min(index[to]);
                }
                continue;
            }
            calls.pop();
            if let Some(&(parent, _)) = calls.last() {
                low[parent] = low[parent].min(low[node]);
            }
            if low[node] == index[node] {
                while let Some(member) = stack.pop() {
                    on_stack[member] = false;
                    root[member] = nodes[node];
                    if member == node {
                        break;
                    }
                }
            }
        }
    }
    nodes.iter().copied().zip(root).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;
    use proptest::prelude::*;

    const GRACE: i32 = 1;

    fn p(pid: i32, ppid: i32) -> Process {
        Process { pid, ppid }
    }

    fn c(client: i32, server: i32) -> Connection {
        Connection { client, server }
    }

    fn after(pid: i32, reason: Reason) -> After {
        After { pid, reason }
    }

    fn pids(due: &[Due]) -> Vec<i32> {
        due.iter().map(|d| d.pid).collect()
    }

    struct Clock {
        t0: Instant,
        latest: Instant,
    }

    fn clock() -> Clock {
        let t0 = Instant::from_millis(1_000_000);
        Clock {
            t0,
            latest: t0 + Duration::from_secs(5),
        }
    }

    #[test]
    fn the_start_script_database_outlives_the_app_and_its_client() {
        // sh started postgres (20, now an orphan) and exec'd the app (10),
        // whose psql child (11) is connected to a backend (21).
        let k = clock();
        let tree = [p(10, GRACE), p(11, 10), p(20, GRACE), p(21, 20)];
        let mut order = Order::new(GRACE, Some(10), &tree, vec![c(11, 21)], k.t0, k.latest);
        assert_eq!(order.waits_for(10), []);
        assert_eq!(order.waits_for(11), [after(10, Reason::Parent)]);
        assert_eq!(order.waits_for(20), [after(10, Reason::Connected)]);
        assert_eq!(order.waits_for(21), [after(20, Reason::Parent)]);
        let reasons = [Reason::Parent, Reason::Connected, Reason::Main].map(Reason::name);
        assert_eq!(reasons, ["parent", "connected", "main"]);
        assert_eq!(order.at_latest(10), Some(k.t0));
        assert_eq!(order.at_latest(20), Some(k.latest));
        assert_eq!(
            order.take_due(k.t0),
            [Due {
                pid: 10,
                why: Why::AtOnce
            }]
        );
        assert_eq!(order.take_due(k.t0), []);
        assert_eq!(order.next_due(), Some(k.latest));
        // The app exits; psql, orphaned, still holds the connection.
        let t1 = k.t0 + Duration::from_millis(100);
        order.on_exits(t1, &[10]);
        assert_eq!(order.waits_for(20), [after(11, Reason::Connected)]);
        assert_eq!(
            order.take_due(t1),
            [Due {
                pid: 11,
                why: Why::Released(after(10, Reason::Parent))
            }]
        );
        let t2 = t1 + Duration::from_millis(100);
        order.on_exits(t2, &[11]);
        assert_eq!(
            order.take_due(t2),
            [Due {
                pid: 20,
                why: Why::Released(after(11, Reason::Connected))
            }]
        );
        // postgres stops its own backend.
        assert_eq!(order.waits_for(21), [after(20, Reason::Parent)]);
        order.on_exits(t2, &[20]);
        assert_eq!(pids(&order.take_due(t2)), [21]);
        assert_eq!(order.next_due(), None);
    }

    #[test]
    fn docker_s_wait_n_pattern_stops_the_app_before_its_database() {
        // The main shell (10) runs the database (11) and the app (12).
        let k = clock();
        let tree = [p(10, GRACE), p(11, 10), p(12, 10)];
        let mut order = Order::new(GRACE, Some(10), &tree, vec![c(12, 11)], k.t0, k.latest);
        assert_eq!(pids(&order.take_due(k.t0)), [10]);
        order.on_exits(k.t0, &[10]);
        assert_eq!(order.waits_for(11), [after(12, Reason::Connected)]);
        assert_eq!(
            order.take_due(k.t0),
            [Due {
                pid: 12,
                why: Why::Released(after(10, Reason::Parent))
            }]
        );
        order.on_exits(k.t0, &[12]);
        assert_eq!(pids(&order.take_due(k.t0)), [11]);
    }

    #[test]
    fn a_cycle_is_signalled_together_once_what_it_waits_for_is_gone() {
        let k = clock();
        // 20 and 21 are each other's clients; 22 is a client of 20.
        let tree = [p(20, GRACE), p(21, GRACE), p(22, GRACE)];
        let connections = vec![c(20, 21), c(21, 20), c(22, 20)];
        let mut order = Order::new(GRACE, None, &tree, connections, k.t0, k.latest);
        assert_eq!(order.waits_for(20), [after(22, Reason::Connected)]);
        assert_eq!(order.waits_for(21), [after(22, Reason::Connected)]);
        assert_eq!(pids(&order.take_due(k.t0)), [22]);
        order.on_exits(k.t0, &[22]);
        assert_eq!(pids(&order.take_due(k.t0)), [20, 21]);
    }

    #[test]
    fn the_main_process_comes_first_even_as_a_server() {
        let k = clock();
        let tree = [p(10, GRACE), p(20, GRACE)];
        let mut order = Order::new(GRACE, Some(10), &tree, vec![c(20, 10)], k.t0, k.latest);
        assert_eq!(order.waits_for(10), []);
        assert_eq!(order.waits_for(20), [after(10, Reason::Main)]);
        assert_eq!(pids(&order.take_due(k.t0)), [10]);
        // Connected to the main process: it is said once, as connected.
        let mut order = Order::new(GRACE, Some(10), &tree, vec![c(10, 20)], k.t0, k.latest);
        assert_eq!(order.waits_for(20), [after(10, Reason::Connected)]);
        order.take_due(k.t0);
        order.on_exits(k.t0, &[10]);
        assert_eq!(pids(&order.take_due(k.t0)), [20]);
    }

    #[test]
    fn connections_inside_one_subtree_order_nothing() {
        let k = clock();
        // A worker (11) and its master (10): a socketpair would not even
        // be a connection, and an accepted one inside is the master's own.
        let tree = [p(10, GRACE), p(11, 10), p(20, GRACE)];
        let order = Order::new(
            GRACE,
            None,
            &tree,
            vec![c(11, 10), c(10, 11)],
            k.t0,
            k.latest,
        );
        assert_eq!(order.waits_for(10), []);
        assert_eq!(order.waits_for(20), []);
    }

    #[test]
    fn at_half_time_everyone_left_is_due() {
        let k = clock();
        let tree = [p(10, GRACE), p(11, 10), p(20, GRACE)];
        let mut order = Order::new(GRACE, Some(10), &tree, vec![c(11, 20)], k.t0, k.latest);
        assert_eq!(pids(&order.take_due(k.t0)), [10]);
        // The main process ignores its signal.
        let late = order.take_due(k.latest);
        assert_eq!(
            late,
            [
                Due {
                    pid: 11,
                    why: Why::Late(after(10, Reason::Parent))
                },
                Due {
                    pid: 20,
                    why: Why::Late(after(10, Reason::Connected))
                }
            ]
        );
        assert_eq!(order.next_due(), None);
    }

    #[test]
    fn an_exit_that_changes_nothing_is_not_worked_out_again() {
        let k = clock();
        let tree = [p(10, GRACE), p(20, GRACE), p(30, GRACE)];
        let mut order = Order::new(GRACE, None, &tree, vec![c(20, 30)], k.t0, k.latest);
        assert_eq!(pids(&order.take_due(k.t0)), [10, 20]);
        let later = k.t0 + Duration::from_secs(1);
        order.on_exits(later, &[10]);
        assert_eq!(order.computed, k.t0);
        order.on_exits(later, &[10, 99]);
        assert_eq!(order.computed, k.t0);
        order.on_exits(later, &[20]);
        assert_eq!(order.computed, later);
        assert_eq!(order.at_latest(30), Some(later));
        assert_eq!(
            order.take_due(later),
            [Due {
                pid: 30,
                why: Why::Released(after(20, Reason::Connected))
            }]
        );
    }

    #[test]
    fn a_client_inside_a_unit_releases_its_server_once_worked_out_again() {
        let k = clock();
        // 11, under 10, is the only client of 20: 20 waits for 10 (the
        // unit), until 11 exits.
        let tree = [p(10, GRACE), p(11, 10), p(20, GRACE)];
        let mut order = Order::new(GRACE, None, &tree, vec![c(11, 20)], k.t0, k.latest);
        assert_eq!(order.waits_for(20), [after(10, Reason::Connected)]);
        order.take_due(k.t0);
        order.on_exits(k.t0, &[11]);
        assert_eq!(pids(&order.take_due(k.t0)), [20]);
    }

    #[test]
    fn a_parent_link_that_loops_does_not_hang() {
        let k = clock();
        let tree = [p(10, 11), p(11, 10)];
        let mut order = Order::new(GRACE, None, &tree, Vec::new(), k.t0, k.latest);
        assert_eq!(order.take_due(k.latest).len(), 2);
    }

    #[test]
    fn components_find_cycles_and_chains() {
        let edges = [(1, 2), (2, 3), (3, 1), (3, 4), (4, 5), (5, 4), (6, 1)];
        let component = components(&edges);
        let of = |pid: i32| component[at(&component, pid).unwrap()].1;
        assert_eq!(of(1), of(2));
        assert_eq!(of(2), of(3));
        assert_eq!(of(4), of(5));
        assert_ne!(of(1), of(4));
        assert_ne!(of(6), of(1));
        // A long chain: no recursion to overflow.
        let chain: Vec<(i32, i32)> = (0..20_000).map(|n| (n, n + 1)).collect();
        assert_eq!(components(&chain).len(), 20_001);
    }

    /// A forest under grace (each process's parent is grace or an earlier
    /// one), a main process among grace's children, connections, and an
    /// order of exits.
    fn scenario() -> impl Strategy<Value = (Vec<Process>, Option<i32>, Vec<Connection>, Vec<usize>)>
    {
        (1usize..24).prop_flat_map(|n| {
            (
                proptest::collection::vec(any::<proptest::sample::Index>(), n),
                any::<bool>(),
                proptest::collection::vec((0..n, 0..n), 0..3 * n),
                proptest::collection::vec(any::<usize>(), 4 * n),
            )
                .prop_map(move |(parents, with_main, pairs, exits)| {
                    let pid = |i: usize| 100 + i as i32;
                    let tree: Vec<Process> = parents
                        .iter()
                        .enumerate()
                        .map(|(i, choice)| {
                            // Half of the processes are grace's children.
                            let ppid = match choice.index(2 * i + 2) {
                                pick if pick <= i + 1 => GRACE,
                                pick => pid(pick - i - 2),
                            };
                            p(pid(i), ppid)
                        })
                        .collect();
                    let main = with_main.then_some(pid(0));
                    let connections = pairs.iter().map(|&(a, b)| c(pid(a), pid(b))).collect();
                    (tree, main, connections, exits)
                })
        })
    }

    proptest! {
        // Failures are shrunk and printed; none is kept in a file.
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        /// If every signalled process exits, everyone is signalled before
        /// half time: no cycle, no chain, deadlocks the order.
        #[test]
        fn nobody_is_left_waiting_when_the_signalled_exit(
            (tree, main, connections, exits) in scenario()
        ) {
            let k = clock();
            let mut order = Order::new(GRACE, main, &tree, connections, k.t0, k.latest);
            let mut running: Vec<i32> = Vec::new();
            let mut signalled = BTreeSet::new();
            let mut exits = exits.into_iter();
            loop {
                for due in order.take_due(k.t0) {
                    prop_assert!(signalled.insert(due.pid), "{} signalled twice", due.pid);
                    prop_assert!(!matches!(due.why, Why::Late(_)), "{:?}", due);
                    running.push(due.pid);
                }
                if running.is_empty() {
                    break;
                }
                let pick = exits.next().unwrap_or(0) % running.len();
                let pid = running.swap_remove(pick);
                order.on_exits(k.t0, &[pid]);
                // What was reused is what working it all out gives.
                let mut afresh = order.clone();
                afresh.work_out();
                prop_assert_eq!(&order.waits, &afresh.waits);
            }
            prop_assert_eq!(signalled.len(), tree.len());
            prop_assert_eq!(order.next_due(), None);
        }

        /// Whatever anyone waits for, at half time everyone left is due;
        /// before, a process that waits for nothing is due at once and
        /// one that waits is not.
        #[test]
        fn everyone_is_due_by_half_time_and_nobody_waits_for_nothing(
            (tree, main, connections, exits) in scenario()
        ) {
            let k = clock();
            let mut order = Order::new(GRACE, main, &tree, connections, k.t0, k.latest);
            // Some exit first, signalled or not (an unrelated death).
            let gone: Vec<i32> = exits.iter().take(3).map(|&e| tree[e % tree.len()].pid).collect();
            order.on_exits(k.t0, &gone);
            let alive: BTreeSet<i32> = tree.iter().map(|p| p.pid).filter(|p| !gone.contains(p)).collect();
            for &pid in &alive {
                let waits = order.waits_for(pid).to_vec();
                for a in &waits {
                    prop_assert!(alive.contains(&a.pid), "{pid} waits for {} gone", a.pid);
                    prop_assert_ne!(a.pid, pid);
                }
                if Some(pid) == main {
                    prop_assert!(waits.is_empty());
                }
                prop_assert!(order.at_latest(pid).is_some_and(|at| at <= k.latest));
            }
            let now: BTreeSet<i32> = pids(&order.take_due(k.t0)).into_iter().collect();
            for &pid in &alive {
                prop_assert_eq!(now.contains(&pid), order.at_latest(pid).is_none());
            }
            let late: BTreeSet<i32> = pids(&order.take_due(k.latest)).into_iter().collect();
            prop_assert_eq!(now.union(&late).copied().collect::<BTreeSet<i32>>(), alive);
            prop_assert!(now.is_disjoint(&late));
        }
    }
}
