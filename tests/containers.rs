//! LocalStack's container path as a learner and CI meet it: a keylab process never leaves its
//! container behind (normal exit, SIGINT, SIGTERM; `keylab localstack prune` after SIGKILL),
//! `keylab localstack up` starts one container that later commands reuse until `down`, and host
//! mode (`scripts/localstack-host`) still answers. The containers are asked about with the
//! `docker` command itself, not through keylab, so a keylab that mislabels its containers
//! cannot pass. Under `CI=true` a missing Docker, image or host-mode LocalStack fails.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use keylab::backend::localstack;

use crate::localstack::unavailable;

/// Whether the container tests can run here; says why not (and fails under CI) otherwise.
fn docker_ready() -> bool {
    let answers = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !answers {
        unavailable("the docker command does not reach a Docker daemon");
        return false;
    }
    let image = localstack::ImageRef::from_env().unwrap().to_string();
    let present = Command::new("docker")
        .args(["image", "inspect", &image])
        .output()
        .is_ok_and(|o| o.status.success());
    if !present {
        unavailable(&format!(
            "the image {image} is not here (bash scripts/localstack-image build, then KEYLAB_LOCALSTACK_IMAGE=keylab/localstack:4.9.2)"
        ));
    }
    present
}

/// The ids of the containers carrying `label=value`, running or not, as `docker ps -a` lists
/// them.
fn containers(label: &str, value: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args(["ps", "-a", "-q", "--filter"])
        .arg(format!("label={label}={value}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn keylab(data: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_keylab"));
    command
        .env("KEYLAB_DATA_DIR", data)
        .env_remove("KEYLAB_LOCALSTACK_ENDPOINT");
    command
}

/// `keylab verify --backend localstack` (long enough to interrupt), once its LocalStack
/// answers and its container is listed under its pid.
fn verify_running(data: &std::path::Path) -> (Child, mpsc::Receiver<String>) {
    let mut child = keylab(data)
        .args(["verify", "--backend", "localstack"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut said = String::new();
    while !said.contains("answers at") {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => said.push_str(&format!("{line}\n")),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                panic!("keylab ended before LocalStack answered: {said}")
            }
        }
        assert!(
            Instant::now() < deadline,
            "LocalStack did not start: {said}"
        );
    }
    let pid = child.id().to_string();
    assert_eq!(
        containers(localstack::OWNER_LABEL, &pid).len(),
        1,
        "one container, labelled with its keylab's pid: {said}"
    );
    (child, rx)
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "keylab did not end after the signal"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn sigint_and_sigterm_remove_the_container_and_sigkill_leaves_it_to_prune() {
    if !docker_ready() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    for (name, code) in [("INT", 130), ("TERM", 143)] {
        let (mut child, _stderr) = verify_running(data.path());
        let pid = child.id().to_string();
        signal(&child, name);
        let status = wait(&mut child);
        assert_eq!(
            status.code(),
            Some(code),
            "SIG{name} ends keylab as a shell reports it"
        );
        assert_eq!(
            containers(localstack::OWNER_LABEL, &pid),
            Vec::<String>::new(),
            "SIG{name}: nothing of keylab's is left in docker ps -a"
        );
    }

    let (mut child, _stderr) = verify_running(data.path());
    let pid = child.id().to_string();
    signal(&child, "KILL");
    wait(&mut child);
    assert_eq!(
        containers(localstack::OWNER_LABEL, &pid).len(),
        1,
        "a process killed outright cannot clean up"
    );
    let status = keylab(data.path())
        .args(["localstack", "status"])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&status.stdout);
    assert!(
        listed.contains(&format!("session, keylab pid {pid}")),
        "status lists the leftover with its owner: {listed}"
    );
    let pruned = keylab(data.path())
        .args(["localstack", "prune"])
        .output()
        .unwrap();
    assert!(
        pruned.status.success(),
        "{}",
        String::from_utf8_lossy(&pruned.stderr)
    );
    let said = String::from_utf8_lossy(&pruned.stdout);
    assert!(
        said.contains("removed 1 leftover LocalStack container\n"),
        "{said}"
    );
    assert_eq!(
        containers(localstack::OWNER_LABEL, &pid),
        Vec::<String>::new(),
        "prune removed the dead process's container"
    );
}

#[test]
fn localstack_up_is_reused_by_later_commands_until_down() {
    if !docker_ready() {
        return;
    }
    // A tag of its own, so the other LocalStack tests running now never reuse (or lose) the
    // shared container this test starts and removes.
    let base = localstack::ImageRef::from_env().unwrap().to_string();
    let alias = format!("keylab/localstack:up-test-{}", std::process::id());
    assert!(
        Command::new("docker")
            .args(["tag", &base, &alias])
            .status()
            .unwrap()
            .success()
    );
    let data = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = keylab(data.path())
            .env("KEYLAB_LOCALSTACK_IMAGE", &alias)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    let (code, up, err) = run(&["localstack", "up"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(up.contains("is ready at http://127.0.0.1:"), "{up}");
    let shared = containers(localstack::IMAGE_LABEL, &alias);
    assert_eq!(shared.len(), 1, "{up}");

    let (_, again, _) = run(&["localstack", "up"]);
    assert!(again.contains("already runs at"), "{again}");
    let (code, _, err) = run(&["check", "first-cmk", "--backend", "localstack"]);
    assert_eq!(
        code,
        Some(1),
        "the unsolved exercise is graded, and fails: {err}"
    );
    assert!(
        err.contains(&format!(
            "LocalStack in container {} (shared: keylab localstack up)",
            &shared[0][..12]
        )),
        "check used the shared container: {err}"
    );
    assert_eq!(
        containers(localstack::IMAGE_LABEL, &alias),
        shared,
        "no second container was started, and the shared one outlived check"
    );

    let (code, down, err) = run(&["localstack", "down"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        down.contains("removed 1 shared LocalStack container"),
        "{down}"
    );
    assert_eq!(
        containers(localstack::IMAGE_LABEL, &alias),
        Vec::<String>::new()
    );
    let (_, none, _) = run(&["localstack", "down"]);
    assert!(
        none.contains("no shared LocalStack container runs"),
        "{none}"
    );
    Command::new("docker")
        .args(["rmi", &alias])
        .output()
        .unwrap();
}

#[test]
fn host_mode_localstack_still_answers() {
    let Ok(endpoint) = std::env::var("KEYLAB_LOCALSTACK_HOST_ENDPOINT") else {
        return unavailable(
            "KEYLAB_LOCALSTACK_HOST_ENDPOINT is not set (.ci/run starts host mode with scripts/localstack-host)",
        );
    };
    let data = tempfile::tempdir().unwrap();
    let out = keylab(data.path())
        .args([
            "run",
            "first-cmk",
            "--backend",
            "localstack",
            "--endpoint",
            &endpoint,
            "--",
            "aws",
            "kms",
            "create-key",
            "--description",
            "host-mode",
            "--query",
            "KeyMetadata.KeyState",
            "--output",
            "text",
        ])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && said.trim_end().ends_with("Enabled"),
        "{said}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// LocalStack for a test that needs only an endpoint: host mode's, the one given, or a
/// container started now (kept alive by the returned guard).
async fn localstack_endpoint() -> Option<(Option<localstack::Container>, String)> {
    for var in [
        "KEYLAB_LOCALSTACK_HOST_ENDPOINT",
        "KEYLAB_LOCALSTACK_ENDPOINT",
    ] {
        if let Ok(e) = std::env::var(var)
            && !e.is_empty()
        {
            return Some((None, e));
        }
    }
    if !docker_ready() {
        return None;
    }
    let container = localstack::start().await.unwrap();
    let endpoint = container.running().endpoint.clone();
    Some((Some(container), endpoint))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scaffolded_ci_workflow_runs_as_written() {
    let Some((_guard, endpoint)) = localstack_endpoint().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("my-pack");
    let data = dir.path().join("data");
    let made = keylab(&data)
        .args(["pack", "new", pack.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let workflow = std::fs::read_to_string(pack.join(".github/workflows/keylab.yml")).unwrap();
    // Every `run:` step, in order, as the runner would execute it (`shell: bash` is
    // `bash -eo pipefail`); the install step is this build of keylab on the PATH instead, and
    // LocalStack is the one these tests use instead of the job's service container.
    let steps: Vec<String> = workflow
        .lines()
        .filter_map(|l| {
            let l = l.trim_start();
            l.strip_prefix("- run: ")
                .or_else(|| l.strip_prefix("run: "))
                .map(str::to_string)
        })
        .collect();
    assert!(
        steps
            .iter()
            .any(|s| s.contains("cargo install --locked --git")),
        "keylab is installed from its repository, not crates.io: {workflow}"
    );
    assert!(workflow.contains("actions/cache@v4") && workflow.contains("GITHUB_STEP_SUMMARY"));
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_keylab"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let summary = dir.path().join("summary.md");
    let runner_temp = dir.path().join("runner");
    std::fs::create_dir_all(&runner_temp).unwrap();
    let mut ran = 0;
    for step in steps.iter().filter(|s| !s.contains("cargo install")) {
        let step = step.replace("http://127.0.0.1:4566", &endpoint);
        let out = Command::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", &step])
            .current_dir(&pack)
            .env("PATH", &path)
            .env("KEYLAB_DATA_DIR", &data)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("RUNNER_TEMP", &runner_temp)
            .env_remove("KEYLAB_LOCALSTACK_ENDPOINT")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "the workflow step `{step}` failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        ran += 1;
    }
    assert_eq!(ran, 5, "lint, verify on each backend, archive, hashes");
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert_eq!(
        summary.matches(": passed\n").count(),
        2,
        "both backends' verify tables are in the run's summary: {summary}"
    );
    assert!(
        summary.contains("[engine]") && summary.contains("[localstack]"),
        "{summary}"
    );
    assert!(
        summary.contains("  pack.tar.gz\n") && summary.contains("no problems (sha256 "),
        "the archive's file hash and pack hash are in the summary: {summary}"
    );
    for report in ["keylab-verify-engine.xml", "keylab-verify-localstack.xml"] {
        let xml = std::fs::read_to_string(pack.join(report)).unwrap();
        assert!(xml.contains("<testsuite"), "{report}: {xml}");
    }
    let listed = Command::new("tar")
        .args(["tzf", "pack.tar.gz"])
        .current_dir(&pack)
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains("./pack.toml"), "{listed}");
    assert!(
        !listed.contains(".github") && !listed.contains("keylab-verify"),
        "the archive holds the pack only: {listed}"
    );
}
