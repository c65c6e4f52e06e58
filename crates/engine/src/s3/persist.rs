//! How the S3 state is kept in the state store: one table of buckets (their settings), one of
//! objects (`<bucket>/<key>`) and one of multipart uploads (`<bucket>/<upload id>`), so a
//! PutObject writes one record whatever the number of objects. Bucket names cannot contain
//! `/`, so the first `/` of a record key separates bucket from object key or upload id.
//!
//! Object bodies are files in `objects/`, written and synced under a temporary name before the
//! record that names them is committed, and removed after the record that named them is gone.
//! A crash between the two leaves a file no record names; [`collect_garbage`] removes those
//! (and half-written temporaries) when the engine opens, so none survive a restart.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use super::model::{Bucket, S3State};
use crate::state::{Change, StateError, StateStore};

/// The state document engines before the store kept everything in, moved once.
const LEGACY_STATE: &str = "s3";
const BUCKETS: &str = "s3-buckets";
const OBJECTS: &str = "s3-objects";
const UPLOADS: &str = "s3-uploads";

/// A record of one bucket that a change touched.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Record<'a> {
    /// The bucket's own settings (or the bucket itself, when created or deleted).
    Bucket,
    /// One object, by key.
    Object(&'a str),
    /// One multipart upload, by id.
    Upload(&'a str),
}

/// The changes that write the named records of `bucket` as they now are in `state`
/// (removing those that are gone).
pub(crate) fn changes(state: &S3State, bucket: &str, records: &[Record]) -> Vec<Change> {
    let current = state.buckets.get(bucket);
    records
        .iter()
        .map(|record| match *record {
            Record::Bucket => match current {
                Some(b) => Change::put(BUCKETS, bucket, b),
                None => Change::delete(BUCKETS, bucket),
            },
            Record::Object(key) => {
                let id = format!("{bucket}/{key}");
                match current.and_then(|b| b.objects.get(key)) {
                    Some(o) => Change::put(OBJECTS, id, o),
                    None => Change::delete(OBJECTS, id),
                }
            }
            Record::Upload(upload_id) => {
                let id = format!("{bucket}/{upload_id}");
                match current.and_then(|b| b.uploads.get(upload_id)) {
                    Some(u) => Change::put(UPLOADS, id, u),
                    None => Change::delete(UPLOADS, id),
                }
            }
        })
        .collect()
}

/// Loads the S3 tables, first moving a state document of an older engine into them.
pub(crate) fn load_state(store: &StateStore) -> Result<S3State, StateError> {
    if let Some(old) = store.legacy::<S3State>(LEGACY_STATE)? {
        let mut moved = Vec::new();
        for (name, bucket) in &old.buckets {
            moved.push(Change::put(BUCKETS, name.as_str(), bucket));
            for (key, object) in &bucket.objects {
                moved.push(Change::put(OBJECTS, format!("{name}/{key}"), object));
            }
            for (id, upload) in &bucket.uploads {
                moved.push(Change::put(UPLOADS, format!("{name}/{id}"), upload));
            }
        }
        store.commit(&moved)?;
        store.forget_legacy(LEGACY_STATE);
    }
    let mut buckets: BTreeMap<String, Bucket> = store.load_table(BUCKETS)?;
    for (id, object) in store.load_table(OBJECTS)? {
        let Some((name, key)) = id.split_once('/') else {
            continue;
        };
        if let Some(bucket) = buckets.get_mut(name) {
            bucket.objects.insert(key.to_string(), object);
        }
    }
    for (id, upload) in store.load_table(UPLOADS)? {
        let Some((name, upload_id)) = id.split_once('/') else {
            continue;
        };
        if let Some(bucket) = buckets.get_mut(name) {
            bucket.uploads.insert(upload_id.to_string(), upload);
        }
    }
    Ok(S3State { buckets })
}

/// Removes every file of `objects_dir` that no object or upload part names: bodies a crash
/// left between writing a file and committing its record (or between removing a record and
/// its file), and half-written temporaries. Returns how many were removed.
pub(crate) fn collect_garbage(objects_dir: &Path, state: &S3State) -> usize {
    let Ok(entries) = std::fs::read_dir(objects_dir) else {
        return 0;
    };
    let mut named: HashSet<&str> = HashSet::new();
    for bucket in state.buckets.values() {
        for object in bucket.objects.values() {
            named.insert(object.file.as_str());
            named.extend(object.parts.iter().map(|p| p.file.as_str()));
        }
        for upload in bucket.uploads.values() {
            named.extend(upload.parts.values().map(|p| p.file.as_str()));
        }
    }
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if named.contains(name.to_string_lossy().as_ref()) {
            continue;
        }
        if std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An S3 state document as engines before the store wrote it (`s3.state`).
    const LEGACY: &str = r#"{"buckets":{"reports":{"account":"111122223333","created":1,
        "encryption":{"algorithm":"AES256","kms_key_id":null,"bucket_key_enabled":false},
        "policy":null,
        "objects":{"2026/q1.csv":{"file":"a1","size":3,"etag":"e","modified":2,
            "content_type":null,"metadata":{},"encryption":{"S3":{"sealed_key":[1,2]}}}},
        "uploads":{"u1":{"key":"big","initiated":3,"initiator":"arn:aws:iam::111122223333:root",
            "encryption":{"S3":{"sealed_key":[3]}},"condition_headers":{},"content_type":null,
            "metadata":{},"parts":{"1":{"number":1,"file":"p1","size":5,"etag":"x"}}}}}}}"#;

    #[test]
    fn a_legacy_document_moves_into_tables_and_orphans_are_collected() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path()).unwrap();
        std::fs::write(
            dir.path().join("s3.state"),
            store.seal("s3", LEGACY.as_bytes()),
        )
        .unwrap();
        let state = load_state(&store).unwrap();
        assert!(!dir.path().join("s3.state").exists());
        let bucket = &state.buckets["reports"];
        assert_eq!(bucket.objects["2026/q1.csv"].file, "a1");
        assert_eq!(bucket.uploads["u1"].parts[&1].file, "p1");
        assert_eq!(store.load_table::<Bucket>(BUCKETS).unwrap().len(), 1);
        assert_eq!(
            load_state(&store).unwrap().buckets["reports"].objects.len(),
            1,
            "the tables alone give the same state"
        );

        let objects = dir.path().join("objects");
        std::fs::create_dir_all(&objects).unwrap();
        for name in ["a1", "p1", "orphan", ".x.partial"] {
            std::fs::write(objects.join(name), b"body").unwrap();
        }
        assert_eq!(collect_garbage(&objects, &state), 2);
        let mut left: Vec<String> = std::fs::read_dir(&objects)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["a1", "p1"]);
    }

    #[test]
    fn a_change_writes_only_the_records_it_names() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path()).unwrap();
        let state: S3State = serde_json::from_str(LEGACY).unwrap();
        store
            .commit(&changes(
                &state,
                "reports",
                &[Record::Bucket, Record::Object("2026/q1.csv")],
            ))
            .unwrap();
        assert_eq!(
            store
                .load_table::<serde_json::Value>(OBJECTS)
                .unwrap()
                .len(),
            1
        );
        assert!(
            store
                .load_table::<serde_json::Value>(UPLOADS)
                .unwrap()
                .is_empty()
        );
        let mut gone = state.clone();
        gone.buckets.get_mut("reports").unwrap().objects.clear();
        store
            .commit(&changes(&gone, "reports", &[Record::Object("2026/q1.csv")]))
            .unwrap();
        assert!(
            store
                .load_table::<serde_json::Value>(OBJECTS)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store
                .load_table::<serde_json::Value>(BUCKETS)
                .unwrap()
                .len(),
            1
        );
    }
}
