//! One learner's run of one exercise: its folder (`workspace/` for files, `engine/` for the
//! backend's state, `setup.json` for the variables), a backend started on that state, and the
//! setup steps that run once before the learner starts. Reset deletes the folder and sets the
//! exercise up again, so files and backend state return to the setup together.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::vars;
use crate::backend::Backend;
use crate::console::Console;
use crate::pack::{Exercise, Grader, Pack};
use keylab_engine::fsutil::write_atomic;
use keylab_engine::{Engine, EngineConfig};

/// Why a lab could not be opened or set up.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// The backend did not start.
    #[error("the backend did not start: {0}")]
    Backend(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A setup step failed: the pack is broken.
    #[error("setup step {step} of exercise '{exercise}' failed: {message}")]
    Setup {
        /// The exercise.
        exercise: String,
        /// The step (1-based).
        step: usize,
        /// What went wrong.
        message: String,
    },
    /// The exercise is not in the pack, or similar.
    #[error("{0}")]
    Other(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LabError + '_ {
    move |source| LabError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct SetupRecord {
    seed: u64,
    vars: BTreeMap<String, String>,
}

/// The variables an exercise's folder recorded at setup (names from the seed, values setup
/// saved), without starting a backend: `None` before the first setup.
pub fn saved_vars(root: &Path) -> Option<BTreeMap<String, String>> {
    let bytes = std::fs::read(root.join("setup.json")).ok()?;
    serde_json::from_slice::<SetupRecord>(&bytes)
        .ok()
        .map(|r| r.vars)
}

/// Which backend a session runs on.
#[derive(Debug, Clone)]
pub enum Target {
    /// A built-in engine of its own, in the exercise's folder.
    Engine,
    /// A shared backend such as LocalStack, already probed. Resources live on after a reset,
    /// so each reset takes a new generation of names.
    Shared(Box<Backend>),
}

/// A running exercise.
#[derive(Debug)]
pub struct Session {
    /// The exercise.
    pub exercise: Exercise,
    /// Its grader.
    pub grader: Grader,
    /// The seed names are derived from (the learner's, mixed with the generation on a shared
    /// backend).
    pub seed: u64,
    /// The learner's seed.
    pub learner_seed: u64,
    /// The exercise's variables (including the values setup saved).
    pub vars: BTreeMap<String, String>,
    /// The backend.
    pub backend: Backend,
    /// The workspace.
    pub workspace: PathBuf,
    root: PathBuf,
    engine: Option<Engine>,
}

impl Session {
    /// The exercise's folder (workspace, engine state, console history).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Opens the exercise in `root` on its own engine (setting it up the first time).
    pub async fn open(pack: &Pack, id: &str, root: &Path, seed: u64) -> Result<Session, LabError> {
        Session::open_on(pack, id, root, seed, &Target::Engine).await
    }

    /// Opens the exercise in `root` on `target` (setting it up the first time).
    pub async fn open_on(
        pack: &Pack,
        id: &str,
        root: &Path,
        seed: u64,
        target: &Target,
    ) -> Result<Session, LabError> {
        let exercise = pack.try_exercise(id).map_err(LabError::Other)?.clone();
        let grader = pack
            .graders
            .get(id)
            .cloned()
            .ok_or_else(|| LabError::Other(format!("exercise '{id}' has no grader")))?;
        if let Target::Shared(backend) = target
            && let Some(why) = pack.refuses(|c| backend.capabilities.has(c), &backend.name)
        {
            return Err(LabError::Other(why));
        }
        let workspace = root.join("workspace");
        crate::confine::private_dir(root).map_err(io(root))?;
        crate::confine::private_dir(&workspace).map_err(io(&workspace))?;
        let learner_seed = seed;
        let (engine, backend, seed) = match target {
            Target::Engine => {
                let engine = Engine::start(EngineConfig::new(root.join("engine")))
                    .await
                    .map_err(|e| LabError::Backend(e.to_string()))?;
                let backend = Backend::from_engine(&engine);
                (Some(engine), backend, seed)
            }
            Target::Shared(backend) => {
                if !exercise
                    .spec
                    .backends
                    .contains(&crate::pack::BackendKind::Localstack)
                {
                    return Err(LabError::Other(format!(
                        "exercise '{id}' needs the built-in engine: it lists backends = [\"engine\"]"
                    )));
                }
                let generation: u64 = std::fs::read_to_string(root.join("generation"))
                    .ok()
                    .and_then(|g| g.trim().parse().ok())
                    .unwrap_or(0);
                (
                    None,
                    Backend::clone(backend),
                    seed ^ generation.wrapping_mul(0x9e37_79b9_7f4a_7c15),
                )
            }
        };
        let record_path = root.join("setup.json");
        let record: Option<SetupRecord> = std::fs::read(&record_path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .filter(|r: &SetupRecord| r.seed == seed);
        let mut session = Session {
            exercise,
            grader,
            seed,
            learner_seed,
            vars: BTreeMap::new(),
            backend,
            workspace,
            root: root.to_path_buf(),
            engine,
        };
        session.vars = session.base_vars();
        match record {
            Some(r) => {
                // Values setup saved come back; the endpoints are this run's.
                for (k, v) in r.vars {
                    session.vars.entry(k).or_insert(v);
                }
            }
            None => {
                session.setup().await?;
                let record = SetupRecord {
                    seed,
                    vars: session.vars.clone(),
                };
                write_atomic(
                    &record_path,
                    &serde_json::to_vec_pretty(&record).expect("records serialize"),
                )
                .map_err(io(&record_path))?;
            }
        }
        Ok(session)
    }

    fn base_vars(&self) -> BTreeMap<String, String> {
        let mut v: BTreeMap<String, String> = self
            .exercise
            .spec
            .vars
            .iter()
            .map(|(name, kind)| {
                (
                    name.clone(),
                    vars::value(self.seed, &self.exercise.id, name, *kind),
                )
            })
            .collect();
        v.insert("http_endpoint".into(), self.backend.http_endpoint.clone());
        v.insert("https_endpoint".into(), self.backend.https_endpoint.clone());
        v.insert("region".into(), self.backend.region.clone());
        for (var, profile) in [
            ("owner_account", "owner-admin"),
            ("partner_account", "partner-admin"),
            ("outsider_account", "outsider-admin"),
        ] {
            if let Some(a) = self.backend.account_of(profile) {
                v.insert(var.into(), a.to_string());
            }
        }
        v
    }

    /// A console in the workspace as the exercise's identity.
    pub fn console(&self) -> Console<'_> {
        Console::new(&self.backend, &self.workspace, &self.exercise.spec.profile)
    }

    /// A console as another identity.
    pub fn console_as(&self, profile: &str) -> Console<'_> {
        Console::new(&self.backend, &self.workspace, profile)
    }

    /// Replaces `{{var}}` placeholders.
    pub fn substitute(&self, text: &str) -> Result<String, String> {
        vars::substitute(text, &self.vars)
    }

    async fn setup(&mut self) -> Result<(), LabError> {
        let id = self.exercise.id.clone();
        for (name, bytes) in self.exercise.starters.clone() {
            let bytes = match std::str::from_utf8(&bytes) {
                Ok(text) => self
                    .substitute(text)
                    .map_err(|m| LabError::Other(format!("exercises/{id}/{name}: {m}")))?
                    .into_bytes(),
                Err(_) => bytes,
            };
            crate::confine::write(&self.workspace, &name, &bytes)
                .map_err(|e| LabError::Other(format!("exercises/{id}/{name}: {e}")))?;
        }
        let steps = self.exercise.spec.setup.clone();
        for (i, step) in steps.iter().enumerate() {
            let fail = |message: String| LabError::Setup {
                exercise: id.clone(),
                step: i + 1,
                message,
            };
            if let Some(file) = &step.dataset {
                let kind = step.generator.as_deref().unwrap_or("customers");
                let csv =
                    vars::dataset(kind, step.rows.unwrap_or(100), self.seed, &id).map_err(fail)?;
                let name = self.substitute(file).map_err(fail)?;
                crate::confine::write(&self.workspace, &name, csv.as_bytes())
                    .map_err(|e| fail(format!("dataset = {e}")))?;
                continue;
            }
            let Some(run) = &step.run else {
                return Err(fail(
                    "a step needs run = \"command\" or dataset = \"file\"".into(),
                ));
            };
            let line = self.substitute(run).map_err(fail)?;
            let profile = step
                .profile
                .clone()
                .unwrap_or_else(|| self.exercise.spec.profile.clone());
            let outcome = self.console_as(&profile).run(&line).await;
            if !outcome.is_success() {
                return Err(fail(format!("{line}: {}", outcome.stderr.trim())));
            }
            if let Some(var) = &step.save {
                let value = outcome.stdout.trim().trim_matches('"').to_string();
                self.vars.insert(var.clone(), value);
            }
        }
        // After the steps, so the instructions may show what they saved (`{{key_id}}`).
        let readme = self
            .substitute(&self.exercise.readme)
            .map_err(|m| LabError::Other(format!("exercises/{id}/README.md: {m}")))?;
        crate::confine::write(&self.workspace, "README.md", readme.as_bytes())
            .map_err(|e| LabError::Other(e.to_string()))?;
        Ok(())
    }

    /// Stops the backend.
    pub async fn shutdown(mut self) {
        if let Some(engine) = self.engine.take() {
            engine.shutdown().await;
        }
    }

    /// Deletes the exercise's folder (workspace and backend state) and sets it up again. On a
    /// shared backend the old resources stay, and the exercise takes new names.
    pub async fn reset(self, pack: &Pack) -> Result<Session, LabError> {
        let (root, id) = (self.root.clone(), self.exercise.id.clone());
        let target = match self.engine {
            Some(_) => Target::Engine,
            None => Target::Shared(Box::new(self.backend.clone())),
        };
        let seed = self.learner_seed;
        self.shutdown().await;
        reset_folder(&root, &target)?;
        Session::open_on(pack, &id, &root, seed, &target).await
    }
}

/// Empties an exercise's folder for a reset; on a shared backend the next generation of names
/// is recorded in it.
pub fn reset_folder(root: &Path, target: &Target) -> Result<(), LabError> {
    let generation: u64 = std::fs::read_to_string(root.join("generation"))
        .ok()
        .and_then(|g| g.trim().parse().ok())
        .unwrap_or(0);
    remove_dir(root)?;
    if let Target::Shared(_) = target {
        std::fs::create_dir_all(root).map_err(io(root))?;
        let path = root.join("generation");
        write_atomic(&path, (generation + 1).to_string().as_bytes()).map_err(io(&path))?;
    }
    Ok(())
}

/// Removes a lab folder if it exists.
pub fn remove_dir(root: &Path) -> Result<(), LabError> {
    match std::fs::remove_dir_all(root) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(LabError::Io {
            path: root.to_path_buf(),
            source: e,
        }),
    }
}
