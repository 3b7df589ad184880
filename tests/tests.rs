//! Integration tests: the built grace binary as a real PID 1 (or subreaper)
//! of a real PID namespace, observed through what real processes wrote down.
//! Every test needs root (unshare --pid).

mod util;

mod child_state;
mod compare;
mod compat;
mod containers;
mod e2e;
mod exit_status;
mod forwarding;
mod hardening;
mod idle;
mod image;
mod inspect;
mod privileges;
mod reaping;
mod recipes;
mod shutdown;
mod terminal;
