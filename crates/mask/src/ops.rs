//! Rules compiled into operations on one value. A [`Plan`] holds one [`Op`] per ruled column,
//! with its sub-key derived once; [`Op::apply`] maps a value to its masked form (or `None` for
//! a null), and [`Op::reverse`] undoes the reversible ones for the key holder. Values are text:
//! a value that an operation cannot take (a date that does not parse, an FPE domain too small)
//! is an error naming the operation, never passed through unmasked.

use std::collections::HashMap;
use std::path::Path;

use aes_siv::KeyInit;
use aes_siv::siv::Aes256Siv;
use argon2::password_hash::{PasswordHasher, SaltString};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};
use zeroize::Zeroizing;

use super::MaskError;
use super::ff1::Ff1;
use super::keys::MasterKey;
use super::rules::{DatePart, Encoding, HashAlgorithm, Normalize, Rule, Rules};
use super::scan::Scanner;

/// One compiled operation.
pub enum Op {
    /// Column removed.
    Redact,
    /// Null.
    Null,
    /// A fixed value.
    Replace(String),
    /// Character masking.
    Mask {
        /// Kept at the start.
        keep_first: usize,
        /// Kept at the end.
        keep_last: usize,
        /// The mask character.
        ch: char,
        /// Never masked.
        ignore: Vec<char>,
    },
    /// Date part.
    Date(DatePart),
    /// Number bucket width.
    Bucket(u64),
    /// Leading characters kept.
    KeepDigits(usize),
    /// Hierarchy value → generalised value.
    Hierarchy(HashMap<String, String>, String),
    /// Round to a step.
    Round(f64),
    /// Values taken from other rows (set by the table pass).
    Shuffle,
    /// Unkeyed hash.
    Hash(HashAlgorithm, Option<String>),
    /// HMAC token.
    Hmac {
        /// The keyed state, cloned per value.
        mac: Hmac<Sha256>,
        /// The same key as SHA-256 states after the padded key blocks, for values whose
        /// canonical form fits one block (almost all of them).
        short: ShortHmac,
        /// Canonicalisation.
        normalize: Normalize,
        /// Output encoding.
        encoding: Encoding,
        /// Bytes kept.
        bytes: usize,
    },
    /// AES-SIV.
    Siv {
        /// The 64-byte key.
        key: Zeroizing<[u8; 64]>,
        /// Associated data.
        domain: String,
    },
    /// FF1.
    Fpe(Box<Ff1>),
    /// Argon2id.
    Password(argon2::Params),
    /// Entity scan.
    Scan(Scanner, String),
}

/// The compiled rules: an operation per column, in rule order.
pub struct Plan {
    /// (column, operation, the rule's line).
    pub ops: Vec<(String, Op, usize)>,
    /// The rules file, for messages.
    pub file: String,
    /// The columns an input may lack (`optional = true`).
    pub optional: std::collections::BTreeSet<String>,
}

fn canonical<'a>(value: &'a str, normalize: Normalize, buf: &'a mut String) -> &'a [u8] {
    buf.clear();
    match normalize {
        Normalize::None => return value.as_bytes(),
        Normalize::Text => {
            for (i, word) in value.split_whitespace().enumerate() {
                if i > 0 {
                    buf.push(' ');
                }
                buf.push_str(word);
            }
        }
        Normalize::Email if value.is_ascii() => {
            buf.push_str(value.trim());
            buf.make_ascii_lowercase();
        }
        Normalize::Email => buf.extend(value.trim().chars().flat_map(char::to_lowercase)),
        Normalize::Digits => buf.extend(value.chars().filter(char::is_ascii_digit)),
        Normalize::Phone => {
            buf.extend(value.chars().filter(char::is_ascii_digit));
            if buf.len() == 10 {
                buf.insert(0, '1');
            }
        }
    }
    buf.as_bytes()
}

/// Feeds the canonical form of `value` to `mac` as [`canonical`] makes it, without a heap
/// buffer for the common cases (ASCII e-mails, digits, values as they are).
fn feed_canonical(mac: &mut Hmac<Sha256>, value: &str, normalize: Normalize) {
    let mut piece = [0u8; 64];
    let mut n = 0;
    let mut feed = |mac: &mut Hmac<Sha256>, b: u8| {
        piece[n] = b;
        n += 1;
        if n == piece.len() {
            mac.update(&piece);
            n = 0;
        }
    };
    match normalize {
        Normalize::None => {
            mac.update(value.as_bytes());
            return;
        }
        Normalize::Email if value.is_ascii() => {
            // Whole pieces at a time: copied, lower-cased in place (vectorised), fed.
            for chunk in value.trim().as_bytes().chunks(64) {
                let lower = &mut [0u8; 64][..chunk.len()];
                lower.copy_from_slice(chunk);
                lower.make_ascii_lowercase();
                mac.update(lower);
            }
            return;
        }
        Normalize::Digits => {
            for b in value.bytes().filter(u8::is_ascii_digit) {
                feed(mac, b);
            }
        }
        _ => {
            let mut buf = String::new();
            mac.update(canonical(value, normalize, &mut buf));
            return;
        }
    }
    mac.update(&piece[..n]);
}

/// HMAC-SHA-256 under one key of at most 64 bytes, keyed once: the SHA-256 states after
/// the key's inner and outer padded blocks (RFC 2104). A message of at most 55 bytes is then
/// one compression for the inner hash and one for the outer, with no hashing state to clone.
#[derive(Clone)]
pub struct ShortHmac {
    inner: [u32; 8],
    outer: [u32; 8],
}

/// SHA-256's initial state (FIPS 180-4, 5.3.3).
const SHA256_IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// The longest message [`ShortHmac::tag`] takes: one block less the `0x80` byte and the
/// 8-byte length.
pub const SHORT_HMAC_MAX: usize = 55;

impl ShortHmac {
    /// Keys it; `key` has at most 64 bytes (sub-keys have 32).
    pub fn new(key: &[u8]) -> ShortHmac {
        assert!(key.len() <= 64, "a longer HMAC key is hashed first");
        let mut ipad = Zeroizing::new([0x36u8; 64]);
        let mut opad = Zeroizing::new([0x5cu8; 64]);
        for (i, b) in key.iter().enumerate() {
            ipad[i] ^= b;
            opad[i] ^= b;
        }
        let (mut inner, mut outer) = (SHA256_IV, SHA256_IV);
        sha2::block_api::compress256(&mut inner, std::slice::from_ref(&*ipad));
        sha2::block_api::compress256(&mut outer, std::slice::from_ref(&*opad));
        ShortHmac { inner, outer }
    }

    /// The tag of the message `block[..len]` (`len` at most [`SHORT_HMAC_MAX`]); the rest of
    /// `block` is overwritten with the padding.
    pub fn tag(&self, block: &mut [u8; 64], len: usize) -> [u8; 32] {
        // The inner hash has the key block before the message: 64 + len bytes in all.
        block[len] = 0x80;
        block[len + 1..56].fill(0);
        block[56..].copy_from_slice(&((64 + len as u64) * 8).to_be_bytes());
        let mut state = self.inner;
        sha2::block_api::compress256(&mut state, std::slice::from_ref(block));
        let mut second = [0u8; 64];
        for (i, w) in state.iter().enumerate() {
            second[4 * i..4 * i + 4].copy_from_slice(&w.to_be_bytes());
        }
        second[32] = 0x80;
        second[56..].copy_from_slice(&((64 + 32u64) * 8).to_be_bytes());
        let mut state = self.outer;
        sha2::block_api::compress256(&mut state, &[second]);
        let mut tag = [0u8; 32];
        for (i, w) in state.iter().enumerate() {
            tag[4 * i..4 * i + 4].copy_from_slice(&w.to_be_bytes());
        }
        tag
    }
}

/// Whitespace as `char::is_whitespace` (and so `str::trim`) sees it, for an ASCII byte.
fn ascii_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ')
}

/// The canonical form of an ASCII `value` as [`canonical`] makes it, written to the start
/// of `block`: its length, or `None` when the value is not ASCII or the form is longer than
/// [`SHORT_HMAC_MAX`].
fn short_canonical(value: &[u8], normalize: Normalize, block: &mut [u8; 64]) -> Option<usize> {
    if !value.is_ascii() {
        return None;
    }
    // The common cases are one copy (lower-cased in place, vectorised).
    fn copy<'a>(bytes: &[u8], block: &'a mut [u8; 64]) -> Option<&'a mut [u8]> {
        let room = block
            .get_mut(..bytes.len())
            .filter(|_| bytes.len() <= SHORT_HMAC_MAX)?;
        room.copy_from_slice(bytes);
        Some(room)
    }
    match normalize {
        Normalize::None => return copy(value, block).map(|r| r.len()),
        Normalize::Email => {
            let start = value.iter().position(|&b| !ascii_space(b))?;
            let end = value.iter().rposition(|&b| !ascii_space(b))? + 1;
            let room = copy(&value[start..end], block)?;
            room.make_ascii_lowercase();
            return Some(room.len());
        }
        _ => {}
    }
    let room = &mut block[..SHORT_HMAC_MAX];
    let mut n = 0;
    let mut push = |b: u8| {
        *room.get_mut(n)? = b;
        n += 1;
        Some(())
    };
    match normalize {
        Normalize::None | Normalize::Email => unreachable!("copied above"),
        Normalize::Text => {
            for (i, word) in value
                .split(|&b| ascii_space(b))
                .filter(|w| !w.is_empty())
                .enumerate()
            {
                if i > 0 {
                    push(b' ')?;
                }
                word.iter().try_for_each(|&b| push(b))?;
            }
        }
        Normalize::Digits | Normalize::Phone => {
            value
                .iter()
                .filter(|b| b.is_ascii_digit())
                .try_for_each(|&b| push(b))?;
            if normalize == Normalize::Phone && n == 10 {
                block.copy_within(0..10, 1);
                block[0] = b'1';
                n = 11;
            }
        }
    }
    Some(n)
}

/// Writes a token: base64url or hex, neither of which a CSV field needs to quote.
fn encode_tag(tag: &[u8], encoding: Encoding, out: &mut Vec<u8>) -> Result<(), String> {
    match encoding {
        Encoding::Base64url => base64url(tag, out),
        Encoding::Hex => {
            let mut buf = [0u8; 64];
            let hex = &mut buf[..2 * tag.len()];
            hex::encode_to_slice(tag, hex).map_err(|e| e.to_string())?;
            out.extend_from_slice(hex);
        }
    }
    Ok(())
}

/// Base64url without padding (RFC 4648, section 5), as `URL_SAFE_NO_PAD` writes it.
fn base64url(input: &[u8], out: &mut Vec<u8>) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    // Three bytes to four characters, on the stack, appended in one copy per 48 bytes.
    for piece in input.chunks(48) {
        let mut buf = [0u8; 64];
        let whole = piece.chunks_exact(3);
        let rest = whole.remainder();
        let mut n = 0;
        for c in whole {
            let v = u32::from(c[0]) << 16 | u32::from(c[1]) << 8 | u32::from(c[2]);
            for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
                buf[n + i] = ALPHABET[(v >> shift) as usize & 63];
            }
            n += 4;
        }
        if !rest.is_empty() {
            let v = u32::from(rest[0]) << 16 | u32::from(rest.get(1).copied().unwrap_or(0)) << 8;
            for (i, shift) in [18, 12, 6].into_iter().enumerate().take(rest.len() + 1) {
                buf[n + i] = ALPHABET[(v >> shift) as usize & 63];
            }
            n += rest.len() + 1;
        }
        out.extend_from_slice(&buf[..n]);
    }
}

fn number(value: &str) -> Result<f64, String> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("'{value}' is not a number"))
}

fn date_part(value: &str, part: DatePart) -> Result<String, String> {
    let v = value.trim();
    let ok = v.len() >= 10
        && v.as_bytes()[4] == b'-'
        && v.as_bytes()[7] == b'-'
        && v[..4].bytes().all(|b| b.is_ascii_digit())
        && v[5..7].bytes().all(|b| b.is_ascii_digit());
    if !ok {
        return Err(format!("'{value}' is not a YYYY-MM-DD date"));
    }
    Ok(match part {
        DatePart::Month => v[..7].to_string(),
        DatePart::Year => v[..4].to_string(),
        DatePart::Decade => format!("{}0s", &v[..3]),
    })
}

fn load_hierarchy(
    path: &Path,
    level: usize,
    column: &str,
) -> Result<HashMap<String, String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the hierarchy {}: {e}", path.display()))?;
    let mut map = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let levels: Vec<&str> = line.split(';').collect();
        let Some(value) = levels.get(level) else {
            return Err(format!(
                "{}:{}: the row has {} levels; column '{column}' asks for level {level}",
                path.display(),
                n + 1,
                levels.len() - 1
            ));
        };
        map.insert(levels[0].to_string(), value.to_string());
    }
    Ok(map)
}

impl Op {
    /// Compiles one rule; `key` is the master key when the rules need one, `base` is the
    /// folder relative paths in the rules start from.
    pub fn compile(rule: &Rule, key: Option<&MasterKey>, base: &Path) -> Result<Op, String> {
        let need_key = || {
            key.ok_or_else(|| {
                format!(
                    "{} needs a key and the rules have none: add [key] source = \"env:NAME\", \"file:PATH\" or \"kms:PATH\"",
                    rule.op()
                )
            })
        };
        let column = rule.column();
        let domain_of = |d: &Option<String>| d.clone().unwrap_or_else(|| column.to_string());
        Ok(match rule {
            Rule::Redact { .. } => Op::Redact,
            Rule::Null { .. } => Op::Null,
            Rule::Replace { with, .. } => Op::Replace(with.clone()),
            Rule::Mask {
                keep_first,
                keep_last,
                char,
                ignore,
                ..
            } => Op::Mask {
                keep_first: *keep_first,
                keep_last: *keep_last,
                ch: *char,
                ignore: ignore.chars().collect(),
            },
            Rule::Generalize {
                to,
                bucket,
                keep_digits,
                hierarchy,
                level,
                ..
            } => match (to, bucket, keep_digits, hierarchy) {
                (Some(part), ..) => Op::Date(*part),
                (_, Some(width), ..) => Op::Bucket(*width),
                (_, _, Some(n), _) => Op::KeepDigits(*n),
                (.., Some(file)) => Op::Hierarchy(
                    load_hierarchy(&base.join(file), level.unwrap_or(1), column)?,
                    file.clone(),
                ),
                _ => unreachable!("the parser checks one is given"),
            },
            Rule::Round { step, .. } => Op::Round(*step),
            Rule::Shuffle { .. } => Op::Shuffle,
            Rule::Hash {
                algorithm, salt, ..
            } => Op::Hash(*algorithm, salt.clone()),
            Rule::HmacToken {
                domain,
                normalize,
                encoding,
                bits,
                ..
            } => {
                let sub = need_key()?.derive("hmac_token", &domain_of(domain));
                Op::Hmac {
                    mac: <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&*sub)
                        .expect("any key length"),
                    short: ShortHmac::new(&*sub),
                    normalize: *normalize,
                    encoding: *encoding,
                    bytes: *bits as usize / 8,
                }
            }
            Rule::DeterministicEncrypt { domain, .. } => {
                let domain = domain_of(domain);
                let key = need_key()?;
                let mut k = Zeroizing::new([0u8; 64]);
                k[..32].copy_from_slice(&*key.derive("siv-mac", &domain));
                k[32..].copy_from_slice(&*key.derive("siv-ctr", &domain));
                Op::Siv { key: k, domain }
            }
            Rule::Fpe {
                domain,
                alphabet,
                keep_prefix,
                keep_suffix,
                luhn,
                ..
            } => {
                let domain = domain_of(domain);
                let sub = need_key()?.derive("fpe", &domain);
                Op::Fpe(Box::new(Ff1::new(
                    &sub,
                    &domain,
                    *alphabet,
                    *keep_prefix,
                    *keep_suffix,
                    *luhn,
                )))
            }
            Rule::PasswordHash {
                memory_kib,
                iterations,
                parallelism,
                ..
            } => Op::Password(
                argon2::Params::new(*memory_kib, *iterations, *parallelism, Some(32))
                    .map_err(|e| format!("Argon2 parameters: {e}"))?,
            ),
            Rule::ScanReplace { entities, with, .. } => {
                Op::Scan(Scanner::new(entities), with.clone())
            }
        })
    }

    /// Masks one value; `None` is a null. Empty values stay empty (nothing to protect).
    pub fn apply(&self, value: &str) -> Result<Option<String>, String> {
        if value.is_empty() && !matches!(self, Op::Replace(_) | Op::Null) {
            return Ok(Some(String::new()));
        }
        Ok(Some(match self {
            Op::Redact | Op::Null => return Ok(None),
            Op::Replace(with) => with.clone(),
            Op::Shuffle => value.to_string(),
            Op::Mask {
                keep_first,
                keep_last,
                ch,
                ignore,
            } => {
                let maskable = value.chars().filter(|c| !ignore.contains(c)).count();
                let mut seen = 0;
                value
                    .chars()
                    .map(|c| {
                        if ignore.contains(&c) {
                            return c;
                        }
                        seen += 1;
                        if seen <= *keep_first || seen > maskable.saturating_sub(*keep_last) {
                            c
                        } else {
                            *ch
                        }
                    })
                    .collect()
            }
            Op::Date(part) => date_part(value, *part)?,
            Op::Bucket(width) => {
                let v = number(value)?.floor() as i64;
                let w = *width as i64;
                let lo = v.div_euclid(w) * w;
                if w == 1 {
                    lo.to_string()
                } else {
                    format!("{lo}-{}", lo + w - 1)
                }
            }
            Op::KeepDigits(n) => value
                .chars()
                .enumerate()
                .map(|(i, c)| if i < *n { c } else { '*' })
                .collect(),
            Op::Hierarchy(map, file) => map
                .get(value)
                .cloned()
                .ok_or_else(|| format!("'{value}' is not in the hierarchy {file}"))?,
            Op::Round(step) => {
                let v = (number(value)? / step).round() * step;
                let decimals = if step.fract() == 0.0 {
                    0
                } else {
                    (-step.log10().floor()) as usize
                };
                format!("{v:.decimals$}")
            }
            Op::Hash(algorithm, salt) => {
                let mut input = value.as_bytes().to_vec();
                if let Some(s) = salt {
                    input.extend_from_slice(s.as_bytes());
                }
                match algorithm {
                    HashAlgorithm::Md5 => hex::encode(md5::Md5::digest(&input)),
                    HashAlgorithm::Sha1 => hex::encode(sha1::Sha1::digest(&input)),
                    HashAlgorithm::Sha256 => hex::encode(Sha256::digest(&input)),
                    HashAlgorithm::Sha512 => hex::encode(Sha512::digest(&input)),
                }
            }
            Op::Hmac {
                mac,
                normalize,
                encoding,
                bytes,
                ..
            } => {
                let mut buf = String::new();
                let mut m = mac.clone();
                m.update(canonical(value, *normalize, &mut buf));
                let tag = m.finalize().into_bytes();
                match encoding {
                    Encoding::Base64url => URL_SAFE_NO_PAD.encode(&tag[..*bytes]),
                    Encoding::Hex => hex::encode(&tag[..*bytes]),
                }
            }
            Op::Siv { key, domain } => {
                let mut siv = Aes256Siv::new_from_slice(&key[..]).expect("64-byte key");
                let ct = siv
                    .encrypt([domain.as_bytes()], value.as_bytes())
                    .map_err(|_| "AES-SIV refused the value".to_string())?;
                URL_SAFE_NO_PAD.encode(ct)
            }
            Op::Fpe(ff1) => ff1.apply(value, false)?,
            Op::Password(params) => {
                let argon = argon2::Argon2::new(
                    argon2::Algorithm::Argon2id,
                    argon2::Version::V0x13,
                    params.clone(),
                );
                let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
                argon
                    .hash_password(value.as_bytes(), &salt)
                    .map_err(|e| format!("Argon2id: {e}"))?
                    .to_string()
            }
            Op::Scan(scanner, with) => scanner.replace(value, with),
        }))
    }

    /// Masks one value into `out` as a CSV field, quoted when it must be (a null is empty).
    /// HMAC tokens take a path without allocation: the keyed state is cloned, the canonical
    /// bytes are fed in pieces, and the token (base64url or hex, never quoted) is encoded on
    /// the stack.
    pub fn write_csv(&self, value: &str, out: &mut Vec<u8>) -> Result<(), String> {
        let Op::Hmac {
            mac,
            normalize,
            encoding,
            bytes,
            short,
        } = self
        else {
            if let Some(v) = self.apply(value)? {
                crate::csv_block::push_field(out, v.as_bytes());
            }
            return Ok(());
        };
        if value.is_empty() {
            return Ok(());
        }
        let mut block = [0u8; 64];
        let tag = match short_canonical(value.as_bytes(), *normalize, &mut block) {
            Some(len) => short.tag(&mut block, len),
            None => {
                let mut m = mac.clone();
                feed_canonical(&mut m, value, *normalize);
                m.finalize().into_bytes().into()
            }
        };
        encode_tag(&tag[..*bytes], *encoding, out)
    }

    /// [`Op::write_csv`] for a value as the bytes of a CSV field: an HMAC token of an ASCII
    /// value is made from the bytes as they are (ASCII is UTF-8); anything else must be UTF-8.
    pub fn write_csv_bytes(&self, value: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        if let Op::Hmac {
            normalize,
            encoding,
            bytes,
            short,
            ..
        } = self
            && !value.is_empty()
        {
            let mut block = [0u8; 64];
            if let Some(len) = short_canonical(value, *normalize, &mut block) {
                let tag = short.tag(&mut block, len);
                return encode_tag(&tag[..*bytes], *encoding, out);
            }
        }
        let text = std::str::from_utf8(value).map_err(|_| "the value is not UTF-8".to_string())?;
        self.write_csv(text, out)
    }

    /// Undoes a reversible operation (AES-SIV, FF1); others return the value as it is.
    pub fn reverse(&self, value: &str) -> Result<String, String> {
        if value.is_empty() {
            return Ok(String::new());
        }
        match self {
            Op::Siv { key, domain } => {
                let ct = URL_SAFE_NO_PAD
                    .decode(value)
                    .map_err(|_| format!("'{value}' is not an AES-SIV token"))?;
                let mut siv = Aes256Siv::new_from_slice(&key[..]).expect("64-byte key");
                let pt = siv.decrypt([domain.as_bytes()], &ct).map_err(|_| {
                    "AES-SIV authentication failed: wrong key or domain, or a changed token"
                        .to_string()
                })?;
                String::from_utf8(pt).map_err(|_| "the decrypted value is not UTF-8".to_string())
            }
            Op::Fpe(ff1) => ff1.apply(value, true),
            _ => Ok(value.to_string()),
        }
    }
}

impl Plan {
    /// Compiles rules with the key (when they need one); relative paths start at `base`.
    pub fn new(rules: &Rules, key: Option<&MasterKey>, base: &Path) -> Result<Plan, MaskError> {
        let mut ops = Vec::new();
        for (rule, line) in &rules.rules {
            let op = Op::compile(rule, key, base).map_err(|message| MaskError::Rules {
                file: rules.file.clone(),
                line: Some(*line),
                message: format!("column '{}': {message}", rule.column()),
                fix: String::new(),
            })?;
            ops.push((rule.column().to_string(), op, *line));
        }
        Ok(Plan {
            ops,
            file: rules.file.clone(),
            optional: rules.optional.clone(),
        })
    }

    /// The operation of a column.
    pub fn op(&self, column: &str) -> Option<&Op> {
        self.ops
            .iter()
            .find(|(c, ..)| c == column)
            .map(|(_, op, _)| op)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(rule: &str) -> Op {
        let rules =
            Rules::parse("r.toml", &format!("format_version = 1\n[[rule]]\n{rule}\n")).unwrap();
        let key = crate::keys::tests::test_key(3);
        Op::compile(&rules.rules[0].0, Some(&key), Path::new(".")).unwrap()
    }

    fn apply(rule: &str, value: &str) -> String {
        op(rule).apply(value).unwrap().unwrap()
    }

    #[test]
    fn irreversible_operations() {
        let m = "column = \"c\"\nop = \"mask\"\nkeep_last = 4\nignore = \"-\"";
        assert_eq!(apply(m, "912-34-5678"), "***-**-5678");
        let m = "column = \"c\"\nop = \"mask\"\nkeep_first = 1\nchar = \"#\"\nignore = \"@.\"";
        assert_eq!(apply(m, "ana@ex.com"), "a##@##.###");
        assert_eq!(
            apply(
                "column = \"c\"\nop = \"generalize\"\nto = \"decade\"",
                "1984-05-02"
            ),
            "1980s"
        );
        assert_eq!(
            apply(
                "column = \"c\"\nop = \"generalize\"\nto = \"month\"",
                "1984-05-02"
            ),
            "1984-05"
        );
        assert_eq!(
            apply("column = \"c\"\nop = \"generalize\"\nbucket = 10", "37"),
            "30-39"
        );
        assert_eq!(
            apply(
                "column = \"c\"\nop = \"generalize\"\nkeep_digits = 3",
                "94107"
            ),
            "941**"
        );
        assert_eq!(
            apply("column = \"c\"\nop = \"round\"\nstep = 1000", "1500"),
            "2000"
        );
        assert_eq!(
            apply("column = \"c\"\nop = \"round\"\nstep = 0.1", "2.345"),
            "2.3"
        );
        assert!(
            op("column = \"c\"\nop = \"generalize\"\nto = \"year\"")
                .apply("May 1984")
                .is_err()
        );
        assert_eq!(
            op("column = \"c\"\nop = \"null\"").apply("x").unwrap(),
            None
        );
        assert_eq!(
            apply("column = \"c\"\nop = \"hash\"", "abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn the_csv_path_writes_what_apply_returns() {
        let rules = [
            "column = \"c\"\nop = \"hmac_token\"\nnormalize = \"email\"",
            "column = \"c\"\nop = \"hmac_token\"\nnormalize = \"digits\"\nencoding = \"hex\"\nbits = 256",
            "column = \"c\"\nop = \"hmac_token\"",
            "column = \"c\"\nop = \"hmac_token\"\nnormalize = \"none\"",
            "column = \"c\"\nop = \"mask\"\nkeep_last = 2",
        ];
        let long = "x".repeat(150) + "@Example.com";
        let values = [
            "Ana@Example.com ",
            "(212) 555-0134",
            " a  b ",
            "ÅSA@example.com",
            "",
            &long,
        ];
        for rule in rules {
            let o = op(rule);
            for v in values {
                let mut out = Vec::new();
                o.write_csv(v, &mut out).unwrap();
                let want = o.apply(v).unwrap().unwrap_or_default();
                assert_eq!(String::from_utf8(out).unwrap(), want, "{rule} {v}");
            }
        }
    }

    /// RFC 5297 appendix A.1 (AES-SIV with a 256-bit key), through the crate `Op::Siv` uses.
    #[test]
    fn rfc_5297_known_answer() {
        let key = hex::decode("fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")
            .unwrap();
        let ad = hex::decode("101112131415161718191a1b1c1d1e1f2021222324252627").unwrap();
        let plaintext = hex::decode("112233445566778899aabbccddee").unwrap();
        let mut siv = aes_siv::siv::Aes128Siv::new_from_slice(&key).unwrap();
        let out = siv.encrypt([&ad], &plaintext).unwrap();
        assert_eq!(
            hex::encode(&out),
            "85632d07c6e8f37f950acd320a2ecc9340c02b9690c4dc04daef7f6afe5c"
        );
        assert_eq!(siv.decrypt([&ad], &out).unwrap(), plaintext);
    }

    #[test]
    fn tokens_are_keyed_canonical_and_reversible_where_promised() {
        let t = "column = \"e\"\nop = \"hmac_token\"\nnormalize = \"email\"";
        assert_eq!(apply(t, " Ana@Example.com"), apply(t, "ana@example.com"));
        assert_eq!(apply(t, "ana@example.com").len(), 22);
        let p = "column = \"p\"\nop = \"hmac_token\"\nnormalize = \"phone\"";
        assert_eq!(apply(p, "(212) 555-0134"), apply(p, "+1 212 555 0134"));
        let siv = op("column = \"s\"\nop = \"deterministic_encrypt\"");
        let ct = siv.apply("912-34-5678").unwrap().unwrap();
        assert_eq!(siv.apply("912-34-5678").unwrap().unwrap(), ct);
        assert_eq!(siv.reverse(&ct).unwrap(), "912-34-5678");
        let other = op("column = \"s\"\nop = \"deterministic_encrypt\"\ndomain = \"other\"");
        assert!(other.reverse(&ct).unwrap_err().contains("authentication"));
        let none = Rules::parse(
            "r.toml",
            "format_version = 1\n[[rule]]\ncolumn = \"e\"\nop = \"hmac_token\"\n",
        )
        .unwrap();
        let e = Op::compile(&none.rules[0].0, None, Path::new("."))
            .err()
            .unwrap();
        assert!(e.contains("needs a key"), "{e}");
    }

    /// RFC 4231 test case 2, and every message length the short path takes against the
    /// `hmac` crate.
    #[test]
    fn short_hmac_is_hmac_sha256() {
        let jefe = ShortHmac::new(b"Jefe");
        let msg = b"what do ya want for nothing?";
        let mut block = [0u8; 64];
        block[..msg.len()].copy_from_slice(msg);
        assert_eq!(
            hex::encode(jefe.tag(&mut block, msg.len())),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        for key_len in [0, 1, 32, 63, 64] {
            let key: Vec<u8> = (0..key_len).map(|i| (i * 7 + 1) as u8).collect();
            let short = ShortHmac::new(&key);
            for len in 0..=SHORT_HMAC_MAX {
                let msg: Vec<u8> = (0..len).map(|i| (i * 13 + key_len) as u8).collect();
                let mut block = [0xa5u8; 64];
                block[..len].copy_from_slice(&msg);
                let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&key).unwrap();
                mac.update(&msg);
                let want: [u8; 32] = mac.finalize().into_bytes().into();
                assert_eq!(
                    short.tag(&mut block, len),
                    want,
                    "key {key_len}, message {len}"
                );
            }
        }
    }

    #[test]
    fn base64url_is_url_safe_no_pad() {
        for len in 0..=100 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 250) as u8).collect();
            let mut out = Vec::new();
            base64url(&bytes, &mut out);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                URL_SAFE_NO_PAD.encode(&bytes)
            );
        }
    }

    fn normalizations() -> [Normalize; 5] {
        [
            Normalize::None,
            Normalize::Text,
            Normalize::Email,
            Normalize::Digits,
            Normalize::Phone,
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]

        /// The one-block canonical form is the canonical form, and is refused only for
        /// non-ASCII values and forms longer than one block takes.
        #[test]
        fn short_canonical_is_canonical(
            value in "[ \t\n\r\x0b\x0ca-zA-Z0-9@.()+-]{0,70}|.{0,12}",
        ) {
            for normalize in normalizations() {
                let mut buf = String::new();
                let want = canonical(&value, normalize, &mut buf).to_vec();
                let mut block = [0u8; 64];
                match short_canonical(value.as_bytes(), normalize, &mut block) {
                    Some(n) => proptest::prop_assert_eq!(&block[..n], &want[..]),
                    None => proptest::prop_assert!(
                        !value.is_ascii() || want.len() > SHORT_HMAC_MAX || want.is_empty(),
                        "{:?} {:?}", normalize, value
                    ),
                }
            }
        }

        /// Tokens from a field's bytes are the tokens `apply` makes, for every
        /// normalisation and encoding; bytes that are not UTF-8 are an error.
        #[test]
        fn tokens_from_bytes_are_the_tokens_of_apply(
            value in "[ \ta-zA-Z0-9@.()+-]{0,80}|.{0,20}",
            junk in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..8),
        ) {
            for normalize in ["none", "text", "email", "digits", "phone"] {
                for encoding in ["base64url", "hex"] {
                    let o = op(&format!(
                        "column = \"c\"\nop = \"hmac_token\"\nnormalize = \"{normalize}\"\nencoding = \"{encoding}\""
                    ));
                    let want = o.apply(&value).unwrap().unwrap_or_default();
                    let (mut a, mut b) = (Vec::new(), Vec::new());
                    o.write_csv_bytes(value.as_bytes(), &mut a).unwrap();
                    o.write_csv(&value, &mut b).unwrap();
                    proptest::prop_assert_eq!(String::from_utf8(a).unwrap(), want.clone());
                    proptest::prop_assert_eq!(String::from_utf8(b).unwrap(), want);
                    let mut bytes = value.as_bytes().to_vec();
                    bytes.extend_from_slice(&junk);
                    let mut out = Vec::new();
                    match std::str::from_utf8(&bytes) {
                        Ok(text) => {
                            o.write_csv_bytes(&bytes, &mut out).unwrap();
                            let want = o.apply(text).unwrap().unwrap_or_default();
                            proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), want);
                        }
                        Err(_) => proptest::prop_assert!(o.write_csv_bytes(&bytes, &mut out).is_err()),
                    }
                }
            }
        }
    }
}
