//! Verbs on processes, used by the running init and by the subcommands
//! alike: starting a command (`spawn`), reaping and wait statuses (`reap`),
//! reading /proc (`procfs`), and the user database (`user`).

pub mod procfs;
pub mod reap;
pub mod spawn;
pub mod user;
