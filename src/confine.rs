//! Every path the console, setup steps, solution scripts, checks and masking key sources
//! touch goes through here, confined to one folder (a workspace). A name must be relative and
//! may not climb out with `..`; it is then opened with `cap-std`, which resolves each
//! component inside the folder and refuses a symlink that leads out of it, so a symlink a
//! learner or a pack left behind cannot turn a write into one on `~/.bashrc` or a read into
//! one of `~/.ssh`. Writes are atomic (a new temporary file, fsync, rename over the name;
//! renaming replaces a symlink rather than following it).
//!
//! This confines what keylab does on a pack's or a learner's behalf. It does not sandbox the
//! learner's own shell (`keylab run`), which is theirs.

use std::io::Write as _;
use std::path::{Component, Path, PathBuf};

use cap_std::ambient_authority;
use cap_std::fs::{Dir, OpenOptions};

/// Why a workspace path was refused or could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfineError {
    /// The name is absolute, empty, or climbs out of the folder.
    #[error("{name}: keylab works inside the workspace; use a path relative to it, without '..'")]
    Outside {
        /// The name as given.
        name: String,
    },
    /// The name leads out of the folder through a symlink.
    #[error("{name}: a symlink leads out of the workspace; keylab does not follow it")]
    Symlink {
        /// The name as given.
        name: String,
    },
    /// Reading or writing failed.
    #[error("{name}: {source}")]
    Io {
        /// The name as given.
        name: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl ConfineError {
    /// True when the file does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ConfineError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

/// Checks a name without touching the disk: relative, not empty, no `..` or root, and
/// returns it as a path.
pub fn relative(name: &str) -> Result<&Path, ConfineError> {
    let path = Path::new(name);
    let outside = || ConfineError::Outside {
        name: name.to_string(),
    };
    if name.is_empty() || name.contains('\0') {
        return Err(outside());
    }
    let mut normal = 0;
    for component in path.components() {
        match component {
            Component::Normal(_) => normal += 1,
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(outside());
            }
        }
    }
    if normal == 0 {
        return Err(outside());
    }
    Ok(path)
}

fn io_error(name: &str, source: std::io::Error) -> ConfineError {
    // cap-std reports a path that resolves outside the folder as PermissionDenied with this
    // wording; say what happened instead.
    if source.kind() == std::io::ErrorKind::PermissionDenied
        && source.to_string().contains("outside of the filesystem")
    {
        return ConfineError::Symlink {
            name: name.to_string(),
        };
    }
    ConfineError::Io {
        name: name.to_string(),
        source,
    }
}

fn open_root(root: &Path, name: &str) -> Result<Dir, ConfineError> {
    Dir::open_ambient_dir(root, ambient_authority()).map_err(|e| io_error(name, e))
}

/// Reads a file of the folder.
pub fn read(root: &Path, name: &str) -> Result<Vec<u8>, ConfineError> {
    let path = relative(name)?;
    open_root(root, name)?
        .read(path)
        .map_err(|e| io_error(name, e))
}

/// Reads a file of the folder as text (lossy for invalid UTF-8).
pub fn read_text(root: &Path, name: &str) -> Result<String, ConfineError> {
    read(root, name).map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// The size of a regular file of the folder, or `None` when it is missing, not a regular file,
/// or outside.
pub fn file_size(root: &Path, name: &str) -> Option<u64> {
    let path = relative(name).ok()?;
    let meta = open_root(root, name).ok()?.metadata(path).ok()?;
    meta.is_file().then(|| meta.len())
}

/// Whether a file of that name exists (inside the folder).
pub fn exists(root: &Path, name: &str) -> bool {
    file_size(root, name).is_some()
}

/// Writes a file of the folder atomically, creating its parent folders (inside it).
pub fn write(root: &Path, name: &str, bytes: &[u8]) -> Result<(), ConfineError> {
    let path = relative(name)?;
    keylab_engine::fsutil::create_private_dir(root).map_err(|e| io_error(name, e))?;
    let dir = open_root(root, name)?;
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(parent) = parent {
        dir.create_dir_all(parent)
            .map_err(|e| match dir.open_dir(parent) {
                // A symlink where a folder should be says more than "File exists".
                Err(why) => io_error(name, why),
                Ok(_) => io_error(name, e),
            })?;
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(
        ".{file_name}.{}.{:08x}.tmp",
        std::process::id(),
        rand::random::<u32>()
    ));
    let write = || -> std::io::Result<()> {
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use cap_std::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = dir.open_with(&temp, &options)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        dir.rename(&temp, &dir, path)?;
        let parent_dir = match parent {
            Some(p) => dir.open_dir(p)?,
            None => dir.try_clone()?,
        };
        // Persist the rename itself: fsync the folder that holds the new name.
        parent_dir.open(".").and_then(|d| d.sync_all()).or(Ok(()))
    };
    write().map_err(|e| {
        let _ = dir.remove_file(&temp);
        io_error(name, e)
    })
}

/// Removes a file of the folder (a symlink itself, never what it points to).
pub fn remove(root: &Path, name: &str) -> Result<(), ConfineError> {
    let path = relative(name)?;
    open_root(root, name)?
        .remove_file(path)
        .map_err(|e| io_error(name, e))
}

/// The path of an existing file of the folder, checked to resolve inside it, for a library
/// that opens paths itself. (Another process could swap the file for a symlink afterwards;
/// use [`read`] where the bytes are enough.)
pub fn existing_path(root: &Path, name: &str) -> Result<PathBuf, ConfineError> {
    let path = relative(name)?;
    open_root(root, name)?
        .open(path)
        .map_err(|e| io_error(name, e))?;
    Ok(root.join(path))
}

/// Every regular file under the folder, as sorted `/`-separated relative paths; symlinks and
/// special files are skipped, and nothing outside is visited.
pub fn files(root: &Path) -> Vec<String> {
    let mut names = Vec::new();
    let Ok(dir) = Dir::open_ambient_dir(root, ambient_authority()) else {
        return names;
    };
    walk(&dir, "", &mut names);
    names.sort();
    names
}

fn walk(dir: &Dir, prefix: &str, out: &mut Vec<String>) {
    let Ok(entries) = dir.entries() else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        if kind.is_dir() {
            if let Ok(sub) = entry.open_dir() {
                walk(&sub, &rel, out);
            }
        } else if kind.is_file() {
            out.push(rel);
        }
    }
}

/// Makes a folder (and its missing parents) owned by the user alone: 0700 on Unix, also when
/// it existed.
pub fn private_dir(path: &Path) -> std::io::Result<()> {
    keylab_engine::fsutil::create_private_dir(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_leave_are_refused_before_the_disk() {
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "a/..", ".", "./"] {
            assert!(
                matches!(relative(bad), Err(ConfineError::Outside { .. })),
                "{bad:?}"
            );
        }
        for good in ["a", "a/b.txt", "./a", "a/./b"] {
            assert!(relative(good).is_ok(), "{good:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_out_of_the_folder_are_not_followed() {
        let home = tempfile::tempdir().unwrap();
        let secret = home.path().join("secret");
        std::fs::write(&secret, b"ssh key").unwrap();
        let ws = home.path().join("ws");
        std::fs::create_dir(&ws).unwrap();
        std::os::unix::fs::symlink(&secret, ws.join("link")).unwrap();
        std::os::unix::fs::symlink(home.path(), ws.join("up")).unwrap();

        assert!(matches!(
            read(&ws, "link"),
            Err(ConfineError::Symlink { .. })
        ));
        assert!(matches!(
            read(&ws, "up/secret"),
            Err(ConfineError::Symlink { .. })
        ));
        assert!(write(&ws, "up/secret", b"owned").is_err());
        assert_eq!(std::fs::read(&secret).unwrap(), b"ssh key");
        // Writing over the symlink replaces the link, never the file it points to.
        write(&ws, "link", b"new").unwrap();
        assert_eq!(std::fs::read(&secret).unwrap(), b"ssh key");
        assert_eq!(read(&ws, "link").unwrap(), b"new");
        assert_eq!(files(&ws), vec!["link".to_string()]);
        assert!(existing_path(&ws, "up/secret").is_err());
    }

    #[test]
    fn writes_create_folders_inside_and_leave_no_temporary() {
        let ws = tempfile::tempdir().unwrap();
        write(ws.path(), "out/deep/file.txt", b"x").unwrap();
        assert_eq!(read(ws.path(), "out/deep/file.txt").unwrap(), b"x");
        assert_eq!(files(ws.path()), vec!["out/deep/file.txt".to_string()]);
        remove(ws.path(), "out/deep/file.txt").unwrap();
        assert!(
            read(ws.path(), "out/deep/file.txt")
                .unwrap_err()
                .is_not_found()
        );
    }
}
