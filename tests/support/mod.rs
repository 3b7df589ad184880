//! The integration tests' helpers, each in one place: running grace as
//! PID 1 of a fresh PID namespace or as a subreaper below one, waiting with
//! a bound, reading what the probe processes wrote down and what grace
//! logged, and the harnesses of real containers (runc, podman, a private
//! dockerd). Test files import from here; none exports helpers to another.
//! bench/compare.rs and bench/compare_services.rs, the generators of the
//! README's comparison tables, run the same containers through this tree.
//!
//! The everyday helpers are re-exported here (`crate::support::Grace`);
//! the container harnesses are named by their module
//! (`crate::support::containers::Rootfs`).

pub mod containers;
pub mod docker;
mod grace;
mod json_log;
pub mod podman;
mod probe;
mod process;
pub mod real_programs;
mod scratch;
pub mod services;
pub mod shapes;
mod wait;

pub use grace::*;
pub use json_log::*;
pub use probe::*;
pub use process::*;
pub use scratch::*;
pub use wait::*;
