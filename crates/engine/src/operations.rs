//! Every request the engine serves, as the names packs write: the audit log's event names
//! (`GenerateDataKey`, `PutObject`) and the IAM actions policies decide (`kms:Decrypt`,
//! `s3:GetObject`, `iam:PutRolePolicy`, `sts:AssumeRole`). The pack lint checks a grader's
//! `action` and `operation` against these lists, so a typo'd action (always denied, so an
//! `expect = "deny"` row that can never fail) is an error before anything runs. Limits: the
//! lists name what the engine serves, not every action AWS has.

use std::collections::BTreeSet;

/// The S3 operations the engine serves (the audit log's event names for S3).
pub const S3_OPERATIONS: &[&str] = &[
    "CreateBucket",
    "DeleteBucket",
    "HeadBucket",
    "ListBuckets",
    "PutObject",
    "PostObject",
    "CopyObject",
    "CreateMultipartUpload",
    "UploadPart",
    "CompleteMultipartUpload",
    "AbortMultipartUpload",
    "GetObject",
    "HeadObject",
    "DeleteObject",
    "ListObjects",
    "ListObjectsV2",
    "PutBucketPolicy",
    "GetBucketPolicy",
    "DeleteBucketPolicy",
    "PutBucketVersioning",
    "GetBucketVersioning",
    "PutBucketEncryption",
    "GetBucketEncryption",
    "DeleteBucketEncryption",
    "PutPublicAccessBlock",
    "GetPublicAccessBlock",
    "DeletePublicAccessBlock",
    "UpdateObjectEncryption",
];

/// The IAM operations the engine serves (over the Query protocol and in the console).
pub const IAM_OPERATIONS: &[&str] = crate::iam_query::OPERATIONS;

/// Every operation name the audit log can record.
pub fn operations() -> BTreeSet<&'static str> {
    crate::kms::wire::OPERATIONS
        .iter()
        .chain(S3_OPERATIONS)
        .chain(IAM_OPERATIONS)
        .chain(crate::sts::OPERATIONS)
        .chain(crate::cloudtrail::OPERATIONS)
        .chain(crate::secrets::http::OPERATIONS)
        .copied()
        .collect()
}

/// Every IAM action a request to the engine is decided on (`kms:ReEncryptFrom` and
/// `kms:ReEncryptTo` for `ReEncrypt`, S3's actions as the S3 User Guide names them).
pub fn actions() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for op in crate::kms::wire::OPERATIONS {
        if *op == "ReEncrypt" {
            out.insert("kms:ReEncryptFrom".to_string());
            out.insert("kms:ReEncryptTo".to_string());
        } else {
            out.insert(format!("kms:{op}"));
        }
    }
    // A browser POST upload is authorized as s3:PutObject; it names no action of its own.
    out.extend(
        S3_OPERATIONS
            .iter()
            .filter(|op| **op != "PostObject")
            .map(|op| crate::s3::access::action_for(op)),
    );
    out.extend(IAM_OPERATIONS.iter().map(|op| format!("iam:{op}")));
    out.extend(crate::sts::OPERATIONS.iter().map(|op| format!("sts:{op}")));
    out.extend(
        crate::cloudtrail::OPERATIONS
            .iter()
            .map(|op| format!("cloudtrail:{op}")),
    );
    out.extend(
        crate::secrets::http::OPERATIONS
            .iter()
            .map(|op| format!("secretsmanager:{op}")),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_hold_the_actions_graders_use_and_not_typos() {
        let actions = actions();
        for a in [
            "kms:Decrypt",
            "kms:ReEncryptFrom",
            "s3:GetObject",
            "s3:ListBucket",
            "s3:PutEncryptionConfiguration",
            "iam:PutRolePolicy",
            "sts:AssumeRole",
            "iam:SimulatePrincipalPolicy",
            "cloudtrail:LookupEvents",
            "kms:Sign",
            "secretsmanager:GetSecretValue",
        ] {
            assert!(actions.contains(a), "{a}");
        }
        for a in [
            "kms:Decrpyt",
            "s3:HeadObject",
            "kms:ReEncrypt",
            "s3:PostObject",
        ] {
            assert!(!actions.contains(a), "{a}");
        }
        assert!(operations().contains("GenerateDataKey") && operations().contains("PutObject"));
    }
}
