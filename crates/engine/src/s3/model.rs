//! What the S3 engine stores: buckets with their encryption configuration and policy, and
//! objects whose bodies live encrypted in `objects/` of the state directory. Persisted sealed.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use keylab_policy::PolicyDocument;

/// A bucket's default encryption (`PutBucketEncryption`); SSE-S3 unless configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultEncryption {
    /// `AES256`, `aws:kms` or `aws:kms:dsse`.
    pub algorithm: String,
    /// The KMS key for the KMS algorithms, as configured.
    pub kms_key_id: Option<String>,
    /// Whether S3 Bucket Keys are on.
    pub bucket_key_enabled: bool,
}

impl Default for DefaultEncryption {
    fn default() -> Self {
        DefaultEncryption {
            algorithm: "AES256".into(),
            kms_key_id: None,
            bucket_key_enabled: false,
        }
    }
}

/// A bucket's public access block (all four settings are on for new buckets since April 2023).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicAccessBlock {
    /// BlockPublicAcls (ACLs are not modelled; kept and echoed).
    pub block_public_acls: bool,
    /// IgnorePublicAcls (ACLs are not modelled; kept and echoed).
    pub ignore_public_acls: bool,
    /// BlockPublicPolicy: PutBucketPolicy refuses public policies.
    pub block_public_policy: bool,
    /// RestrictPublicBuckets: a public policy gives nothing to other accounts.
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    /// Everything blocked, as for a new bucket.
    pub fn all() -> PublicAccessBlock {
        PublicAccessBlock {
            block_public_acls: true,
            ignore_public_acls: true,
            block_public_policy: true,
            restrict_public_buckets: true,
        }
    }
}

fn public_access_block_default() -> Option<PublicAccessBlock> {
    Some(PublicAccessBlock::all())
}

/// How one object is encrypted at rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ObjectEncryption {
    /// SSE-S3: a per-object data key sealed under the engine's master key.
    S3 {
        /// The sealed data key.
        sealed_key: Vec<u8>,
    },
    /// SSE-KMS or DSSE-KMS: a per-object data key from the engine's KMS.
    Kms {
        /// `aws:kms` or `aws:kms:dsse`.
        algorithm: String,
        /// The key ARN.
        key_arn: String,
        /// The data key's ciphertext blob.
        blob: Vec<u8>,
        /// The encryption context the data key is bound to.
        context: BTreeMap<String, String>,
        /// Whether the bucket key was used (context is the bucket ARN).
        bucket_key: bool,
        /// DSSE-KMS only: the second layer's data key, sealed under the engine's master key.
        #[serde(default)]
        outer_key: Option<Vec<u8>>,
    },
    /// SSE-C: encrypted with the customer's key, of which only a salted HMAC is kept.
    Customer {
        /// The random salt.
        salt: Vec<u8>,
        /// HMAC-SHA-256 of the key under the salt.
        mac: Vec<u8>,
        /// base64(MD5(key)), echoed in responses.
        key_md5: String,
    },
}

/// One part of an object assembled by a multipart upload: its body is sealed on its own.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredPart {
    /// The part number (bound into the part's authenticated data).
    pub number: i32,
    /// The file holding the encrypted part, in `objects/`.
    pub file: String,
    /// The plaintext size.
    pub size: u64,
    /// The part's ETag, unquoted.
    pub etag: String,
}

/// A multipart upload in progress.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Upload {
    /// The object key.
    pub key: String,
    /// When it was initiated.
    pub initiated: i64,
    /// The principal that initiated it.
    pub initiator: String,
    /// How the object is encrypted: chosen, and the data key made, at initiation.
    pub encryption: ObjectEncryption,
    /// The encryption request headers of the initiation, which the policy conditions of the
    /// later part requests see.
    pub condition_headers: BTreeMap<String, String>,
    /// Content type.
    pub content_type: Option<String>,
    /// User metadata.
    pub metadata: BTreeMap<String, String>,
    /// Parts uploaded so far, by number.
    pub parts: BTreeMap<i32, StoredPart>,
}

/// An object.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Object {
    /// The file holding the encrypted body, in `objects/` (empty when the body is in parts).
    pub file: String,
    /// The parts of an object assembled by a multipart upload, in order.
    #[serde(default)]
    pub parts: Vec<StoredPart>,
    /// The plaintext size.
    pub size: u64,
    /// The ETag (MD5 of the plaintext for SSE-S3, random for KMS, as AWS does), unquoted.
    pub etag: String,
    /// Last modified (epoch seconds, virtual clock).
    pub modified: i64,
    /// Content type.
    pub content_type: Option<String>,
    /// User metadata (`x-amz-meta-*`).
    pub metadata: BTreeMap<String, String>,
    /// How it is encrypted.
    pub encryption: ObjectEncryption,
}

/// A bucket.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Bucket {
    /// The owning account.
    pub account: String,
    /// Creation time.
    pub created: i64,
    /// Default encryption.
    pub encryption: DefaultEncryption,
    /// The bucket policy, as written.
    pub policy: Option<String>,
    /// The public access block, `None` after DeletePublicAccessBlock.
    #[serde(default = "public_access_block_default")]
    pub public_access_block: Option<PublicAccessBlock>,
    /// `Enabled` or `Suspended` once PutBucketVersioning was called.
    #[serde(default)]
    pub versioning: Option<String>,
    /// Whether SSE-C uploads are blocked (the default for new buckets since April 2026).
    #[serde(default = "blocked_by_default")]
    pub sse_c_blocked: bool,
    /// The parsed bucket policy.
    #[serde(skip)]
    pub policy_doc: Option<Arc<PolicyDocument>>,
    /// Objects by key (records of their own in the state store; read from the whole-state
    /// documents of older engines).
    #[serde(default, skip_serializing)]
    pub objects: BTreeMap<String, Object>,
    /// Multipart uploads in progress, by upload id (records of their own, like objects).
    #[serde(default, skip_serializing)]
    pub uploads: BTreeMap<String, Upload>,
}

/// Everything the S3 engine keeps.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct S3State {
    /// Buckets by name (names are global, as in AWS).
    pub buckets: BTreeMap<String, Bucket>,
}

fn blocked_by_default() -> bool {
    true
}
