//! The engine survives `kill -9`: a `keylab engine serve` process under a mixed load of KMS and
//! S3 writes is killed at a random moment, fifty times over one state directory; after each
//! restart every acknowledged write is there with its bytes, every acknowledged delete stays
//! deleted, and no temporary file or object body without an object remains.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keylab::backend::sdk::{ClientSettings, kms_client, s3_client};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

const KEYLAB: &str = env!("CARGO_BIN_EXE_keylab");
const ROUNDS: usize = 50;
const BUCKET: &str = "crash-bucket";

struct Server {
    child: Child,
    settings: ClientSettings,
}

impl Server {
    fn start(state_dir: &Path) -> Server {
        let mut child = Command::new(KEYLAB)
            .args([
                "engine",
                "serve",
                "--json",
                "--port",
                "0",
                "--tls-port",
                "0",
            ])
            .arg("--state-dir")
            .arg(state_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("keylab starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let info: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
            panic!("the engine restarts and prints its endpoints ({e}): {line}")
        });
        let admin = info["identities"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == "owner-admin")
            .unwrap();
        let settings = ClientSettings {
            endpoint: info["http"].as_str().unwrap().to_string(),
            region: info["region"].as_str().unwrap().to_string(),
            access_key_id: admin["access_key_id"].as_str().unwrap().to_string(),
            secret_access_key: admin["secret_access_key"].as_str().unwrap().to_string(),
            ca_pem: None,
            session_token: None,
        };
        Server { child, settings }
    }

    /// SIGKILL, as a crash or an out-of-memory kill would end it.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the engine acknowledged before it was killed.
#[derive(Default)]
struct Acknowledged {
    keys: Vec<String>,
    aliases: BTreeMap<String, String>,
    /// Object key → its body, or `None` once a delete was acknowledged.
    objects: BTreeMap<String, Option<Vec<u8>>>,
    /// Objects whose delete was sent but not answered: either outcome is right.
    uncertain: Vec<String>,
    /// Objects this round put or deleted (the ones a round's check reads back).
    touched: Vec<String>,
}

impl Acknowledged {
    /// Adds what a later round acknowledged (its objects map starts as a copy of ours, so
    /// deletes of earlier objects carry over).
    fn merge(&mut self, later: Acknowledged) {
        self.keys.extend(later.keys);
        self.aliases.extend(later.aliases);
        self.objects.extend(later.objects);
        self.uncertain.extend(later.uncertain);
        self.touched = later.touched;
    }
}

/// Writes until the engine stops answering, recording each acknowledged write.
async fn load(
    settings: ClientSettings,
    worker: usize,
    round: usize,
    seed: u64,
    acked: Arc<Mutex<Acknowledged>>,
) {
    let kms = kms_client(&settings).unwrap();
    let s3 = s3_client(&settings).unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    for n in 0.. {
        let name = format!("r{round}-w{worker}-{n}");
        match rng.random_range(0..10) {
            0 => {
                let Ok(out) = kms.create_key().send().await else {
                    return;
                };
                let id = out.key_metadata().unwrap().key_id().to_string();
                let alias = format!("alias/{name}");
                acked.lock().unwrap().keys.push(id.clone());
                let Ok(_) = kms
                    .create_alias()
                    .alias_name(&alias)
                    .target_key_id(&id)
                    .send()
                    .await
                else {
                    return;
                };
                acked.lock().unwrap().aliases.insert(alias, id);
            }
            1 => {
                let victim = {
                    let a = acked.lock().unwrap();
                    let live: Vec<&String> = a
                        .objects
                        .iter()
                        .filter(|(_, v)| v.is_some())
                        .map(|(k, _)| k)
                        .collect();
                    if live.is_empty() {
                        continue;
                    }
                    live[rng.random_range(0..live.len())].clone()
                };
                acked.lock().unwrap().uncertain.push(victim.clone());
                let Ok(_) = s3.delete_object().bucket(BUCKET).key(&victim).send().await else {
                    return;
                };
                let mut a = acked.lock().unwrap();
                a.uncertain.retain(|k| k != &victim);
                a.touched.push(victim.clone());
                a.objects.insert(victim, None);
            }
            _ => {
                let size = if rng.random_bool(0.2) {
                    rng.random_range(100_000..400_000)
                } else {
                    rng.random_range(0..2_000)
                };
                let mut body = vec![0u8; size];
                rng.fill(&mut body[..]);
                let sent = s3
                    .put_object()
                    .bucket(BUCKET)
                    .key(&name)
                    .body(body.clone().into())
                    .send()
                    .await;
                if sent.is_err() {
                    return;
                }
                let mut a = acked.lock().unwrap();
                a.touched.push(name.clone());
                a.objects.insert(name, Some(body));
            }
        }
    }
}

/// Every acknowledged write is there, every acknowledged delete stays done: of the objects
/// the last round touched, or of all of them with `everything`.
async fn check(settings: &ClientSettings, acked: &Acknowledged, round: usize, everything: bool) {
    let kms = kms_client(settings).unwrap();
    let s3 = s3_client(settings).unwrap();
    for id in &acked.keys {
        kms.describe_key()
            .key_id(id)
            .send()
            .await
            .unwrap_or_else(|e| panic!("round {round}: acknowledged key {id} lost: {e:?}"));
    }
    for (alias, id) in &acked.aliases {
        let out = kms
            .describe_key()
            .key_id(alias)
            .send()
            .await
            .unwrap_or_else(|e| panic!("round {round}: acknowledged alias {alias} lost: {e:?}"));
        assert_eq!(
            out.key_metadata().unwrap().key_id(),
            id,
            "round {round}: {alias}"
        );
    }
    for (key, body) in &acked.objects {
        if acked.uncertain.contains(key) || !(everything || acked.touched.contains(key)) {
            continue;
        }
        let got = s3.get_object().bucket(BUCKET).key(key).send().await;
        match (body, got) {
            (Some(body), Ok(out)) => {
                let bytes = out.body.collect().await.unwrap().into_bytes();
                assert!(
                    bytes[..] == body[..],
                    "round {round}: object {key} has other bytes"
                );
            }
            (Some(_), Err(e)) => panic!("round {round}: acknowledged object {key} lost: {e:?}"),
            (None, Ok(_)) => panic!("round {round}: deleted object {key} came back"),
            (None, Err(_)) => {}
        }
    }
}

/// No temporary file, and exactly one body file per stored object.
async fn check_no_debris(settings: &ClientSettings, state_dir: &Path, round: usize) {
    let s3 = s3_client(settings).unwrap();
    let mut objects = 0;
    let mut pages = s3.list_objects_v2().bucket(BUCKET).into_paginator().send();
    while let Some(page) = pages.next().await {
        objects += page.unwrap().contents().len();
    }
    let temporaries: Vec<String> = std::fs::read_dir(state_dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp") || n.ends_with(".state"))
        .collect();
    assert!(
        temporaries.is_empty(),
        "round {round}: left behind {temporaries:?}"
    );
    let files = std::fs::read_dir(state_dir.join("objects"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(
        files, objects,
        "round {round}: {files} body files for {objects} objects (orphans or temporaries)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9_and_nothing_is_left_behind() {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("engine");
    let seed: u64 = std::env::var("KEYLAB_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("crash test seed {seed} (rerun with KEYLAB_CRASH_SEED={seed})");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut all = Acknowledged::default();
    let mut acked = Arc::new(Mutex::new(Acknowledged::default()));
    {
        let server = Server::start(&state_dir);
        s3_client(&server.settings)
            .unwrap()
            .create_bucket()
            .bucket(BUCKET)
            .send()
            .await
            .unwrap();
        server.kill();
    }
    for round in 0..ROUNDS {
        let server = Server::start(&state_dir);
        let last = std::mem::take(&mut *acked.lock().unwrap());
        check(&server.settings, &last, round, false).await;
        check_no_debris(&server.settings, &state_dir, round).await;
        all.merge(last);
        acked = Arc::new(Mutex::new(Acknowledged {
            objects: all.objects.clone(),
            ..Default::default()
        }));
        let workers: Vec<_> = (0..4)
            .map(|w| {
                tokio::spawn(load(
                    server.settings.clone(),
                    w,
                    round,
                    rng.random(),
                    acked.clone(),
                ))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(rng.random_range(5..150))).await;
        server.kill();
        for w in workers {
            w.await.unwrap();
        }
    }
    let server = Server::start(&state_dir);
    all.merge(std::mem::take(&mut *acked.lock().unwrap()));
    check(&server.settings, &all, ROUNDS, true).await;
    check_no_debris(&server.settings, &state_dir, ROUNDS).await;
    assert!(
        all.objects.len() > ROUNDS && !all.keys.is_empty(),
        "the load wrote too little to prove anything: {} objects, {} keys",
        all.objects.len(),
        all.keys.len()
    );
}
