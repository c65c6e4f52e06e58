//! Object bodies on disk as a sequence of sealed segments, so a body of any size is encrypted
//! as its bytes arrive and decrypted as they are sent, in memory of one segment, and a ranged
//! GET opens only the segments it needs.
//!
//! A file is `"KLS1"`, a 7-byte random nonce prefix, the segment size (u32, big-endian), then
//! the segments. Segment `i` holds up to [`SEGMENT`] bytes of plaintext sealed with
//! AES-256-GCM under the nonce `prefix || i (u32) || last (1 byte)` and the body's AAD (the
//! object's or part's ARN), so a segment cannot be moved, dropped from the end or swapped with
//! another object's; DSSE-KMS seals each segment a second time under its outer key. This is
//! the STREAM construction (Hoang, Reyhanitabar, Rogaway and Vizár, "Online
//! Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance", 2015), as libsodium's
//! secretstream and Tink's streaming AEAD use it. Files written before segments (one sealed
//! blob) are still read.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use md5::{Digest, Md5};
use rand::RngCore;
use zeroize::Zeroizing;

use super::store::BodyKeys;

/// Plaintext bytes per segment.
pub const SEGMENT: usize = 64 * 1024;

const MAGIC: &[u8; 4] = b"KLS1";
const HEADER: usize = 4 + 7 + 4;
const TAG: usize = 16;

fn nonce(prefix: &[u8; 7], index: u32, last: bool) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[..7].copy_from_slice(prefix);
    n[7..11].copy_from_slice(&index.to_be_bytes());
    n[11] = u8::from(last);
    n
}

fn seal_one(key: &[u8], nonce: &[u8; 12], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    Aes256Gcm::new_from_slice(key)
        .expect("32-byte key")
        .encrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .expect("AES-GCM encryption of an in-memory buffer cannot fail")
}

fn open_one(key: &[u8], nonce: &[u8; 12], aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    Aes256Gcm::new_from_slice(key)
        .ok()?
        .decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad })
        .ok()
}

/// The tags a segment carries: one, or two for DSSE-KMS.
fn tags(keys: &BodyKeys) -> usize {
    if keys.outer.is_some() { 2 * TAG } else { TAG }
}

fn seal_segment(keys: &BodyKeys, n: &[u8; 12], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let inner = seal_one(&keys.data, n, aad, plaintext);
    match &keys.outer {
        Some(outer) => seal_one(outer, n, aad, &inner),
        None => inner,
    }
}

fn open_segment(
    keys: &BodyKeys,
    n: &[u8; 12],
    aad: &[u8],
    sealed: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    let inner = match &keys.outer {
        Some(outer) => Zeroizing::new(open_one(outer, n, aad, sealed)?),
        None => return open_one(&keys.data, n, aad, sealed).map(Zeroizing::new),
    };
    open_one(&keys.data, n, aad, &inner).map(Zeroizing::new)
}

/// What a finished write stored.
#[derive(Debug, Clone)]
pub struct Written {
    /// The file's name in the objects folder.
    pub file: String,
    /// Plaintext bytes.
    pub size: u64,
    /// The MD5 of the plaintext, when asked for (the ETag of SSE-S3 objects).
    pub md5: Option<[u8; 16]>,
}

/// Seals a body segment by segment into a new file as its bytes arrive; the file appears under
/// its name only when [`SegmentWriter::finish`] has synced it, and is removed if the write is
/// dropped unfinished (a failed upload leaves nothing).
pub struct SegmentWriter {
    out: Option<BufWriter<File>>,
    temp: PathBuf,
    name: String,
    dir: PathBuf,
    keys: BodyKeys,
    aad: Vec<u8>,
    prefix: [u8; 7],
    index: u32,
    pending: Zeroizing<Vec<u8>>,
    size: u64,
    md5: Option<Md5>,
}

impl SegmentWriter {
    /// Starts a body in `dir` sealed with `keys` and bound to `aad`.
    pub fn create(
        dir: &Path,
        keys: BodyKeys,
        aad: &[u8],
        with_md5: bool,
    ) -> io::Result<SegmentWriter> {
        crate::fsutil::create_private_dir(dir)?;
        let name = uuid::Uuid::new_v4().to_string();
        let temp = dir.join(format!(".{name}.partial"));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut out = BufWriter::with_capacity(SEGMENT + 64, options.open(&temp)?);
        let mut prefix = [0u8; 7];
        rand::rng().fill_bytes(&mut prefix);
        out.write_all(MAGIC)?;
        out.write_all(&prefix)?;
        out.write_all(&(SEGMENT as u32).to_be_bytes())?;
        Ok(SegmentWriter {
            out: Some(out),
            temp,
            name,
            dir: dir.to_path_buf(),
            keys,
            aad: aad.to_vec(),
            prefix,
            index: 0,
            pending: Zeroizing::new(Vec::with_capacity(SEGMENT)),
            size: 0,
            md5: with_md5.then(Md5::new),
        })
    }

    fn seal_pending(&mut self, last: bool) -> io::Result<()> {
        let n = nonce(&self.prefix, self.index, last);
        let sealed = seal_segment(&self.keys, &n, &self.aad, &self.pending);
        self.out
            .as_mut()
            .expect("open until finished")
            .write_all(&sealed)?;
        self.pending.clear();
        self.index = self.index.checked_add(1).ok_or_else(|| {
            io::Error::other("the object is larger than the engine stores (2^32 segments)")
        })?;
        Ok(())
    }

    /// Adds bytes of the body.
    pub fn write(&mut self, mut data: &[u8]) -> io::Result<()> {
        if let Some(md5) = &mut self.md5 {
            md5.update(data);
        }
        self.size += data.len() as u64;
        while !data.is_empty() {
            // A full segment is sealed only once more bytes come: the last one is marked so.
            if self.pending.len() == SEGMENT {
                self.seal_pending(false)?;
            }
            let take = (SEGMENT - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        Ok(())
    }

    /// Seals the last segment, syncs the file and gives it its name.
    pub fn finish(mut self) -> io::Result<Written> {
        self.seal_pending(true)?;
        let out = self.out.take().expect("open until finished");
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&self.temp, self.dir.join(&self.name))?;
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(Written {
            file: self.name.clone(),
            size: self.size,
            md5: self.md5.take().map(|m| m.finalize().into()),
        })
    }
}

impl Drop for SegmentWriter {
    fn drop(&mut self) {
        if self.out.is_some() {
            self.out = None;
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Reads a stored body's plaintext, whole or a range, segment by segment.
pub struct SegmentReader {
    file: File,
    keys: BodyKeys,
    aad: Vec<u8>,
    prefix: [u8; 7],
    segment: usize,
    /// Segments in the file (0 for a body written before segments).
    count: u64,
    /// The plaintext of a body written before segments, opened whole.
    legacy: Option<Zeroizing<Vec<u8>>>,
}

impl SegmentReader {
    /// Opens `path`, sealed with `keys` for `aad`.
    pub fn open(path: &Path, keys: BodyKeys, aad: &[u8]) -> io::Result<SegmentReader> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        let mut header = [0u8; HEADER];
        let segmented = len >= HEADER as u64 && {
            file.read_exact(&mut header)?;
            &header[..4] == MAGIC
        };
        if !segmented {
            file.seek(SeekFrom::Start(0))?;
            let mut sealed = Vec::new();
            file.read_to_end(&mut sealed)?;
            let plaintext = keys
                .open(aad, &sealed)
                .ok_or_else(|| io::Error::other("the object body failed authentication"))?;
            return Ok(SegmentReader {
                file,
                keys,
                aad: aad.to_vec(),
                prefix: [0; 7],
                segment: SEGMENT,
                count: 0,
                legacy: Some(plaintext),
            });
        }
        let mut prefix = [0u8; 7];
        prefix.copy_from_slice(&header[4..11]);
        let segment = u32::from_be_bytes([header[11], header[12], header[13], header[14]]) as usize;
        if segment == 0 {
            return Err(io::Error::other("the object body's segment size is 0"));
        }
        let stride = (segment + tags(&keys)) as u64;
        let count = (len - HEADER as u64).div_ceil(stride);
        Ok(SegmentReader {
            file,
            keys,
            aad: aad.to_vec(),
            prefix,
            segment,
            count,
            legacy: None,
        })
    }

    /// The plaintext of segment `index`.
    fn segment(&mut self, index: u64) -> io::Result<Zeroizing<Vec<u8>>> {
        let stride = (self.segment + tags(&self.keys)) as u64;
        self.file
            .seek(SeekFrom::Start(HEADER as u64 + index * stride))?;
        let mut sealed = vec![0u8; stride as usize];
        let mut read = 0;
        while read < sealed.len() {
            let n = self.file.read(&mut sealed[read..])?;
            if n == 0 {
                break;
            }
            read += n;
        }
        sealed.truncate(read);
        let last = index + 1 == self.count;
        let n = nonce(&self.prefix, index as u32, last);
        open_segment(&self.keys, &n, &self.aad, &sealed).ok_or_else(|| {
            io::Error::other("the object body failed authentication (changed, cut short or moved)")
        })
    }

    /// The plaintext bytes `start..end`, as chunks of at most a segment, read lazily.
    pub fn range(mut self, start: u64, end: u64) -> impl Iterator<Item = io::Result<Vec<u8>>> {
        let seg = self.segment as u64;
        let mut index = start / seg;
        let mut position = start;
        let legacy = self.legacy.take();
        let mut done = false;
        std::iter::from_fn(move || {
            if done || position >= end {
                return None;
            }
            if let Some(plaintext) = &legacy {
                done = true;
                let (s, e) = (position as usize, (end as usize).min(plaintext.len()));
                return Some(Ok(plaintext.get(s..e).unwrap_or_default().to_vec()));
            }
            let plaintext = match self.segment(index) {
                Ok(p) => p,
                Err(e) => {
                    done = true;
                    return Some(Err(e));
                }
            };
            let from = (position - index * seg) as usize;
            let to = ((end - index * seg) as usize).min(plaintext.len());
            if from >= to {
                done = true;
                return Some(Err(io::Error::other(
                    "the object body is shorter than recorded",
                )));
            }
            let chunk = plaintext[from..to].to_vec();
            position += chunk.len() as u64;
            index += 1;
            Some(Ok(chunk))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> BodyKeys {
        BodyKeys::single(Zeroizing::new(vec![7u8; 32]))
    }

    fn roundtrip(size: usize, dsse: bool) {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
        let mut k = keys();
        if dsse {
            k.outer = Some(Zeroizing::new(vec![9u8; 32]));
        }
        let mut w = SegmentWriter::create(dir.path(), k.clone(), b"arn:x", true).unwrap();
        for chunk in data.chunks(10_007) {
            w.write(chunk).unwrap();
        }
        let written = w.finish().unwrap();
        assert_eq!(written.size, size as u64);
        assert_eq!(written.md5.unwrap(), <[u8; 16]>::from(Md5::digest(&data)));
        let path = dir.path().join(&written.file);
        let whole: Vec<u8> = SegmentReader::open(&path, k.clone(), b"arn:x")
            .unwrap()
            .range(0, size as u64)
            .flat_map(|c| c.unwrap())
            .collect();
        assert_eq!(whole, data);
        for (s, e) in [
            (0, 1),
            (SEGMENT - 1, SEGMENT + 1),
            (size / 3, size / 2),
            (size.saturating_sub(5), size),
        ] {
            if s >= e || e > size {
                continue;
            }
            let part: Vec<u8> = SegmentReader::open(&path, k.clone(), b"arn:x")
                .unwrap()
                .range(s as u64, e as u64)
                .flat_map(|c| c.unwrap())
                .collect();
            assert_eq!(part, data[s..e], "{s}..{e}");
        }
        let other = SegmentReader::open(&path, k, b"arn:y")
            .unwrap()
            .range(0, 1)
            .next()
            .unwrap();
        assert!(other.is_err(), "another object's AAD does not open it");
    }

    #[test]
    fn bodies_of_every_size_round_trip_whole_and_by_range() {
        for size in [
            0,
            1,
            SEGMENT - 1,
            SEGMENT,
            SEGMENT + 1,
            3 * SEGMENT,
            3 * SEGMENT + 17,
        ] {
            roundtrip(size, false);
        }
        roundtrip(2 * SEGMENT + 5, true);
    }

    #[test]
    fn a_body_cut_at_a_segment_boundary_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SegmentWriter::create(dir.path(), keys(), b"a", false).unwrap();
        w.write(&vec![1u8; 2 * SEGMENT + 10]).unwrap();
        let written = w.finish().unwrap();
        let path = dir.path().join(&written.file);
        let len = std::fs::metadata(&path).unwrap().len();
        let cut = len - (10 + TAG) as u64;
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(cut).unwrap();
        let result: Result<Vec<Vec<u8>>, _> = SegmentReader::open(&path, keys(), b"a")
            .unwrap()
            .range(0, 2 * SEGMENT as u64)
            .collect();
        assert!(result.is_err(), "the new last segment is not marked last");
    }

    #[test]
    fn an_unfinished_write_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SegmentWriter::create(dir.path(), keys(), b"a", false).unwrap();
        w.write(&[1, 2, 3]).unwrap();
        drop(w);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
