//! The learner's progress: a seed (made once, so names and data stay the same for this
//! learner), and per exercise the attempts, the hints taken and when it passed. Kept as JSON in
//! the data directory and written atomically.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::fsutil::write_atomic;

/// One exercise's progress.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExerciseProgress {
    /// Checks run.
    pub attempts: u32,
    /// Hints revealed (the ladder's next rung).
    pub hints_used: u32,
    /// When it first passed (RFC 3339).
    pub passed_at: Option<String>,
    /// The last result: `pass`, `fail` or `error`.
    pub last_status: Option<String>,
}

/// Everything kept about a learner.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Progress {
    /// The seed names and data are derived from.
    pub seed: u64,
    /// Per exercise.
    #[serde(default)]
    pub exercises: BTreeMap<String, ExerciseProgress>,
}

/// Where the lab keeps its data: progress and exercise folders.
#[derive(Debug, Clone)]
pub struct DataDir(pub PathBuf);

impl DataDir {
    /// `KEYLAB_DATA_DIR`, else the user's data directory (`~/.local/share/keylab` on Linux).
    pub fn default_location() -> Result<DataDir, String> {
        if let Some(d) = std::env::var_os("KEYLAB_DATA_DIR") {
            return Ok(DataDir(PathBuf::from(d)));
        }
        directories::ProjectDirs::from("dev", "keylab", "keylab")
            .map(|p| DataDir(p.data_dir().to_path_buf()))
            .ok_or_else(|| "no home directory: set KEYLAB_DATA_DIR or pass --data-dir".into())
    }

    /// The progress file.
    pub fn progress_file(&self) -> PathBuf {
        self.0.join("progress.json")
    }

    /// An exercise's folder.
    pub fn lab(&self, exercise: &str) -> PathBuf {
        self.0.join("labs").join(exercise)
    }

    /// An exercise's folder on a backend (the engine's is [`DataDir::lab`]).
    pub fn lab_on(&self, exercise: &str, backend: &str) -> PathBuf {
        match backend {
            "engine" => self.lab(exercise),
            other => self.0.join(format!("labs-{other}")).join(exercise),
        }
    }
}

impl Progress {
    /// Loads the progress file, or starts one with a random seed.
    pub fn load(path: &Path) -> Result<Progress, String> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                format!(
                    "{}: not a keylab progress file ({e}); move it away to start afresh",
                    path.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Progress {
                seed: rand::random::<u64>() >> 12,
                exercises: BTreeMap::new(),
            }),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Saves it atomically.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let bytes = serde_json::to_vec_pretty(self).expect("progress serializes");
        write_atomic(path, &bytes).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// An exercise's entry.
    pub fn entry(&mut self, exercise: &str) -> &mut ExerciseProgress {
        self.exercises.entry(exercise.to_string()).or_default()
    }
}
