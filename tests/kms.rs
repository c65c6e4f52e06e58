//! End-to-end tests of the engine's KMS through `aws-sdk-kms` over the real wire protocol:
//! every operation, its main errors with AWS's codes and messages, every key state, rotation
//! and deletion under the virtual clock, policies, grants and cross-account use.

use crate::common::{Lab, OWNER, PARTNER, create_key, err};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{DataKeySpec, GrantConstraints, GrantOperation, KeyState, Tag};
use time::Duration;

fn blob(s: &str) -> Blob {
    Blob::new(s.as_bytes().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_describe_and_list_keys() {
    let lab = Lab::start().await;
    assert!(
        lab.engine.http_endpoint().starts_with("http://127.0.0.1:"),
        "loopback only"
    );
    assert!(
        lab.engine
            .https_endpoint()
            .starts_with("https://127.0.0.1:"),
        "loopback only"
    );
    let kms = lab.kms("owner-admin");
    let created = kms
        .create_key()
        .description("first key")
        .send()
        .await
        .unwrap();
    let meta = created.key_metadata().unwrap();
    assert_eq!(meta.aws_account_id(), Some(OWNER));
    assert_eq!(meta.key_state(), Some(&KeyState::Enabled));
    assert_eq!(meta.description(), Some("first key"));
    assert_eq!(
        meta.key_spec().map(|s| s.as_str()),
        Some("SYMMETRIC_DEFAULT")
    );
    assert_eq!(meta.origin().map(|s| s.as_str()), Some("AWS_KMS"));
    assert_eq!(meta.key_manager().map(|s| s.as_str()), Some("CUSTOMER"));
    assert!(meta.enabled());
    assert_eq!(meta.current_key_material_id().map(str::len), Some(64));
    let id = meta.key_id().to_string();
    let arn = meta.arn().unwrap().to_string();
    assert_eq!(arn, format!("arn:aws:kms:us-east-1:{OWNER}:key/{id}"));

    kms.create_alias()
        .alias_name("alias/first")
        .target_key_id(&id)
        .send()
        .await
        .unwrap();
    for form in [
        id.clone(),
        arn.clone(),
        "alias/first".into(),
        format!("arn:aws:kms:us-east-1:{OWNER}:alias/first"),
    ] {
        let d = kms.describe_key().key_id(&form).send().await.unwrap();
        assert_eq!(
            d.key_metadata().unwrap().key_id(),
            id,
            "DescribeKey by {form}"
        );
    }
    let listed = kms.list_keys().send().await.unwrap();
    assert_eq!(listed.keys().len(), 1);
    assert_eq!(listed.keys()[0].key_arn(), Some(arn.as_str()));
    let partner_list = lab.kms("partner-admin").list_keys().send().await.unwrap();
    assert!(
        partner_list.keys().is_empty(),
        "ListKeys never shows another account's keys"
    );

    for _ in 0..3 {
        create_key(&kms).await;
    }
    let page1 = kms.list_keys().limit(2).send().await.unwrap();
    assert_eq!(page1.keys().len(), 2);
    assert!(page1.truncated());
    let page2 = kms
        .list_keys()
        .limit(2)
        .marker(page1.next_marker().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page2.keys().len(), 2);
    assert!(!page2.truncated());
    assert_eq!(
        err(kms.list_keys().limit(0).send().await).0,
        "ValidationException"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_identifiers_resolve_as_aws_does() {
    let lab = Lab::start().await;
    let kms = lab.kms("owner-admin");
    let (code, msg) = err(kms.describe_key().key_id("fake-key-id").send().await);
    assert_eq!(
        (code.as_str(), msg.as_str()),
        ("NotFoundException", "Invalid keyId 'fake-key-id'")
    );
    let missing = "11111111-2222-3333-4444-555555555555";
    let (code, msg) = err(kms.describe_key().key_id(missing).send().await);
    assert_eq!(code, "NotFoundException");
    assert_eq!(
        msg,
        format!("Key 'arn:aws:kms:us-east-1:{OWNER}:key/{missing}' does not exist")
    );
    let (code, msg) = err(kms
        .describe_key()
        .key_id(format!("arn:aws:kms:eu-west-1:{OWNER}:key/{missing}"))
        .send()
        .await);
    assert_eq!(
        (code.as_str(), msg.as_str()),
        ("NotFoundException", "Invalid arn eu-west-1")
    );
    let (code, msg) = err(kms.describe_key().key_id("alias/nothing").send().await);
    assert_eq!(code, "NotFoundException");
    assert_eq!(
        msg,
        format!("Alias arn:aws:kms:us-east-1:{OWNER}:alias/nothing is not found.")
    );
    let (code, _) = err(kms.describe_key().key_id("").send().await);
    assert_eq!(code, "ValidationException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aliases_create_update_list_delete() {
    let lab = Lab::start().await;
    let kms = lab.kms("owner-admin");
    let a = create_key(&kms).await;
    let b = create_key(&kms).await;
    kms.create_alias()
        .alias_name("alias/app")
        .target_key_id(&a)
        .send()
        .await
        .unwrap();
    let (code, msg) = err(kms
        .create_alias()
        .alias_name("alias/app")
        .target_key_id(&b)
        .send()
        .await);
    assert_eq!(code, "AlreadyExistsException");
    assert!(
        msg.contains(&format!("arn:aws:kms:us-east-1:{OWNER}:alias/app")),
        "{msg}"
    );
    let (code, msg) = err(kms
        .create_alias()
        .alias_name("app")
        .target_key_id(&a)
        .send()
        .await);
    assert_eq!(code, "ValidationException");
    assert!(
        msg.starts_with("Alias must start with the prefix \"alias/\""),
        "{msg}"
    );
    assert_eq!(
        err(kms
            .create_alias()
            .alias_name("alias/aws/s3")
            .target_key_id(&a)
            .send()
            .await)
        .0,
        "InvalidAliasNameException"
    );
    assert_eq!(
        err(kms
            .create_alias()
            .alias_name("alias/x")
            .target_key_id("alias/app")
            .send()
            .await)
        .0,
        "NotFoundException"
    );

    let listed = kms.list_aliases().send().await.unwrap();
    assert_eq!(listed.aliases().len(), 1);
    assert_eq!(
        listed.aliases()[0].target_key_id(),
        Some(a.rsplit('/').next().unwrap())
    );
    kms.update_alias()
        .alias_name("alias/app")
        .target_key_id(&b)
        .send()
        .await
        .unwrap();
    let d = kms.describe_key().key_id("alias/app").send().await.unwrap();
    assert_eq!(d.key_metadata().unwrap().arn(), Some(b.as_str()));
    let filtered = kms.list_aliases().key_id(&a).send().await.unwrap();
    assert!(filtered.aliases().is_empty());
    kms.delete_alias()
        .alias_name("alias/app")
        .send()
        .await
        .unwrap();
    assert_eq!(
        err(kms.describe_key().key_id("alias/app").send().await).0,
        "NotFoundException"
    );
    assert_eq!(
        err(kms.delete_alias().alias_name("alias/app").send().await).0,
        "NotFoundException"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypt_and_decrypt_bind_the_encryption_context() {
    let lab = Lab::start().await;
    let kms = lab.kms("owner-admin");
    let arn = create_key(&kms).await;
    kms.create_alias()
        .alias_name("alias/data")
        .target_key_id(&arn)
        .send()
        .await
        .unwrap();
    let enc = kms
        .encrypt()
        .key_id("alias/data")
        .plaintext(blob("card 4111"))
        .encryption_context("Department", "Finance")
        .send()
        .await
        .unwrap();
    assert_eq!(
        enc.key_id(),
        Some(arn.as_str()),
        "Encrypt returns the key ARN even when called with an alias"
    );
    let ct = enc.ciphertext_blob().unwrap().clone();
    let dec = kms
        .decrypt()
        .ciphertext_blob(ct.clone())
        .encryption_context("Department", "Finance")
        .send()
        .await
        .unwrap();
    assert_eq!(dec.plaintext().unwrap().as_ref(), b"card 4111");
    assert_eq!(dec.key_id(), Some(arn.as_str()));
    assert_eq!(dec.key_material_id().map(str::len), Some(64));

    for (k, v) in [
        ("Department", "finance"),
        ("department", "Finance"),
        ("Department", "Finance "),
    ] {
        let (code, msg) = err(kms
            .decrypt()
            .ciphertext_blob(ct.clone())
            .encryption_context(k, v)
            .send()
            .await);
        assert_eq!(
            code, "InvalidCiphertextException",
            "context {k}={v} must not decrypt"
        );
        assert_eq!(msg, "");
    }
    assert_eq!(
        err(kms.decrypt().ciphertext_blob(ct.clone()).send().await).0,
        "InvalidCiphertextException"
    );
    let mut corrupted = ct.as_ref().to_vec();
    let last = corrupted.len() - 1;
    corrupted[last] ^= 0x01;
    assert_eq!(
        err(kms
            .decrypt()
            .ciphertext_blob(Blob::new(corrupted))
            .encryption_context("Department", "Finance")
            .send()
            .await)
        .0,
        "InvalidCiphertextException"
    );
    assert_eq!(
        err(kms
            .decrypt()
            .ciphertext_blob(blob("not a kms ciphertext"))
            .send()
            .await)
        .0,
        "InvalidCiphertextException"
    );

    let other = create_key(&kms).await;
    let (code, msg) = err(kms
        .decrypt()
        .ciphertext_blob(ct.clone())
        .key_id(&other)
        .encryption_context("Department", "Finance")
        .send()
        .await);
    assert_eq!(code, "IncorrectKeyException");
    assert_eq!(
        msg,
        "The key ID in the request does not identify a CMK that can perform this operation."
    );
    kms.decrypt()
        .ciphertext_blob(ct)
        .key_id("alias/data")
        .encryption_context("Department", "Finance")
        .send()
        .await
        .unwrap();

    kms.encrypt()
        .key_id(&arn)
        .plaintext(Blob::new(vec![7u8; 4096]))
        .send()
        .await
        .unwrap();
    let (code, msg) = err(kms
        .encrypt()
        .key_id(&arn)
        .plaintext(Blob::new(vec![7u8; 4097]))
        .send()
        .await);
    assert_eq!(code, "ValidationException");
    assert_eq!(
        msg,
        "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096"
    );
    let (code, _) = err(kms
        .encrypt()
        .key_id(&arn)
        .plaintext(blob("x"))
        .dry_run(true)
        .send()
        .await);
    assert_eq!(code, "DryRunOperationException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_keys_honour_key_spec_and_number_of_bytes() {
    let lab = Lab::start().await;
    let kms = lab.kms("owner-admin");
    let arn = create_key(&kms).await;
    let k256 = kms
        .generate_data_key()
        .key_id(&arn)
        .key_spec(DataKeySpec::Aes256)
        .send()
        .await
        .unwrap();
    assert_eq!(k256.plaintext().unwrap().as_ref().len(), 32);
    let k128 = kms
        .generate_data_key()
        .key_id(&arn)
        .key_spec(DataKeySpec::Aes128)
        .send()
        .await
        .unwrap();
    assert_eq!(k128.plaintext().unwrap().as_ref().len(), 16);
    for n in [1, 64, 1024] {
        let k = kms
            .generate_data_key()
            .key_id(&arn)
            .number_of_bytes(n)
            .send()
            .await
            .unwrap();
        assert_eq!(k.plaintext().unwrap().as_ref().len(), n as usize);
    }
    for (n, bound) in [
        (0, "greater than or equal to 1"),
        (1025, "less than or equal to 1024"),
    ] {
        let (code, msg) = err(kms
            .generate_data_key()
            .key_id(&arn)
            .number_of_bytes(n)
            .send()
            .await);
        assert_eq!(code, "ValidationException");
        assert!(
            msg.contains(&format!("Value '{n}' at 'numberOfBytes'")) && msg.contains(bound),
            "{msg}"
        );
    }
    let both = kms
        .generate_data_key()
        .key_id(&arn)
        .number_of_bytes(32)
        .key_spec(DataKeySpec::Aes256)
        .send()
        .await;
    assert_eq!(
        err(both).1,
        "Please specify either number of bytes or key spec."
    );
    assert_eq!(
        err(kms.generate_data_key().key_id(&arn).send().await).1,
        "Please specify either number of bytes or key spec."
    );

    let dk = kms
        .generate_data_key()
        .key_id(&arn)
        .key_spec(DataKeySpec::Aes256)
        .encryption_context("file", "a.csv")
        .send()
        .await
        .unwrap();
    let back = kms
        .decrypt()
        .ciphertext_blob(dk.ciphertext_blob().unwrap().clone())
        .encryption_context("file", "a.csv")
        .send()
        .await
        .unwrap();
    assert_eq!(
        back.plaintext().unwrap().as_ref(),
        dk.plaintext().unwrap().as_ref()
    );
    let wp = kms
        .generate_data_key_without_plaintext()
        .key_id(&arn)
        .key_spec(DataKeySpec::Aes256)
        .send()
        .await
        .unwrap();
    assert!(wp.ciphertext_blob().is_some());
    let decrypted = kms
        .decrypt()
        .ciphertext_blob(wp.ciphertext_blob().unwrap().clone())
        .send()
        .await
        .unwrap();
    assert_eq!(decrypted.plaintext().unwrap().as_ref().len(), 32);

    let r = kms
        .generate_random()
        .number_of_bytes(48)
        .send()
        .await
        .unwrap();
    assert_eq!(r.plaintext().unwrap().as_ref().len(), 48);
    assert_eq!(
        err(kms.generate_random().send().await).1,
        "NumberOfBytes is required."
    );
    let (_, msg) = err(kms.generate_random().number_of_bytes(1025).send().await);
    assert_eq!(
        msg,
        "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn re_encrypt_moves_a_ciphertext_to_another_key() {
    let lab = Lab::start().await;
    let kms = lab.kms("owner-admin");
    let a = create_key(&kms).await;
    let b = create_key(&kms).await;
    let ct = kms
        .encrypt()
        .key_id(&a)
        .plaintext(blob("secret"))
        .encryption_context("k", "v")
        .send()
        .await
        .unwrap();
    let re = kms
        .re_encrypt()
        .ciphertext_blob(ct.ciphertext_blob().unwrap().clone())
        .source_encryption_context("k", "v")
        .destination_key_id(&b)
        .destination_encryption_context("k", "w")
        .send()
        .await
        .unwrap();
    assert_eq!(re.source_key_id(), Some(a.as_str()));
    assert_eq!(re.key_id(), Some(b.as_str()));
    let dec = kms
        .decrypt()
        .ciphertext_blob(re.ciphertext_blob().unwrap().clone())
        .encryption_context("k", "w")
        .send()
        .await
        .unwrap();
    assert_eq!(dec.key_id(), Some(b.as_str()));
    assert_eq!(dec.plaintext().unwrap().as_ref(), b"secret");
    let wrong_source = kms
        .re_encrypt()
        .ciphertext_blob(ct.ciphertext_blob().unwrap().clone())
        .source_encryption_context("k", "v")
        .source_key_id(&b)
        .destination_key_id(&b)
        .send()
        .await;
    assert_eq!(err(wrong_source).0, "IncorrectKeyException");
    let missing_context = kms
        .re_encrypt()
        .ciphertext_blob(ct.ciphertext_blob().unwrap().clone())
        .destination_key_id(&b)
        .send()
        .await;
    assert_eq!(err(missing_context).0, "InvalidCiphertextException");
    let events = lab.engine.audit().events();
    assert!(
        events
            .iter()
            .any(|e| e.event_name == "ReEncrypt" && e.error_code.is_none())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_key_state_allows_and_refuses_what_aws_does() {
    let lab = Lab::start().await;
    let kms = lab.kms("owner-admin");
    let arn = create_key(&kms).await;
    let ct = kms
        .encrypt()
        .key_id(&arn)
        .plaintext(blob("x"))
        .send()
        .await
        .unwrap()
        .ciphertext_blob()
        .unwrap()
        .clone();

    kms.disable_key().key_id(&arn).send().await.unwrap();
    kms.disable_key().key_id(&arn).send().await.unwrap();
    let d = kms.describe_key().key_id(&arn).send().await.unwrap();
    assert_eq!(
        d.key_metadata().unwrap().key_state(),
        Some(&KeyState::Disabled)
    );
    assert!(!d.key_metadata().unwrap().enabled());
    let (code, msg) = err(kms.encrypt().key_id(&arn).plaintext(blob("x")).send().await);
    assert_eq!(
        (code.as_str(), msg),
        ("DisabledException", format!("{arn} is disabled."))
    );
    assert_eq!(
        err(kms.decrypt().ciphertext_blob(ct.clone()).send().await).0,
        "DisabledException"
    );
    assert_eq!(
        err(kms
            .generate_data_key()
            .key_id(&arn)
            .number_of_bytes(8)
            .send()
            .await)
        .0,
        "DisabledException"
    );
    assert_eq!(
        err(kms.enable_key_rotation().key_id(&arn).send().await).0,
        "DisabledException"
    );
    assert_eq!(
        err(kms.rotate_key_on_demand().key_id(&arn).send().await).0,
        "DisabledException"
    );
    let grant = kms
        .create_grant()
        .key_id(&arn)
        .grantee_principal(format!("arn:aws:iam::{OWNER}:role/Analyst"))
        .operations(GrantOperation::Decrypt)
        .send()
        .await;
    assert_eq!(err(grant).0, "DisabledException");
    kms.get_key_policy().key_id(&arn).send().await.unwrap();
    kms.enable_key().key_id(&arn).send().await.unwrap();
    kms.decrypt()
        .ciphertext_blob(ct.clone())
        .send()
        .await
        .unwrap();

    let (code, msg) = err(kms
        .schedule_key_deletion()
        .key_id(&arn)
        .pending_window_in_days(6)
        .send()
        .await);
    assert_eq!(code, "ValidationException");
    assert!(msg.contains("between 7 and 30"), "{msg}");
    let sched = kms
        .schedule_key_deletion()
        .key_id(&arn)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    assert_eq!(sched.key_state(), Some(&KeyState::PendingDeletion));
    assert_eq!(sched.pending_window_in_days(), Some(7));
    assert_eq!(sched.key_id(), Some(arn.as_str()));
    let meta = kms
        .describe_key()
        .key_id(&arn)
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .clone();
    assert!(meta.deletion_date().is_some());
    assert_eq!(meta.pending_deletion_window_in_days(), Some(7));
    let (code, msg) = err(kms.decrypt().ciphertext_blob(ct.clone()).send().await);
    assert_eq!(
        (code.as_str(), msg),
        (
            "KMSInvalidStateException",
            format!("{arn} is pending deletion.")
        )
    );
    assert_eq!(
        err(kms.enable_key().key_id(&arn).send().await).0,
        "KMSInvalidStateException"
    );
    assert_eq!(
        err(kms.schedule_key_deletion().key_id(&arn).send().await).0,
        "KMSInvalidStateException"
    );
    assert_eq!(
        err(kms
            .tag_resource()
            .key_id(&arn)
            .tags(Tag::builder().tag_key("a").tag_value("b").build().unwrap())
            .send()
            .await)
        .0,
        "KMSInvalidStateException"
    );
    assert!(
        !kms.get_key_rotation_status()
            .key_id(&arn)
            .send()
            .await
            .unwrap()
            .key_rotation_enabled()
    );
    let cancelled = kms.cancel_key_deletion().key_id(&arn).send().await.unwrap();
    assert_eq!(cancelled.key_id(), Some(arn.as_str()));
    let state = kms
        .describe_key()
        .key_id(&arn)
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_state()
        .cloned();
    assert_eq!(
        state,
        Some(KeyState::Disabled),
        "CancelKeyDeletion leaves the key Disabled, not Enabled"
    );
    let (code, msg) = err(kms.cancel_key_deletion().key_id(&arn).send().await);
    assert_eq!(
        (code.as_str(), msg),
        (
            "KMSInvalidStateException",
            format!("{arn} is not pending deletion.")
        )
    );

    let external = kms
        .create_key()
        .origin(aws_sdk_kms::types::OriginType::External)
        .send()
        .await
        .unwrap();
    let ext = external.key_metadata().unwrap();
    assert_eq!(ext.key_state(), Some(&KeyState::PendingImport));
    let ext_arn = ext.arn().unwrap().to_string();
    let (code, msg) = err(kms
        .encrypt()
        .key_id(&ext_arn)
        .plaintext(blob("x"))
        .send()
        .await);
    assert_eq!(
        (code.as_str(), msg),
        (
            "KMSInvalidStateException",
            format!("{ext_arn} is pending import.")
        )
    );
    assert_eq!(
        err(kms.enable_key_rotation().key_id(&ext_arn).send().await).0,
        "UnsupportedOperationException"
    );
    assert_eq!(
        err(kms.enable_key().key_id(&ext_arn).send().await).0,
        "KMSInvalidStateException"
    );
    kms.schedule_key_deletion()
        .key_id(&ext_arn)
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_really_happens_when_the_window_passes() {
    let lab = Lab::start().await;
    let kms = lab.kms("owner-admin");
    let arn = create_key(&kms).await;
    kms.create_alias()
        .alias_name("alias/doomed")
        .target_key_id(&arn)
        .send()
        .await
        .unwrap();
    let ct = kms
        .encrypt()
        .key_id(&arn)
        .plaintext(blob("x"))
        .send()
        .await
        .unwrap()
        .ciphertext_blob()
        .unwrap()
        .clone();
    kms.schedule_key_deletion()
        .key_id(&arn)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    lab.engine.advance_clock(Duration::days(6)).unwrap();
    let state = kms
        .describe_key()
        .key_id(&arn)
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_state()
        .cloned();
    assert_eq!(state, Some(KeyState::PendingDeletion));
    lab.engine
        .advance_clock(Duration::days(1) + Duration::minutes(1))
        .unwrap();
    let (code, msg) = err(kms.describe_key().key_id(&arn).send().await);
    assert_eq!(
        (code.as_str(), msg),
        ("NotFoundException", format!("Key '{arn}' does not exist"))
    );
    assert_eq!(
        err(kms.decrypt().ciphertext_blob(ct).send().await).0,
        "NotFoundException"
    );
    assert!(
        kms.list_aliases()
            .send()
            .await
            .unwrap()
            .aliases()
            .is_empty(),
        "aliases go with the key"
    );
    assert!(kms.list_keys().send().await.unwrap().keys().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_keeps_old_ciphertexts_readable() {
    let lab = Lab::start().await;
    let kms = lab.kms("owner-admin");
    let arn = create_key(&kms).await;
    for (days, bound) in [
        (89, "greater than or equal to 90"),
        (2561, "less than or equal to 2560"),
    ] {
        let (code, msg) = err(kms
            .enable_key_rotation()
            .key_id(&arn)
            .rotation_period_in_days(days)
            .send()
            .await);
        assert_eq!(code, "ValidationException");
        assert!(msg.contains(bound), "{msg}");
    }
    let before = kms
        .get_key_rotation_status()
        .key_id(&arn)
        .send()
        .await
        .unwrap();
    assert!(!before.key_rotation_enabled());
    kms.enable_key_rotation()
        .key_id(&arn)
        .rotation_period_in_days(90)
        .send()
        .await
        .unwrap();
    let status = kms
        .get_key_rotation_status()
        .key_id(&arn)
        .send()
        .await
        .unwrap();
    assert!(status.key_rotation_enabled());
    assert_eq!(status.rotation_period_in_days(), Some(90));
    assert!(status.next_rotation_date().is_some());

    let c1 = kms
        .encrypt()
        .key_id(&arn)
        .plaintext(blob("one"))
        .send()
        .await
        .unwrap()
        .ciphertext_blob()
        .unwrap()
        .clone();
    let m1 = kms
        .decrypt()
        .ciphertext_blob(c1.clone())
        .send()
        .await
        .unwrap()
        .key_material_id()
        .unwrap()
        .to_string();
    assert!(
        kms.list_key_rotations()
            .key_id(&arn)
            .send()
            .await
            .unwrap()
            .rotations()
            .is_empty()
    );
    lab.engine.advance_clock(Duration::days(91)).unwrap();
    let rotations = kms.list_key_rotations().key_id(&arn).send().await.unwrap();
    assert_eq!(rotations.rotations().len(), 1);
    assert_eq!(
        rotations.rotations()[0].rotation_type().map(|t| t.as_str()),
        Some("AUTOMATIC")
    );
    let c2 = kms
        .encrypt()
        .key_id(&arn)
        .plaintext(blob("two"))
        .send()
        .await
        .unwrap()
        .ciphertext_blob()
        .unwrap()
        .clone();
    let d1 = kms.decrypt().ciphertext_blob(c1).send().await.unwrap();
    let d2 = kms.decrypt().ciphertext_blob(c2).send().await.unwrap();
    assert_eq!(d1.plaintext().unwrap().as_ref(), b"one");
    assert_eq!(d1.key_material_id(), Some(m1.as_str()));
    assert_ne!(
        d2.key_material_id(),
        Some(m1.as_str()),
        "new encryptions use the new material"
    );
    let all = kms
        .list_key_rotations()
        .key_id(&arn)
        .include_key_material(aws_sdk_kms::types::IncludeKeyMaterial::AllKeyMaterial)
        .send()
        .await
        .unwrap();
    assert_eq!(all.rotations().len(), 2);

    kms.disable_key().key_id(&arn).send().await.unwrap();
    lab.engine.advance_clock(Duration::days(200)).unwrap();
    assert_eq!(
        kms.list_key_rotations()
            .key_id(&arn)
            .send()
            .await
            .unwrap()
            .rotations()
            .len(),
        1,
        "rotation pauses while disabled"
    );
    kms.enable_key().key_id(&arn).send().await.unwrap();
    kms.describe_key().key_id(&arn).send().await.unwrap();
    assert!(
        kms.list_key_rotations()
            .key_id(&arn)
            .send()
            .await
            .unwrap()
            .rotations()
            .len()
            >= 2,
        "an overdue key rotates when enabled again"
    );

    kms.disable_key_rotation()
        .key_id(&arn)
        .send()
        .await
        .unwrap();
    assert!(
        !kms.get_key_rotation_status()
            .key_id(&arn)
            .send()
            .await
            .unwrap()
            .key_rotation_enabled()
    );
    let on_demand = kms
        .rotate_key_on_demand()
        .key_id(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(on_demand.key_id(), Some(arn.rsplit('/').next().unwrap()));
    let listed = kms.list_key_rotations().key_id(&arn).send().await.unwrap();
    assert_eq!(
        listed
            .rotations()
            .last()
            .unwrap()
            .rotation_type()
            .map(|t| t.as_str()),
        Some("ON_DEMAND")
    );
    for _ in 1..25 {
        kms.rotate_key_on_demand()
            .key_id(&arn)
            .send()
            .await
            .unwrap();
    }
    let (code, msg) = err(kms.rotate_key_on_demand().key_id(&arn).send().await);
    assert_eq!(code, "LimitExceededException");
    assert!(
        msg.starts_with("The on-demand rotations limit has been reached for the given keyId."),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_policies_are_validated_and_the_lockout_check_applies() {
    let lab = Lab::start().await;
    let kms = lab.kms("owner-admin");
    let arn = create_key(&kms).await;
    let p = kms.get_key_policy().key_id(&arn).send().await.unwrap();
    assert_eq!(p.policy_name(), Some("default"));
    assert!(
        p.policy()
            .unwrap()
            .contains(&format!("arn:aws:iam::{OWNER}:root"))
    );
    assert_eq!(
        kms.list_key_policies()
            .key_id(&arn)
            .send()
            .await
            .unwrap()
            .policy_names(),
        ["default"]
    );
    assert_eq!(
        err(kms
            .get_key_policy()
            .key_id(&arn)
            .policy_name("other")
            .send()
            .await)
        .0,
        "NotFoundException"
    );

    let lockout = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/Analyst"},"Action":"kms:Decrypt","Resource":"*"}]}"#;
    let (code, msg) = err(kms
        .put_key_policy()
        .key_id(&arn)
        .policy(lockout)
        .send()
        .await);
    assert_eq!(code, "MalformedPolicyDocumentException");
    assert_eq!(
        msg,
        "The new key policy will not allow you to update the key policy in the future."
    );
    let (code, _) = err(kms.create_key().policy(lockout).send().await);
    assert_eq!(code, "MalformedPolicyDocumentException");
    let bad_principal = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/nobody"},"Action":"kms:*","Resource":"*"}]}"#;
    let (code, msg) = err(kms
        .put_key_policy()
        .key_id(&arn)
        .policy(bad_principal)
        .send()
        .await);
    assert_eq!(code, "MalformedPolicyDocumentException");
    assert!(
        msg.starts_with("Policy contains a statement with one or more invalid principals."),
        "{msg}"
    );
    let (code, msg) = err(kms
        .put_key_policy()
        .key_id(&arn)
        .policy("{\"Statement\": [")
        .send()
        .await);
    assert_eq!(code, "MalformedPolicyDocumentException");
    assert!(msg.contains("not valid JSON"), "{msg}");
    let (_, msg) = err(kms
        .put_key_policy()
        .key_id(&arn)
        .policy(
            r#"{"Statement":[{"Effect":"allow","Principal":"*","Action":"kms:*","Resource":"*"}]}"#,
        )
        .send()
        .await);
    assert!(
        msg.contains("Effect must be \"Allow\" or \"Deny\""),
        "{msg}"
    );

    kms.put_key_policy()
        .key_id(&arn)
        .policy(lockout)
        .bypass_policy_lockout_safety_check(true)
        .send()
        .await
        .unwrap();
    let (code, msg) = err(kms
        .put_key_policy()
        .key_id(&arn)
        .policy(lockout)
        .send()
        .await);
    assert_eq!(
        code, "AccessDeniedException",
        "the admin locked itself out: {msg}"
    );
    let analyst = lab.kms("owner-analyst");
    let ct = analyst
        .encrypt()
        .key_id(&arn)
        .plaintext(blob("x"))
        .send()
        .await;
    assert!(
        err(ct)
            .1
            .contains("because no resource-based policy allows the kms:Encrypt action")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_policies_count_only_when_the_key_policy_enables_them() {
    let lab = Lab::start().await;
    let admin = lab.kms("owner-admin");
    let analyst = lab.kms("owner-analyst");
    let arn = create_key(&admin).await;
    analyst
        .encrypt()
        .key_id(&arn)
        .plaintext(blob("x"))
        .send()
        .await
        .expect("root statement delegates to the analyst's identity policy");
    let (code, msg) = err(analyst.disable_key().key_id(&arn).send().await);
    assert_eq!(code, "AccessDeniedException");
    assert_eq!(
        msg,
        format!(
            "User: arn:aws:sts::{OWNER}:assumed-role/Analyst/owner-analyst is not authorized to perform: kms:DisableKey on resource: {arn} because no identity-based policy allows the kms:DisableKey action"
        )
    );

    let admin_only = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Admins","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OWNER}:user/admin"}},"Action":"kms:*","Resource":"*"}}]}}"#
    );
    admin
        .put_key_policy()
        .key_id(&arn)
        .policy(&admin_only)
        .send()
        .await
        .unwrap();
    let (_, msg) = err(analyst
        .encrypt()
        .key_id(&arn)
        .plaintext(blob("x"))
        .send()
        .await);
    assert!(
        msg.ends_with("because no resource-based policy allows the kms:Encrypt action"),
        "{msg}"
    );
    let denied = lab
        .engine
        .audit()
        .events()
        .into_iter()
        .rev()
        .find(|e| e.decision.as_deref() == Some("Deny"))
        .unwrap();
    let trace = denied.trace.unwrap();
    assert!(
        trace
            .steps
            .iter()
            .any(|s| s.contains("the identity policy has no effect")),
        "{:?}",
        trace.steps
    );

    let deny_decrypt = format!(
        r#"{{"Version":"2012-10-17","Statement":[
          {{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OWNER}:root"}},"Action":"kms:*","Resource":"*"}},
          {{"Sid":"NoAnalystDecrypt","Effect":"Deny","Principal":{{"AWS":"arn:aws:iam::{OWNER}:role/Analyst"}},"Action":"kms:Decrypt","Resource":"*"}}]}}"#
    );
    admin
        .put_key_policy()
        .key_id(&arn)
        .policy(&deny_decrypt)
        .send()
        .await
        .unwrap();
    let ct = analyst
        .encrypt()
        .key_id(&arn)
        .plaintext(blob("x"))
        .send()
        .await
        .unwrap()
        .ciphertext_blob()
        .unwrap()
        .clone();
    let (_, msg) = err(analyst.decrypt().ciphertext_blob(ct.clone()).send().await);
    assert!(
        msg.ends_with("with an explicit deny in a resource-based policy"),
        "{msg}"
    );
    admin
        .decrypt()
        .ciphertext_blob(ct.clone())
        .send()
        .await
        .unwrap();

    lab.engine
        .put_identity_policy(
            "owner-admin",
            "NoDecrypt",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}]}"#,
        )
        .unwrap();
    let (_, msg) = err(admin.decrypt().ciphertext_blob(ct).send().await);
    assert!(
        msg.ends_with("with an explicit deny in an identity-based policy"),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_policy_conditions_see_the_encryption_context_and_transport() {
    let lab = Lab::start().await;
    let admin = lab.kms("owner-admin");
    let arn = create_key(&admin).await;
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[
          {{"Sid":"Admin","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OWNER}:user/admin"}},"Action":"kms:*","Resource":"*"}},
          {{"Sid":"FinanceOnly","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OWNER}:role/Analyst"}},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*",
            "Condition":{{"StringEquals":{{"kms:EncryptionContext:department":"finance"}}}}}},
          {{"Sid":"TlsOnly","Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*","Condition":{{"Bool":{{"aws:SecureTransport":"false"}}}}}}]}}"#
    );
    let (code, msg) = err(admin
        .put_key_policy()
        .key_id(&arn)
        .policy(&policy)
        .send()
        .await);
    assert_eq!(
        code, "MalformedPolicyDocumentException",
        "over plain HTTP the new policy would lock the admin out: {msg}"
    );
    let admin_https = lab.kms_https("owner-admin");
    admin_https
        .put_key_policy()
        .key_id(&arn)
        .policy(&policy)
        .send()
        .await
        .expect("over HTTPS the Deny does not apply");

    let analyst = lab.kms_https("owner-analyst");
    analyst
        .encrypt()
        .key_id(&arn)
        .plaintext(blob("x"))
        .encryption_context("department", "finance")
        .send()
        .await
        .unwrap();
    let (code, msg) = err(analyst
        .encrypt()
        .key_id(&arn)
        .plaintext(blob("x"))
        .encryption_context("department", "hr")
        .send()
        .await);
    assert_eq!(code, "AccessDeniedException", "{msg}");
    assert_eq!(
        err(analyst
            .encrypt()
            .key_id(&arn)
            .plaintext(blob("x"))
            .send()
            .await)
        .0,
        "AccessDeniedException"
    );
    let plain_http = lab.kms("owner-analyst");
    let (_, msg) = err(plain_http
        .encrypt()
        .key_id(&arn)
        .plaintext(blob("x"))
        .encryption_context("department", "finance")
        .send()
        .await);
    assert!(
        msg.ends_with("with an explicit deny in a resource-based policy"),
        "{msg}"
    );
    let event = lab
        .engine
        .audit()
        .events()
        .into_iter()
        .rev()
        .find(|e| e.event_name == "Encrypt")
        .unwrap();
    assert!(!event.secure_transport);
    assert_eq!(
        event
            .encryption_context
            .unwrap()
            .get("department")
            .map(String::as_str),
        Some("finance")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_account_use_needs_both_policies_and_never_covers_management() {
    let lab = Lab::start().await;
    let owner = lab.kms("owner-admin");
    let partner = lab.kms("partner-analyst");
    let outsider = lab.kms("outsider-admin");
    let arn = create_key(&owner).await;
    owner
        .create_alias()
        .alias_name("alias/shared")
        .target_key_id(&arn)
        .send()
        .await
        .unwrap();
    let ct = owner
        .encrypt()
        .key_id(&arn)
        .plaintext(blob("shared data"))
        .send()
        .await
        .unwrap()
        .ciphertext_blob()
        .unwrap()
        .clone();

    let (code, msg) = err(partner.decrypt().ciphertext_blob(ct.clone()).send().await);
    assert_eq!(code, "AccessDeniedException");
    assert!(
        msg.ends_with("because no resource-based policy allows the kms:Decrypt action"),
        "{msg}"
    );

    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[
          {{"Sid":"Owner","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OWNER}:root"}},"Action":"kms:*","Resource":"*"}},
          {{"Sid":"Partner","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{PARTNER}:root"}},"Action":["kms:Encrypt","kms:Decrypt","kms:ReEncrypt*","kms:GenerateDataKey*","kms:DescribeKey","kms:ScheduleKeyDeletion","kms:GetKeyRotationStatus"],"Resource":"*"}}]}}"#
    );
    owner
        .put_key_policy()
        .key_id(&arn)
        .policy(&policy)
        .send()
        .await
        .unwrap();
    let (_, msg) = err(partner.decrypt().ciphertext_blob(ct.clone()).send().await);
    assert!(
        msg.ends_with("because no identity-based policy allows the kms:Decrypt action"),
        "{msg}"
    );

    let identity = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["kms:Decrypt","kms:Encrypt","kms:DescribeKey","kms:GenerateDataKey","kms:ScheduleKeyDeletion","kms:GetKeyRotationStatus"],"Resource":"{arn}"}}]}}"#
    );
    lab.engine
        .put_identity_policy("partner-analyst", "UseOwnerKey", &identity)
        .unwrap();
    let dec = partner
        .decrypt()
        .ciphertext_blob(ct.clone())
        .send()
        .await
        .expect("both policies allow: decrypt without KeyId");
    assert_eq!(dec.plaintext().unwrap().as_ref(), b"shared data");
    partner
        .encrypt()
        .key_id(&arn)
        .plaintext(blob("x"))
        .send()
        .await
        .unwrap();
    partner
        .encrypt()
        .key_id(format!("arn:aws:kms:us-east-1:{OWNER}:alias/shared"))
        .plaintext(blob("x"))
        .send()
        .await
        .expect("alias ARN works across accounts");
    assert_eq!(
        err(partner
            .encrypt()
            .key_id("alias/shared")
            .plaintext(blob("x"))
            .send()
            .await)
        .0,
        "NotFoundException",
        "an alias name resolves in the caller's account"
    );
    let key_id = arn.rsplit('/').next().unwrap();
    assert_eq!(
        err(partner
            .encrypt()
            .key_id(key_id)
            .plaintext(blob("x"))
            .send()
            .await)
        .0,
        "NotFoundException"
    );
    partner
        .decrypt()
        .ciphertext_blob(ct.clone())
        .key_id(key_id)
        .send()
        .await
        .expect("Decrypt accepts the bare key id of a symmetric ciphertext's key across accounts");
    partner.describe_key().key_id(&arn).send().await.unwrap();
    partner
        .get_key_rotation_status()
        .key_id(&arn)
        .send()
        .await
        .unwrap();
    let (code, msg) = err(partner.schedule_key_deletion().key_id(&arn).send().await);
    assert_eq!(
        code, "AccessDeniedException",
        "management operations never work across accounts"
    );
    assert!(msg.contains("cannot be used across accounts"), "{msg}");
    assert!(
        partner
            .list_aliases()
            .send()
            .await
            .unwrap()
            .aliases()
            .is_empty()
    );

    assert_eq!(
        err(outsider.decrypt().ciphertext_blob(ct.clone()).send().await).0,
        "AccessDeniedException"
    );
    lab.engine
        .delete_identity_policy("partner-analyst", "UseOwnerKey")
        .unwrap();
    assert_eq!(
        err(partner.decrypt().ciphertext_blob(ct).send().await).0,
        "AccessDeniedException"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grants_allow_with_constraints_and_can_be_retired_and_revoked() {
    let lab = Lab::start().await;
    let owner = lab.kms("owner-admin");
    let partner = lab.kms("partner-analyst");
    let arn = create_key(&owner).await;
    let ct = owner
        .encrypt()
        .key_id(&arn)
        .plaintext(blob("x"))
        .encryption_context("project", "alpha")
        .send()
        .await
        .unwrap()
        .ciphertext_blob()
        .unwrap()
        .clone();
    let other_ct = owner
        .encrypt()
        .key_id(&arn)
        .plaintext(blob("y"))
        .encryption_context("project", "beta")
        .send()
        .await
        .unwrap()
        .ciphertext_blob()
        .unwrap()
        .clone();
    let grantee = format!("arn:aws:iam::{PARTNER}:role/Analyst");
    let grant = owner
        .create_grant()
        .key_id(&arn)
        .grantee_principal(&grantee)
        .retiring_principal(format!("arn:aws:iam::{OWNER}:user/admin"))
        .operations(GrantOperation::Decrypt)
        .constraints(
            GrantConstraints::builder()
                .encryption_context_subset("project", "alpha")
                .build(),
        )
        .name("alpha-readers")
        .send()
        .await
        .unwrap();
    let grant_id = grant.grant_id().unwrap().to_string();
    assert!(grant.grant_token().is_some());
    partner
        .decrypt()
        .ciphertext_blob(ct.clone())
        .encryption_context("project", "alpha")
        .send()
        .await
        .expect("the grant allows");
    assert_eq!(
        err(partner
            .decrypt()
            .ciphertext_blob(other_ct)
            .encryption_context("project", "beta")
            .send()
            .await)
        .0,
        "AccessDeniedException"
    );
    assert_eq!(
        err(partner
            .encrypt()
            .key_id(&arn)
            .plaintext(blob("x"))
            .encryption_context("project", "alpha")
            .send()
            .await)
        .0,
        "AccessDeniedException"
    );

    let listed = owner.list_grants().key_id(&arn).send().await.unwrap();
    assert_eq!(listed.grants().len(), 1);
    let g = &listed.grants()[0];
    assert_eq!(g.grantee_principal(), Some(grantee.as_str()));
    assert_eq!(g.name(), Some("alpha-readers"));
    assert_eq!(
        g.issuing_account(),
        Some(format!("arn:aws:iam::{OWNER}:root").as_str())
    );

    let bad = owner
        .create_grant()
        .key_id(&arn)
        .grantee_principal(&grantee)
        .operations(GrantOperation::Sign)
        .send()
        .await;
    assert_eq!(err(bad).0, "ValidationException");
    let by_alias = owner
        .create_alias()
        .alias_name("alias/g")
        .target_key_id(&arn)
        .send()
        .await;
    by_alias.unwrap();
    assert_eq!(
        err(owner
            .create_grant()
            .key_id("alias/g")
            .grantee_principal(&grantee)
            .operations(GrantOperation::Decrypt)
            .send()
            .await)
        .0,
        "NotFoundException"
    );

    assert_eq!(
        err(partner
            .retire_grant()
            .key_id(&arn)
            .grant_id(&grant_id)
            .send()
            .await)
        .0,
        "AccessDeniedException"
    );
    owner
        .retire_grant()
        .key_id(&arn)
        .grant_id(&grant_id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        err(partner
            .decrypt()
            .ciphertext_blob(ct.clone())
            .encryption_context("project", "alpha")
            .send()
            .await)
        .0,
        "AccessDeniedException"
    );

    let second = owner
        .create_grant()
        .key_id(&arn)
        .grantee_principal(&grantee)
        .operations(GrantOperation::Decrypt)
        .send()
        .await
        .unwrap();
    partner
        .decrypt()
        .ciphertext_blob(ct.clone())
        .encryption_context("project", "alpha")
        .grant_tokens(second.grant_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        err(partner
            .decrypt()
            .ciphertext_blob(ct.clone())
            .encryption_context("project", "alpha")
            .grant_tokens("bogus")
            .send()
            .await)
        .0,
        "InvalidGrantTokenException"
    );
    owner
        .revoke_grant()
        .key_id(&arn)
        .grant_id(second.grant_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        err(owner
            .revoke_grant()
            .key_id(&arn)
            .grant_id(second.grant_id().unwrap())
            .send()
            .await)
        .0,
        "NotFoundException"
    );
    assert!(
        owner
            .list_grants()
            .key_id(&arn)
            .send()
            .await
            .unwrap()
            .grants()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_are_stored_and_reserved_prefixes_refused() {
    let lab = Lab::start().await;
    let kms = lab.kms("owner-admin");
    let arn = kms
        .create_key()
        .tags(
            Tag::builder()
                .tag_key("team")
                .tag_value("data")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    kms.tag_resource()
        .key_id(&arn)
        .tags(
            Tag::builder()
                .tag_key("env")
                .tag_value("lab")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let tags = kms.list_resource_tags().key_id(&arn).send().await.unwrap();
    let keys: Vec<_> = tags.tags().iter().map(|t| t.tag_key()).collect();
    assert_eq!(keys, ["env", "team"]);
    let (code, msg) = err(kms
        .tag_resource()
        .key_id(&arn)
        .tags(
            Tag::builder()
                .tag_key("aws:x")
                .tag_value("y")
                .build()
                .unwrap(),
        )
        .send()
        .await);
    assert_eq!(
        (code.as_str(), msg.as_str()),
        ("TagException", "Tags beginning with aws: are reserved")
    );
    kms.untag_resource()
        .key_id(&arn)
        .tag_keys("env")
        .send()
        .await
        .unwrap();
    assert_eq!(
        kms.list_resource_tags()
            .key_id(&arn)
            .send()
            .await
            .unwrap()
            .tags()
            .len(),
        1
    );
    let partner = lab.kms("partner-admin");
    assert_eq!(
        err(partner.list_resource_tags().key_id(&arn).send().await).0,
        "AccessDeniedException"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_is_authenticated_with_sigv4() {
    let lab = Lab::start().await;
    let good = keylab::backend::sdk::engine_settings(&lab.engine, "owner-admin", false).unwrap();

    let mut unknown = good.clone();
    unknown.access_key_id = "AKIAUNKNOWNKEY000000".into();
    let (code, msg) = err(keylab::backend::sdk::kms_client(&unknown)
        .unwrap()
        .list_keys()
        .send()
        .await);
    assert_eq!(
        (code.as_str(), msg.as_str()),
        (
            "UnrecognizedClientException",
            "The security token included in the request is invalid."
        )
    );

    let mut wrong_secret = good.clone();
    wrong_secret.secret_access_key = "not-the-secret".into();
    let (code, msg) = err(keylab::backend::sdk::kms_client(&wrong_secret)
        .unwrap()
        .list_keys()
        .send()
        .await);
    assert_eq!(code, "InvalidSignatureException");
    assert!(
        msg.starts_with("The request signature we calculated does not match"),
        "{msg}"
    );

    let skewed_time = std::time::SystemTime::now() - std::time::Duration::from_secs(20 * 60);
    let client = keylab::backend::sdk::kms_client(&good).unwrap();
    let config = client
        .config()
        .to_builder()
        .time_source(aws_smithy_async::time::StaticTimeSource::new(skewed_time))
        .build();
    let (code, msg) = err(aws_sdk_kms::Client::from_conf(config)
        .list_keys()
        .send()
        .await);
    assert_eq!(code, "InvalidSignatureException");
    assert!(msg.starts_with("Signature expired:"), "{msg}");

    let mut wrong_region = good.clone();
    wrong_region.region = "eu-west-1".into();
    assert_eq!(
        err(keylab::backend::sdk::kms_client(&wrong_region)
            .unwrap()
            .list_keys()
            .send()
            .await)
        .0,
        "InvalidSignatureException"
    );

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = lab
        .engine
        .http_endpoint()
        .trim_start_matches("http://")
        .to_string();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let body = "{}";
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nX-Amz-Target: TrentService.ListKeys\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    assert!(
        response.contains("MissingAuthenticationTokenException"),
        "{response}"
    );

    let denied: Vec<_> = lab
        .engine
        .audit()
        .events()
        .into_iter()
        .filter(|e| e.error_code.is_some())
        .collect();
    assert!(denied.len() >= 5, "every refused request is audited");
    assert!(denied.iter().any(|e| e.user_identity.is_none()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_records_calls_without_secrets() {
    let lab = Lab::start().await;
    let kms = lab.kms("owner-admin");
    let arn = create_key(&kms).await;
    let secret = "PLAINTEXT-MARKER-7731";
    let ct = kms
        .encrypt()
        .key_id(&arn)
        .plaintext(blob(secret))
        .encryption_context("purpose", "audit")
        .send()
        .await
        .unwrap();
    let dk = kms
        .generate_data_key()
        .key_id(&arn)
        .key_spec(DataKeySpec::Aes256)
        .send()
        .await
        .unwrap();
    kms.decrypt()
        .ciphertext_blob(ct.ciphertext_blob().unwrap().clone())
        .encryption_context("purpose", "audit")
        .send()
        .await
        .unwrap();
    let events = lab.engine.audit().events();
    let encrypt = events.iter().find(|e| e.event_name == "Encrypt").unwrap();
    assert_eq!(encrypt.resources, vec![arn.clone()]);
    assert_eq!(encrypt.decision.as_deref(), Some("Allow"));
    assert_eq!(
        encrypt.user_identity.as_ref().unwrap().arn,
        format!("arn:aws:iam::{OWNER}:user/admin")
    );
    assert_eq!(
        encrypt.encryption_context.as_ref().unwrap()["purpose"],
        "audit"
    );
    let all = serde_json::to_string(&events).unwrap();
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    assert!(!all.contains(secret) && !all.contains(&b64(secret.as_bytes())));
    assert!(!all.contains(&b64(dk.plaintext().unwrap().as_ref())));
    assert!(!all.contains(&b64(ct.ciphertext_blob().unwrap().as_ref())));
    lab.engine.audit().close();
    let on_disk = std::fs::read_to_string(lab.dir.path().join("audit.jsonl")).unwrap();
    assert_eq!(on_disk.lines().count(), events.len());
    assert!(!on_disk.contains(secret));
    let mut raw = Vec::new();
    for entry in std::fs::read_dir(lab.dir.path()).unwrap() {
        raw.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    assert!(!raw.windows(secret.len()).any(|w| w == secret.as_bytes()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (arn, ct, secret) = {
        let engine = keylab_engine::Engine::start(keylab_engine::EngineConfig::new(dir.path()))
            .await
            .unwrap();
        let settings =
            keylab::backend::sdk::engine_settings(&engine, "owner-admin", false).unwrap();
        let kms = keylab::backend::sdk::kms_client(&settings).unwrap();
        let arn = create_key(&kms).await;
        kms.create_alias()
            .alias_name("alias/kept")
            .target_key_id(&arn)
            .send()
            .await
            .unwrap();
        kms.enable_key_rotation().key_id(&arn).send().await.unwrap();
        let ct = kms
            .encrypt()
            .key_id("alias/kept")
            .plaintext(blob("persisted"))
            .send()
            .await
            .unwrap()
            .ciphertext_blob()
            .unwrap()
            .clone();
        engine.advance_clock(Duration::days(3)).unwrap();
        engine
            .put_identity_policy(
                "partner-analyst",
                "Extra",
                r#"{"Statement":[{"Effect":"Allow","Action":"kms:ListKeys","Resource":"*"}]}"#,
            )
            .unwrap();
        engine.shutdown().await;
        (arn, ct, settings.secret_access_key)
    };
    let engine = keylab_engine::Engine::start(keylab_engine::EngineConfig::new(dir.path()))
        .await
        .unwrap();
    let settings = keylab::backend::sdk::engine_settings(&engine, "owner-admin", false).unwrap();
    assert_eq!(
        settings.secret_access_key, secret,
        "generated secrets are kept"
    );
    let kms = keylab::backend::sdk::kms_client(&settings).unwrap();
    let dec = kms.decrypt().ciphertext_blob(ct).send().await.unwrap();
    assert_eq!(dec.plaintext().unwrap().as_ref(), b"persisted");
    assert_eq!(
        kms.describe_key()
            .key_id("alias/kept")
            .send()
            .await
            .unwrap()
            .key_metadata()
            .unwrap()
            .arn(),
        Some(arn.as_str())
    );
    assert!(
        kms.get_key_rotation_status()
            .key_id(&arn)
            .send()
            .await
            .unwrap()
            .key_rotation_enabled()
    );
    assert!(engine.clock().offset_secs() >= 3 * 86_400);
    assert!(engine.identities().policy_texts()["partner-analyst"].contains_key("Extra"));
    engine.shutdown().await;
}
