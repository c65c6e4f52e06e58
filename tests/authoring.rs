//! Pack authoring end to end: each mistake an author makes (a typo'd command or invalid JSON in
//! a wrong variant, an empty or comment-only variant, a variant that changes nothing, a check
//! that can never fail, an unknown `{{var}}` in each place it can be, an unknown profile or
//! action, a `task` the README does not have, stray dotfiles, an orphan exercise) is reported
//! by `keylab pack lint` or `keylab verify` with its file and line; the pack-format reference
//! is generated from the parser's definitions and the committed copy matches it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use keylab::lab::grader::Status;
use keylab::lab::session::Target;
use keylab::lab::verify::verify;
use keylab::pack::{BackendKind, Pack};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn keylab(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keylab"))
        .args(args)
        .env("KEYLAB_DATA_DIR", data)
        .output()
        .expect("keylab runs")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn edit(path: PathBuf, from: &str, to: &str) {
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{} has no {from}", path.display());
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

fn write(path: PathBuf, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The kinds test pack, copied and edited; its lint errors as `path:line: message (fix: …)`.
fn lint_errors(edits: impl FnOnce(&Path)) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("tests/data/packs/kinds"), dir.path());
    edits(dir.path());
    let errors = Pack::open(Some(dir.path())).expect_err("the pack is broken");
    errors
        .0
        .iter()
        .map(|e| {
            let file = Path::new(&e.file)
                .strip_prefix(dir.path())
                .map(|p| p.display().to_string())
                .unwrap_or(e.file.clone());
            format!(
                "{file}:{}: {} (fix: {})",
                e.line.unwrap_or(0),
                e.message,
                e.fix
            )
        })
        .collect()
}

fn has(errors: &[String], prefix: &str, words: &str) {
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with(prefix) && e.contains(words)),
        "no error {prefix} … {words}: {errors:#?}"
    );
}

#[test]
fn an_unknown_variable_is_found_in_every_place_it_can_be() {
    let e = lint_errors(|d| {
        let x = d.join("exercises/all-kinds");
        edit(x.join("README.md"), "key `{{alias}}`", "key `{{alais}}`");
        edit(
            x.join("exercise.toml"),
            "hints = [\"one\", \"two\"]",
            "hints = [\"one {{in_hint}}\", \"two\"]",
        );
        edit(
            x.join("exercise.toml"),
            "Each check kind passed.",
            "Each check kind passed for {{in_explanation}}.",
        );
        edit(
            x.join("exercise.toml"),
            "run = \"aws s3api create-bucket --bucket {{bucket}}\"",
            "run = \"aws s3api create-bucket --bucket {{in_setup}}\"",
        );
        edit(x.join("plain.txt"), "", "{{in_starter}}\n");
        edit(
            d.join("graders/all-kinds.toml"),
            "target = \"{{key_id}}\"",
            "target = \"{{in_check}}\"",
        );
        let solution = d.join("graders/all-kinds/solution");
        edit(solution, "--key-id {{key_id}}", "--key-id {{in_solution}}");
        edit(
            d.join("graders/all-kinds/wrong/no-context"),
            "--key-id {{key_id}}",
            "--key-id {{in_variant}}",
        );
        // A setup step may use what an earlier step saved, not a later one.
        edit(
            x.join("exercise.toml"),
            "run = \"aws kms create-key --query KeyMetadata.KeyId --output text\"",
            "run = \"aws kms create-key --description {{spare_key_id}} --query KeyMetadata.KeyId --output text\"",
        );
    });
    has(
        &e,
        "exercises/all-kinds/README.md:3:",
        "{{alais}} is not a variable",
    );
    has(
        &e,
        "exercises/all-kinds/exercise.toml:6:",
        "{{in_hint}} is not a variable",
    );
    has(
        &e,
        "exercises/all-kinds/exercise.toml:7:",
        "{{in_explanation}}",
    );
    has(&e, "exercises/all-kinds/exercise.toml:21:", "{{in_setup}}");
    has(&e, "exercises/all-kinds/plain.txt:1:", "{{in_starter}}");
    has(&e, "graders/all-kinds.toml:13:", "{{in_check}}");
    has(&e, "graders/all-kinds/solution:1:", "{{in_solution}}");
    has(
        &e,
        "graders/all-kinds/wrong/no-context:1:",
        "{{in_variant}}",
    );
    has(
        &e,
        "exercises/all-kinds/exercise.toml:14:",
        "setup step 1 uses {{spare_key_id}}, which only this or a later step saves",
    );
    assert!(
        e.iter()
            .all(|m| !m.contains("{{alias}}") && !m.contains("{{key_id}}")),
        "declared and saved names are known: {e:#?}"
    );
}

#[test]
fn unknown_profiles_actions_tasks_hints_and_empty_variants_fail_the_lint() {
    let e = lint_errors(|d| {
        let g = d.join("graders/all-kinds.toml");
        edit(
            g.clone(),
            "action = \"s3:GetObject\"",
            "action = \"s3:GetObjcet\"",
        );
        edit(
            g.clone(),
            "operation = \"GenerateDataKey\"",
            "operation = \"GenerateDatakey\"",
        );
        edit(
            g.clone(),
            "title = \"the alias points at the key\"",
            "title = \"the alias points at the key\"\ntask = 7",
        );
        edit(
            g,
            "[check.alias]\nalias = \"{{alias}}\"",
            "[check.alias]\nprofile = \"owner-admn\"\nalias = \"{{alias}}\"",
        );
        let x = d.join("exercises/all-kinds/exercise.toml");
        edit(
            x.clone(),
            "hints = [\"one\", \"two\"]",
            "hints = [\"one\", \" one \", \"\"]",
        );
        edit(
            x,
            "backends = [\"engine\"]",
            "backends = [\"engine\"]\nprofile = \"partner-admn\"",
        );
        edit(
            d.join("graders/all-kinds/wrong/no-context"),
            "rm dk.json",
            "rm dk.json --profile outsider-admn",
        );
        write(d.join("graders/all-kinds/wrong/empty"), "");
        write(
            d.join("graders/all-kinds/wrong/comments-only"),
            "# the misconception, one day\n\n",
        );
    });
    has(
        &e,
        "graders/all-kinds.toml:41:",
        "action 's3:GetObjcet' is not an action the engine decides",
    );
    has(
        &e,
        "graders/all-kinds.toml:78:",
        "operation 'GenerateDatakey' is no operation the engine serves",
    );
    has(
        &e,
        "graders/all-kinds.toml:11:",
        "task = 7, and exercises/all-kinds/README.md numbers no tasks",
    );
    has(
        &e,
        "graders/all-kinds.toml:13:",
        "profile 'owner-admn' is not a lab identity",
    );
    has(
        &e,
        "exercises/all-kinds/exercise.toml:5:",
        "profile 'partner-admn' is not a lab identity",
    );
    has(
        &e,
        "graders/all-kinds/wrong/no-context:9:",
        "--profile 'outsider-admn' is not a lab identity",
    );
    has(
        &e,
        "exercises/all-kinds/exercise.toml:7:",
        "hint 2 repeats an earlier hint",
    );
    has(
        &e,
        "exercises/all-kinds/exercise.toml:7:",
        "hint 3 is empty",
    );
    has(&e, "graders/all-kinds/wrong/empty:1:", "runs nothing");
    has(
        &e,
        "graders/all-kinds/wrong/comments-only:1:",
        "runs nothing",
    );
}

#[test]
fn orphan_exercises_and_stray_folders_fail_and_dotfiles_are_ignored() {
    let e = lint_errors(|d| {
        edit(
            d.join("lessons/kinds.md"),
            "exercises = [\"all-kinds\", \"masking-kinds\", \"document-kinds\"]",
            "exercises = [\"all-kinds\", \"masking-kinds\"]",
        );
        write(d.join("exercises/draft/README.md"), "# A draft\n");
    });
    has(
        &e,
        "exercises/document-kinds/exercise.toml:0:",
        "exercise 'document-kinds' is listed in no lesson",
    );
    has(&e, "exercises/draft:0:", "without exercise.toml");

    // macOS leaves `.DS_Store` and `._name` files: the pack and its hash stay the same.
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("tests/data/packs/kinds"), dir.path());
    let before = Pack::open(Some(dir.path()))
        .expect("the kinds pack loads")
        .hash();
    write(
        dir.path().join("exercises/all-kinds/.DS_Store"),
        "\0\u{1}binary",
    );
    write(
        dir.path().join("graders/._all-kinds.toml"),
        "\0\u{5}resource fork",
    );
    write(dir.path().join("lessons/.kinds.md.swp"), "editor");
    let after = Pack::open(Some(dir.path())).expect("dotfiles are ignored");
    assert_eq!(after.hash(), before);
    assert!(
        !after.exercises[0]
            .starters
            .iter()
            .any(|(name, _)| name.starts_with('.')),
        "a dotfile is no starter file"
    );
}

/// The scaffolded pack (one small exercise), with extra wrong variants and checks.
fn scaffold(edits: impl FnOnce(&Path)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("pack");
    keylab::pack::scaffold::create(&pack, "authoring").unwrap();
    edits(&pack);
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_rejects_wrong_variants_that_never_make_their_mistake() {
    let dir = scaffold(|p| {
        let wrong = p.join("graders/first-key/wrong");
        // A typo'd command: exit 252, so the alias is never made.
        write(
            wrong.join("typo-in-command"),
            "aws kms create-alais --alias-name {{alias}} --target-key-id {{key_id}}\naws kms enable-key-rotation --key-id {{key_id}}\n",
        );
        // A key policy that is not JSON: MalformedPolicyDocumentException.
        write(
            wrong.join("policy-not-json"),
            "aws kms enable-key-rotation --key-id {{key_id}}\naws kms put-key-policy --key-id {{key_id}} --policy-name default --policy '{\"Statement\": ['\n",
        );
        // A folder variant whose document does not parse.
        write(wrong.join("broken-file/notes.json"), "{\"alias\": \n");
        write(
            wrong.join("broken-file/script"),
            "aws kms enable-key-rotation --key-id {{key_id}}\n",
        );
        // Runs cleanly and does nothing the checks see.
        write(wrong.join("does-nothing"), "aws kms list-keys\n");
        // A failure the author expects, marked `!`, with a real mistake after it.
        write(
            wrong.join("marked-failure"),
            "!aws kms create-alias --alias-name not-an-alias --target-key-id {{key_id}}\naws kms enable-key-rotation --key-id {{key_id}}\n",
        );
    });
    let pack = Pack::open(Some(&dir.path().join("pack"))).expect("the pack lints");
    let scratch = tempfile::tempdir().unwrap();
    let summary = verify(
        &pack,
        BackendKind::Engine,
        &Target::Engine,
        scratch.path(),
        5,
        |_| {},
    )
    .await;
    let case = |variant: &str| {
        summary
            .cases
            .iter()
            .find(|c| c.name == format!("wrong variant '{variant}' fails"))
            .unwrap_or_else(|| panic!("no case for {variant}"))
    };
    let shown = |p: &str| {
        dir.path()
            .join("pack/graders/first-key/wrong")
            .join(p)
            .display()
            .to_string()
    };
    for (variant, want) in [
        (
            "typo-in-command",
            format!("{}:1: `aws kms create-alais", shown("typo-in-command")),
        ),
        (
            "policy-not-json",
            format!("{}:2: `aws kms put-key-policy", shown("policy-not-json")),
        ),
        (
            "broken-file",
            format!("{}:2: not valid JSON", shown("broken-file/notes.json")),
        ),
        (
            "does-nothing",
            format!(
                "{}: the variant changes nothing the checks see",
                shown("does-nothing")
            ),
        ),
    ] {
        let c = case(variant);
        assert_eq!(c.status, Status::Fail, "{variant}: {}", c.message);
        assert!(
            c.message.contains(&want),
            "{variant}: {want}\n{}",
            c.message
        );
    }
    assert!(case("typo-in-command").message.contains("broken variant"));
    assert!(case("policy-not-json").message.contains("Malformed"));
    let marked = case("marked-failure");
    assert_eq!(marked.status, Status::Pass, "{}", marked.message);
    assert!(
        marked
            .output
            .as_deref()
            .unwrap_or_default()
            .contains("the alias points at the key"),
        "{:?}",
        marked.output
    );
    for name in ["alias-forgotten", "rotation-left-off"] {
        assert_eq!(case(name).status, Status::Pass, "{}", case(name).message);
    }
    assert!(summary.warnings.is_empty(), "{:#?}", summary.warnings);
}

#[test]
fn a_check_that_can_never_fail_is_a_warning_and_strict_fails_on_it() {
    let dir = scaffold(|p| {
        let grader = p.join("graders/first-key.toml");
        let mut text = std::fs::read_to_string(&grader).unwrap();
        text.push_str(
            "\n[[check]]\ntitle = \"the owner can list keys\"\n[check.command]\nrun = \"aws kms list-keys\"\nsucceeds = true\n",
        );
        std::fs::write(&grader, text).unwrap();
    });
    let pack = dir.path().join("pack");
    let data = tempfile::tempdir().unwrap();
    let out = keylab(
        data.path(),
        &["verify", "--trust", "--pack", pack.to_str().unwrap()],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "a warning alone passes: {text}");
    let grader = pack.join("graders/first-key.toml").display().to_string();
    assert!(
        text.contains(&format!(
            "warning: {grader}:17: check \"the owner can list keys\" failed in no run"
        )) && text.contains("it catches nothing"),
        "{text}"
    );
    let strict = keylab(
        data.path(),
        &[
            "verify",
            "--trust",
            "--strict",
            "--pack",
            pack.to_str().unwrap(),
        ],
    );
    assert_eq!(strict.status.code(), Some(1));
    // The scaffolded CI workflow fails on such a check too.
    let workflow = std::fs::read_to_string(pack.join(".github/workflows/keylab.yml")).unwrap();
    assert!(
        workflow.contains("keylab verify --pack . --trust --strict"),
        "{workflow}"
    );
}

#[test]
fn an_empty_pack_fails_verify_and_lint_takes_the_folder() {
    let dir = scaffold(|p| {
        std::fs::remove_dir_all(p.join("exercises")).unwrap();
        std::fs::remove_dir_all(p.join("graders")).unwrap();
        edit(
            p.join("lessons/01-first-key.md"),
            "exercises = [\"first-key\"]",
            "exercises = []",
        );
    });
    let pack = dir.path().join("pack");
    let data = tempfile::tempdir().unwrap();
    let lint = keylab(data.path(), &["pack", "lint", pack.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&lint.stdout);
    assert!(
        said.contains("1 lesson, 0 exercises, 2 questions; no problems"),
        "{said}{}",
        String::from_utf8_lossy(&lint.stderr)
    );
    let out = keylab(
        data.path(),
        &["verify", "--trust", "--pack", pack.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("nothing was verified"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let spaced = tempfile::tempdir().unwrap();
    let new = keylab(
        data.path(),
        &[
            "pack",
            "new",
            spaced.path().join("My Pack").to_str().unwrap(),
        ],
    );
    let said = String::from_utf8_lossy(&new.stdout);
    assert!(
        said.contains(&format!("'{}'", spaced.path().join("My Pack").display()))
            && said.contains("keylab pack docs"),
        "the path is quoted and the reference named: {said}"
    );
}

#[test]
fn the_pack_format_reference_is_generated_and_committed() {
    let generated = keylab::pack::reference::markdown();
    for want in [
        "## `pack.toml`",
        "### `[check.simulate]`",
        "`bucket:<name>` or `key:<id or alias>`",
        "| `resource_policy_only` | boolean | no |",
        "- `{{partner_account}}`:",
        "- `\"bucket\"`: A bucket name: `keylab-<word>-<6 hex>`.",
        "### `[[setup]]`",
        "| `save` | string | no |",
        "| `task` | integer | no |",
        "exactly 4 options",
        "at least 2 hints",
        "marked `!`",
        "owner-admin",
        "`kms:ReEncryptFrom`",
    ] {
        assert!(generated.contains(want), "the reference lacks {want}");
    }
    for kind in keylab::pack::CheckKind::NAMES {
        let section = generated
            .split(&format!("### `[check.{kind}]`"))
            .nth(1)
            .unwrap_or_else(|| panic!("no section for {kind}"));
        let section = section.split("\n### ").next().unwrap();
        assert!(
            section.contains("```toml\n[[check]]"),
            "{kind} has an example"
        );
    }
    let committed = std::fs::read_to_string(repo().join("docs/pack-format.md")).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/pack-format.md differs from the parser's definitions: run `cargo run -- pack docs --out docs/pack-format.md`"
    );
    let data = tempfile::tempdir().unwrap();
    let out = keylab(data.path(), &["pack", "docs"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), generated);
}

#[test]
fn keylab_hint_fills_in_the_names_setup_made() {
    let data = tempfile::tempdir().unwrap();
    // Before a setup the placeholders stay as written; after one, the learner's names show.
    let before = keylab(data.path(), &["hint", "first-cmk"]);
    assert!(before.status.success());
    let ran = keylab(data.path(), &["run", "first-cmk", "--", "ls"]);
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let hints = keylab(data.path(), &["hint", "first-cmk"]);
    let text = String::from_utf8_lossy(&hints.stdout);
    assert!(text.contains("Hint 2 of 3"), "{text}");
    assert!(
        !text.contains("{{") && text.contains("--alias-name alias/"),
        "the hint names this learner's alias and key: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulate_tells_a_condition_in_the_key_policy_from_one_in_an_iam_policy() {
    // The scaffolded exercise, graded on a key-policy condition: the key policy alone must let
    // the analyst decrypt only with department=finance. Putting the condition in the analyst's
    // IAM policy instead behaves the same for real requests, and only `resource_policy_only`
    // tells the two apart.
    let dir = scaffold(|p| {
        let policy = |statement: &str| {
            format!(
                "aws kms put-key-policy --key-id {{{{key_id}}}} --policy-name default --policy '{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Sid\":\"Root\",\"Effect\":\"Allow\",\"Principal\":{{\"AWS\":\"arn:aws:iam::{{{{owner_account}}}}:root\"}},\"Action\":\"kms:*\",\"Resource\":\"*\"}}{statement}]}}'\n"
            )
        };
        let analyst = ",{\"Sid\":\"Finance\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::{{owner_account}}:role/Analyst\"},\"Action\":\"kms:Decrypt\",\"Resource\":\"*\",\"Condition\":{\"StringEquals\":{\"kms:EncryptionContext:department\":\"finance\"}}}";
        let grader = p.join("graders/first-key.toml");
        let mut text = std::fs::read_to_string(&grader).unwrap();
        text.push_str(
            r#"
[[check]]
title = "the key policy itself lets the analyst decrypt finance data only"
task = 2
[check.simulate]
policy = "key:{{key_id}}"
[[check.simulate.request]]
profile = "owner-analyst"
action = "kms:Decrypt"
resource_policy_only = true
context = { "kms:EncryptionContext:department" = "finance" }
expect = "allow"
[[check.simulate.request]]
profile = "owner-analyst"
action = "kms:Decrypt"
resource_policy_only = true
context = { "kms:EncryptionContext:department" = "hr" }
expect = "deny"
[[check.simulate.request]]
profile = "owner-analyst"
action = "kms:Decrypt"
identity_policy = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}]}'
context = { "kms:EncryptionContext:department" = "finance" }
expect = "allow"
"#,
        );
        std::fs::write(&grader, text).unwrap();
        let solution = p.join("graders/first-key/solution");
        let mut s = std::fs::read_to_string(&solution).unwrap();
        s.push_str(&policy(analyst));
        std::fs::write(&solution, s).unwrap();
        write(
            p.join("graders/first-key/wrong/condition-only-in-iam"),
            &format!(
                "aws kms create-alias --alias-name {{{{alias}}}} --target-key-id {{{{key_id}}}}\naws kms enable-key-rotation --key-id {{{{key_id}}}}\naws iam put-role-policy --role-name Analyst --policy-name Finance --policy-document '{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Effect\":\"Allow\",\"Action\":\"kms:Decrypt\",\"Resource\":\"*\",\"Condition\":{{\"StringEquals\":{{\"kms:EncryptionContext:department\":\"finance\"}}}}}}]}}'\n{}",
                policy("")
            ),
        );
    });
    let pack = Pack::open(Some(&dir.path().join("pack"))).expect("the pack lints");
    let scratch = tempfile::tempdir().unwrap();
    let summary = verify(
        &pack,
        BackendKind::Engine,
        &Target::Engine,
        scratch.path(),
        9,
        |_| {},
    )
    .await;
    for case in &summary.cases {
        assert_eq!(case.status, Status::Pass, "{}: {}", case.name, case.message);
    }
    let caught = summary
        .cases
        .iter()
        .find(|c| c.name == "wrong variant 'condition-only-in-iam' fails")
        .and_then(|c| c.output.clone())
        .unwrap_or_default();
    assert!(
        caught.contains("the key policy itself lets the analyst decrypt finance data only")
            && caught.contains("by the key policy alone")
            && caught.contains("should be allowed but is denied"),
        "{caught}"
    );
}
