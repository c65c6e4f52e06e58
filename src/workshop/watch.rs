//! `keylab class watch DIR`: the class table while the workshop runs. Learners hand results in
//! through a shared folder or `scp`, so there is no server to notify anyone: the folder is
//! looked at every few seconds, and the class is collected again ([`super::class::Collector`],
//! which keeps each file's re-run) when a `*.json` file arrived, changed or left. A file still
//! being copied is rejected as damaged until its last bytes arrive, and then taken.

use std::path::Path;
use std::time::SystemTime;

/// What the folder held when last looked at: each `*.json` file's name, size and time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot(Vec<(String, u64, Option<SystemTime>)>);

impl Snapshot {
    /// Looks at `dir` now (a folder that cannot be read is empty).
    pub fn of(dir: &Path) -> Snapshot {
        let mut files: Vec<(String, u64, Option<SystemTime>)> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                if !name.ends_with(".json") || name.starts_with('.') {
                    return None;
                }
                let meta = e.metadata().ok()?;
                Some((name, meta.len(), meta.modified().ok()))
            })
            .collect();
        files.sort();
        Snapshot(files)
    }

    /// How many results files it holds.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Tells when a folder changed since it was last asked.
#[derive(Debug, Default)]
pub struct Watch {
    last: Option<Snapshot>,
}

impl Watch {
    /// Whether `dir` differs from the last look (the first look always does).
    pub fn changed(&mut self, dir: &Path) -> bool {
        let now = Snapshot::of(dir);
        let changed = self.last.as_ref() != Some(&now);
        self.last = Some(now);
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_or_grown_results_file_is_a_change_and_dotfiles_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let mut watch = Watch::default();
        assert!(watch.changed(dir.path()), "the first look");
        assert!(!watch.changed(dir.path()));
        std::fs::write(dir.path().join("a.json"), "{").unwrap();
        assert!(watch.changed(dir.path()));
        std::fs::write(dir.path().join("._a.json"), "x").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        assert!(!watch.changed(dir.path()));
        std::fs::write(dir.path().join("a.json"), "{}\n").unwrap();
        assert!(watch.changed(dir.path()), "the copy finished");
        assert_eq!(Snapshot::of(dir.path()).len(), 1);
    }
}
