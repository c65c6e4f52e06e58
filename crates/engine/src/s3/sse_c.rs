//! SSE-C: server-side encryption with a key the customer sends on every request. The three
//! `x-amz-server-side-encryption-customer-*` headers are checked in AWS's order (see
//! `aws-semantics.md` §2.5), only over HTTPS; the key encrypts the object and is then
//! forgotten: the engine keeps a randomly salted HMAC of it to recognise the right key later.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use rand::RngCore;
use s3s::{S3Error, S3ErrorCode, S3Result};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// A validated customer key.
pub struct CustomerKey {
    /// The 256-bit key.
    pub key: Zeroizing<Vec<u8>>,
    /// base64(MD5(key)), echoed in responses.
    pub md5: String,
}

/// The SSE-C headers of a request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Headers<'a> {
    /// `x-amz-server-side-encryption-customer-algorithm`.
    pub algorithm: Option<&'a str>,
    /// `x-amz-server-side-encryption-customer-key`.
    pub key: Option<&'a str>,
    /// `x-amz-server-side-encryption-customer-key-MD5`.
    pub key_md5: Option<&'a str>,
    /// `x-amz-server-side-encryption`, which SSE-C excludes.
    pub sse: Option<&'a str>,
}

fn invalid(message: &'static str) -> S3Error {
    S3Error::with_message(S3ErrorCode::InvalidArgument, message)
}

/// The customer key of a request, `None` when it carries no SSE-C header.
pub fn from_headers(h: Headers<'_>, secure: bool) -> S3Result<Option<CustomerKey>> {
    if h.algorithm.is_none() && h.key.is_none() && h.key_md5.is_none() {
        return Ok(None);
    }
    if !secure {
        return Err(invalid(
            "Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.",
        ));
    }
    if h.sse.is_some() {
        return Err(invalid(
            "Server Side Encryption with Customer provided key is incompatible with the encryption method specified",
        ));
    }
    let (algorithm, key) = match (h.algorithm, h.key) {
        (Some(a), Some(k)) => (a, k),
        (None, _) => {
            return Err(invalid(
                "Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.",
            ));
        }
        (Some(_), None) => {
            return Err(invalid(
                "Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.",
            ));
        }
    };
    if algorithm != "AES256" {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidEncryptionAlgorithmError,
            "The Encryption request you specified is not valid. Supported value: AES256.",
        ));
    }
    let key = Zeroizing::new(STANDARD.decode(key.as_bytes()).unwrap_or_default());
    if key.len() != 32 {
        return Err(invalid(
            "The secret key was invalid for the specified algorithm.",
        ));
    }
    let md5 = STANDARD.encode(Md5::digest(&key[..]));
    if h.key_md5.is_some_and(|given| given != md5) {
        return Err(invalid(
            "The calculated MD5 hash of the key did not match the hash that was provided.",
        ));
    }
    Ok(Some(CustomerKey { key, md5 }))
}

fn hmac(salt: &[u8], key: &[u8]) -> Vec<u8> {
    let mut mac =
        <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(salt).expect("HMAC takes any key length");
    mac.update(key);
    mac.finalize().into_bytes().to_vec()
}

/// A random salt and the salted HMAC of the key, kept instead of the key.
pub fn fingerprint(key: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut salt = vec![0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let mac = hmac(&salt, key);
    (salt, mac)
}

/// Whether `key` is the one the fingerprint was made from (constant time).
pub fn matches(key: &[u8], salt: &[u8], mac: &[u8]) -> bool {
    hmac(salt, key).ct_eq(mac).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers<'a>(
        algorithm: Option<&'a str>,
        key: Option<&'a str>,
        md5: Option<&'a str>,
    ) -> Headers<'a> {
        Headers {
            algorithm,
            key,
            key_md5: md5,
            sse: None,
        }
    }

    #[test]
    fn validation_follows_the_aws_order() {
        let key = STANDARD.encode([7u8; 32]);
        let md5 = STANDARD.encode(Md5::digest([7u8; 32]));
        let code =
            |r: S3Result<Option<CustomerKey>>| r.err().map(|e| e.code().as_str().to_string());
        assert!(
            from_headers(headers(None, None, None), false)
                .unwrap()
                .is_none()
        );
        assert_eq!(
            code(from_headers(
                headers(Some("AES256"), Some(&key), Some(&md5)),
                false
            ))
            .as_deref(),
            Some("InvalidArgument")
        );
        let mut with_sse = headers(Some("AES256"), Some(&key), Some(&md5));
        with_sse.sse = Some("AES256");
        assert_eq!(
            code(from_headers(with_sse, true)).as_deref(),
            Some("InvalidArgument")
        );
        assert_eq!(
            code(from_headers(headers(None, Some(&key), None), true)).as_deref(),
            Some("InvalidArgument")
        );
        assert_eq!(
            code(from_headers(headers(Some("AES256"), None, None), true)).as_deref(),
            Some("InvalidArgument")
        );
        assert_eq!(
            code(from_headers(
                headers(Some("AES128"), Some(&key), None),
                true
            ))
            .as_deref(),
            Some("InvalidEncryptionAlgorithmError")
        );
        let short = STANDARD.encode([7u8; 16]);
        assert_eq!(
            code(from_headers(
                headers(Some("AES256"), Some(&short), None),
                true
            ))
            .as_deref(),
            Some("InvalidArgument")
        );
        assert_eq!(
            code(from_headers(
                headers(Some("AES256"), Some(&key), Some("AAAA")),
                true
            ))
            .as_deref(),
            Some("InvalidArgument")
        );
        let ok = from_headers(headers(Some("AES256"), Some(&key), Some(&md5)), true)
            .unwrap()
            .unwrap();
        assert_eq!(ok.md5, md5);
    }

    #[test]
    fn the_fingerprint_recognises_only_its_key() {
        let (salt, mac) = fingerprint(&[1u8; 32]);
        assert!(matches(&[1u8; 32], &salt, &mac));
        assert!(!matches(&[2u8; 32], &salt, &mac));
        let (salt2, mac2) = fingerprint(&[1u8; 32]);
        assert_ne!((salt, mac), (salt2, mac2), "salts are random");
    }
}
