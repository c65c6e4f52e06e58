//! HMAC keys: `CreateKey` with `KeySpec` `HMAC_224`, `HMAC_256`, `HMAC_384` or `HMAC_512` and
//! `KeyUsage` `GENERATE_VERIFY_MAC` gets random key material of the spec's length (28 to 64
//! bytes), sealed at rest with the key's other material; `GenerateMac` and `VerifyMac`
//! compute RFC 2104 HMACs with RustCrypto's `hmac` and `sha2`. As AWS: each key supports
//! exactly one algorithm (`HMAC_SHA_<bits>` of its spec), HMAC keys do nothing else and
//! nothing else makes MACs (`InvalidKeyUsageException`), messages are 1 to 4,096 bytes, and a
//! MAC that does not verify is `KMSInvalidMacException`. HMAC keys do not rotate. The message
//! of an algorithm that does not match the key's spec follows LocalStack's, since AWS's exact
//! text is not in the reference.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Sha224, Sha256, Sha384, Sha512};

use super::*;

/// The MAC algorithms AWS lists, in its order.
const ALGORITHMS: &[&str] = &[
    "HMAC_SHA_224",
    "HMAC_SHA_256",
    "HMAC_SHA_384",
    "HMAC_SHA_512",
];

/// The longest message GenerateMac and VerifyMac take.
pub const MAX_MESSAGE: usize = 4096;

/// The key length in bytes of an HMAC key spec, or `None` for other specs.
pub(super) fn key_bytes(spec: &str) -> Option<usize> {
    match spec {
        "HMAC_224" => Some(28),
        "HMAC_256" => Some(32),
        "HMAC_384" => Some(48),
        "HMAC_512" => Some(64),
        _ => None,
    }
}

/// The one MAC algorithm a key spec supports.
pub(super) fn algorithm_of(spec: &str) -> Option<&'static str> {
    match spec {
        "HMAC_224" => Some("HMAC_SHA_224"),
        "HMAC_256" => Some("HMAC_SHA_256"),
        "HMAC_384" => Some("HMAC_SHA_384"),
        "HMAC_512" => Some("HMAC_SHA_512"),
        _ => None,
    }
}

/// Adds fresh HMAC key material of `len` bytes, when the key is an HMAC key.
pub(super) fn with_mac_key(mut material: KeyMaterial, len: Option<usize>) -> KeyMaterial {
    if let Some(len) = len {
        let mut bytes = Zeroizing::new(vec![0u8; len]);
        rand::rng().fill_bytes(bytes.as_mut_slice());
        material.mac_key = Some(model::SecretBytes(bytes));
    }
    material
}

fn mac_with<M: Mac + KeyInit>(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = <M as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

fn compute(algorithm: &str, key: &[u8], message: &[u8]) -> Vec<u8> {
    match algorithm {
        "HMAC_SHA_224" => mac_with::<Hmac<Sha224>>(key, message),
        "HMAC_SHA_256" => mac_with::<Hmac<Sha256>>(key, message),
        "HMAC_SHA_384" => mac_with::<Hmac<Sha384>>(key, message),
        _ => mac_with::<Hmac<Sha512>>(key, message),
    }
}

fn check_request(algorithm: &str, message: &[u8]) -> Result<(), KmsError> {
    if !ALGORITHMS.contains(&algorithm) {
        return Err(KmsError::validation(format!(
            "1 validation error detected: Value '{}' at 'macAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
            algorithm.chars().take(64).collect::<String>(),
            ALGORITHMS.join(", ")
        )));
    }
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
    Ok(())
}

impl Kms {
    /// Finds, authorizes and checks an HMAC key for `algorithm`; returns the key and its
    /// HMAC material.
    fn mac_key(
        &self,
        call: &mut Call,
        key_id: &str,
        action: &str,
        algorithm: &str,
        tokens: Option<&[String]>,
    ) -> Result<(UsableKey, Zeroizing<Vec<u8>>), KmsError> {
        self.check_grant_tokens(tokens)?;
        let algorithm_owned = algorithm.to_string();
        let key = self.usable_key(
            call,
            key_id,
            action,
            model::GENERATE_VERIFY_MAC,
            None,
            &move |ctx| ctx.set("kms:MacAlgorithm", algorithm_owned.clone()),
        )?;
        let bytes = key
            .material
            .mac_key
            .as_ref()
            .map(|b| b.0.clone())
            .ok_or_else(|| KmsError::internal("the HMAC key has no HMAC material"))?;
        let spec = match bytes.len() {
            28 => "HMAC_224",
            32 => "HMAC_256",
            48 => "HMAC_384",
            _ => "HMAC_512",
        };
        if algorithm_of(spec) != Some(algorithm) {
            return Err(KmsError::invalid_key_usage(format!(
                "Algorithm {algorithm} is incompatible with key spec {spec}."
            )));
        }
        Ok((key, bytes))
    }

    /// GenerateMac.
    pub fn generate_mac(
        &self,
        call: &mut Call,
        input: GenerateMacInput,
    ) -> Result<GenerateMacOutput, KmsError> {
        check_request(&input.mac_algorithm, &input.message)?;
        let (key, bytes) = self.mac_key(
            call,
            &input.key_id,
            "kms:GenerateMac",
            &input.mac_algorithm,
            input.grant_tokens.as_deref(),
        )?;
        if input.dry_run == Some(true) {
            return Err(KmsError::dry_run());
        }
        Ok(GenerateMacOutput {
            mac: Zeroizing::new(compute(&input.mac_algorithm, &bytes, &input.message)),
            key_id: key.arn,
            mac_algorithm: input.mac_algorithm,
        })
    }

    /// VerifyMac: `MacValid: true`, or `KMSInvalidMacException` when the MAC does not match.
    pub fn verify_mac(
        &self,
        call: &mut Call,
        input: VerifyMacInput,
    ) -> Result<VerifyMacOutput, KmsError> {
        check_request(&input.mac_algorithm, &input.message)?;
        if input.mac.is_empty() || input.mac.len() > 6144 {
            return Err(KmsError::validation(
                "1 validation error detected: Value at 'mac' failed to satisfy constraint: Member must have length between 1 and 6144",
            ));
        }
        let (key, bytes) = self.mac_key(
            call,
            &input.key_id,
            "kms:VerifyMac",
            &input.mac_algorithm,
            input.grant_tokens.as_deref(),
        )?;
        if input.dry_run == Some(true) {
            return Err(KmsError::dry_run());
        }
        let expected = compute(&input.mac_algorithm, &bytes, &input.message);
        let same: bool =
            subtle::ConstantTimeEq::ct_eq(expected.as_slice(), input.mac.as_slice()).into();
        if !same {
            return Err(KmsError::invalid_mac());
        }
        Ok(VerifyMacOutput {
            key_id: key.arn,
            mac_valid: true,
            mac_algorithm: input.mac_algorithm,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 test case 2 ("Jefe", "what do ya want for nothing?").
    #[test]
    fn macs_match_rfc_4231() {
        let (key, data) = (
            b"Jefe".as_slice(),
            b"what do ya want for nothing?".as_slice(),
        );
        assert_eq!(
            hex::encode(compute("HMAC_SHA_256", key, data)),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex::encode(compute("HMAC_SHA_224", key, data)),
            "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44"
        );
        assert_eq!(compute("HMAC_SHA_384", key, data).len(), 48);
        assert_eq!(compute("HMAC_SHA_512", key, data).len(), 64);
    }
}
