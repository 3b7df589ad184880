//! Verbs on processes, used by the running init and by the subcommands
//! alike: starting a command (`spawn`), reaping and wait statuses (`reap`),
//! reading /proc (`procfs`), who is connected to whom (`sockets`), and the
//! user database (`user`).

pub mod procfs;
pub mod reap;
pub mod sockets;
pub mod spawn;
pub mod user;
