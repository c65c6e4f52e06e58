//! A pack that teaches its own objectives, not DEA-C01's: `pack.toml` declares them, tags name
//! them, and lint, verify, coverage, drills, readiness and the mock exam all follow them; a tag that is not
//! one of them fails lint with the file and line.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn keylab(data: &Path, args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_keylab"))
        .args(args)
        .env("KEYLAB_DATA_DIR", data)
        .env_remove("KEYLAB_WORKSHOP")
        .env_remove("GITHUB_STEP_SUMMARY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("keylab runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "{}", text(&out));
    text(&out)
}

fn rewrite(path: &Path, from: &str, to: &str) {
    let body = std::fs::read_to_string(path).unwrap();
    assert!(body.contains(from), "{} has no {from:?}", path.display());
    std::fs::write(path, body.replace(from, to)).unwrap();
}

/// A scaffolded pack retagged with a course's own two objectives.
fn own_pack(dir: &Path, data: &Path) -> std::path::PathBuf {
    let pack = dir.join("workshop-pack");
    ok(keylab(data, &["pack", "new", pack.to_str().unwrap()], ""));
    let manifest = std::fs::read_to_string(pack.join("pack.toml")).unwrap();
    std::fs::write(
        pack.join("pack.toml"),
        format!(
            "{manifest}\n[[objectives]]\nid = \"W1\"\ntitle = \"Keep a secret under a key you control\"\n\n[[objectives]]\nid = \"W2\"\ntitle = \"Rotate keys without breaking readers\"\n"
        ),
    )
    .unwrap();
    rewrite(
        &pack.join("lessons/01-first-key.md"),
        "\"4.3.S2\"",
        "\"W1\"",
    );
    rewrite(
        &pack.join("exercises/first-key/exercise.toml"),
        "dea_items = [\"4.3.S2\"]",
        "objectives = [\"W1\", \"W2\"]",
    );
    let questions = pack.join("lessons/questions/01-first-key.toml");
    let body = std::fs::read_to_string(&questions).unwrap();
    std::fs::write(
        &questions,
        body.replacen("item = \"4.3.S2\"", "item = \"W1\"", 1)
            .replacen("item = \"4.3.S2\"", "item = \"W2\"", 1),
    )
    .unwrap();
    pack
}

#[test]
fn a_pack_with_its_own_objectives_lints_verifies_and_drives_coverage_drills_readiness_and_exam() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let pack = own_pack(dir.path(), &data);
    let p = pack.to_str().unwrap();

    let lint = ok(keylab(&data, &["pack", "lint", "--pack", p], ""));
    assert!(lint.contains("no problems"), "{lint}");
    let verify = ok(keylab(&data, &["verify", "--trust", "--pack", p], ""));
    assert!(verify.contains("PASS"), "{verify}");

    let coverage = ok(keylab(&data, &["coverage", "--pack", p, "--trust"], ""));
    assert!(
        coverage.contains("| W1 | Keep a secret under a key you control |")
            && coverage.contains("| W2 | Rotate keys without breaking readers |"),
        "{coverage}"
    );
    assert!(!coverage.contains("4.3."), "no DEA-C01 item: {coverage}");

    let readiness = ok(keylab(
        &data,
        &["--pack", p, "--trust", "readiness", "--json"],
        "",
    ));
    let json: serde_json::Value =
        serde_json::from_str(&readiness[..readiness.rfind('}').map_or(readiness.len(), |i| i + 1)])
            .unwrap_or_else(|e| panic!("{e}: {readiness}"));
    let items: Vec<&str> = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["item"].as_str().unwrap())
        .collect();
    assert_eq!(items, ["W1", "W2"], "{json:#}");

    // A drill of one objective draws its question only (no answer given: skipped).
    let drill = keylab(
        &data,
        &[
            "--pack", p, "--trust", "drill", "--item", "w2", "--count", "5",
        ],
        "",
    );
    let out = text(&drill);
    assert!(out.contains("Question 1 of 1 · W2"), "{out}");
    let bad = keylab(
        &data,
        &["--pack", p, "--trust", "drill", "--item", "K1"],
        "",
    );
    assert!(
        text(&bad).contains("no objective \"K1\" in this pack: choose one of W1, W2"),
        "{}",
        text(&bad)
    );

    // The mock exam draws from both objectives and scores per objective, with its title.
    let exam = text(&keylab(
        &data,
        &[
            "--pack",
            p,
            "--trust",
            "exam",
            "--questions",
            "2",
            "--minutes",
            "5",
        ],
        "",
    ));
    assert!(
        exam.contains("Score: 0 of 2 right")
            && exam.contains("W1 ")
            && exam.contains("Keep a secret under a key you control")
            && exam.contains("Rotate keys without breaking readers"),
        "{exam}"
    );

    // A tag that is not one of the pack's objectives is an error naming file and line.
    let questions = pack.join("lessons/questions/01-first-key.toml");
    rewrite(&questions, "item = \"W2\"", "item = \"4.3.S2\"");
    let out = keylab(&data, &["pack", "lint", "--pack", p], "");
    assert!(!out.status.success());
    let err = text(&out);
    assert!(
        err.contains("01-first-key.toml:")
            && err.contains("item = '4.3.S2' is not one of the pack's objectives")
            && err.contains("use one of the pack's objectives (pack.toml [[objectives]]): W1, W2"),
        "{err}"
    );
}
