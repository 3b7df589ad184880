//! Several services in one container, declared in one TOML file
//! (docs/services.md).
//!
//! What exists so far is the file and its validation: `config` reads the
//! file into the validated model of `model` (services in a dependency
//! order, each with its readiness, stop and restart settings), refusing a
//! bad file with one message that names the file, the line and the key;
//! `check` is `grace check FILE`. Running the services (starting them in
//! that order, readiness, restarts, the ordered stop) comes later and will
//! consume `model::Services` as it is.
//!
//! One file per concern:
//! - `model`: the validated services, what the runtime will be handed;
//! - `config`: the file's format (read from toml's document tree) and every
//!   check on it;
//! - `graph`: the `after` relation: unknown names, cycles, the start order;
//! - `command`: finding a service's program the way execvp(3) would;
//! - `container`: what the file is checked against (the container's files,
//!   its user database, grace's PATH);
//! - `check`: the `grace check` subcommand;
//! - `status`: the state the running grace publishes for `grace status`
//!   and `grace inspect`, its file format, and reading it back;
//! - `show`: the `grace status` subcommand.

pub mod check;
mod command;
pub mod config;
pub mod container;
mod graph;
pub mod model;
pub mod show;
pub mod status;
