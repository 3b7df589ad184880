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

// The stop wires this in (issue 20); until then only the tests use it.
#![cfg_attr(not(test), allow(dead_code))]

use crate::base::prelude::*;
use crate::base::time::Instant;
use crate::process::sockets::Connection;

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
    /// Half of the grace period is left: it waited long enough.
    Late,
}

/// A process due for the stop signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub pid: i32,
    pub why: Why,
}

/// The order, from the stop's beginning to the last exit.
#[derive(Debug, Clone)]
pub struct Order {
    grace: i32,
    main: Option<i32>,
    /// Each live process's parent.
    parents: BTreeMap<i32, i32>,
    /// The connections between live processes.
    connections: Vec<Connection>,
    /// Every pid that holds an end of a live connection (as of the last
    /// time the order was worked out).
    connected: BTreeSet<i32>,
    /// The processes that had children, as of then.
    has_children: BTreeSet<i32>,
    /// The units in a cycle, as of then.
    in_cycle: BTreeSet<i32>,
    /// Who waits for each process, as of then.
    waited_by: BTreeMap<i32, Vec<i32>>,
    latest: Instant,
    /// When the order was last worked out: when a process that waits for
    /// nothing is due.
    computed: Instant,
    /// What each live process not yet signalled waits for.
    waits: BTreeMap<i32, Vec<After>>,
    /// The processes already given their signal.
    signalled: BTreeSet<i32>,
    /// The exit that left a process waiting for nothing.
    released_by: BTreeMap<i32, After>,
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
        let parents: BTreeMap<i32, i32> = processes
            .iter()
            .filter(|p| p.pid != grace)
            .map(|p| (p.pid, p.ppid))
            .collect();
        let mut order = Order {
            grace,
            main: main.filter(|main| parents.contains_key(main)),
            parents,
            connections,
            connected: BTreeSet::new(),
            has_children: BTreeSet::new(),
            in_cycle: BTreeSet::new(),
            waited_by: BTreeMap::new(),
            latest,
            computed: now,
            waits: BTreeMap::new(),
            signalled: BTreeSet::new(),
            released_by: BTreeMap::new(),
        };
        order.work_out();
        order
    }

    /// Everyone due at `now` who has not had the signal yet, now counted
    /// as signalled.
    pub fn take_due(&mut self, now: Instant) -> Vec<Due> {
        let late = now >= self.latest;
        let due: Vec<Due> = self
            .waits
            .iter()
            .filter(|(_, waits)| late || waits.is_empty())
            .map(|(&pid, waits)| Due {
                pid,
                why: match self.released_by.get(&pid) {
                    _ if !waits.is_empty() => Why::Late,
                    Some(&after) => Why::Released(after),
                    None => Why::AtOnce,
                },
            })
            .collect();
        for due in &due {
            self.waits.remove(&due.pid);
            self.signalled.insert(due.pid);
        }
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
        let gone: BTreeSet<i32> = exited
            .iter()
            .copied()
            .filter(|pid| self.parents.contains_key(pid))
            .collect();
        let mut whole = false;
        let mut released = Vec::new();
        for &pid in &gone {
            let unit = self
                .parents
                .get(&pid)
                .is_some_and(|ppid| *ppid == self.grace || !self.parents.contains_key(ppid));
            if self.main == Some(pid)
                || self.has_children.contains(&pid)
                || (self.connected.contains(&pid) && (!unit || self.in_cycle.contains(&pid)))
            {
                whole = true;
            } else if self.connected.contains(&pid) {
                released.push(pid);
            }
        }
        for pid in &gone {
            self.parents.remove(pid);
            self.signalled.remove(pid);
            self.waits.remove(pid);
            self.released_by.remove(pid);
            if self.main == Some(*pid) {
                self.main = None;
            }
        }
        if !whole && released.is_empty() {
            return;
        }
        self.connections
            .retain(|c| !gone.contains(&c.client) && !gone.contains(&c.server));
        self.computed = now;
        if !whole {
            for pid in released {
                for waiter in self.waited_by.remove(&pid).unwrap_or_default() {
                    let Some(waits) = self.waits.get_mut(&waiter) else {
                        continue;
                    };
                    let Some(at) = waits.iter().position(|a| a.pid == pid) else {
                        continue;
                    };
                    let after = waits.remove(at);
                    if waits.is_empty() {
                        self.released_by.insert(waiter, after);
                    }
                }
            }
            return;
        }
        for ppid in self.parents.values_mut() {
            if gone.contains(ppid) {
                *ppid = self.grace;
            }
        }
        // What each waited for among the exited, to tell what released it.
        let mut was_waiting: BTreeMap<i32, After> = BTreeMap::new();
        for (&pid, waits) in &self.waits {
            if let Some(after) = waits.iter().find(|a| gone.contains(&a.pid)) {
                was_waiting.insert(pid, *after);
            }
        }
        self.work_out();
        for (pid, after) in was_waiting {
            if self.waits.get(&pid).is_some_and(Vec::is_empty) {
                self.released_by.insert(pid, after);
            }
        }
    }

    /// What `pid` waits for (nothing once it is signalled or gone).
    pub fn waits_for(&self, pid: i32) -> &[After] {
        self.waits.get(&pid).map_or(&[], Vec::as_slice)
    }

    /// When `pid` gets the signal at the latest; None once it has it, or
    /// when it is not in the order.
    pub fn at_latest(&self, pid: i32) -> Option<Instant> {
        let waits = self.waits.get(&pid)?;
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
        } else if self.waits.values().any(Vec::is_empty) {
            Some(self.computed)
        } else {
            Some(self.latest)
        }
    }

    /// The unit (grace's child, or a process whose parent is outside)
    /// whose subtree holds each live process.
    fn units(&self) -> BTreeMap<i32, i32> {
        let mut unit = BTreeMap::new();
        for &pid in self.parents.keys() {
            // Walk up to a unit, at most once around the tree: a parent
            // link that loops (impossible in /proc) makes its own unit.
            let mut at = pid;
            let mut path = Vec::new();
            let top = loop {
                if let Some(&known) = unit.get(&at) {
                    break known;
                }
                path.push(at);
                match self.parents.get(&at) {
                    Some(&ppid) if ppid != self.grace && self.parents.contains_key(&ppid) => {
                        if path.len() > self.parents.len() {
                            break pid;
                        }
                        at = ppid;
                    }
                    _ => break at,
                }
            };
            for member in path {
                unit.insert(member, top);
            }
        }
        unit
    }

    /// Every unsignalled process's waits, from the tree and connections.
    fn work_out(&mut self) {
        self.connected = self
            .connections
            .iter()
            .flat_map(|c| [c.client, c.server])
            .collect();
        let unit = self.units();
        // Unit graph: server unit → client units it waits for.
        let mut edges: BTreeMap<i32, BTreeSet<i32>> = BTreeMap::new();
        for c in &self.connections {
            let (Some(&client), Some(&server)) = (unit.get(&c.client), unit.get(&c.server)) else {
                continue;
            };
            if client != server && Some(server) != self.main {
                edges.entry(server).or_default().insert(client);
            }
        }
        let component = components(&edges);
        let mut sizes: BTreeMap<usize, usize> = BTreeMap::new();
        for number in component.values() {
            *sizes.entry(*number).or_default() += 1;
        }
        self.in_cycle = component
            .iter()
            .filter(|(_, number)| sizes[number] > 1)
            .map(|(&unit, _)| unit)
            .collect();
        self.has_children = self.parents.values().copied().collect();
        // What each component waits for outside itself.
        let mut outside: BTreeMap<usize, BTreeSet<i32>> = BTreeMap::new();
        for (server, clients) in &edges {
            let own = component[server];
            for client in clients {
                if component[client] != own {
                    outside.entry(own).or_default().insert(*client);
                }
            }
        }
        let mut waits = BTreeMap::new();
        for (&pid, &ppid) in &self.parents {
            if self.signalled.contains(&pid) {
                continue;
            }
            let mut after = Vec::new();
            if unit[&pid] != pid {
                after.push(After {
                    pid: ppid,
                    reason: Reason::Parent,
                });
            } else {
                if let Some(clients) = component.get(&pid).and_then(|c| outside.get(c)) {
                    after.extend(clients.iter().map(|&client| After {
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
            waits.insert(pid, after);
        }
        self.waited_by.clear();
        for (&pid, waits) in &waits {
            for after in waits {
                self.waited_by.entry(after.pid).or_default().push(pid);
            }
        }
        self.waits = waits;
    }
}

/// The strongly connected components of a graph given as each node's
/// successors (nodes only named as successors included): node →
/// component number. Tarjan's algorithm, iterative, so that a long chain
/// cannot exhaust the stack.
fn components(edges: &BTreeMap<i32, BTreeSet<i32>>) -> BTreeMap<i32, usize> {
    let nodes: BTreeSet<i32> = edges
        .iter()
        .flat_map(|(&from, to)| core::iter::once(from).chain(to.iter().copied()))
        .collect();
    let successors = |node: i32| -> Vec<i32> {
        edges
            .get(&node)
            .map_or_else(Vec::new, |to| to.iter().copied().collect())
    };
    let mut index: BTreeMap<i32, usize> = BTreeMap::new();
    let mut low: BTreeMap<i32, usize> = BTreeMap::new();
    let mut on_stack: BTreeSet<i32> = BTreeSet::new();
    let mut stack: Vec<i32> = Vec::new();
    let mut component: BTreeMap<i32, usize> = BTreeMap::new();
    let mut next = 0;
    let mut count = 0;
    for &root in &nodes {
        if index.contains_key(&root) {
            continue;
        }
        // (node, its successors, how many of them are done)
        let mut calls: Vec<(i32, Vec<i32>, usize)> = Vec::new();
        index.insert(root, next);
        low.insert(root, next);
        next += 1;
        stack.push(root);
        on_stack.insert(root);
        calls.push((root, successors(root), 0));
        while let Some((node, succ, done)) = calls.last_mut() {
            let node = *node;
            if let Some(&to) = succ.get(*done) {
                *done += 1;
                if let alloc::collections::btree_map::Entry::Vacant(slot) = index.entry(to) {
                    slot.insert(next);
                    low.insert(to, next);
                    next += 1;
                    stack.push(to);
                    on_stack.insert(to);
                    calls.push((to, successors(to), 0));
                } else if on_stack.contains(&to) {
                    let lowest = low[&node].min(index[&to]);
                    low.insert(node, lowest);
                }
                continue;
            }
            calls.pop();
            if let Some((parent, _, _)) = calls.last() {
                let lowest = low[parent].min(low[&node]);
                low.insert(*parent, lowest);
            }
            if low[&node] == index[&node] {
                while let Some(member) = stack.pop() {
                    on_stack.remove(&member);
                    component.insert(member, count);
                    if member == node {
                        break;
                    }
                }
                count += 1;
            }
        }
    }
    component
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
                    why: Why::Late
                },
                Due {
                    pid: 20,
                    why: Why::Late
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
        let mut edges: BTreeMap<i32, BTreeSet<i32>> = BTreeMap::new();
        for (from, to) in [(1, 2), (2, 3), (3, 1), (3, 4), (4, 5), (5, 4), (6, 1)] {
            edges.entry(from).or_default().insert(to);
        }
        let component = components(&edges);
        assert_eq!(component[&1], component[&2]);
        assert_eq!(component[&2], component[&3]);
        assert_eq!(component[&4], component[&5]);
        assert_ne!(component[&1], component[&4]);
        assert_ne!(component[&6], component[&1]);
        // A long chain: no recursion to overflow.
        let chain: BTreeMap<i32, BTreeSet<i32>> =
            (0..20_000).map(|n| (n, BTreeSet::from([n + 1]))).collect();
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
                    prop_assert_ne!(due.why, Why::Late);
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
