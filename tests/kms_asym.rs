//! Asymmetric keys on the built-in engine through aws-sdk-kms: each key spec signs and
//! verifies, and every signature is also checked outside the engine with RustCrypto's
//! verifiers from the GetPublicKey DER (so an engine that agrees only with itself fails); RSA
//! OAEP round trips, and ciphertexts made outside with the public key decrypt in the engine;
//! AWS's codes and messages for key usage × operation × algorithm; keys survive a restart.

use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{
    DataKeySpec, EncryptionAlgorithmSpec, KeySpec, KeyUsageType, MessageType,
    SigningAlgorithmSpec as Alg,
};
use p256::pkcs8::DecodePublicKey;
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::common::{Lab, create_key, err};

async fn asym_key(kms: &Client, spec: KeySpec, usage: KeyUsageType) -> String {
    let out = kms
        .create_key()
        .key_spec(spec.clone())
        .key_usage(usage.clone())
        .send()
        .await
        .expect("create an asymmetric key");
    let meta = out.key_metadata().unwrap();
    assert_eq!(meta.key_spec(), Some(&spec));
    assert_eq!(meta.key_usage(), Some(&usage));
    meta.arn().unwrap().to_string()
}

/// The public key's DER, after checking what GetPublicKey says about the key.
async fn public_key(kms: &Client, key: &str, spec: &KeySpec, usage: &KeyUsageType) -> Vec<u8> {
    let out = kms.get_public_key().key_id(key).send().await.unwrap();
    assert_eq!(out.key_id(), Some(key));
    assert_eq!(out.key_spec(), Some(spec));
    assert_eq!(out.key_usage(), Some(usage));
    if *usage == KeyUsageType::SignVerify {
        assert!(out.encryption_algorithms().is_empty());
        assert!(!out.signing_algorithms().is_empty());
    } else {
        assert!(out.signing_algorithms().is_empty());
        assert_eq!(
            out.encryption_algorithms(),
            [
                EncryptionAlgorithmSpec::RsaesOaepSha1,
                EncryptionAlgorithmSpec::RsaesOaepSha256
            ]
        );
    }
    out.public_key().unwrap().as_ref().to_vec()
}

fn digest(alg: &Alg, message: &[u8]) -> Vec<u8> {
    let name = alg.as_str();
    if name.ends_with("256") {
        Sha256::digest(message).to_vec()
    } else if name.ends_with("384") {
        Sha384::digest(message).to_vec()
    } else {
        Sha512::digest(message).to_vec()
    }
}

/// Verifies `signature` over `message` with RustCrypto alone, from the public key's DER.
fn verify_outside(spec: &KeySpec, der: &[u8], alg: &Alg, message: &[u8], signature: &[u8]) {
    use p256::ecdsa::signature::Verifier;
    let name = alg.as_str();
    match spec {
        KeySpec::EccNistP256 => {
            let key = p256::ecdsa::VerifyingKey::from_public_key_der(der).unwrap();
            let sig = p256::ecdsa::Signature::from_der(signature).expect("a DER signature");
            key.verify(message, &sig).expect("P-256 signature verifies");
        }
        KeySpec::EccNistP384 => {
            let key = p384::ecdsa::VerifyingKey::from_public_key_der(der).unwrap();
            let sig = p384::ecdsa::Signature::from_der(signature).expect("a DER signature");
            key.verify(message, &sig).expect("P-384 signature verifies");
        }
        _ => {
            let key = rsa::PublicKey::from_public_key_der(der).unwrap();
            let pss = name.starts_with("RSASSA_PSS");
            let result = match (pss, &name[name.len() - 3..]) {
                (true, "256") => key.pss_verify::<Sha256>(message, signature),
                (true, "384") => key.pss_verify::<Sha384>(message, signature),
                (true, _) => key.pss_verify::<Sha512>(message, signature),
                (false, "256") => key.pkcs1v15_verify::<Sha256>(message, signature),
                (false, "384") => key.pkcs1v15_verify::<Sha384>(message, signature),
                (false, _) => key.pkcs1v15_verify::<Sha512>(message, signature),
            };
            result.unwrap_or_else(|e| panic!("{name} signature verifies outside: {e}"));
        }
    }
}

/// Signs `message` (as RAW, then as its DIGEST), verifies in the engine and outside, and
/// checks that a changed message is `KMSInvalidSignatureException`.
async fn sign_round_trip(kms: &Client, key: &str, spec: &KeySpec, der: &[u8], alg: Alg) {
    let message = b"release-manifest-v1".to_vec();
    for message_type in [MessageType::Raw, MessageType::Digest] {
        let sent = if message_type == MessageType::Raw {
            message.clone()
        } else {
            digest(&alg, &message)
        };
        let out = kms
            .sign()
            .key_id(key)
            .message(Blob::new(sent.clone()))
            .message_type(message_type.clone())
            .signing_algorithm(alg.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("sign {spec:?} {alg:?} {message_type:?}: {e:?}"));
        assert_eq!(out.key_id(), Some(key));
        assert_eq!(out.signing_algorithm(), Some(&alg));
        let signature = out.signature().unwrap().as_ref().to_vec();
        verify_outside(spec, der, &alg, &message, &signature);
        let ok = kms
            .verify()
            .key_id(key)
            .message(Blob::new(sent))
            .message_type(message_type.clone())
            .signature(Blob::new(signature.clone()))
            .signing_algorithm(alg.clone())
            .send()
            .await
            .unwrap();
        assert!(ok.signature_valid());
        assert_eq!(ok.key_id(), Some(key));
        let (code, _) = err(kms
            .verify()
            .key_id(key)
            .message(Blob::new(b"release-manifest-v2".to_vec()))
            .signature(Blob::new(signature))
            .signing_algorithm(alg.clone())
            .send()
            .await);
        assert_eq!(code, "KMSInvalidSignatureException");
    }
}

#[tokio::test]
async fn each_key_spec_signs_and_its_signatures_verify_outside_the_engine() {
    let lab = Lab::start().await;
    let kms = lab.kms("owner-admin");
    let rsa_algorithms = [
        Alg::RsassaPssSha256,
        Alg::RsassaPssSha384,
        Alg::RsassaPssSha512,
        Alg::RsassaPkcs1V15Sha256,
        Alg::RsassaPkcs1V15Sha384,
        Alg::RsassaPkcs1V15Sha512,
    ];
    let cases: Vec<(KeySpec, Vec<Alg>)> = vec![
        (KeySpec::EccNistP256, vec![Alg::EcdsaSha256]),
        (KeySpec::EccNistP384, vec![Alg::EcdsaSha384]),
        (KeySpec::Rsa2048, rsa_algorithms.to_vec()),
        (KeySpec::Rsa3072, vec![Alg::RsassaPssSha384]),
        (KeySpec::Rsa4096, vec![Alg::RsassaPkcs1V15Sha512]),
    ];
    for (spec, algorithms) in cases {
        let key = asym_key(&kms, spec.clone(), KeyUsageType::SignVerify).await;
        let described = kms.describe_key().key_id(&key).send().await.unwrap();
        let meta = described.key_metadata().unwrap();
        assert!(meta.encryption_algorithms().is_empty());
        let listed = meta.signing_algorithms().to_vec();
        match spec {
            KeySpec::EccNistP256 => assert_eq!(listed, [Alg::EcdsaSha256]),
            KeySpec::EccNistP384 => assert_eq!(listed, [Alg::EcdsaSha384]),
            _ => {
                assert_eq!(listed.len(), 6);
                assert!(rsa_algorithms.iter().all(|a| listed.contains(a)));
            }
        }
        let der = public_key(&kms, &key, &spec, &KeyUsageType::SignVerify).await;
        for alg in algorithms {
            sign_round_trip(&kms, &key, &spec, &der, alg).await;
        }
    }
}

#[tokio::test]
async fn rsa_oaep_round_trips_and_decrypts_what_the_public_key_encrypted_outside() {
    use rsa::pkcs8::DecodePublicKey as _;
    let lab = Lab::start().await;
    let kms = lab.kms("owner-admin");
    let key = asym_key(&kms, KeySpec::Rsa2048, KeyUsageType::EncryptDecrypt).await;
    let described = kms.describe_key().key_id(&key).send().await.unwrap();
    let meta = described.key_metadata().unwrap();
    assert!(meta.signing_algorithms().is_empty());
    assert_eq!(
        meta.encryption_algorithms(),
        [
            EncryptionAlgorithmSpec::RsaesOaepSha1,
            EncryptionAlgorithmSpec::RsaesOaepSha256
        ]
    );
    let der = public_key(&kms, &key, &KeySpec::Rsa2048, &KeyUsageType::EncryptDecrypt).await;
    let public = rsa::PublicKey::from_public_key_der(&der).unwrap();
    let decrypt = |blob: Vec<u8>, alg: EncryptionAlgorithmSpec| {
        let (kms, key) = (kms.clone(), key.clone());
        async move {
            kms.decrypt()
                .key_id(key)
                .ciphertext_blob(Blob::new(blob))
                .encryption_algorithm(alg)
                .send()
                .await
        }
    };
    for (alg, limit) in [
        (EncryptionAlgorithmSpec::RsaesOaepSha1, 214),
        (EncryptionAlgorithmSpec::RsaesOaepSha256, 190),
    ] {
        // In the engine, at the largest plaintext the key and algorithm take.
        let secret = vec![7u8; limit];
        let out = kms
            .encrypt()
            .key_id(&key)
            .plaintext(Blob::new(secret.clone()))
            .encryption_algorithm(alg.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(out.encryption_algorithm(), Some(&alg));
        assert_eq!(out.key_id(), Some(key.as_str()));
        let blob = out.ciphertext_blob().unwrap().as_ref().to_vec();
        assert_eq!(blob.len(), 256, "a raw RSA-2048 ciphertext");
        let plain = decrypt(blob.clone(), alg.clone()).await.unwrap();
        assert_eq!(plain.plaintext().unwrap().as_ref(), secret.as_slice());
        assert_eq!(plain.encryption_algorithm(), Some(&alg));
        assert_eq!(plain.key_id(), Some(key.as_str()));
        // Outside, with the public key only.
        let outside = if alg == EncryptionAlgorithmSpec::RsaesOaepSha1 {
            public.oaep_encrypt::<sha1::Sha1>(b"wrapped data key")
        } else {
            public.oaep_encrypt::<Sha256>(b"wrapped data key")
        }
        .unwrap();
        let plain = decrypt(outside, alg.clone()).await.unwrap();
        assert_eq!(plain.plaintext().unwrap().as_ref(), b"wrapped data key");
        // One byte more is refused, in AWS's words.
        let (code, message) = err(kms
            .encrypt()
            .key_id(&key)
            .plaintext(Blob::new(vec![7u8; limit + 1]))
            .encryption_algorithm(alg.clone())
            .send()
            .await);
        assert_eq!(code, "ValidationException");
        assert_eq!(
            message,
            format!(
                "Algorithm {} and key spec RSA_2048 cannot encrypt data larger than {limit} bytes.",
                alg.as_str()
            )
        );
    }
    // The other OAEP hash, or no algorithm at all, does not open the ciphertext.
    let blob = kms
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new(b"x".to_vec()))
        .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
        .send()
        .await
        .unwrap()
        .ciphertext_blob()
        .unwrap()
        .as_ref()
        .to_vec();
    let (code, _) = err(decrypt(blob.clone(), EncryptionAlgorithmSpec::RsaesOaepSha1).await);
    assert_eq!(code, "InvalidCiphertextException");
    let (code, _) = err(kms
        .decrypt()
        .key_id(&key)
        .ciphertext_blob(Blob::new(blob))
        .send()
        .await);
    assert_eq!(code, "InvalidCiphertextException");
}

#[tokio::test]
async fn key_usage_operation_and_algorithm_are_validated_as_aws() {
    let lab = Lab::start().await;
    let kms = lab.kms("owner-admin");
    let signer = asym_key(&kms, KeySpec::EccNistP256, KeyUsageType::SignVerify).await;
    let rsa_signer = asym_key(&kms, KeySpec::Rsa2048, KeyUsageType::SignVerify).await;
    let rsa_crypt = asym_key(&kms, KeySpec::Rsa2048, KeyUsageType::EncryptDecrypt).await;
    let symmetric = create_key(&kms).await;
    let sign = |key: &str, alg: Alg, message: Vec<u8>, kind: MessageType| {
        kms.sign()
            .key_id(key)
            .signing_algorithm(alg)
            .message(Blob::new(message))
            .message_type(kind)
            .send()
    };
    let usage = |key: &str, usage: &str, op: &str| {
        format!("{key} key usage is {usage} which is not valid for {op}.")
    };

    // Only SIGN_VERIFY keys sign.
    for (key, key_usage) in [
        (&rsa_crypt, "ENCRYPT_DECRYPT"),
        (&symmetric, "ENCRYPT_DECRYPT"),
    ] {
        let (code, message) =
            err(sign(key, Alg::RsassaPssSha256, b"m".to_vec(), MessageType::Raw).await);
        assert_eq!(code, "InvalidKeyUsageException");
        assert_eq!(message, usage(key, key_usage, "Sign"));
    }
    // The algorithm must suit the key spec; a digest must be as long as its hash.
    let (code, message) =
        err(sign(&signer, Alg::EcdsaSha384, b"m".to_vec(), MessageType::Raw).await);
    assert_eq!(code, "InvalidKeyUsageException");
    assert_eq!(
        message,
        "Algorithm ECDSA_SHA_384 is incompatible with key spec ECC_NIST_P256."
    );
    let (code, message) = err(sign(
        &rsa_signer,
        Alg::EcdsaSha256,
        b"m".to_vec(),
        MessageType::Raw,
    )
    .await);
    assert_eq!(code, "InvalidKeyUsageException");
    assert_eq!(
        message,
        "Algorithm ECDSA_SHA_256 is incompatible with key spec RSA_2048."
    );
    let (code, message) = err(sign(
        &rsa_signer,
        Alg::RsassaPssSha256,
        vec![0; 20],
        MessageType::Digest,
    )
    .await);
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "Digest is invalid length for algorithm RSASSA_PSS_SHA_256."
    );
    let (code, _) = err(sign(&signer, Alg::EcdsaSha256, vec![0; 4097], MessageType::Raw).await);
    assert_eq!(code, "ValidationException");

    // Encryption: usage, algorithm × spec, and no encryption context with RSA.
    let encrypt = |key: &str, alg: Option<EncryptionAlgorithmSpec>| {
        kms.encrypt()
            .key_id(key)
            .plaintext(Blob::new(b"secret".to_vec()))
            .set_encryption_algorithm(alg)
    };
    let (code, message) = err(
        encrypt(&rsa_signer, Some(EncryptionAlgorithmSpec::RsaesOaepSha256))
            .send()
            .await,
    );
    assert_eq!(code, "InvalidKeyUsageException");
    assert_eq!(message, usage(&rsa_signer, "SIGN_VERIFY", "Encrypt"));
    let (code, message) = err(encrypt(&rsa_crypt, None).send().await);
    assert_eq!(code, "InvalidKeyUsageException");
    assert_eq!(
        message,
        "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048."
    );
    let (code, message) = err(
        encrypt(&symmetric, Some(EncryptionAlgorithmSpec::RsaesOaepSha256))
            .send()
            .await,
    );
    assert_eq!(code, "InvalidKeyUsageException");
    assert_eq!(
        message,
        "Algorithm RSAES_OAEP_SHA_256 is incompatible with key spec SYMMETRIC_DEFAULT."
    );
    let (code, message) = err(
        encrypt(&rsa_crypt, Some(EncryptionAlgorithmSpec::RsaesOaepSha256))
            .encryption_context("purpose", "test")
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "EncryptionContext is not supported when encrypting/decrypting with asymmetric CMKs."
    );

    // Data keys and rotation are for symmetric keys.
    let (code, message) = err(kms
        .generate_data_key()
        .key_id(&rsa_crypt)
        .key_spec(DataKeySpec::Aes256)
        .send()
        .await);
    assert_eq!(code, "InvalidKeyUsageException");
    assert_eq!(
        message,
        "You cannot generate a data key with an asymmetric CMK"
    );
    let (code, message) = err(kms
        .generate_data_key()
        .key_id(&signer)
        .key_spec(DataKeySpec::Aes256)
        .send()
        .await);
    assert_eq!(code, "InvalidKeyUsageException");
    assert_eq!(message, usage(&signer, "SIGN_VERIFY", "GenerateDataKey"));
    let (code, _) = err(kms.enable_key_rotation().key_id(&rsa_crypt).send().await);
    assert_eq!(code, "UnsupportedOperationException");
    let (code, _) = err(kms.rotate_key_on_demand().key_id(&signer).send().await);
    assert_eq!(code, "UnsupportedOperationException");
    let (code, _) = err(kms.get_public_key().key_id(&symmetric).send().await);
    assert_eq!(code, "UnsupportedOperationException");

    // ECC keys do not encrypt; unmodelled specs and usages are refused as such.
    let (code, _) = err(kms
        .create_key()
        .key_spec(KeySpec::EccNistP256)
        .key_usage(KeyUsageType::EncryptDecrypt)
        .send()
        .await);
    assert_eq!(code, "ValidationException");
    let (code, _) = err(kms
        .create_key()
        .key_spec(KeySpec::EccNistP384)
        .key_usage(KeyUsageType::KeyAgreement)
        .send()
        .await);
    assert_eq!(code, "UnsupportedOperationException");
    let (code, _) = err(kms
        .create_key()
        .key_spec(KeySpec::EccSecgP256K1)
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await);
    assert_eq!(code, "UnsupportedOperationException");

    // The key state comes before the algorithm; another account needs permission.
    kms.disable_key().key_id(&signer).send().await.unwrap();
    let (code, message) =
        err(sign(&signer, Alg::EcdsaSha384, b"m".to_vec(), MessageType::Raw).await);
    assert_eq!(code, "DisabledException");
    assert_eq!(message, format!("{signer} is disabled."));
    kms.schedule_key_deletion()
        .key_id(&rsa_signer)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    let (code, message) = err(kms
        .verify()
        .key_id(&rsa_signer)
        .message(Blob::new(b"m".to_vec()))
        .signature(Blob::new(vec![1; 256]))
        .signing_algorithm(Alg::RsassaPssSha256)
        .send()
        .await);
    assert_eq!(code, "KMSInvalidStateException");
    assert_eq!(message, format!("{rsa_signer} is pending deletion."));
    let (code, _) = err(lab
        .kms("partner-analyst")
        .get_public_key()
        .key_id(&rsa_crypt)
        .send()
        .await);
    assert_eq!(code, "AccessDeniedException");
}

#[tokio::test]
async fn asymmetric_keys_survive_a_restart() {
    let lab = Lab::start().await;
    let kms = lab.kms("owner-admin");
    let signer = asym_key(&kms, KeySpec::EccNistP384, KeyUsageType::SignVerify).await;
    let crypt = asym_key(&kms, KeySpec::Rsa2048, KeyUsageType::EncryptDecrypt).await;
    let der = public_key(
        &kms,
        &signer,
        &KeySpec::EccNistP384,
        &KeyUsageType::SignVerify,
    )
    .await;
    let signature = kms
        .sign()
        .key_id(&signer)
        .message(Blob::new(b"m".to_vec()))
        .signing_algorithm(Alg::EcdsaSha384)
        .send()
        .await
        .unwrap()
        .signature()
        .unwrap()
        .as_ref()
        .to_vec();
    let blob = kms
        .encrypt()
        .key_id(&crypt)
        .plaintext(Blob::new(b"kept".to_vec()))
        .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
        .send()
        .await
        .unwrap()
        .ciphertext_blob()
        .unwrap()
        .as_ref()
        .to_vec();
    let Lab { engine, dir } = lab;
    engine.shutdown().await;
    // Key records, private keys included, are sealed: not even the public key is in the clear.
    let raw = std::fs::read(dir.path().join(keylab_engine::state::DATABASE)).unwrap();
    assert!(!raw.windows(13).any(|w| w == b"ECC_NIST_P384"));
    let point = &der[der.len() - 32..];
    assert!(!raw.windows(32).any(|w| w == point));
    let engine = keylab_engine::Engine::start(keylab_engine::EngineConfig::new(dir.path()))
        .await
        .unwrap();
    let lab = Lab { engine, dir };
    let kms = lab.kms("owner-admin");
    assert_eq!(
        public_key(
            &kms,
            &signer,
            &KeySpec::EccNistP384,
            &KeyUsageType::SignVerify
        )
        .await,
        der
    );
    let ok = kms
        .verify()
        .key_id(&signer)
        .message(Blob::new(b"m".to_vec()))
        .signature(Blob::new(signature))
        .signing_algorithm(Alg::EcdsaSha384)
        .send()
        .await
        .unwrap();
    assert!(ok.signature_valid());
    let plain = kms
        .decrypt()
        .key_id(&crypt)
        .ciphertext_blob(Blob::new(blob))
        .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
        .send()
        .await
        .unwrap();
    assert_eq!(plain.plaintext().unwrap().as_ref(), b"kept");
}

/// The real AWS CLI against `keylab engine serve`: `create-key`, `get-public-key`, `sign` and
/// `verify` as a learner types them, with the message and signature in files (`fileb://`), and
/// the signature checked outside the engine.
#[test]
fn the_aws_cli_signs_and_verifies() {
    use std::process::Command;
    let Some(cli) = crate::cli::aws_cli() else {
        return;
    };
    let state = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let server = crate::cli::Server::start(state.path());
    let owner = server.info["identities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "owner-admin")
        .unwrap();
    std::fs::write(
        home.path().join("config"),
        format!(
            "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\nregion = us-east-1\n",
            owner["access_key_id"].as_str().unwrap(),
            owner["secret_access_key"].as_str().unwrap()
        ),
    )
    .unwrap();
    let aws = |args: &[&str]| {
        Command::new(&cli)
            .current_dir(home.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home.path())
            .env("AWS_CONFIG_FILE", home.path().join("config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_ENDPOINT_URL", server.info["http"].as_str().unwrap())
            .args(args)
            .output()
            .expect("aws runs")
    };
    let ok = |args: &[&str]| -> serde_json::Value {
        let out = aws(args);
        assert!(
            out.status.success(),
            "aws {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let b64 = |v: &serde_json::Value| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap()
    };
    let key = ok(&[
        "kms",
        "create-key",
        "--key-spec",
        "ECC_NIST_P256",
        "--key-usage",
        "SIGN_VERIFY",
    ])["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_string();
    let public = ok(&["kms", "get-public-key", "--key-id", &key]);
    assert_eq!(public["KeySpec"], "ECC_NIST_P256");
    assert_eq!(public["SigningAlgorithms"][0], "ECDSA_SHA_256");
    let der = b64(&public["PublicKey"]);
    std::fs::write(home.path().join("msg.txt"), b"release 1.4.2").unwrap();
    let signed = ok(&[
        "kms",
        "sign",
        "--key-id",
        &key,
        "--message",
        "fileb://msg.txt",
        "--message-type",
        "RAW",
        "--signing-algorithm",
        "ECDSA_SHA_256",
    ]);
    let signature = b64(&signed["Signature"]);
    verify_outside(
        &KeySpec::EccNistP256,
        &der,
        &Alg::EcdsaSha256,
        b"release 1.4.2",
        &signature,
    );
    std::fs::write(home.path().join("sig.bin"), &signature).unwrap();
    let verify = |message: &str| {
        aws(&[
            "kms",
            "verify",
            "--key-id",
            &key,
            "--message",
            message,
            "--message-type",
            "RAW",
            "--signature",
            "fileb://sig.bin",
            "--signing-algorithm",
            "ECDSA_SHA_256",
        ])
    };
    let out = verify("fileb://msg.txt");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verified: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verified["SignatureValid"], true);
    std::fs::write(home.path().join("other.txt"), b"release 1.4.3").unwrap();
    let out = verify("fileb://other.txt");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("(KMSInvalidSignatureException) when calling the Verify operation"),
        "{stderr}"
    );
}

/// The lab console speaks `aws kms get-public-key`, `sign` and `verify` as the AWS CLI does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_signs_verifies_and_exports_the_public_key() {
    use base64::Engine as _;
    use keylab::console::{Console, Outcome};
    let lab = Lab::start().await;
    let backend = keylab::backend::Backend::from_engine(&lab.engine);
    let work = tempfile::tempdir().unwrap();
    let ws = work.path();
    std::fs::write(ws.join("msg.txt"), b"invoice 2026-118").unwrap();
    std::fs::write(ws.join("forged.txt"), b"invoice 2026-119").unwrap();
    let console = Console::new(&backend, ws, "owner-admin");
    let ok = |out: Outcome| {
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.stdout.trim().to_string()
    };
    let b64 = |text: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap()
    };
    let key = ok(console
        .run("aws kms create-key --key-spec ECC_NIST_P384 --key-usage SIGN_VERIFY --query KeyMetadata.KeyId --output text")
        .await);
    let der = b64(&ok(console
        .run(&format!(
            "aws kms get-public-key --key-id {key} --query PublicKey --output text"
        ))
        .await));
    let signature = b64(&ok(console
        .run(&format!(
            "aws kms sign --key-id {key} --message fileb://msg.txt --message-type RAW --signing-algorithm ECDSA_SHA_384 --query Signature --output text"
        ))
        .await));
    verify_outside(
        &KeySpec::EccNistP384,
        &der,
        &Alg::EcdsaSha384,
        b"invoice 2026-118",
        &signature,
    );
    std::fs::write(ws.join("sig.bin"), &signature).unwrap();
    let verify = |message: &str| {
        format!(
            "aws kms verify --key-id {key} --message fileb://{message} --signature fileb://sig.bin --signing-algorithm ECDSA_SHA_384 --query SignatureValid --output text"
        )
    };
    let valid = ok(console.run(&verify("msg.txt")).await);
    assert!(valid.eq_ignore_ascii_case("true"), "{valid}");
    let out = console.run(&verify("forged.txt")).await;
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("KMSInvalidSignatureException"),
        "{}",
        out.stderr
    );
}
