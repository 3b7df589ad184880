//! Integration tests: the built grace binary as a real PID 1 (or subreaper)
//! of a real PID namespace, observed through what real processes wrote down.
//! Every test needs root (unshare --pid).

mod util;

mod allocator;
mod bounds;
mod chaos;
mod child_state;
mod cli;
mod compare;
mod compare_services;
mod compat;
mod containers;
mod cri;
mod docker;
mod e2e;
mod exit_status;
mod footprint;
mod forwarding;
mod hardening;
mod idle;
mod image;
mod inspect;
mod lockdown;
mod newcomers;
mod packages;
mod privileges;
mod reaping;
mod recipes;
mod services;
mod services_e2e;
mod services_example;
mod services_import;
mod services_run;
mod shutdown;
mod status;
mod terminal;
mod unread_output;
