//! Integration tests: the built grace binary as a real PID 1 (or subreaper)
//! of a real PID namespace, observed through what real processes wrote down.
//! Every test needs root (unshare --pid).

mod support;

mod allocator;
mod bounds;
mod chaos;
mod child_state;
mod cli;
mod compat;
mod cri;
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
mod real_programs;
mod reaping;
mod recipes;
mod services;
mod services_control;
mod services_e2e;
mod services_example;
#[cfg(feature = "import")]
mod services_import;
#[cfg(not(feature = "import"))]
mod services_import {
    /// Says, in the runner's output, that `grace import`'s tests did not run.
    #[test]
    fn not_built_without_the_import_feature() {
        eprintln!("grace import is not built (--no-default-features): its tests did not run");
    }
}
mod services_run;
mod services_stop;
mod shutdown;
mod status;
mod terminal;
mod unread_output;
