//! HMAC keys on the built-in engine through aws-sdk-kms: each key spec makes and verifies
//! MACs with its one algorithm, and AWS's validation of key usage × operation × algorithm.

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeySpec, KeyUsageType, MacAlgorithmSpec};

use crate::common::{Lab, create_key, err};

async fn hmac_key(kms: &aws_sdk_kms::Client, spec: KeySpec) -> String {
    let out = kms
        .create_key()
        .key_spec(spec)
        .key_usage(KeyUsageType::GenerateVerifyMac)
        .send()
        .await
        .expect("create an HMAC key");
    let meta = out.key_metadata().unwrap();
    assert_eq!(meta.key_usage(), Some(&KeyUsageType::GenerateVerifyMac));
    assert!(meta.encryption_algorithms().is_empty());
    meta.arn().unwrap().to_string()
}

#[tokio::test]
async fn hmac_keys_generate_and_verify_macs_for_each_spec() {
    let lab = Lab::start().await;
    let kms = lab.kms("owner-admin");
    let cases = [
        (KeySpec::Hmac224, MacAlgorithmSpec::HmacSha224, 28),
        (KeySpec::Hmac256, MacAlgorithmSpec::HmacSha256, 32),
        (KeySpec::Hmac384, MacAlgorithmSpec::HmacSha384, 48),
        (KeySpec::Hmac512, MacAlgorithmSpec::HmacSha512, 64),
    ];
    for (spec, algorithm, len) in cases {
        let key = hmac_key(&kms, spec.clone()).await;
        let described = kms.describe_key().key_id(&key).send().await.unwrap();
        let meta = described.key_metadata().unwrap();
        assert_eq!(meta.key_spec(), Some(&spec));
        assert_eq!(meta.mac_algorithms(), std::slice::from_ref(&algorithm));
        let mac = kms
            .generate_mac()
            .key_id(&key)
            .mac_algorithm(algorithm.clone())
            .message(Blob::new(b"customer-4711".to_vec()))
            .send()
            .await
            .unwrap();
        let tag = mac.mac().unwrap().as_ref().to_vec();
        assert_eq!(tag.len(), len);
        assert_eq!(mac.key_id(), Some(key.as_str()));
        // Keyed and deterministic: the same message gives the same MAC, as a token must.
        let again = kms
            .generate_mac()
            .key_id(&key)
            .mac_algorithm(algorithm.clone())
            .message(Blob::new(b"customer-4711".to_vec()))
            .send()
            .await
            .unwrap();
        assert_eq!(again.mac().unwrap().as_ref(), tag.as_slice());
        let ok = kms
            .verify_mac()
            .key_id(&key)
            .mac_algorithm(algorithm.clone())
            .message(Blob::new(b"customer-4711".to_vec()))
            .mac(Blob::new(tag.clone()))
            .send()
            .await
            .unwrap();
        assert!(ok.mac_valid());
        let (code, _) = err(kms
            .verify_mac()
            .key_id(&key)
            .mac_algorithm(algorithm)
            .message(Blob::new(b"customer-4712".to_vec()))
            .mac(Blob::new(tag))
            .send()
            .await);
        assert_eq!(code, "KMSInvalidMacException");
    }
    // Two keys of one spec give different MACs: the key, not the message, makes the token.
    let a = hmac_key(&kms, KeySpec::Hmac256).await;
    let b = hmac_key(&kms, KeySpec::Hmac256).await;
    let mac_of = |key: String| {
        let kms = kms.clone();
        async move {
            kms.generate_mac()
                .key_id(key)
                .mac_algorithm(MacAlgorithmSpec::HmacSha256)
                .message(Blob::new(b"same".to_vec()))
                .send()
                .await
                .unwrap()
                .mac()
                .unwrap()
                .as_ref()
                .to_vec()
        }
    };
    assert_ne!(mac_of(a).await, mac_of(b).await);
}

#[tokio::test]
async fn key_usage_operation_and_algorithm_are_validated_as_aws() {
    let lab = Lab::start().await;
    let kms = lab.kms("owner-admin");
    let hmac = hmac_key(&kms, KeySpec::Hmac512).await;
    let symmetric = create_key(&kms).await;

    // An HMAC key does not encrypt, and a symmetric key does not make MACs.
    let (code, message) = err(kms
        .encrypt()
        .key_id(&hmac)
        .plaintext(Blob::new(b"x".to_vec()))
        .send()
        .await);
    assert_eq!(code, "InvalidKeyUsageException");
    assert_eq!(
        message,
        format!("{hmac} key usage is GENERATE_VERIFY_MAC which is not valid for Encrypt.")
    );
    let (code, message) = err(kms
        .generate_mac()
        .key_id(&symmetric)
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .message(Blob::new(b"x".to_vec()))
        .send()
        .await);
    assert_eq!(code, "InvalidKeyUsageException");
    assert_eq!(
        message,
        format!("{symmetric} key usage is ENCRYPT_DECRYPT which is not valid for GenerateMac.")
    );
    // The algorithm must be the key spec's.
    let (code, message) = err(kms
        .generate_mac()
        .key_id(&hmac)
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .message(Blob::new(b"x".to_vec()))
        .send()
        .await);
    assert_eq!(code, "InvalidKeyUsageException");
    assert!(
        message.contains("HMAC_SHA_256") && message.contains("HMAC_512"),
        "{message}"
    );
    // Messages are 1 to 4,096 bytes.
    let (code, _) = err(kms
        .generate_mac()
        .key_id(&hmac)
        .mac_algorithm(MacAlgorithmSpec::HmacSha512)
        .message(Blob::new(vec![0u8; 4097]))
        .send()
        .await);
    assert_eq!(code, "ValidationException");
    // Spec and usage must agree; HMAC keys do not rotate.
    let (code, _) = err(kms
        .create_key()
        .key_spec(KeySpec::Hmac256)
        .key_usage(KeyUsageType::EncryptDecrypt)
        .send()
        .await);
    assert_eq!(code, "ValidationException");
    let (code, _) = err(kms.enable_key_rotation().key_id(&hmac).send().await);
    assert_eq!(code, "UnsupportedOperationException");
    // Another account's analyst, with no permission, is refused before any MAC is made.
    let (code, _) = err(lab
        .kms("partner-analyst")
        .generate_mac()
        .key_id(&hmac)
        .mac_algorithm(MacAlgorithmSpec::HmacSha512)
        .message(Blob::new(b"x".to_vec()))
        .send()
        .await);
    assert_eq!(code, "AccessDeniedException");
}

#[tokio::test]
async fn hmac_keys_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let engine = keylab_engine::Engine::start(keylab_engine::EngineConfig::new(dir.path()))
        .await
        .unwrap();
    let lab = Lab { engine, dir };
    let kms = lab.kms("owner-admin");
    let key = hmac_key(&kms, KeySpec::Hmac384).await;
    let mac = kms
        .generate_mac()
        .key_id(&key)
        .mac_algorithm(MacAlgorithmSpec::HmacSha384)
        .message(Blob::new(b"m".to_vec()))
        .send()
        .await
        .unwrap()
        .mac()
        .unwrap()
        .as_ref()
        .to_vec();
    let Lab { engine, dir } = lab;
    engine.shutdown().await;
    // The HMAC key is not in the store in the clear.
    let raw = std::fs::read(dir.path().join(keylab_engine::state::DATABASE)).unwrap();
    assert!(
        !raw.windows(8).any(|w| w == b"HMAC_384"),
        "key records are sealed"
    );
    let engine = keylab_engine::Engine::start(keylab_engine::EngineConfig::new(dir.path()))
        .await
        .unwrap();
    let lab = Lab { engine, dir };
    let ok = lab
        .kms("owner-admin")
        .verify_mac()
        .key_id(&key)
        .mac_algorithm(MacAlgorithmSpec::HmacSha384)
        .message(Blob::new(b"m".to_vec()))
        .mac(Blob::new(mac))
        .send()
        .await
        .unwrap();
    assert!(ok.mac_valid());
}
