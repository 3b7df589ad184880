//! podman run by hand, beside the containers of `containers`: with the
//! settings every container here needs, and taking turns for what podman
//! cannot do twice at once.

use std::fs;
use std::process::{Command, Output, Stdio};

use super::TempDir;

/// podman with the settings every container here needs: runc, and
/// resource limits this machine allows (podman's default NOFILE is too
/// high for it), also for containers podman starts by itself (kube play).
pub fn podman(dir: &TempDir, args: &[&str]) -> Output {
    let conf = dir.join("containers.conf");
    if !conf.exists() {
        fs::write(
            &conf,
            "[containers]\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=4096:4096\"]\n",
        )
        .unwrap();
    }
    Command::new("podman")
        .env("CONTAINERS_CONF", &conf)
        .args(["--runtime", "runc"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("podman installed")
}

/// podman 4.3's builder loses track of its build container when another
/// build or an image removal runs at the same time ("container not known",
/// "image not known"): the test processes take turns for both through a
/// lock file, held until the returned handle is dropped.
pub fn image_store_lock() -> fs::File {
    let lock = fs::File::create(std::env::temp_dir().join("grace-test-podman-build.lock"))
        .expect("lock file");
    lock.lock().expect("lock");
    lock
}

/// What a test made with podman, removed when dropped, also when the test
/// fails: its pods and containers, then, taking turns with the builds,
/// its manifest lists and images.
pub struct Made<'a> {
    dir: &'a TempDir,
    pub pods: Vec<String>,
    pub containers: Vec<String>,
    pub manifests: Vec<String>,
    pub images: Vec<String>,
}

impl<'a> Made<'a> {
    /// Nothing yet, made with `podman(dir, …)`.
    pub fn new(dir: &'a TempDir) -> Self {
        Made {
            dir,
            pods: Vec::new(),
            containers: Vec::new(),
            manifests: Vec::new(),
            images: Vec::new(),
        }
    }
}

impl Drop for Made<'_> {
    fn drop(&mut self) {
        for pod in &self.pods {
            let _ = podman(self.dir, &["pod", "rm", "--force", "--time", "0", pod]);
        }
        for container in &self.containers {
            let _ = podman(self.dir, &["rm", "--force", "--time", "0", container]);
        }
        let _lock = image_store_lock();
        for manifest in &self.manifests {
            let _ = podman(self.dir, &["manifest", "rm", manifest]);
        }
        for image in &self.images {
            let _ = podman(self.dir, &["rmi", "--force", image]);
        }
    }
}
