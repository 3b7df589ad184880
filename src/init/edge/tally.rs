//! The stop's count of processes, for its summary line: the arithmetic,
//! pure and tested apart from the processes it counts.

/// What the stop counted as it went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Processes the stop's signalling reached (None: unknown); a lower
    /// bound when there were too many to count cheaply.
    pub signalled: Option<usize>,
    /// Processes grace reaped since the stop signalled them: the count
    /// when /proc had too many to list.
    pub reaped: usize,
    /// `reaped` when the deadline's kill went out (None: no kill).
    pub reaped_before_kill: Option<usize>,
    /// Processes entered from outside seen to exit during the stop.
    pub outsiders_ended: usize,
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            signalled: Some(0),
            reaped: 0,
            reaped_before_kill: None,
            outsiders_ended: 0,
        }
    }
}

impl Tally {
    /// How many processes the stop stopped, given `killed` at the deadline:
    /// the most that any count saw, since each may miss some (the
    /// signalling's count stops at a few hundred, reaping misses the
    /// outsiders and those killed but not reaped in time). None when the
    /// signalling could not count.
    pub fn processes(&self, killed: usize) -> Option<usize> {
        // With the killed, everyone the stop reached, even if some could
        // not be reaped in time.
        let at_kill = self.reaped_before_kill.map_or(0, |reaped| reaped + killed);
        self.signalled
            .map(|count| count.max(self.reaped + self.outsiders_ended).max(at_kill))
    }

    /// `found` more processes were signalled (if counting still holds).
    pub fn add_signalled(&mut self, found: usize) {
        self.signalled = self.signalled.map(|count| count + found);
    }

    /// The signalling saw `count` processes at once (None: it cannot
    /// count, and the stop's count is unknown from now on).
    pub fn saw_signalled(&mut self, count: Option<usize>) {
        self.signalled = match (self.signalled, count) {
            (Some(before), Some(now)) => Some(before.max(now)),
            _ => None,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_is_the_most_any_way_of_counting_saw() {
        let mut tally = Tally::default();
        assert_eq!(tally.processes(0), Some(0));
        tally.saw_signalled(Some(3));
        tally.saw_signalled(Some(2));
        assert_eq!(tally.processes(0), Some(3), "a later, smaller look");
        tally.add_signalled(1);
        assert_eq!(tally.processes(0), Some(4), "a newcomer");
        // Reaping saw more than the signalling's capped count.
        tally.reaped = 500;
        assert_eq!(tally.processes(0), Some(500));
        tally.outsiders_ended = 2;
        assert_eq!(tally.processes(0), Some(502));
    }

    #[test]
    fn the_killed_count_with_those_reaped_before_the_kill() {
        let tally = Tally {
            signalled: Some(3),
            reaped: 4,
            reaped_before_kill: Some(4),
            outsiders_ended: 0,
        };
        // Killed but not reaped in time: still stopped by the stop.
        assert_eq!(tally.processes(5), Some(9));
        // No kill: the killed are not counted.
        let no_kill = Tally {
            reaped_before_kill: None,
            ..tally
        };
        assert_eq!(no_kill.processes(5), Some(4));
    }

    #[test]
    fn an_uncounted_signalling_makes_the_count_unknown() {
        let mut tally = Tally::default();
        tally.saw_signalled(None);
        tally.add_signalled(3);
        tally.reaped = 7;
        assert_eq!(tally.processes(0), None);
    }
}
