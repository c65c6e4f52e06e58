//! Asymmetric keys: `CreateKey` with `KeySpec` `RSA_2048`, `RSA_3072` or `RSA_4096`
//! (`ENCRYPT_DECRYPT` or `SIGN_VERIFY`) and `ECC_NIST_P256` or `ECC_NIST_P384` (`SIGN_VERIFY`)
//! gets a fresh key pair from RustCrypto's `rsa`, `p256` and `p384`; the private key is kept as
//! PKCS #8 DER inside the key's material, sealed at rest with the rest of the state and zeroised
//! when dropped. `GetPublicKey` returns the DER SubjectPublicKeyInfo; `Sign` and `Verify` take
//! `RAW` messages (1 to 4,096 bytes, hashed here) or `DIGEST`s of the algorithm's length, with
//! RSASSA-PSS (salt as long as the digest), RSASSA-PKCS1-v1_5, and ECDSA with DER signatures;
//! RSA `Encrypt` and `Decrypt` use RSAES-OAEP with SHA-1 or SHA-256 (the same hash for MGF1), on
//! raw RSA ciphertexts as AWS returns them.
//!
//! As AWS: the key usage is checked before the algorithm, the algorithm against the key spec
//! (`InvalidKeyUsageException` "Algorithm X is incompatible with key spec Y."), a digest of the
//! wrong length is "Digest is invalid length for algorithm X.", an encryption context with an
//! asymmetric algorithm is refused, plaintexts are limited to the OAEP capacity of the key,
//! a signature that does not verify is `KMSInvalidSignatureException`, and symmetric-only
//! operations (data keys, rotation) refuse asymmetric keys. Asymmetric keys have `AWS_KMS`
//! origin only here (no imported material), and `ReEncrypt` to or from them is not offered.
//! Messages not seen recorded anywhere (`GetPublicKey` on a key without a public key, a missing
//! `KeyId` on an asymmetric `Decrypt`) are worded in the same style and marked so in the code.

use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use std::convert::Infallible;

use rsa::Generate;
use rsa::rand_core::{TryCryptoRng, TryRng};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::*;

/// Every value of AWS's `SigningAlgorithmSpec`, in the model's order (for its enum message).
const SIGNING_ENUM: &[&str] = &[
    "RSASSA_PSS_SHA_256",
    "RSASSA_PSS_SHA_384",
    "RSASSA_PSS_SHA_512",
    "RSASSA_PKCS1_V1_5_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_384",
    "RSASSA_PKCS1_V1_5_SHA_512",
    "ECDSA_SHA_256",
    "ECDSA_SHA_384",
    "ECDSA_SHA_512",
    "ED25519_SHA_512",
    "ED25519_PH_SHA_512",
    "SM2DSA",
    "ML_DSA_SHAKE_256",
];

/// The signing algorithms of RSA keys, in the order AWS lists them.
const RSA_SIGNING: &[&str] = &[
    "RSASSA_PKCS1_V1_5_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_384",
    "RSASSA_PKCS1_V1_5_SHA_512",
    "RSASSA_PSS_SHA_256",
    "RSASSA_PSS_SHA_384",
    "RSASSA_PSS_SHA_512",
];

/// Every value of AWS's `EncryptionAlgorithmSpec`.
const ENCRYPTION_ENUM: &[&str] = &[
    "SYMMETRIC_DEFAULT",
    "RSAES_OAEP_SHA_1",
    "RSAES_OAEP_SHA_256",
    "SM2PKE",
];

/// The encryption algorithms of RSA keys.
const RSA_ENCRYPTION: &[&str] = &["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"];

/// The longest `RAW` message Sign and Verify take.
pub const MAX_MESSAGE: usize = 4096;

/// The modulus length in bits of an RSA key spec.
fn rsa_bits(spec: &str) -> Option<usize> {
    match spec {
        "RSA_2048" => Some(2048),
        "RSA_3072" => Some(3072),
        "RSA_4096" => Some(4096),
        _ => None,
    }
}

/// True for the asymmetric key specs the engine models.
pub(super) fn is_asymmetric(spec: &str) -> bool {
    rsa_bits(spec).is_some() || matches!(spec, "ECC_NIST_P256" | "ECC_NIST_P384")
}

/// The key usages an asymmetric spec allows, or `None` for other specs.
pub(super) fn usages(spec: &str) -> Option<&'static [&'static str]> {
    if rsa_bits(spec).is_some() {
        Some(&[model::ENCRYPT_DECRYPT, model::SIGN_VERIFY])
    } else if is_asymmetric(spec) {
        Some(&[model::SIGN_VERIFY])
    } else {
        None
    }
}

/// The signing algorithms of a key, as DescribeKey and GetPublicKey list them.
pub(super) fn signing_algorithms(spec: &str, usage: &str) -> Option<Vec<String>> {
    if usage != model::SIGN_VERIFY {
        return None;
    }
    let list: &[&str] = match spec {
        "ECC_NIST_P256" => &["ECDSA_SHA_256"],
        "ECC_NIST_P384" => &["ECDSA_SHA_384"],
        _ if rsa_bits(spec).is_some() => RSA_SIGNING,
        _ => return None,
    };
    Some(list.iter().map(|s| s.to_string()).collect())
}

/// The encryption algorithms of a key, as DescribeKey and GetPublicKey list them.
pub(super) fn encryption_algorithms(spec: &str, usage: &str) -> Option<Vec<String>> {
    if usage != model::ENCRYPT_DECRYPT {
        return None;
    }
    let list: &[&str] = if rsa_bits(spec).is_some() {
        RSA_ENCRYPTION
    } else {
        &["SYMMETRIC_DEFAULT"]
    };
    Some(list.iter().map(|s| s.to_string()).collect())
}

/// The engine's random generator (`rand`'s thread generator, seeded from the OS, as for all
/// key material) under the `rand_core` traits RustCrypto's key generation takes.
struct EngineRng;

impl TryRng for EngineRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(rand::rng().next_u32())
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(rand::rng().next_u64())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        rand::rng().fill_bytes(dst);
        Ok(())
    }
}

impl TryCryptoRng for EngineRng {}

fn os_rng() -> EngineRng {
    EngineRng
}

fn secret(der: &[u8]) -> model::SecretBytes {
    model::SecretBytes(Zeroizing::new(der.to_vec()))
}

/// A fresh private key for an asymmetric spec, as PKCS #8 DER; `None` for other specs. RSA
/// generation is the slow part of CreateKey and runs on the request's thread (the asymmetric
/// test module, RSA_4096 included, takes about 4 s in a debug build).
pub(super) fn generate(spec: &str) -> Result<Option<model::PrivateKeyMaterial>, KmsError> {
    let failed = |e: &dyn std::fmt::Display| {
        KmsError::internal(format!("cannot generate the {spec} key pair: {e}"))
    };
    let der = if let Some(bits) = rsa_bits(spec) {
        let key = rsa::PrivateKey::new(&mut os_rng(), bits).map_err(|e| failed(&e))?;
        let doc = key.to_pkcs8_der().map_err(|e| failed(&e))?;
        secret(doc.as_bytes())
    } else if spec == "ECC_NIST_P256" {
        let key = p256::ecdsa::SigningKey::generate_from_rng(&mut os_rng());
        let doc = key.to_pkcs8_der().map_err(|e| failed(&e))?;
        secret(doc.as_bytes())
    } else if spec == "ECC_NIST_P384" {
        let key = p384::ecdsa::SigningKey::generate_from_rng(&mut os_rng());
        let doc = key.to_pkcs8_der().map_err(|e| failed(&e))?;
        secret(doc.as_bytes())
    } else {
        return Ok(None);
    };
    Ok(Some(model::PrivateKeyMaterial {
        spec: spec.to_string(),
        pkcs8: der,
    }))
}

/// A private key read back from its PKCS #8 DER.
enum Private {
    Rsa(Box<rsa::PrivateKey>),
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
}

impl Private {
    fn load(material: &model::PrivateKeyMaterial) -> Result<Private, KmsError> {
        let der = material.pkcs8.0.as_slice();
        let bad = |e: &dyn std::fmt::Display| {
            KmsError::internal(format!(
                "the stored {} key does not load: {e}",
                material.spec
            ))
        };
        Ok(match material.spec.as_str() {
            "ECC_NIST_P256" => {
                Private::P256(p256::ecdsa::SigningKey::from_pkcs8_der(der).map_err(|e| bad(&e))?)
            }
            "ECC_NIST_P384" => {
                Private::P384(p384::ecdsa::SigningKey::from_pkcs8_der(der).map_err(|e| bad(&e))?)
            }
            _ => Private::Rsa(Box::new(
                rsa::PrivateKey::from_pkcs8_der(der).map_err(|e| bad(&e))?,
            )),
        })
    }

    fn public_der(&self) -> Result<Vec<u8>, KmsError> {
        let doc = match self {
            Private::Rsa(k) => k.to_public_key().to_public_key_der(),
            Private::P256(k) => k.verifying_key().to_public_key_der(),
            Private::P384(k) => k.verifying_key().to_public_key_der(),
        };
        doc.map(|d| d.into_vec())
            .map_err(|e| KmsError::internal(format!("cannot encode the public key: {e}")))
    }
}

/// The digest length of a signing algorithm.
fn digest_len(algorithm: &str) -> usize {
    if algorithm.ends_with("256") {
        32
    } else if algorithm.ends_with("384") {
        48
    } else {
        64
    }
}

/// The message digested as the algorithm says (`RAW`), or the digest as given (`DIGEST`).
fn digest_of(algorithm: &str, message: &[u8], raw: bool) -> Vec<u8> {
    if !raw {
        return message.to_vec();
    }
    match digest_len(algorithm) {
        32 => Sha256::digest(message).to_vec(),
        48 => Sha384::digest(message).to_vec(),
        _ => Sha512::digest(message).to_vec(),
    }
}

fn sign_digest(key: &Private, algorithm: &str, digest: &[u8]) -> Result<Vec<u8>, KmsError> {
    use p256::ecdsa::signature::hazmat::PrehashSigner;
    let failed = |e: &dyn std::fmt::Display| KmsError::internal(format!("signing failed: {e}"));
    let pss = algorithm.starts_with("RSASSA_PSS");
    match key {
        Private::Rsa(k) => match (pss, digest.len()) {
            (true, 32) => k.pss_sign_prehash::<Sha256>(digest),
            (true, 48) => k.pss_sign_prehash::<Sha384>(digest),
            (true, _) => k.pss_sign_prehash::<Sha512>(digest),
            (false, 32) => k.pkcs1v15_sign_prehash::<Sha256>(digest),
            (false, 48) => k.pkcs1v15_sign_prehash::<Sha384>(digest),
            (false, _) => k.pkcs1v15_sign_prehash::<Sha512>(digest),
        }
        .map_err(|e| failed(&e)),
        Private::P256(k) => {
            let sig: p256::ecdsa::Signature = k.sign_prehash(digest).map_err(|e| failed(&e))?;
            Ok(sig.to_der().as_bytes().to_vec())
        }
        Private::P384(k) => {
            let sig: p384::ecdsa::Signature = k.sign_prehash(digest).map_err(|e| failed(&e))?;
            Ok(sig.to_der().as_bytes().to_vec())
        }
    }
}

fn verify_digest(key: &Private, algorithm: &str, digest: &[u8], signature: &[u8]) -> bool {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    let pss = algorithm.starts_with("RSASSA_PSS");
    match key {
        Private::Rsa(k) => {
            let public = k.as_public_key();
            match (pss, digest.len()) {
                (true, 32) => public.pss_verify_prehash::<Sha256>(digest, signature),
                (true, 48) => public.pss_verify_prehash::<Sha384>(digest, signature),
                (true, _) => public.pss_verify_prehash::<Sha512>(digest, signature),
                (false, 32) => public.pkcs1v15_verify_prehash::<Sha256>(digest, signature),
                (false, 48) => public.pkcs1v15_verify_prehash::<Sha384>(digest, signature),
                (false, _) => public.pkcs1v15_verify_prehash::<Sha512>(digest, signature),
            }
            .is_ok()
        }
        Private::P256(k) => p256::ecdsa::Signature::from_der(signature)
            .is_ok_and(|sig| k.verifying_key().verify_prehash(digest, &sig).is_ok()),
        Private::P384(k) => p384::ecdsa::Signature::from_der(signature)
            .is_ok_and(|sig| k.verifying_key().verify_prehash(digest, &sig).is_ok()),
    }
}

fn enum_error(value: &str, member: &str, values: &[&str]) -> KmsError {
    KmsError::validation(format!(
        "1 validation error detected: Value '{}' at '{member}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
        value.chars().take(64).collect::<String>(),
        values.join(", ")
    ))
}

fn incompatible(algorithm: &str, spec: &str) -> KmsError {
    KmsError::invalid_key_usage(format!(
        "Algorithm {algorithm} is incompatible with key spec {spec}."
    ))
}

/// The request checks of Sign and Verify that need no key: the algorithm and message type are
/// known values and the message is 1 to 4,096 bytes. Returns whether the message is `RAW`.
fn check_sign_request(
    algorithm: &str,
    message_type: Option<&str>,
    message: &[u8],
) -> Result<bool, KmsError> {
    if !SIGNING_ENUM.contains(&algorithm) {
        return Err(enum_error(algorithm, "signingAlgorithm", SIGNING_ENUM));
    }
    let raw = match message_type.unwrap_or("RAW") {
        "RAW" => true,
        "DIGEST" => false,
        "EXTERNAL_MU" => {
            return Err(KmsError::validation(format!(
                "Message type EXTERNAL_MU is incompatible with algorithm {algorithm}."
            )));
        }
        other => {
            return Err(enum_error(
                other,
                "messageType",
                &["RAW", "DIGEST", "EXTERNAL_MU"],
            ));
        }
    };
    if message.is_empty() {
        return Err(KmsError::validation(
            "1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ));
    }
    if message.len() > MAX_MESSAGE {
        return Err(KmsError::validation(format!(
            "1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length less than or equal to {MAX_MESSAGE}"
        )));
    }
    Ok(raw)
}

/// Checks `algorithm` against the key's spec and, for a DIGEST, the digest's length.
fn check_algorithm(
    material: &model::PrivateKeyMaterial,
    algorithm: &str,
    message: &[u8],
    raw: bool,
) -> Result<(), KmsError> {
    let spec = material.spec.as_str();
    let fits = match spec {
        "ECC_NIST_P256" => algorithm == "ECDSA_SHA_256",
        "ECC_NIST_P384" => algorithm == "ECDSA_SHA_384",
        _ => RSA_SIGNING.contains(&algorithm),
    };
    if !fits {
        return Err(incompatible(algorithm, spec));
    }
    if !raw && message.len() != digest_len(algorithm) {
        return Err(KmsError::validation(format!(
            "Digest is invalid length for algorithm {algorithm}."
        )));
    }
    Ok(())
}

/// The most plaintext RSAES-OAEP takes: the modulus length less twice the hash and 2 bytes.
fn oaep_capacity(spec: &str, algorithm: &str) -> usize {
    let modulus = rsa_bits(spec).unwrap_or(2048) / 8;
    let hash = if algorithm == "RSAES_OAEP_SHA_1" {
        20
    } else {
        32
    };
    modulus - 2 * hash - 2
}

/// The request checks of an asymmetric Encrypt or Decrypt that need no key.
fn check_encryption_request(
    algorithm: &str,
    ec: Option<&EncryptionContext>,
) -> Result<(), KmsError> {
    if !ENCRYPTION_ENUM.contains(&algorithm) {
        return Err(enum_error(
            algorithm,
            "encryptionAlgorithm",
            ENCRYPTION_ENUM,
        ));
    }
    if ec.is_some_and(|e| !e.is_empty()) {
        return Err(KmsError::validation(
            "EncryptionContext is not supported when encrypting/decrypting with asymmetric CMKs.",
        ));
    }
    Ok(())
}

/// The private key of a key found for an operation, or the error AWS gives when the key has
/// none (a symmetric encryption key named with an RSA algorithm).
fn private_of<'k>(
    key: &'k UsableKey,
    algorithm: &str,
) -> Result<&'k model::PrivateKeyMaterial, KmsError> {
    key.material
        .private_key
        .as_ref()
        .ok_or_else(|| incompatible(algorithm, model::SYMMETRIC_DEFAULT))
}

/// The error of a symmetric-only operation (`action`) on an asymmetric key, or `Ok`.
pub(super) fn refuse_asymmetric(key: &UsableKey, action: &str) -> Result<(), KmsError> {
    let Some(private) = &key.material.private_key else {
        return Ok(());
    };
    Err(match action {
        "kms:GenerateDataKey" | "kms:GenerateDataKeyWithoutPlaintext" => {
            KmsError::invalid_key_usage("You cannot generate a data key with an asymmetric CMK")
        }
        _ => incompatible("SYMMETRIC_DEFAULT", &private.spec),
    })
}

impl Kms {
    /// Sign.
    pub fn sign(&self, call: &mut Call, input: SignInput) -> Result<SignOutput, KmsError> {
        let raw = check_sign_request(
            &input.signing_algorithm,
            input.message_type.as_deref(),
            &input.message,
        )?;
        self.check_grant_tokens(input.grant_tokens.as_deref())?;
        let key = self.signing_key(
            call,
            &input.key_id,
            "kms:Sign",
            &input.signing_algorithm,
            raw,
        )?;
        let private = private_of(&key, &input.signing_algorithm)?;
        check_algorithm(private, &input.signing_algorithm, &input.message, raw)?;
        if input.dry_run == Some(true) {
            return Err(KmsError::dry_run());
        }
        let digest = digest_of(&input.signing_algorithm, &input.message, raw);
        let signature = sign_digest(&Private::load(private)?, &input.signing_algorithm, &digest)?;
        Ok(SignOutput {
            key_id: key.arn,
            signature: Zeroizing::new(signature),
            signing_algorithm: input.signing_algorithm,
        })
    }

    /// Verify: `SignatureValid: true`, or `KMSInvalidSignatureException`.
    pub fn verify(&self, call: &mut Call, input: VerifyInput) -> Result<VerifyOutput, KmsError> {
        let raw = check_sign_request(
            &input.signing_algorithm,
            input.message_type.as_deref(),
            &input.message,
        )?;
        if input.signature.is_empty() || input.signature.len() > 6144 {
            return Err(KmsError::validation(
                "1 validation error detected: Value at 'signature' failed to satisfy constraint: Member must have length between 1 and 6144",
            ));
        }
        self.check_grant_tokens(input.grant_tokens.as_deref())?;
        let key = self.signing_key(
            call,
            &input.key_id,
            "kms:Verify",
            &input.signing_algorithm,
            raw,
        )?;
        let private = private_of(&key, &input.signing_algorithm)?;
        check_algorithm(private, &input.signing_algorithm, &input.message, raw)?;
        if input.dry_run == Some(true) {
            return Err(KmsError::dry_run());
        }
        let digest = digest_of(&input.signing_algorithm, &input.message, raw);
        let loaded = Private::load(private)?;
        if !verify_digest(&loaded, &input.signing_algorithm, &digest, &input.signature) {
            return Err(KmsError::invalid_signature());
        }
        Ok(VerifyOutput {
            key_id: key.arn,
            signature_valid: true,
            signing_algorithm: input.signing_algorithm,
        })
    }

    /// Finds, authorizes and state-checks a SIGN_VERIFY key for Sign or Verify.
    fn signing_key(
        &self,
        call: &mut Call,
        key_id: &str,
        action: &str,
        algorithm: &str,
        raw: bool,
    ) -> Result<UsableKey, KmsError> {
        let algorithm = algorithm.to_string();
        let message_type = if raw { "RAW" } else { "DIGEST" };
        self.usable_key(
            call,
            key_id,
            action,
            model::SIGN_VERIFY,
            None,
            &move |ctx| {
                ctx.set("kms:SigningAlgorithm", algorithm.clone());
                ctx.set("kms:MessageType", message_type);
            },
        )
    }

    /// GetPublicKey: the DER SubjectPublicKeyInfo of an asymmetric key, with its spec, usage
    /// and algorithms.
    pub fn get_public_key(
        &self,
        call: &mut Call,
        input: KeyIdInput,
    ) -> Result<GetPublicKeyOutput, KmsError> {
        self.check_grant_tokens(input.grant_tokens.as_deref())?;
        let (arn, spec, usage, private) = self.with_key(
            call,
            &input.key_id,
            KeyForm::Any,
            Access::new("kms:GetPublicKey", CrossAccount::Allowed, StateRule::Crypto),
            |k| {
                let private = k
                    .current_material()
                    .and_then(|m| m.private_key.clone())
                    .filter(|_| is_asymmetric(&k.key_spec));
                Ok((
                    k.arn.clone(),
                    k.key_spec.clone(),
                    k.key_usage.clone(),
                    private,
                ))
            },
        )?;
        // Not seen recorded: AWS documents UnsupportedOperationException for keys that have
        // no public key; the message follows the key-usage messages.
        let Some(private) = private else {
            return Err(KmsError::unsupported(format!(
                "{arn} key spec is {spec} which is not valid for GetPublicKey."
            )));
        };
        let public_key = Private::load(&private)?.public_der()?;
        Ok(GetPublicKeyOutput {
            key_id: arn,
            public_key: Zeroizing::new(public_key),
            customer_master_key_spec: spec.clone(),
            encryption_algorithms: encryption_algorithms(&spec, &usage),
            signing_algorithms: signing_algorithms(&spec, &usage),
            key_spec: spec,
            key_usage: usage,
        })
    }

    /// Encrypt with an RSA key and `RSAES_OAEP_SHA_1` or `RSAES_OAEP_SHA_256`.
    pub(super) fn encrypt_asymmetric(
        &self,
        call: &mut Call,
        input: EncryptInput,
        algorithm: &str,
    ) -> Result<EncryptOutput, KmsError> {
        check_encryption_request(algorithm, input.encryption_context.as_ref())?;
        self.check_grant_tokens(input.grant_tokens.as_deref())?;
        let owned = algorithm.to_string();
        let key = self.usable_key(
            call,
            &input.key_id,
            "kms:Encrypt",
            model::ENCRYPT_DECRYPT,
            None,
            &move |ctx| ctx.set("kms:EncryptionAlgorithm", owned.clone()),
        )?;
        let private = private_of(&key, algorithm)?;
        if !RSA_ENCRYPTION.contains(&algorithm) {
            return Err(incompatible(algorithm, &private.spec));
        }
        let capacity = oaep_capacity(&private.spec, algorithm);
        if input.plaintext.len() > capacity {
            return Err(KmsError::validation(format!(
                "Algorithm {algorithm} and key spec {} cannot encrypt data larger than {capacity} bytes.",
                private.spec
            )));
        }
        if input.dry_run == Some(true) {
            return Err(KmsError::dry_run());
        }
        let Private::Rsa(rsa_key) = Private::load(private)? else {
            return Err(incompatible(algorithm, &private.spec));
        };
        let public = rsa_key.as_public_key();
        let ciphertext = if algorithm == "RSAES_OAEP_SHA_1" {
            public.oaep_encrypt::<Sha1>(&input.plaintext)
        } else {
            public.oaep_encrypt::<Sha256>(&input.plaintext)
        }
        .map_err(|e| KmsError::internal(format!("RSA encryption failed: {e}")))?;
        Ok(EncryptOutput {
            ciphertext_blob: Zeroizing::new(ciphertext),
            key_id: key.arn,
            encryption_algorithm: algorithm.to_string(),
        })
    }

    /// Decrypt a raw RSA ciphertext with the RSA key named by `KeyId`.
    pub(super) fn decrypt_asymmetric(
        &self,
        call: &mut Call,
        input: DecryptInput,
        algorithm: &str,
    ) -> Result<DecryptOutput, KmsError> {
        check_encryption_request(algorithm, input.encryption_context.as_ref())?;
        self.check_grant_tokens(input.grant_tokens.as_deref())?;
        // Not seen recorded: AWS requires KeyId for asymmetric ciphertexts.
        let key_id = input
            .key_id
            .as_deref()
            .ok_or_else(|| KmsError::validation("KeyId must not be null"))?;
        let owned = algorithm.to_string();
        let key = self.usable_key(
            call,
            key_id,
            "kms:Decrypt",
            model::ENCRYPT_DECRYPT,
            None,
            &move |ctx| ctx.set("kms:EncryptionAlgorithm", owned.clone()),
        )?;
        let private = private_of(&key, algorithm)?;
        if !RSA_ENCRYPTION.contains(&algorithm) {
            return Err(incompatible(algorithm, &private.spec));
        }
        if input.dry_run == Some(true) {
            return Err(KmsError::dry_run());
        }
        let Private::Rsa(rsa_key) = Private::load(private)? else {
            return Err(incompatible(algorithm, &private.spec));
        };
        let plaintext = if algorithm == "RSAES_OAEP_SHA_1" {
            rsa_key.oaep_decrypt::<Sha1>(&input.ciphertext_blob)
        } else {
            rsa_key.oaep_decrypt::<Sha256>(&input.ciphertext_blob)
        }
        .map_err(|_| KmsError::invalid_ciphertext())?;
        Ok(DecryptOutput {
            key_id: key.arn,
            plaintext: Zeroizing::new(plaintext),
            encryption_algorithm: algorithm.to_string(),
            key_material_id: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oaep_capacities_are_the_ones_aws_documents() {
        let cases = [
            ("RSA_2048", 214, 190),
            ("RSA_3072", 342, 318),
            ("RSA_4096", 470, 446),
        ];
        for (spec, sha1, sha256) in cases {
            assert_eq!(oaep_capacity(spec, "RSAES_OAEP_SHA_1"), sha1, "{spec}");
            assert_eq!(oaep_capacity(spec, "RSAES_OAEP_SHA_256"), sha256, "{spec}");
        }
    }

    #[test]
    fn ecc_keys_sign_and_verify_and_reject_other_digests() {
        let material = generate("ECC_NIST_P256").unwrap().unwrap();
        let key = Private::load(&material).unwrap();
        let digest = digest_of("ECDSA_SHA_256", b"hello", true);
        let sig = sign_digest(&key, "ECDSA_SHA_256", &digest).unwrap();
        assert!(verify_digest(&key, "ECDSA_SHA_256", &digest, &sig));
        let other = digest_of("ECDSA_SHA_256", b"hellp", true);
        assert!(!verify_digest(&key, "ECDSA_SHA_256", &other, &sig));
        assert!(!verify_digest(&key, "ECDSA_SHA_256", &digest, b"not DER"));
        let err = check_algorithm(&material, "ECDSA_SHA_384", b"x", true).unwrap_err();
        assert_eq!(
            err.message,
            "Algorithm ECDSA_SHA_384 is incompatible with key spec ECC_NIST_P256."
        );
        let err = check_algorithm(&material, "ECDSA_SHA_256", &[0; 20], false).unwrap_err();
        assert_eq!(
            err.message,
            "Digest is invalid length for algorithm ECDSA_SHA_256."
        );
    }
}
