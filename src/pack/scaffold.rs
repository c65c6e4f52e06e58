//! `keylab pack new DIR`: a new pack with one working exercise (instructions, hints, grader,
//! reference solution and two known-wrong variants), one lesson, two drill questions and a CI
//! workflow that runs `keylab verify --pack .`, so an author starts from something that passes.

use std::path::Path;

/// The files of a new pack named `name`, as (path, content).
pub fn files(name: &str) -> Vec<(&'static str, String)> {
    let version = env!("CARGO_PKG_VERSION");
    vec![
        (
            "pack.toml",
            format!(
                r#"format_version = 1
name = "{name}"
title = "{name}: a keylab pack"
# The oldest keylab that can run this pack.
min_keylab_version = "{version}"
description = "One lesson and one exercise to start from."
# Backend capabilities every exercise needs; keylab refuses a backend without them. Names:
# key_policies, bucket_policies, data_key_sizes, cross_account_decrypt_without_key_id, tls,
# identity_policies, audit_log, at_rest_encryption.
capabilities = []
"#
            ),
        ),
        (
            "lessons/01-first-key.md",
            r#"+++
id = "first-key"
title = "A first customer managed key"
order = 1
dea_items = ["4.3.S2"]
exercises = ["first-key"]

[sections]
"Aliases and rotation" = ["4.3.S2"]
+++

# A first customer managed key

A customer managed key is yours: you write its key policy, you decide on rotation and you can
schedule its deletion.

## Aliases and rotation

Applications name a key by an alias (`alias/billing`), so the alias can later point at another
key without a code change. Automatic rotation adds new key material every year; the key id and
ARN stay the same and old ciphertexts keep decrypting.
"#
            .to_string(),
        ),
        (
            "lessons/questions/01-first-key.toml",
            r#"[[question]]
id = "first-key-alias"
lesson = "first-key"
item = "4.3.S2"
stem = "Why do applications name a KMS key by an alias?"
[[question.option]]
text = "The alias can be pointed at another key later without changing the application."
correct = true
why = "An alias is a movable name for a key."
[[question.option]]
text = "Aliases encrypt faster than key ids."
why = "Speed does not depend on how the key is named."
[[question.option]]
text = "Key ids are secret."
why = "Key ids are identifiers, not secrets."
[[question.option]]
text = "Only aliases can be used with Encrypt."
why = "Encrypt takes a key id, a key ARN, an alias name or an alias ARN."

[[question]]
id = "first-key-rotation"
lesson = "first-key"
item = "4.3.S2"
choose = 2
stem = "What stays the same when KMS rotates a key automatically? (Choose two.)"
[[question.option]]
text = "The key id."
correct = true
why = "Rotation adds key material under the same key."
[[question.option]]
text = "The ability to decrypt older ciphertexts."
correct = true
why = "KMS keeps every earlier key material for decryption."
[[question.option]]
text = "The key material used for new encryptions."
why = "New encryptions use the newest material."
[[question.option]]
text = "Nothing: rotation makes a new key."
why = "That is manual rotation with an alias, not automatic rotation."
[[question.option]]
text = "The ciphertexts, which are re-encrypted."
why = "KMS does not re-encrypt existing ciphertexts."
"#
            .to_string(),
        ),
        (
            "exercises/first-key/exercise.toml",
            r#"title = "Name a key with an alias and turn rotation on"
lesson = "first-key"
difficulty = "beginner"
backends = ["engine", "localstack"]
dea_items = ["4.3.S2"]
profile = "owner-admin"

hints = [
    "Two commands of aws kms: one makes the alias, one turns rotation on.",
    "aws kms create-alias --alias-name {{alias}} --target-key-id {{key_id}}; aws kms enable-key-rotation --key-id {{key_id}}",
]

explanation = """
{{alias}} now names the key, so it can point at another key later without a code change, and
the key gets new key material every year while old ciphertexts keep decrypting.
"""

[vars]
alias = "alias"

[[setup]]
run = "aws kms create-key --description 'first key' --query KeyMetadata.KeyId --output text"
save = "key_id"
"#
            .to_string(),
        ),
        (
            "exercises/first-key/README.md",
            r#"# Name a key with an alias and turn rotation on

A key was made for you: `{{key_id}}`.

1. Give it the alias `{{alias}}`.
2. Turn on automatic rotation.

Then run `check`.
"#
            .to_string(),
        ),
        (
            "graders/first-key.toml",
            r#"[[check]]
title = "the alias points at the key"
task = 1
fail = "create the alias with --target-key-id {{key_id}}"
[check.alias]
alias = "{{alias}}"
target = "{{key_id}}"

[[check]]
title = "automatic rotation is on"
task = 2
fail = "rotation is a key setting: aws kms enable-key-rotation"
[check.key]
key = "{{key_id}}"
rotation = true
"#
            .to_string(),
        ),
        (
            "graders/first-key/solution",
            "aws kms create-alias --alias-name {{alias}} --target-key-id {{key_id}}\naws kms enable-key-rotation --key-id {{key_id}}\n"
                .to_string(),
        ),
        (
            "graders/first-key/wrong/rotation-left-off",
            "aws kms create-alias --alias-name {{alias}} --target-key-id {{key_id}}\n".to_string(),
        ),
        (
            "graders/first-key/wrong/alias-forgotten",
            "aws kms enable-key-rotation --key-id {{key_id}}\n".to_string(),
        ),
        (
            ".github/workflows/keylab.yml",
            format!(
                r#"# Proves the pack on every push: each exercise's starting state fails, its solution
# passes and every known-wrong variant fails. The JUnit report and the job summary show which.
name: keylab verify
on: [push, pull_request]
env:
  # How CI gets keylab {version}: from crates.io, or with --git pointing at the keylab
  # repository your team uses.
  KEYLAB_INSTALL: cargo install --locked keylab --version {version}
jobs:
  verify:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: dtolnay/rust-toolchain@stable
      - run: $KEYLAB_INSTALL
      - run: keylab pack lint --pack .
      - run: keylab verify --pack . --junit keylab-verify.xml
      - if: always()
        uses: actions/upload-artifact@v4
        with:
          name: keylab-verify
          path: keylab-verify.xml
"#
            ),
        ),
        (
            "README.md",
            format!(
                "# {name}\n\nA keylab pack. Run it with `keylab --pack .`, check it with `keylab pack lint --pack .` \
(no backend needed) and prove it with `keylab verify --pack .` (the starting state fails, each \
solution passes, every known-wrong variant fails). `.github/workflows/keylab.yml` runs both in CI.\n"
            ),
        ),
    ]
}

/// Writes a new pack into `dir`, which must not exist or be empty.
pub fn create(dir: &Path, name: &str) -> Result<usize, String> {
    let name_ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !name_ok {
        return Err(format!(
            "pack name {name:?}: use lower-case letters, digits and '-' (give one with --name)"
        ));
    }
    if dir.exists()
        && std::fs::read_dir(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .next()
            .is_some()
    {
        return Err(format!(
            "{} is not empty: give a new folder, so nothing of yours is overwritten",
            dir.display()
        ));
    }
    let files = files(name);
    for (path, text) in &files {
        keylab_engine::fsutil::write_atomic(&dir.join(path), text.as_bytes())
            .map_err(|e| format!("{}: {e}", dir.join(path).display()))?;
    }
    Ok(files.len())
}
