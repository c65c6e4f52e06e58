//! Runs the fuzz harnesses (`keylab_engine::fuzzing`, the same code the cargo-fuzz targets in `fuzz/`
//! run) over the seed corpus and a fixed number of deterministic mutations of it, so every CI
//! run checks that none of them panics. Longer fuzzing runs use `cargo fuzz run <target>`.

use std::path::Path;

const ROUNDS: usize = 4000;
const FRAGMENTS: &[&[u8]] = &[
    b"<Rule>",
    b"</Rule>",
    b"<SSEAlgorithm>",
    b"</SSEAlgorithm>",
    b"<EncryptionType>",
    b"AES256",
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b":",
    b",",
    b"null",
    b"true",
    b"1e999",
    b"-1",
    b"\\u0000",
    b"\"Statement\"",
    b"\"Condition\"",
    b"\"ForAnyValue:StringLike\"",
    b"\"*\"",
    b"\"arn:aws:iam::111122223333:root\"",
    b"%",
    b"\n",
    b"\"KeyId\"",
    b"\"alias/fuzz\"",
    b"\"CiphertextBlob\"",
    b"\"S0xLMQ==\"",
    b"\"NumberOfBytes\"",
    b"\nx-amz-",
    b"\nhost: ",
    b"\nauthorization: AWS4-HMAC-SHA256 ",
    b"SignedHeaders=",
    b"&X-Amz-Expires=",
    b"%2F",
    b"\n\n",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(5) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 => {
                let f = FRAGMENTS[rng.below(FRAGMENTS.len())];
                out.splice(at..at, f.iter().copied());
            }
            2 if at < out.len() => {
                let end = (at + 1 + rng.below(8)).min(out.len());
                out.drain(at..end);
            }
            3 => out.truncate(at),
            _ => out.insert(at, rng.next() as u8),
        }
    }
    out
}

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "{} has no seeds", dir.display());
    seeds
}

fn run(target: &str, harness: fn(&[u8])) {
    let corpus = seeds(target);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for seed in &corpus {
        harness(seed);
    }
    for _ in 0..ROUNDS {
        let seed = &corpus[rng.below(corpus.len())];
        harness(&mutate(&mut rng, seed));
    }
}

#[test]
fn policy_parser_never_panics() {
    run("policy_parser", keylab_engine::fuzzing::policy_parser);
}

#[test]
fn kms_request_bodies_never_panic() {
    run("kms_request", keylab_engine::fuzzing::kms_request);
}

#[test]
fn sigv4_headers_never_panic() {
    run("sigv4_request", keylab_engine::fuzzing::sigv4_request);
}

#[test]
fn s3_encryption_bodies_and_sse_c_headers_never_panic() {
    run("s3_request", keylab_engine::fuzzing::s3_request);
}

#[test]
fn the_authentication_path_never_panics_and_binds_bodies_and_headers() {
    run("auth_request", keylab_engine::fuzzing::auth_request);
}
