//! The fuzz target for `grace inspect` (fuzz/fuzz_targets/proc_tree.rs):
//! a /proc made of arbitrary bytes, read, predicted and rendered as the
//! real one is. Compiled only with `--cfg fuzzing`.

use super::classify::Init;
use super::collect::{Source, collect, services, target_file};
use super::judge::predict;
use super::render::{render_json, render_text};
use crate::base::prelude::*;
use crate::base::signals::SIGTERM;
use crate::cli::InspectOptions;
use crate::services::published;
use crate::sys;

/// The files of each process, in this order, separated by 0xFF (which no
/// UTF-8 text holds): stat, status, cmdline, environ, then the next
/// process's, numbered 1, 2, ... .
const FILES: [&str; 4] = ["stat", "status", "cmdline", "environ"];

struct Bytes<'a> {
    files: Vec<&'a [u8]>,
}

impl Bytes<'_> {
    fn count(&self) -> i32 {
        self.files.len().div_ceil(FILES.len()) as i32
    }
}

impl Source for Bytes<'_> {
    fn pids(&self) -> sys::Result<Vec<i32>> {
        Ok((1..=self.count()).collect())
    }

    fn read(&self, pid: i32, file: &str) -> sys::Result<Vec<u8>> {
        // A thread's file (task/TID/FILE) is its process's.
        let name = file.rsplit('/').next().unwrap_or(file);
        let kind = FILES.iter().position(|&known| known == name);
        let index = kind.map(|kind| (pid as usize - 1) * FILES.len() + kind);
        match index.and_then(|index| self.files.get(index)) {
            Some(bytes) => Ok(bytes.to_vec()),
            None => Err(sys::Error::from_raw_os_error(libc::ENOENT)),
        }
    }

    fn exe(&self, _: i32, _: Option<i32>) -> sys::Result<String> {
        Err(sys::Error::from_raw_os_error(libc::EACCES))
    }

    fn threads(&self, pid: i32) -> sys::Result<Vec<i32>> {
        Ok(vec![pid, pid % self.count().max(1) + 1])
    }
}

/// `grace inspect` (its text and its JSON, for the whole /proc and for
/// PID 1's subtree) of the processes `data` describes.
pub fn proc_tree(data: &[u8]) {
    let source = Bytes {
        files: data.split(|&b| b == 0xff).collect(),
    };
    for target in [None, Some(1)] {
        let Ok(mut snapshot) = collect(&source, target, None) else {
            continue;
        };
        let top = snapshot.processes.iter().position(|p| p.pid == 1);
        let published = published::decode("grace-status 1\ngrace\t1\t0\t0\t0\n").ok();
        snapshot.services = services(&snapshot.processes, published.as_ref());
        let read = |path: &str| target_file(&source, 1, path);
        let init =
            top.map(|top| Init::identify(&snapshot.processes, top, &snapshot.services, &read));
        let report = predict(&snapshot.processes, &[], init, SIGTERM);
        let options = InspectOptions {
            json: true,
            signal: SIGTERM,
            pid: target,
        };
        let _ = render_json(&snapshot, &report, options);
        let _ = render_text(&snapshot, &report, SIGTERM, true);
    }
}
