//! The image to COPY grace from (Containerfile, scripts/image): built from
//! scripts/release's amd64 and arm64 binaries into one manifest list whose
//! entries carry their architecture and their own binary, and used as a
//! Dockerfile would, `COPY --from` into an image whose grace then stops a
//! container gracefully.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::containers::static_binaries;
use crate::support::containers::{unique, wait_marker};
use crate::support::podman::{Made, image_store_lock, podman};
use crate::support::{TempDir, check, finished_cleanup, parse_json};

const PLATFORMS: [(&str, &str); 2] = [("amd64", "linux-amd64"), ("arm64", "linux-arm64")];

fn script(name: &str, args: &[&str]) -> String {
    let output = Command::new(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scripts")
            .join(name),
    )
    .args(args)
    .stdin(Stdio::null())
    .output()
    .expect("run script");
    check(output, name)
}

#[test]
fn the_manifest_list_carries_each_architecture_and_copy_from_works() {
    let dir = TempDir::new();
    let dist = dir.join("dist");
    let dist_arg = dist.display().to_string();
    script(
        "release",
        &["--out", &dist_arg, "linux/amd64", "linux/arm64"],
    );
    let version = env!("CARGO_PKG_VERSION");

    let mut made = Made::new(&dir);
    let manifest = format!("localhost/{}", unique("grace-release-test"));
    made.manifests.push(manifest.clone());
    let lock = image_store_lock();
    let built = script(
        "image",
        &[
            "--dist",
            &dist_arg,
            "--name",
            &manifest,
            "linux/amd64",
            "linux/arm64",
        ],
    );
    drop(lock);
    made.images.extend(
        built
            .lines()
            .filter_map(|line| line.strip_prefix("image "))
            .filter_map(|rest| rest.split_whitespace().nth(1))
            .map(str::to_string),
    );
    assert_eq!(made.images.len(), 2, "{built}");

    // One list, one entry per platform, each with its architecture and no
    // variant (podman 4.3 has been seen to write a stale one).
    let list = parse_json(&check(
        podman(&dir, &["manifest", "inspect", &manifest]),
        "manifest inspect",
    ))
    .unwrap_or_else(|error| panic!("manifest inspect: {error}"));
    let mut entries: Vec<(String, String)> = list["manifests"]
        .as_array()
        .unwrap_or_else(|| panic!("no manifests: {list}"))
        .iter()
        .map(|entry| {
            (
                entry["platform"].to_string(),
                entry["digest"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    entries.sort();
    let platforms: Vec<&str> = entries.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        platforms,
        [
            r#"{"architecture":"amd64","os":"linux"}"#,
            r#"{"architecture":"arm64","os":"linux"}"#,
        ],
        "{list}"
    );

    // Each entry's digest is the image built for that platform, and that
    // image holds that platform's binary, byte for byte (created, never
    // run: no emulation needed).
    for ((arch, file_platform), image) in PLATFORMS.into_iter().zip(made.images.clone()) {
        let digest = check(
            podman(
                &dir,
                &["image", "inspect", "--format", "{{.Digest}}", &image],
            ),
            "image inspect",
        );
        let entry = &entries[PLATFORMS.iter().position(|(a, _)| *a == arch).unwrap()];
        assert_eq!(entry.1, digest.trim(), "linux/{arch}");
        let container = unique("grace-release-test");
        made.containers.push(container.clone());
        check(
            podman(&dir, &["create", "--name", &container, &image]),
            "podman create",
        );
        let copied = dir.join(&format!("grace-{arch}"));
        check(
            podman(
                &dir,
                &[
                    "cp",
                    &format!("{container}:/grace"),
                    &copied.display().to_string(),
                ],
            ),
            "podman cp",
        );
        let shipped = dist.join(format!("grace-{version}-{file_platform}"));
        assert!(
            fs::read(&copied).unwrap() == fs::read(&shipped).unwrap(),
            "linux/{arch}'s /grace is not {}",
            shipped.display()
        );
    }

    // A Dockerfile's COPY --from the list, on a busybox base with the probe.
    let context = dir.join("context");
    fs::create_dir_all(&context).unwrap();
    fs::copy("/bin/busybox", context.join("busybox")).expect("busybox-static");
    fs::copy(&static_binaries().probe, context.join("probe")).unwrap();
    fs::write(
        context.join("Containerfile"),
        format!(
            "FROM scratch\n\
             COPY busybox /bin/busybox\n\
             RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n\
             COPY --from={} /grace /grace\n\
             COPY probe /probe\n\
             ENTRYPOINT [\"/grace\", \"--\"]\n\
             CMD [\"sh\", \"-c\", \"/probe --dir /markers --name helper --cleanup-ms 300 & exec /probe --dir /markers --name main --cleanup-ms 100\"]\n",
            manifest
        ),
    )
    .unwrap();
    let user = format!("localhost/{}", unique("grace-release-test-user"));
    let lock = image_store_lock();
    let built = podman(
        &dir,
        &[
            "build",
            "--quiet",
            "-t",
            &user,
            &context.display().to_string(),
        ],
    );
    drop(lock);
    made.images.push(user.clone());
    check(built, "podman build with COPY --from");

    let markers = dir.join("markers");
    fs::create_dir_all(&markers).unwrap();
    let container = unique("grace-release-test");
    made.containers.push(container.clone());
    let volume = format!("{}:/markers", markers.display());
    check(
        podman(
            &dir,
            &[
                "run",
                "-d",
                "--name",
                &container,
                "--network",
                "none",
                "-v",
                &volume,
                &user,
            ],
        ),
        "podman run",
    );
    for name in ["helper", "main"] {
        wait_marker(&markers, name);
    }
    check(
        podman(&dir, &["stop", "-t", "10", &container]),
        "podman stop",
    );
    let code = check(
        podman(
            &dir,
            &["inspect", &container, "--format", "{{.State.ExitCode}}"],
        ),
        "podman inspect",
    );
    assert_eq!(code.trim(), "143");
    assert!(
        finished_cleanup(&markers, "main"),
        "main finished its cleanup"
    );
    assert!(
        finished_cleanup(&markers, "helper"),
        "the helper finished its cleanup"
    );
}
