//! Several services in one container, declared in one TOML file
//! (docs/services.md): started in dependency order once the ones before
//! are ready, restarted or ending the container when they exit, stopped in
//! reverse order before the sweep of everyone else.
//!
//! One file per concern:
//! - `model`: the validated services, what the runtime is handed;
//! - `config`: the file's format (read from toml's document tree) and every
//!   check on it;
//! - `graph`: the `after` relation: unknown names, cycles, the start order;
//! - `variables`: `env_file` and `${VAR}` expansion, read while checking;
//! - `command`: finding a service's program the way execvp(3) would;
//! - `container`: what the file is checked against (the container's files,
//!   its user database, grace's PATH);
//! - `check`: the `grace check` subcommand, and reading the file for
//!   `--config`;
//! - `import`: the `grace import` subcommand, a supervisord configuration
//!   or a Procfile translated into a services file;
//! - `fleet`: the services' lives as a state machine (start, readiness,
//!   restarts, essential exits, the ordered stop): events in, effects out
//!   through `FleetEffects`, its state × event grid in one match;
//! - `runtime`: the fleet's effects on real processes, readiness read from
//!   descriptors and probes, and the glue (`Driver`) that hands what it
//!   learns back to the fleet as events;
//! - `output`: services' stdout and stderr, a line at a time, on grace's;
//! - `published`: the state the running grace publishes for `grace status`
//!   and `grace inspect`, its file format, and reading it back;
//! - `rundir`: where the run directory is (the one order the running grace
//!   and its readers follow), and which directories and files in it are
//!   trusted;
//! - `show`: the `grace status` subcommand;
//! - `control`: `grace restart`, `stop`, `start` and `signal`: the control
//!   socket PID 1 reads, the protocol, and the command that waits for its
//!   answer in the published state.

pub mod check;
mod command;
pub mod config;
pub mod container;
pub mod control;
pub mod fleet;
mod graph;
#[cfg(feature = "import")]
pub mod import;
pub mod model;
pub mod output;
pub mod published;
mod rundir;
pub mod runtime;
pub mod show;
mod tree;
mod variables;
