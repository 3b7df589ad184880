//! Where the peers that are not Debian packages were installed (cargo's,
//! npm's and pip's installs), for bench/services and
//! bench/compare_services.rs alike.

use std::path::{Path, PathBuf};

/// `name` as $VARIABLE gives it, else as found on the PATH.
pub fn installed(name: &str, variable: &str) -> Option<PathBuf> {
    match std::env::var(variable) {
        Ok(path) => Some(PathBuf::from(path)),
        Err(_) => on_path(name),
    }
}

/// The first `name` on the PATH.
pub fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var("PATH").ok().and_then(|path| {
        path.split(':')
            .map(|dir| Path::new(dir).join(name))
            .find(|candidate| candidate.exists())
    })
}
