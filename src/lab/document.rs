//! Configuration documents graded by meaning. A learner writes the JSON they would give a real
//! API (an EMR security configuration, a Glue security configuration, …); the check parses it
//! (so formatting and key order do not matter), validates it against the API's input shape
//! (unknown fields, wrong types, bad enum values and missing required members are errors, as
//! the real API answers), applies the API's own cross-field rules, then tests the exercise's
//! requirements by JSON pointer. The shapes are written here from AWS's API references
//! because no crate carries them; they cover the encryption-related members in full and accept
//! the other documented members of each input without looking inside them.

use serde_json::Value;

use crate::pack::DocumentApi;

/// The shape of a JSON value in an API input.
#[derive(Debug)]
enum Shape {
    Str,
    Bool,
    Int,
    Enum(&'static [&'static str]),
    List(&'static Shape),
    Obj(&'static [Field]),
    /// A documented member this grader does not look inside.
    Any,
}

#[derive(Debug)]
struct Field {
    name: &'static str,
    shape: Shape,
    required: bool,
}

const fn req(name: &'static str, shape: Shape) -> Field {
    Field {
        name,
        shape,
        required: true,
    }
}

const fn opt(name: &'static str, shape: Shape) -> Field {
    Field {
        name,
        shape,
        required: false,
    }
}

const EMR: Shape = Shape::Obj(&[
    opt(
        "EncryptionConfiguration",
        Shape::Obj(&[
            req("EnableInTransitEncryption", Shape::Bool),
            req("EnableAtRestEncryption", Shape::Bool),
            opt(
                "InTransitEncryptionConfiguration",
                Shape::Obj(&[opt(
                    "TLSCertificateConfiguration",
                    Shape::Obj(&[
                        req("CertificateProviderType", Shape::Enum(&["PEM", "Custom"])),
                        opt("S3Object", Shape::Str),
                        opt("CertificateProviderClass", Shape::Str),
                    ]),
                )]),
            ),
            opt(
                "AtRestEncryptionConfiguration",
                Shape::Obj(&[
                    opt(
                        "S3EncryptionConfiguration",
                        Shape::Obj(&[
                            req(
                                "EncryptionMode",
                                Shape::Enum(&["SSE-S3", "SSE-KMS", "CSE-KMS", "CSE-Custom"]),
                            ),
                            opt("AwsKmsKey", Shape::Str),
                            opt("S3Object", Shape::Str),
                            opt("EncryptionKeyProviderClass", Shape::Str),
                            opt("Overrides", Shape::Any),
                        ]),
                    ),
                    opt(
                        "LocalDiskEncryptionConfiguration",
                        Shape::Obj(&[
                            req(
                                "EncryptionKeyProviderType",
                                Shape::Enum(&["AwsKms", "Custom"]),
                            ),
                            opt("AwsKmsKey", Shape::Str),
                            opt("S3Object", Shape::Str),
                            opt("EncryptionKeyProviderClass", Shape::Str),
                            opt("EnableEbsEncryption", Shape::Bool),
                        ]),
                    ),
                ]),
            ),
        ]),
    ),
    opt("AuthenticationConfiguration", Shape::Any),
    opt("AuthorizationConfiguration", Shape::Any),
    opt("InstanceMetadataServiceConfiguration", Shape::Any),
]);

const GLUE_SECURITY: Shape = Shape::Obj(&[
    req("Name", Shape::Str),
    req(
        "EncryptionConfiguration",
        Shape::Obj(&[
            opt(
                "S3Encryption",
                Shape::List(&Shape::Obj(&[
                    opt(
                        "S3EncryptionMode",
                        Shape::Enum(&["DISABLED", "SSE-KMS", "SSE-S3"]),
                    ),
                    opt("KmsKeyArn", Shape::Str),
                ])),
            ),
            opt(
                "CloudWatchEncryption",
                Shape::Obj(&[
                    opt(
                        "CloudWatchEncryptionMode",
                        Shape::Enum(&["DISABLED", "SSE-KMS"]),
                    ),
                    opt("KmsKeyArn", Shape::Str),
                ]),
            ),
            opt(
                "JobBookmarksEncryption",
                Shape::Obj(&[
                    opt(
                        "JobBookmarksEncryptionMode",
                        Shape::Enum(&["DISABLED", "CSE-KMS"]),
                    ),
                    opt("KmsKeyArn", Shape::Str),
                ]),
            ),
            opt(
                "DataQualityEncryption",
                Shape::Obj(&[
                    opt(
                        "DataQualityEncryptionMode",
                        Shape::Enum(&["DISABLED", "SSE-KMS"]),
                    ),
                    opt("KmsKeyArn", Shape::Str),
                ]),
            ),
        ]),
    ),
]);

const GLUE_CATALOG: Shape = Shape::Obj(&[
    opt("CatalogId", Shape::Str),
    req(
        "DataCatalogEncryptionSettings",
        Shape::Obj(&[
            opt(
                "EncryptionAtRest",
                Shape::Obj(&[
                    req(
                        "CatalogEncryptionMode",
                        Shape::Enum(&["DISABLED", "SSE-KMS", "SSE-KMS-WITH-SERVICE-ROLE"]),
                    ),
                    opt("SseAwsKmsKeyId", Shape::Str),
                    opt("CatalogEncryptionServiceRole", Shape::Str),
                ]),
            ),
            opt(
                "ConnectionPasswordEncryption",
                Shape::Obj(&[
                    req("ReturnConnectionPasswordEncrypted", Shape::Bool),
                    opt("AwsKmsKeyId", Shape::Str),
                ]),
            ),
        ]),
    ),
]);

const REDSHIFT_CLUSTER: Shape = Shape::Obj(&[
    req("ClusterIdentifier", Shape::Str),
    req("NodeType", Shape::Str),
    req("MasterUsername", Shape::Str),
    opt("MasterUserPassword", Shape::Str),
    opt("ManageMasterPassword", Shape::Bool),
    opt("MasterPasswordSecretKmsKeyId", Shape::Str),
    opt("DBName", Shape::Str),
    opt("ClusterType", Shape::Enum(&["single-node", "multi-node"])),
    opt("NumberOfNodes", Shape::Int),
    opt("Port", Shape::Int),
    opt("PubliclyAccessible", Shape::Bool),
    opt("Encrypted", Shape::Bool),
    opt("KmsKeyId", Shape::Str),
    opt("HsmClientCertificateIdentifier", Shape::Str),
    opt("HsmConfigurationIdentifier", Shape::Str),
    opt("ClusterParameterGroupName", Shape::Str),
    opt("ClusterSubnetGroupName", Shape::Str),
    opt("VpcSecurityGroupIds", Shape::List(&Shape::Str)),
    opt("IamRoles", Shape::List(&Shape::Str)),
    opt("EnhancedVpcRouting", Shape::Bool),
    opt("AvailabilityZone", Shape::Str),
    opt("AutomatedSnapshotRetentionPeriod", Shape::Int),
    opt("Tags", Shape::Any),
]);

const REDSHIFT_PARAMETERS: Shape = Shape::Obj(&[
    req("ParameterGroupName", Shape::Str),
    req(
        "Parameters",
        Shape::List(&Shape::Obj(&[
            opt("ParameterName", Shape::Str),
            opt("ParameterValue", Shape::Str),
            opt("Description", Shape::Str),
            opt("Source", Shape::Str),
            opt("DataType", Shape::Str),
            opt("AllowedValues", Shape::Str),
            opt("ApplyType", Shape::Enum(&["static", "dynamic"])),
            opt("IsModifiable", Shape::Bool),
            opt("MinimumEngineVersion", Shape::Str),
        ])),
    ),
]);

const MSK_ENCRYPTION: Shape = Shape::Obj(&[
    opt(
        "EncryptionAtRest",
        Shape::Obj(&[req("DataVolumeKMSKeyId", Shape::Str)]),
    ),
    opt(
        "EncryptionInTransit",
        Shape::Obj(&[
            opt(
                "ClientBroker",
                Shape::Enum(&["TLS", "TLS_PLAINTEXT", "PLAINTEXT"]),
            ),
            opt("InCluster", Shape::Bool),
        ]),
    ),
]);

const STATUS: Shape = Shape::Enum(&["Enabled", "Disabled"]);

const S3_REPLICATION: Shape = Shape::Obj(&[
    req("Role", Shape::Str),
    req(
        "Rules",
        Shape::List(&Shape::Obj(&[
            opt("ID", Shape::Str),
            opt("Priority", Shape::Int),
            opt("Prefix", Shape::Str),
            opt("Filter", Shape::Any),
            req("Status", STATUS),
            opt(
                "SourceSelectionCriteria",
                Shape::Obj(&[
                    opt(
                        "SseKmsEncryptedObjects",
                        Shape::Obj(&[req("Status", STATUS)]),
                    ),
                    opt("ReplicaModifications", Shape::Obj(&[req("Status", STATUS)])),
                ]),
            ),
            opt(
                "ExistingObjectReplication",
                Shape::Obj(&[req("Status", STATUS)]),
            ),
            req(
                "Destination",
                Shape::Obj(&[
                    req("Bucket", Shape::Str),
                    opt("Account", Shape::Str),
                    opt("StorageClass", Shape::Str),
                    opt("AccessControlTranslation", Shape::Any),
                    opt(
                        "EncryptionConfiguration",
                        Shape::Obj(&[opt("ReplicaKmsKeyID", Shape::Str)]),
                    ),
                    opt("ReplicationTime", Shape::Any),
                    opt("Metrics", Shape::Any),
                ]),
            ),
            opt(
                "DeleteMarkerReplication",
                Shape::Obj(&[opt("Status", STATUS)]),
            ),
        ])),
    ),
]);

const SECRETS_CREATE: Shape = Shape::Obj(&[
    req("Name", Shape::Str),
    opt("ClientRequestToken", Shape::Str),
    opt("Description", Shape::Str),
    opt("KmsKeyId", Shape::Str),
    opt("SecretBinary", Shape::Str),
    opt("SecretString", Shape::Str),
    opt("Tags", Shape::Any),
    opt("AddReplicaRegions", Shape::Any),
    opt("ForceOverwriteReplicaSecret", Shape::Bool),
]);

/// The API a document is input for, as shown to learners.
pub fn api_name(api: DocumentApi) -> &'static str {
    match api {
        DocumentApi::EmrSecurityConfiguration => {
            "EMR CreateSecurityConfiguration (SecurityConfiguration)"
        }
        DocumentApi::GlueSecurityConfiguration => "Glue CreateSecurityConfiguration",
        DocumentApi::GlueDataCatalogEncryption => "Glue PutDataCatalogEncryptionSettings",
        DocumentApi::RedshiftCreateCluster => "Redshift CreateCluster",
        DocumentApi::RedshiftClusterParameters => "Redshift ModifyClusterParameterGroup",
        DocumentApi::MskEncryptionInfo => "MSK CreateCluster (EncryptionInfo)",
        DocumentApi::S3Replication => "S3 PutBucketReplication (ReplicationConfiguration)",
        DocumentApi::SecretsManagerCreateSecret => "Secrets Manager CreateSecret",
    }
}

/// Every problem the real API would answer with for this input, as `path: problem` lines.
pub fn validate(api: DocumentApi, doc: &Value) -> Vec<String> {
    let shape = match api {
        DocumentApi::EmrSecurityConfiguration => &EMR,
        DocumentApi::GlueSecurityConfiguration => &GLUE_SECURITY,
        DocumentApi::GlueDataCatalogEncryption => &GLUE_CATALOG,
        DocumentApi::RedshiftCreateCluster => &REDSHIFT_CLUSTER,
        DocumentApi::RedshiftClusterParameters => &REDSHIFT_PARAMETERS,
        DocumentApi::MskEncryptionInfo => &MSK_ENCRYPTION,
        DocumentApi::S3Replication => &S3_REPLICATION,
        DocumentApi::SecretsManagerCreateSecret => &SECRETS_CREATE,
    };
    let mut problems = Vec::new();
    check_shape(shape, doc, "", &mut problems);
    if problems.is_empty() {
        rules(api, doc, &mut problems);
    }
    problems
}

fn check_shape(shape: &Shape, value: &Value, path: &str, problems: &mut Vec<String>) {
    let at = if path.is_empty() {
        "the document"
    } else {
        path
    };
    match shape {
        Shape::Any => {}
        Shape::Str if !value.is_string() => problems.push(format!("{at} must be a string")),
        Shape::Bool if !value.is_boolean() => problems.push(format!(
            "{at} must be true or false (a JSON boolean, not a string)"
        )),
        Shape::Int if !value.is_i64() => problems.push(format!("{at} must be a whole number")),
        Shape::Enum(values) => match value.as_str() {
            Some(v) if values.contains(&v) => {}
            _ => problems.push(format!(
                "{at} is {value}; the API accepts {}",
                values.join(", ")
            )),
        },
        Shape::List(item) => match value.as_array() {
            Some(items) => {
                for (i, v) in items.iter().enumerate() {
                    check_shape(item, v, &format!("{path}/{i}"), problems);
                }
            }
            None => problems.push(format!("{at} must be a list")),
        },
        Shape::Obj(fields) => {
            let Some(map) = value.as_object() else {
                problems.push(format!("{at} must be an object"));
                return;
            };
            for name in map.keys() {
                if !fields.iter().any(|f| f.name == name) {
                    let known: Vec<&str> = fields.iter().map(|f| f.name).collect();
                    problems.push(format!(
                        "{path}/{name} is not a member of this input (members: {})",
                        known.join(", ")
                    ));
                }
            }
            for f in *fields {
                match map.get(f.name) {
                    Some(v) => check_shape(&f.shape, v, &format!("{path}/{}", f.name), problems),
                    None if f.required => {
                        problems.push(format!("{path}/{} is required", f.name));
                    }
                    None => {}
                }
            }
        }
        _ => {}
    }
}

/// A document under the cross-field rules of its API, and the problems found so far.
struct Rules<'a> {
    doc: &'a Value,
    problems: &'a mut Vec<String>,
}

impl Rules<'_> {
    fn get(&self, pointer: &str) -> Option<&Value> {
        self.doc.pointer(pointer)
    }

    fn text(&self, pointer: &str) -> Option<&str> {
        self.doc.pointer(pointer).and_then(Value::as_str)
    }

    /// Records `message` when the rule is broken (`broken` is true).
    fn need(&mut self, broken: bool, message: &str) {
        if broken {
            self.problems.push(message.to_string());
        }
    }
}

/// The cross-field rules each API enforces.
fn rules(api: DocumentApi, doc: &Value, problems: &mut Vec<String>) {
    let r = &mut Rules { doc, problems };
    match api {
        DocumentApi::EmrSecurityConfiguration => emr_rules(r),
        DocumentApi::GlueSecurityConfiguration => glue_security_rules(r),
        DocumentApi::GlueDataCatalogEncryption => glue_catalog_rules(r),
        DocumentApi::RedshiftCreateCluster => redshift_cluster_rules(r),
        DocumentApi::RedshiftClusterParameters => redshift_parameter_rules(r),
        DocumentApi::MskEncryptionInfo => {}
        DocumentApi::S3Replication => replication_rules(r),
        DocumentApi::SecretsManagerCreateSecret => r.need(
            r.get("/SecretString").is_some() && r.get("/SecretBinary").is_some(),
            "give SecretString or SecretBinary, not both",
        ),
    }
}

fn emr_rules(r: &mut Rules<'_>) {
    let base = "/EncryptionConfiguration";
    let at_rest = r.get(&format!("{base}/EnableAtRestEncryption")) == Some(&Value::Bool(true));
    let in_transit =
        r.get(&format!("{base}/EnableInTransitEncryption")) == Some(&Value::Bool(true));
    r.need(
        at_rest
            && r.get(&format!("{base}/AtRestEncryptionConfiguration"))
                .is_none(),
        "EnableAtRestEncryption is true and AtRestEncryptionConfiguration is missing",
    );
    r.need(
            in_transit
                && r.get(&format!(
                    "{base}/InTransitEncryptionConfiguration/TLSCertificateConfiguration"
                ))
                .is_none(),
            "EnableInTransitEncryption is true and InTransitEncryptionConfiguration/TLSCertificateConfiguration is missing",
        );
    let s3 = format!("{base}/AtRestEncryptionConfiguration/S3EncryptionConfiguration");
    match r.text(&format!("{s3}/EncryptionMode")) {
        Some("SSE-KMS" | "CSE-KMS") => r.need(
            r.get(&format!("{s3}/AwsKmsKey")).is_none(),
            "S3 EncryptionMode SSE-KMS and CSE-KMS need AwsKmsKey",
        ),
        Some("SSE-S3") => r.need(
            r.get(&format!("{s3}/AwsKmsKey")).is_some(),
            "S3 EncryptionMode SSE-S3 takes no AwsKmsKey (S3 manages the key)",
        ),
        Some("CSE-Custom") => r.need(
            r.get(&format!("{s3}/S3Object")).is_none()
                || r.get(&format!("{s3}/EncryptionKeyProviderClass")).is_none(),
            "S3 EncryptionMode CSE-Custom needs S3Object and EncryptionKeyProviderClass",
        ),
        _ => {}
    }
    let disk = format!("{base}/AtRestEncryptionConfiguration/LocalDiskEncryptionConfiguration");
    match r.text(&format!("{disk}/EncryptionKeyProviderType")) {
            Some("AwsKms") => r.need(
                r.get(&format!("{disk}/AwsKmsKey")).is_none(),
                "local disk EncryptionKeyProviderType AwsKms needs AwsKmsKey",
            ),
            Some("Custom") => r.need(
                r.get(&format!("{disk}/S3Object")).is_none()
                    || r.get(&format!("{disk}/EncryptionKeyProviderClass")).is_none(),
                "local disk EncryptionKeyProviderType Custom needs S3Object and EncryptionKeyProviderClass",
            ),
            _ => {}
        }
    let tls = format!("{base}/InTransitEncryptionConfiguration/TLSCertificateConfiguration");
    r.need(
        r.text(&format!("{tls}/CertificateProviderType")) == Some("PEM")
            && r.get(&format!("{tls}/S3Object")).is_none(),
        "a PEM TLSCertificateConfiguration needs S3Object (the zip of certificates in S3)",
    );
}

fn glue_security_rules(r: &mut Rules<'_>) {
    let base = "/EncryptionConfiguration";
    let modes = [
        ("CloudWatchEncryption", "CloudWatchEncryptionMode"),
        ("JobBookmarksEncryption", "JobBookmarksEncryptionMode"),
        ("DataQualityEncryption", "DataQualityEncryptionMode"),
    ];
    for (member, mode) in modes {
        let m = r.text(&format!("{base}/{member}/{mode}"));
        r.need(
            matches!(m, Some("SSE-KMS" | "CSE-KMS"))
                && r.get(&format!("{base}/{member}/KmsKeyArn")).is_none(),
            &format!("{member}: {mode} {} needs KmsKeyArn", m.unwrap_or_default()),
        );
    }
    let list = r
        .get(&format!("{base}/S3Encryption"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for s3 in list {
        r.need(
            s3.get("S3EncryptionMode").and_then(Value::as_str) == Some("SSE-KMS")
                && s3.get("KmsKeyArn").is_none(),
            "S3Encryption: S3EncryptionMode SSE-KMS needs KmsKeyArn",
        );
    }
}

fn glue_catalog_rules(r: &mut Rules<'_>) {
    let base = "/DataCatalogEncryptionSettings/EncryptionAtRest";
    r.need(
        r.text(&format!("{base}/CatalogEncryptionMode")) == Some("SSE-KMS-WITH-SERVICE-ROLE")
            && r.get(&format!("{base}/CatalogEncryptionServiceRole"))
                .is_none(),
        "CatalogEncryptionMode SSE-KMS-WITH-SERVICE-ROLE needs CatalogEncryptionServiceRole",
    );
    let password = "/DataCatalogEncryptionSettings/ConnectionPasswordEncryption";
    r.need(
        r.get(&format!("{password}/ReturnConnectionPasswordEncrypted")) == Some(&Value::Bool(true))
            && r.get(&format!("{password}/AwsKmsKeyId")).is_none(),
        "ConnectionPasswordEncryption is on and names no AwsKmsKeyId",
    );
}

fn redshift_cluster_rules(r: &mut Rules<'_>) {
    let encrypted = r.get("/Encrypted") == Some(&Value::Bool(true));
    r.need(
        !encrypted && r.get("/KmsKeyId").is_some(),
        "KmsKeyId is given and Encrypted is not true (InvalidParameterCombination)",
    );
    r.need(
        r.get("/HsmClientCertificateIdentifier").is_some()
            != r.get("/HsmConfigurationIdentifier").is_some(),
        "HsmClientCertificateIdentifier and HsmConfigurationIdentifier go together",
    );
    r.need(
        r.get("/HsmConfigurationIdentifier").is_some() && r.get("/KmsKeyId").is_some(),
        "a cluster's keys come from KMS or from an HSM, not both",
    );
    r.need(
        r.get("/MasterUserPassword").is_some()
            == (r.get("/ManageMasterPassword") == Some(&Value::Bool(true))),
        "give exactly one of MasterUserPassword and ManageMasterPassword = true",
    );
    r.need(
        r.text("/ClusterType") == Some("multi-node")
            && r.get("/NumberOfNodes").and_then(Value::as_i64).unwrap_or(0) < 2,
        "a multi-node cluster needs NumberOfNodes of 2 or more",
    );
}

fn redshift_parameter_rules(r: &mut Rules<'_>) {
    let params = r
        .get("/Parameters")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for p in params {
        r.need(
            p.get("ParameterName").is_none() || p.get("ParameterValue").is_none(),
            "each parameter needs ParameterName and ParameterValue",
        );
        let value = p.get("ParameterValue").and_then(Value::as_str);
        r.need(
            p.get("ParameterName").and_then(Value::as_str) == Some("require_ssl")
                && !matches!(value, Some("true" | "false")),
            "require_ssl takes \"true\" or \"false\"",
        );
    }
}

fn replication_rules(r: &mut Rules<'_>) {
    let rules = r
        .get("/Rules")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    r.need(rules.is_empty(), "Rules needs at least one rule");
    for (i, rule) in rules.iter().enumerate() {
        r.need(
            rule.get("SourceSelectionCriteria").is_some()
                && rule
                    .pointer("/SourceSelectionCriteria/SseKmsEncryptedObjects")
                    .is_none(),
            &format!(
                "/Rules/{i}: SourceSelectionCriteria needs SseKmsEncryptedObjects when it is given"
            ),
        );
    }
}

/// The value at a JSON pointer whose segments may also be `[Name=value]`: the element of a list
/// whose member `Name` is the string `value`.
pub fn lookup<'a>(doc: &'a Value, pointer: &str) -> Option<&'a Value> {
    let mut at = doc;
    for segment in pointer.split('/').skip(1) {
        at = match segment
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .and_then(|s| s.split_once('='))
        {
            Some((member, value)) => at
                .as_array()?
                .iter()
                .find(|v| v.get(member).and_then(Value::as_str) == Some(value))?,
            None => match at {
                Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
                _ => at.get(segment)?,
            },
        };
    }
    Some(at)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_pointer_segment_can_pick_a_list_element_by_member() {
        let doc = json!({"Parameters": [
            {"ParameterName": "a", "ParameterValue": "1"},
            {"ParameterName": "require_ssl", "ParameterValue": "true"}
        ]});
        let found = lookup(
            &doc,
            "/Parameters/[ParameterName=require_ssl]/ParameterValue",
        );
        assert_eq!(found, Some(&json!("true")));
        assert_eq!(
            lookup(&doc, "/Parameters/0/ParameterName"),
            Some(&json!("a"))
        );
        assert_eq!(lookup(&doc, "/Parameters/[ParameterName=b]"), None);
    }

    #[test]
    fn emr_documents_are_checked_as_the_api_checks_them() {
        let ok = json!({"EncryptionConfiguration": {
            "EnableAtRestEncryption": true, "EnableInTransitEncryption": false,
            "AtRestEncryptionConfiguration": {"S3EncryptionConfiguration": {"EncryptionMode": "SSE-S3"}}
        }});
        assert!(validate(DocumentApi::EmrSecurityConfiguration, &ok).is_empty());
        let mut with_key = ok.clone();
        with_key["EncryptionConfiguration"]["AtRestEncryptionConfiguration"]["S3EncryptionConfiguration"]
            ["AwsKmsKey"] = json!("alias/x");
        assert_eq!(
            validate(DocumentApi::EmrSecurityConfiguration, &with_key),
            ["S3 EncryptionMode SSE-S3 takes no AwsKmsKey (S3 manages the key)"]
        );
        let mut text = ok.clone();
        text["EncryptionConfiguration"]["EnableAtRestEncryption"] = json!("true");
        assert_eq!(
            validate(DocumentApi::EmrSecurityConfiguration, &text),
            [
                "/EncryptionConfiguration/EnableAtRestEncryption must be true or false (a JSON boolean, not a string)"
            ]
        );
        let mut unknown = ok;
        unknown["EncryptionConfiguration"]["EnableEncryption"] = json!(true);
        let problems = validate(DocumentApi::EmrSecurityConfiguration, &unknown);
        assert!(
            problems[0].starts_with("/EncryptionConfiguration/EnableEncryption is not a member of this input (members: EnableInTransitEncryption, EnableAtRestEncryption"),
            "{problems:?}"
        );
    }

    #[test]
    fn redshift_refuses_a_key_without_encryption() {
        let doc = json!({"ClusterIdentifier": "c", "NodeType": "ra3.xlplus",
            "MasterUsername": "admin", "ManageMasterPassword": true, "KmsKeyId": "k"});
        assert_eq!(
            validate(DocumentApi::RedshiftCreateCluster, &doc),
            ["KmsKeyId is given and Encrypted is not true (InvalidParameterCombination)"]
        );
    }
    #[test]
    fn msk_encryption_info_takes_only_its_three_client_broker_modes() {
        let ok = json!({"EncryptionAtRest": {"DataVolumeKMSKeyId": "arn:aws:kms:us-east-1:111122223333:key/k"},
            "EncryptionInTransit": {"ClientBroker": "TLS", "InCluster": true}});
        assert!(validate(DocumentApi::MskEncryptionInfo, &ok).is_empty());
        let mut tls_only = ok.clone();
        tls_only["EncryptionInTransit"]["ClientBroker"] = json!("TLS_ONLY");
        assert_eq!(
            validate(DocumentApi::MskEncryptionInfo, &tls_only),
            [
                "/EncryptionInTransit/ClientBroker is \"TLS_ONLY\"; the API accepts TLS, TLS_PLAINTEXT, PLAINTEXT"
            ]
        );
        let no_key = json!({"EncryptionAtRest": {}});
        assert_eq!(
            validate(DocumentApi::MskEncryptionInfo, &no_key),
            ["/EncryptionAtRest/DataVolumeKMSKeyId is required"]
        );
    }

    #[test]
    fn replication_selection_criteria_need_the_sse_kms_filter() {
        let rule = json!({"Status": "Enabled", "Filter": {},
            "DeleteMarkerReplication": {"Status": "Disabled"},
            "Destination": {"Bucket": "arn:aws:s3:::replica"}});
        let ok = json!({"Role": "arn:aws:iam::111122223333:role/r", "Rules": [rule.clone()]});
        assert!(validate(DocumentApi::S3Replication, &ok).is_empty());
        let mut empty_criteria = rule;
        empty_criteria["SourceSelectionCriteria"] = json!({});
        let doc = json!({"Role": "r", "Rules": [empty_criteria]});
        assert_eq!(
            validate(DocumentApi::S3Replication, &doc),
            ["/Rules/0: SourceSelectionCriteria needs SseKmsEncryptedObjects when it is given"]
        );
        let none = json!({"Role": "r", "Rules": []});
        assert_eq!(
            validate(DocumentApi::S3Replication, &none),
            ["Rules needs at least one rule"]
        );
    }

    #[test]
    fn a_secret_takes_a_string_or_a_binary_value() {
        let both = json!({"Name": "s", "SecretString": "x", "SecretBinary": "eA=="});
        assert_eq!(
            validate(DocumentApi::SecretsManagerCreateSecret, &both),
            ["give SecretString or SecretBinary, not both"]
        );
        let ok = json!({"Name": "s", "KmsKeyId": "alias/k", "SecretString": "x"});
        assert!(validate(DocumentApi::SecretsManagerCreateSecret, &ok).is_empty());
    }
}
