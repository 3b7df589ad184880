//! The `after` relation between services: every name must be a service,
//! there must be no cycle, and from it comes the start order. Services are
//! numbered in the file's order; each `after` entry carries a site (where it
//! is written) for the error to point at.

use alloc::collections::BinaryHeap;
use core::cmp::Reverse;

use crate::base::prelude::*;

/// What is wrong with the relation, at the entry that shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem<S> {
    /// `service`'s entry at `site` names no service.
    Unknown {
        service: usize,
        site: S,
        name: String,
    },
    /// `service` starts, through `cycle`, after itself: it is after
    /// `cycle[0]`, which is after `cycle[1]`, ..., and the last is
    /// `service`. The entry at `site` (of `service`) closes the cycle.
    Cycle {
        service: usize,
        site: S,
        cycle: Vec<usize>,
    },
}

/// The relation, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// The services in start order.
    pub order: Vec<usize>,
    /// What each service starts after, by number, once each, in the order
    /// of the entries that first name them.
    pub after: Vec<Vec<usize>>,
}

/// Which services run: each of `roots`, and every service one that runs
/// starts after (`after`, as `Order::after`), transitively.
pub fn needed(roots: Vec<usize>, after: &[Vec<usize>]) -> Vec<bool> {
    let mut runs = vec![false; after.len()];
    let mut pending = roots;
    while let Some(service) = pending.pop() {
        if !core::mem::replace(&mut runs[service], true) {
            pending.extend_from_slice(&after[service]);
        }
    }
    runs
}

/// The services in start order: each after every service it names, and
/// otherwise in the file's order. `after[i]` lists service `i`'s entries,
/// by name.
pub fn start_order<S: Clone>(
    names: &[&str],
    after: &[Vec<(&str, S)>],
) -> Result<Order, Problem<S>> {
    // Names are found by a scan, not through a map: a file has a few
    // services, and a BTreeMap of its own is kilobytes of code.
    let index = |name: &str| names.iter().rposition(|known| *known == name);
    // Each service's dependencies, once each, with the first entry naming
    // them. named_by[i]: the last service found to name service i.
    let mut needs: Vec<Vec<(usize, S)>> = Vec::with_capacity(names.len());
    let mut named_by = vec![usize::MAX; names.len()];
    for (service, entries) in after.iter().enumerate() {
        let mut resolved: Vec<(usize, S)> = Vec::new();
        for (name, site) in entries {
            let Some(other) = index(name) else {
                return Err(Problem::Unknown {
                    service,
                    site: site.clone(),
                    name: name.to_string(),
                });
            };
            if named_by[other] != service {
                named_by[other] = service;
                resolved.push((other, site.clone()));
            }
        }
        needs.push(resolved);
    }

    let mut waiting: Vec<usize> = needs.iter().map(Vec::len).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); names.len()];
    for (service, resolved) in needs.iter().enumerate() {
        for (other, _) in resolved {
            dependents[*other].push(service);
        }
    }
    // Of the services whose dependencies are all placed, the first in the
    // file goes next. (A heap: a set's removal is kilobytes more code.)
    let mut startable: BinaryHeap<Reverse<usize>> = BinaryHeap::new();
    for (service, count) in waiting.iter().enumerate() {
        if *count == 0 {
            startable.push(Reverse(service));
        }
    }
    let mut order = Vec::with_capacity(names.len());
    while let Some(Reverse(next)) = startable.pop() {
        order.push(next);
        for &dependent in &dependents[next] {
            waiting[dependent] -= 1;
            if waiting[dependent] == 0 {
                startable.push(Reverse(dependent));
            }
        }
    }
    if order.len() == names.len() {
        return Ok(resolved(order, &needs));
    }

    // Every service left waits for another one left: following the first
    // such dependency from the first one left must come back to a service
    // already passed, and that is a cycle.
    let mut placed = vec![false; names.len()];
    for &service in &order {
        placed[service] = true;
    }
    let Some(mut current) = (0..names.len()).find(|&i| !placed[i]) else {
        return Ok(resolved(order, &needs));
    };
    let mut walk: Vec<usize> = vec![current];
    loop {
        let Some((next, site)) = needs[current].iter().find(|(other, _)| !placed[*other]) else {
            // Cannot happen: a service left with all dependencies placed
            // would have been placed.
            return Ok(resolved(order, &needs));
        };
        if let Some(at) = walk.iter().position(|&passed| passed == *next) {
            return Err(Problem::Cycle {
                service: current,
                site: site.clone(),
                cycle: walk[at..].to_vec(),
            });
        }
        walk.push(*next);
        current = *next;
    }
}

fn resolved<S>(order: Vec<usize>, needs: &[Vec<(usize, S)>]) -> Order {
    let after = needs
        .iter()
        .map(|resolved| resolved.iter().map(|(other, _)| *other).collect())
        .collect();
    Order { order, after }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The start order of services given as (name, [after...]), by name.
    fn order(services: &[(&str, &[&str])]) -> Result<Vec<String>, Problem<usize>> {
        let names: Vec<&str> = services.iter().map(|(name, _)| *name).collect();
        let after: Vec<Vec<(&str, usize)>> = services
            .iter()
            .map(|(_, after)| after.iter().enumerate().map(|(i, n)| (*n, i)).collect())
            .collect();
        start_order(&names, &after)
            .map(|order| order.order.iter().map(|&i| names[i].to_string()).collect())
    }

    #[test]
    fn services_start_after_what_they_name_and_otherwise_in_file_order() {
        assert_eq!(
            order(&[
                ("web", &["app"]),
                ("app", &["db", "db"]),
                ("db", &[]),
                ("log", &[])
            ])
            .unwrap(),
            ["db", "app", "web", "log"]
        );
        assert_eq!(
            order(&[("a", &[]), ("b", &[]), ("c", &["a", "b"])]).unwrap(),
            ["a", "b", "c"]
        );
        assert_eq!(order(&[]).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn unknown_names_and_cycles_are_found_at_their_entry() {
        assert_eq!(
            order(&[("app", &["db", "dbb"]), ("db", &[])]),
            Err(Problem::Unknown {
                service: 0,
                site: 1,
                name: "dbb".into()
            })
        );
        // a after b after c after a: found from a, closed by c's entry.
        assert_eq!(
            order(&[("a", &["b"]), ("b", &["x", "c"]), ("c", &["a"]), ("x", &[])]),
            Err(Problem::Cycle {
                service: 2,
                site: 0,
                cycle: vec![0, 1, 2]
            })
        );
        assert_eq!(
            order(&[("ok", &[]), ("self", &["ok", "self"])]),
            Err(Problem::Cycle {
                service: 1,
                site: 1,
                cycle: vec![1]
            })
        );
        // A service waiting on a cycle is not in it.
        assert_eq!(
            order(&[("w", &["p"]), ("p", &["q"]), ("q", &["p"])]),
            Err(Problem::Cycle {
                service: 2,
                site: 0,
                cycle: vec![1, 2]
            })
        );
    }
}
