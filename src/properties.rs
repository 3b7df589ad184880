//! Property tests over every parser grace has: signal names, durations,
//! signal lists, the command line, /proc stat, status and cmdline text.
//! Inputs come from a seeded generator (so a failure is reproducible from
//! its seed) mixing random bytes, mutations of valid inputs and known
//! hostile shapes. The properties: never panic, and what is accepted means
//! what it says (names round-trip, durations are bounded).
