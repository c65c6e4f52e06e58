//! The data types of a pack, as written in its TOML files. Every table denies unknown fields so
//! a misspelt field is an error with its line, never silently ignored.

use std::collections::BTreeMap;

use serde::Deserialize;

/// Declares [`Capability`] from one list: the variant, its name in packs and reports, and what
/// it means.
macro_rules! capabilities {
    ($($(#[doc = $doc:literal])* $variant:ident = $name:literal,)*) => {
        /// Something a backend enforces or offers that a check (`needs`) or a pack
        /// (`capabilities`) may require; a check on a backend without it is not applicable.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize)]
        pub enum Capability {
            $($(#[doc = $doc])* #[serde(rename = $name)] $variant,)*
        }

        impl Capability {
            /// Every capability, in the order of the list.
            pub const ALL: &'static [Capability] = &[$(Capability::$variant),*];

            /// Its name in packs and reports.
            pub fn name(self) -> &'static str {
                match self {
                    $(Capability::$variant => $name,)*
                }
            }
        }
    };
}

capabilities! {
    /// Key policies are evaluated (a key policy can deny another account).
    KeyPolicies = "key_policies",
    /// Bucket policies are evaluated (a Deny stops a request).
    BucketPolicies = "bucket_policies",
    /// `GenerateDataKey` honours `NumberOfBytes`/`KeySpec`.
    DataKeySizes = "data_key_sizes",
    /// A ciphertext names its key, so Decrypt across accounts needs no KeyId.
    CrossAccountDecryptWithoutKeyId = "cross_account_decrypt_without_key_id",
    /// Requests can be made over TLS, so `aws:SecureTransport` can be true.
    Tls = "tls",
    /// The lab identities' IAM policies can be changed (`aws iam put-role-policy`).
    IdentityPolicies = "identity_policies",
    /// CloudTrail's event history (`LookupEvents`), for graders' audit checks.
    AuditLog = "audit_log",
    /// Object bodies are encrypted at rest.
    AtRestEncryption = "at_rest_encryption",
    /// Secrets Manager enforces the cross-account rule: another account reads a secret only
    /// with its resource policy and a customer managed key it may use (never
    /// `aws/secretsmanager`).
    SecretsManager = "secrets_manager",
}

impl std::fmt::Display for Capability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `pack.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The pack format version (1).
    pub format_version: u32,
    /// A short machine name.
    pub name: String,
    /// The title shown to learners.
    pub title: String,
    /// The oldest keylab that can run the pack.
    pub min_keylab_version: String,
    /// Backend capabilities every exercise needs; keylab refuses to run the pack on a backend
    /// without them.
    #[serde(default)]
    pub capabilities: Vec<Capability>,
    /// What the pack teaches.
    #[serde(default)]
    pub description: String,
    /// The objectives lessons, exercises and questions are tagged with (`dea_items`, `item`),
    /// in the order coverage, readiness and drills show them. None declared: DEA-C01 task
    /// 4.3's eight ([`super::DEA_ITEMS`]).
    #[serde(default)]
    pub objectives: Vec<Objective>,
}

/// One `[[objectives]]` table of `pack.toml`: an exam item or a course's own learning goal.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Objective {
    /// Its id, as lessons, exercises and questions name it (`4.3.K1`, `W1`).
    pub id: String,
    /// What it asks, in a sentence.
    pub title: String,
}

/// A lesson's front matter.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LessonFront {
    /// The id.
    pub id: String,
    /// The title.
    pub title: String,
    /// Its place in the course.
    pub order: u32,
    /// The pack's objectives it covers (`objectives` is another name for the field).
    #[serde(default, alias = "objectives")]
    pub dea_items: Vec<String>,
    /// The exercises it leads to.
    #[serde(default)]
    pub exercises: Vec<String>,
    /// The DEA-C01 items each section teaches and the sources behind it, by its heading text
    /// (`## SSE-C`).
    #[serde(default)]
    pub sections: BTreeMap<String, SectionSpec>,
}

/// A lesson section's tags as written: `"Heading" = ["4.3.K2"]` (format 1, no sources) or a
/// table `[sections."Heading"]` with `items` and `sources`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SectionSpec {
    /// The items alone.
    Items(Vec<String>),
    /// Items and sources.
    Table(Section),
}

/// What a lesson section teaches and where AWS (or a standard) says it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Section {
    /// The DEA-C01 task 4.3 items.
    pub items: Vec<String>,
    /// The pages that back it (AWS documentation, announcements, standards).
    #[serde(default)]
    pub sources: Vec<String>,
}

impl From<SectionSpec> for Section {
    fn from(spec: SectionSpec) -> Section {
        match spec {
            SectionSpec::Items(items) => Section {
                items,
                sources: Vec::new(),
            },
            SectionSpec::Table(section) => section,
        }
    }
}

/// A lesson.
#[derive(Debug, Clone)]
pub struct Lesson {
    /// The id.
    pub id: String,
    /// The title.
    pub title: String,
    /// Its place in the course.
    pub order: u32,
    /// DEA-C01 items.
    pub dea_items: Vec<String>,
    /// Exercises it leads to.
    pub exercises: Vec<String>,
    /// DEA-C01 items and sources by section heading.
    pub sections: BTreeMap<String, Section>,
    /// The line of the body's first line in the file.
    pub body_line: usize,
    /// The pack path of the file.
    pub path: String,
    /// The Markdown body.
    pub body: String,
}

/// How a variable's value is made from the learner's seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VarKind {
    /// A bucket name: `keylab-<word>-<6 hex>`.
    Bucket,
    /// A key alias: `alias/<word>-<4 hex>`.
    Alias,
    /// A short lower-case name: `<word>-<4 hex>`.
    Name,
    /// A number from 1000 to 9999.
    Number,
}

/// A setup step: a console command run before the learner starts, or a generated file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetupStep {
    /// A console command (AWS CLI syntax).
    #[serde(default)]
    pub run: Option<String>,
    /// The lab identity it runs as (default: the exercise's profile).
    #[serde(default)]
    pub profile: Option<String>,
    /// Keep the command's trimmed output as this variable.
    #[serde(default)]
    pub save: Option<String>,
    /// Generate a dataset into this workspace file.
    #[serde(default)]
    pub dataset: Option<String>,
    /// The dataset's generator (`customers`, the default).
    #[serde(default)]
    pub generator: Option<String>,
    /// The dataset's rows.
    #[serde(default)]
    pub rows: Option<u32>,
}

/// `exercises/<id>/exercise.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExerciseSpec {
    /// The title.
    pub title: String,
    /// The lesson it belongs to.
    pub lesson: String,
    /// `beginner`, `intermediate` or `advanced`.
    pub difficulty: Difficulty,
    /// Backends it supports (`engine`, `localstack`).
    pub backends: Vec<BackendKind>,
    /// The pack's objectives it practises (`objectives` is another name for the field).
    #[serde(default, alias = "objectives")]
    pub dea_items: Vec<String>,
    /// The lab identity the console starts as.
    #[serde(default = "default_profile")]
    pub profile: String,
    /// Variables randomised per learner.
    #[serde(default)]
    pub vars: BTreeMap<String, VarKind>,
    /// Setup steps.
    #[serde(default)]
    pub setup: Vec<SetupStep>,
    /// The hint ladder, from a nudge to nearly the answer.
    pub hints: Vec<String>,
    /// Shown after a pass: why it works and how it fails in production.
    pub explanation: String,
    /// The pages that back the explanation and the hints.
    #[serde(default)]
    pub sources: Vec<String>,
}

fn default_profile() -> String {
    "owner-admin".into()
}

/// Exercise difficulty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Difficulty {
    /// First steps.
    Beginner,
    /// Needs the lesson.
    Intermediate,
    /// Combines several ideas.
    Advanced,
}

/// A backend an exercise can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    /// The built-in engine.
    Engine,
    /// LocalStack.
    Localstack,
}

/// An exercise.
#[derive(Debug, Clone)]
pub struct Exercise {
    /// The id (its folder name).
    pub id: String,
    /// `exercise.toml`.
    pub spec: ExerciseSpec,
    /// `README.md`: the instructions.
    pub readme: String,
    /// Starter files copied into the workspace, by relative path.
    pub starters: Vec<(String, Vec<u8>)>,
}

/// `graders/<id>.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraderSpec {
    /// The checks, in order.
    #[serde(default)]
    pub check: Vec<toml::Spanned<CheckSpec>>,
    /// What the masking checks mask: the learner's rules over workspace tables.
    #[serde(default)]
    pub masking: Option<MaskingSpec>,
}

/// `[masking]`: the grader applies the learner's rules to these tables (in memory, with the
/// key the rules name) and the masking checks look at the result.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaskingSpec {
    /// The rules file in the workspace.
    pub rules: String,
    /// The tables: workspace CSV, JSON Lines or Parquet files, or `s3://BUCKET/KEY` objects
    /// read through the backend.
    pub inputs: Vec<String>,
    /// Who decrypts a `kms:` key and reads the published copies (default: the exercise's
    /// profile).
    #[serde(default)]
    pub profile: Option<String>,
    /// Copies of the masked table the learner published to the backend (`s3://BUCKET/KEY`,
    /// CSV, JSON Lines or Parquet): `no_leaks` searches them too, and each must hold every row.
    #[serde(default)]
    pub published: Vec<String>,
}

/// Declares the check kinds from one list: each row gives the kind's variant, its table type
/// and its name in grader files (the `[check.<name>]` table), from which come [`CheckSpec`]'s
/// kind fields, [`CheckKind`], [`CheckKind::name`], [`CheckKind::NAMES`] and the collection of
/// the kinds a `[[check]]` table names.
macro_rules! check_kinds {
    ($($(#[doc = $doc:literal])* $variant:ident($ty:ty) = $field:ident,)*) => {
        /// One `[[check]]` table: common fields and exactly one kind table.
        #[derive(Debug, Clone, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct CheckSpec {
            /// What it verifies, shown to the learner.
            pub title: String,
            /// The task of the instructions it belongs to (results.json `task_id`).
            #[serde(default)]
            pub task: Option<u32>,
            /// The message when it fails (the check adds what it saw).
            #[serde(default)]
            pub fail: Option<String>,
            /// Backend capabilities it needs (`bucket_policies`, `key_policies`, `tls`, …); on a
            /// backend without one the check is reported as not applicable, never passed.
            #[serde(default)]
            pub needs: Vec<Capability>,
            $($(#[doc = $doc])* #[serde(default)] pub $field: Option<$ty>,)*
        }

        /// A check's kind, after validation.
        #[derive(Debug, Clone)]
        pub enum CheckKind {
            $($(#[doc = $doc])* $variant($ty),)*
        }

        impl CheckKind {
            /// Every kind's name in grader files, in the order of the list.
            pub const NAMES: &'static [&'static str] = &[$(stringify!($field)),*];

            /// The kind's name in grader files and reports.
            pub fn name(&self) -> &'static str {
                match self {
                    $(CheckKind::$variant(_) => stringify!($field),)*
                }
            }
        }

        impl CheckSpec {
            /// The kind tables this `[[check]]` names (a valid one names exactly one).
            fn kinds(&mut self) -> Vec<CheckKind> {
                let mut kinds = Vec::new();
                $(kinds.extend(self.$field.take().map(CheckKind::$variant));)*
                kinds
            }
        }
    };
}

check_kinds! {
    /// A KMS key's state.
    Key(KeyCheck) = key,
    /// An alias's target.
    Alias(AliasCheck) = alias,
    /// A bucket's default encryption.
    BucketEncryption(BucketEncryptionCheck) = bucket_encryption,
    /// An object's encryption and metadata.
    Object(ObjectCheck) = object,
    /// Requests decided by the policy evaluator.
    Simulate(SimulateCheck) = simulate,
    /// A real request through the console.
    Command(CommandCheck) = command,
    /// Decrypt what the learner produced and compare.
    RoundTrip(RoundTripCheck) = round_trip,
    /// A workspace file.
    File(FileCheck) = file,
    /// No plaintext data key left in the workspace.
    NoPlaintextKeys(NoPlaintextKeysCheck) = no_plaintext_keys,
    /// The engine's audit log.
    Audit(AuditCheck) = audit,
    /// No original sensitive value anywhere in the masked output.
    NoLeaks(NoLeaksCheck) = no_leaks,
    /// Masked values keep the originals' format.
    Formats(FormatsCheck) = formats,
    /// Two masked columns still join, and tokens are injective.
    Joins(JoinsCheck) = joins,
    /// Tokens depend on a secret key.
    KeyedTokens(KeyedTokensCheck) = keyed_tokens,
    /// Passwords stored as Argon2id with unique salts.
    PasswordHashes(PasswordHashesCheck) = password_hashes,
    /// The masked table is k-anonymous without giving up its utility.
    KAnonymity(KAnonymityCheck) = k_anonymity,
    /// A configuration document, by its meaning.
    Document(DocumentCheck) = document,
}

/// No original value of these columns (or a normalised spelling of it) appears anywhere in
/// any masked output, free text included.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoLeaksCheck {
    /// The sensitive columns (in any input).
    pub columns: Vec<String>,
}

/// Same length, same character class per position, separators kept, mostly changed values,
/// and a valid Luhn digit where the original had one.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormatsCheck {
    /// The columns.
    pub columns: Vec<String>,
}

/// `file:column` on each side: every original maps to one token in both files, distinct
/// originals to distinct tokens, and the masked join has the original's pairs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinsCheck {
    /// `customers.csv:email`.
    pub left: String,
    /// `orders.csv:customer_email`.
    pub right: String,
}

/// Masking again with another key changes every token, and a dictionary of unkeyed and
/// visibly salted hashes recovers none.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyedTokensCheck {
    /// The token columns.
    pub columns: Vec<String>,
}

/// Every value is an Argon2id PHC string with at least OWASP's parameters, salts are
/// unique, and sampled originals verify.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordHashesCheck {
    /// The password column.
    pub column: String,
}

/// k-anonymity over the quasi-identifiers of one masked input, with a suppression limit and
/// a utility guard (normalised average class size), so "suppress everything" fails.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KAnonymityCheck {
    /// The input whose masked form is measured.
    pub input: String,
    /// The quasi-identifiers.
    pub quasi_identifiers: Vec<String>,
    /// The k required.
    pub k: usize,
    /// Largest share of suppressed rows (0.05 = 5 %).
    pub max_suppression: f64,
    /// Largest normalised average class size ((kept / classes) / k).
    pub max_class_size_ratio: f64,
    /// A sensitive column and the distinct l-diversity it needs.
    #[serde(default)]
    pub sensitive: Option<String>,
    /// The l required.
    #[serde(default)]
    pub l: Option<usize>,
}

/// A KMS key's state.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyCheck {
    /// Key id, ARN, alias name or alias ARN.
    pub key: String,
    /// Who looks (default `owner-admin`).
    #[serde(default)]
    pub profile: Option<String>,
    /// `Enabled`, `Disabled`, `PendingDeletion`, …
    #[serde(default)]
    pub state: Option<String>,
    /// Whether automatic rotation is on.
    #[serde(default)]
    pub rotation: Option<bool>,
    /// The rotation period in days.
    #[serde(default)]
    pub rotation_days: Option<u32>,
}

/// An alias's target.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AliasCheck {
    /// `alias/…`.
    pub alias: String,
    /// The key it must point to (id or ARN); only existence when absent.
    #[serde(default)]
    pub target: Option<String>,
    /// Who looks.
    #[serde(default)]
    pub profile: Option<String>,
}

/// A bucket's default encryption.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketEncryptionCheck {
    /// The bucket.
    pub bucket: String,
    /// `AES256`, `aws:kms` or `aws:kms:dsse`.
    #[serde(default)]
    pub algorithm: Option<String>,
    /// The key it must use (resolved to an ARN before comparing).
    #[serde(default)]
    pub kms_key: Option<String>,
    /// Bucket key on or off.
    #[serde(default)]
    pub bucket_key: Option<bool>,
    /// Who looks.
    #[serde(default)]
    pub profile: Option<String>,
}

/// An object's encryption and metadata.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectCheck {
    /// The bucket.
    pub bucket: String,
    /// The key.
    pub key: String,
    /// `AES256`, `aws:kms`, `aws:kms:dsse` or `SSE-C`.
    #[serde(default)]
    pub encryption: Option<String>,
    /// The KMS key it must use.
    #[serde(default)]
    pub kms_key: Option<String>,
    /// Metadata that must be present (`*` for any value).
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Metadata that must be absent.
    #[serde(default)]
    pub no_metadata: Vec<String>,
    /// Who looks.
    #[serde(default)]
    pub profile: Option<String>,
}

/// Requests decided by the engine's evaluator against the policies in the backend.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulateCheck {
    /// `bucket:<name>` or `key:<id or alias>`: whose resource policy decides with the identity
    /// policies.
    pub policy: String,
    /// The requests.
    pub request: Vec<SimulatedRequest>,
}

/// One simulated request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatedRequest {
    /// The lab identity; leave it out to name a `service` instead.
    #[serde(default)]
    pub profile: String,
    /// An AWS service principal calling as itself (`logs.{{region}}.amazonaws.com`), instead
    /// of a lab identity: it has no identity policies, so only a resource policy statement
    /// naming it can allow, and it is in the resource's account.
    #[serde(default)]
    pub service: Option<String>,
    /// The action (`s3:GetObject`, `kms:Decrypt`).
    pub action: String,
    /// The resource ARN (for `key:` policies the key's ARN is used when absent).
    #[serde(default)]
    pub resource: Option<String>,
    /// Over HTTPS.
    #[serde(default = "yes")]
    pub secure: bool,
    /// More condition keys.
    #[serde(default)]
    pub context: BTreeMap<String, String>,
    /// Decide with the resource policy alone: the caller's identity policies are left out, so
    /// only what the bucket or key policy itself grants is allowed (a condition written only
    /// in an IAM policy does not count).
    #[serde(default)]
    pub resource_policy_only: bool,
    /// An identity policy (JSON, `{{variables}}` filled in) to decide with instead of the
    /// caller's own: what the resource policy allows for a caller with exactly this policy.
    #[serde(default)]
    pub identity_policy: Option<String>,
    /// A resource policy (JSON, `{{variables}}` filled in) to decide with instead of the
    /// bucket's or key's: what the caller's own identity policies allow when the resource
    /// policy grants this much.
    #[serde(default)]
    pub resource_policy: Option<String>,
    /// `allow` or `deny`.
    pub expect: Expect,
}

fn yes() -> bool {
    true
}

/// An expected decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// Allowed.
    Allow,
    /// Denied.
    Deny,
}

/// A real request through the console.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandCheck {
    /// The console command.
    pub run: String,
    /// The lab identity.
    #[serde(default)]
    pub profile: Option<String>,
    /// Must it succeed?
    pub succeeds: bool,
    /// The error code it must fail with.
    #[serde(default)]
    pub error_code: Option<String>,
    /// Text its output must contain.
    #[serde(default)]
    pub output_contains: Option<String>,
}

/// Decrypts what the learner produced and compares it with the original.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoundTripCheck {
    /// The encrypted workspace file, or `s3://bucket/key` for a client-side encrypted object.
    pub encrypted: String,
    /// The original workspace file.
    pub original: String,
    /// Who decrypts.
    #[serde(default)]
    pub profile: Option<String>,
}

/// A workspace file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileCheck {
    /// The path in the workspace.
    pub path: String,
    /// Must it exist?
    #[serde(default)]
    pub exists: Option<bool>,
    /// Must it parse as JSON?
    #[serde(default)]
    pub json: bool,
    /// Text it must contain.
    #[serde(default)]
    pub contains: Option<String>,
}

/// No plaintext data key in the workspace.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoPlaintextKeysCheck {
    /// Who decrypts the wrapped keys found, to look for their plaintexts.
    #[serde(default)]
    pub profile: Option<String>,
}

/// Events in the engine's audit log.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditCheck {
    /// The operation (`GenerateDataKey`, `PutObject`, …).
    pub operation: String,
    /// The lab identity that made them.
    #[serde(default)]
    pub profile: Option<String>,
    /// The encryption context pairs each must carry.
    #[serde(default)]
    pub context: BTreeMap<String, String>,
    /// Only successful calls count (default), or only failed ones.
    #[serde(default)]
    pub failed: bool,
    /// At least this many (default 1).
    #[serde(default)]
    pub at_least: Option<u32>,
    /// At most this many.
    #[serde(default)]
    pub at_most: Option<u32>,
}

/// A configuration document in the workspace, graded by its meaning: valid input for the real
/// API it names, and meeting every `expect`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentCheck {
    /// The JSON file in the workspace.
    pub path: String,
    /// The API it is input for.
    pub api: DocumentApi,
    /// What it must say.
    #[serde(default)]
    pub expect: Vec<DocumentExpect>,
}

/// An API whose input a document check validates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentApi {
    /// The `SecurityConfiguration` JSON of EMR `CreateSecurityConfiguration`.
    EmrSecurityConfiguration,
    /// Glue `CreateSecurityConfiguration` input.
    GlueSecurityConfiguration,
    /// Glue `PutDataCatalogEncryptionSettings` input.
    GlueDataCatalogEncryption,
    /// Redshift `CreateCluster` input.
    RedshiftCreateCluster,
    /// Redshift `ModifyClusterParameterGroup` input.
    RedshiftClusterParameters,
    /// The `EncryptionInfo` of MSK `CreateCluster` (`aws kafka create-cluster --encryption-info`).
    MskEncryptionInfo,
    /// The `ReplicationConfiguration` of S3 `PutBucketReplication`.
    S3Replication,
    /// Secrets Manager `CreateSecret` input.
    SecretsManagerCreateSecret,
}

/// One requirement on a document, at a JSON pointer. A segment `[Name=value]` picks the list
/// element whose `Name` is `value`, so the order of a list does not matter.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentExpect {
    /// `/EncryptionConfiguration/EnableAtRestEncryption`.
    pub pointer: String,
    /// The value it must have (strings may hold `{{variables}}`).
    #[serde(default)]
    pub equals: Option<serde_json::Value>,
    /// Values it may have.
    #[serde(default)]
    pub one_of: Vec<serde_json::Value>,
    /// A KMS key it must name, by any of its names (id, ARN, alias, alias ARN).
    #[serde(default)]
    pub names_key: Option<String>,
    /// It must be absent.
    #[serde(default)]
    pub absent: bool,
    /// What to tell the learner when it does not hold.
    pub fail: String,
}

impl CheckKind {
    /// Whether it looks at the masking run of `[masking]`.
    pub fn is_masking(&self) -> bool {
        matches!(
            self,
            CheckKind::NoLeaks(_)
                | CheckKind::Formats(_)
                | CheckKind::Joins(_)
                | CheckKind::KeyedTokens(_)
                | CheckKind::PasswordHashes(_)
                | CheckKind::KAnonymity(_)
        )
    }
}

/// A check.
#[derive(Debug, Clone)]
pub struct Check {
    /// What it verifies.
    pub title: String,
    /// Its task number.
    pub task: Option<u32>,
    /// The failure message.
    pub fail: Option<String>,
    /// Capabilities it needs.
    pub needs: Vec<Capability>,
    /// The kind.
    pub kind: CheckKind,
    /// Its line in the grader file.
    pub line: usize,
}

impl Check {
    /// Validates a `[[check]]` table: exactly one kind.
    pub fn from_spec(mut spec: CheckSpec, line: usize) -> Result<Check, (String, String)> {
        let mut kinds = spec.kinds();
        let CheckSpec {
            title,
            task,
            fail,
            needs,
            ..
        } = spec;
        if kinds.len() != 1 {
            return Err((
                format!(
                    "check \"{title}\" has {} kind tables; it needs exactly one",
                    kinds.len()
                ),
                format!("keep one of: {}", CheckKind::NAMES.join(", ")),
            ));
        }
        if let Some(CheckKind::Simulate(s)) = kinds.first() {
            if s.request.is_empty() {
                return Err((
                    format!("check \"{title}\" simulates no request"),
                    "add [[check.simulate.request]] tables".into(),
                ));
            }
            if let Some(i) = s
                .request
                .iter()
                .position(|r| r.profile.is_empty() == r.service.is_none())
            {
                return Err((
                    format!(
                        "check \"{title}\": request {} names {} of profile and service",
                        i + 1,
                        if s.request[i].profile.is_empty() {
                            "neither"
                        } else {
                            "both"
                        }
                    ),
                    "give each request a lab identity (profile = \"owner-admin\") or an AWS service principal (service = \"logs.{{region}}.amazonaws.com\"), not both".into(),
                ));
            }
        }
        Ok(Check {
            title,
            task,
            fail,
            needs,
            kind: kinds.remove(0),
            line,
        })
    }
}

/// A grader.
#[derive(Debug, Clone)]
pub struct Grader {
    /// Its pack path.
    pub path: String,
    /// The checks, in order.
    pub checks: Vec<Check>,
    /// The reference solution.
    pub solution: Attempt,
    /// Known-wrong variants by misconception name.
    pub wrong: Vec<(String, Attempt)>,
    /// What the masking checks mask.
    pub masking: Option<MaskingSpec>,
}

/// A solution or a known-wrong variant: files written into the workspace, then console
/// commands. On disk either one script file, or a folder holding `script` (optional) and the
/// files, by their workspace paths.
#[derive(Debug, Clone, Default)]
pub struct Attempt {
    /// Console commands, one per line.
    pub script: String,
    /// Workspace files written before the script runs.
    pub files: Vec<(String, Vec<u8>)>,
}

/// A file of drill questions, `lessons/questions/*.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionFile {
    /// The questions, in order.
    pub question: Vec<toml::Spanned<QuestionSpec>>,
}

/// One `[[question]]` table, as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionSpec {
    /// A stable id, unique in the pack (progress and review schedules refer to it).
    pub id: String,
    /// The lesson it belongs to.
    pub lesson: String,
    /// The pack's objective it tests (a DEA-C01 task 4.3 item in the built-in pack).
    pub item: String,
    /// The question; a multiple-response stem ends with "(Choose two.)" or "(Choose three.)".
    pub stem: String,
    /// How many options are correct: absent for a single answer, 2 or 3 for multiple response.
    #[serde(default)]
    pub choose: Option<usize>,
    /// The page that backs the correct answer.
    #[serde(default)]
    pub source: Option<String>,
    /// Why an option is more than twice as long as the shortest, when one must be.
    #[serde(default)]
    pub length_note: Option<String>,
    /// The options, in the order written (they are shuffled when shown).
    pub option: Vec<AnswerOption>,
}

/// One option of a question, with why it is right or wrong.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerOption {
    /// What the learner reads.
    pub text: String,
    /// Whether choosing it is right.
    #[serde(default)]
    pub correct: bool,
    /// Why it is right or wrong, shown after the answer.
    pub why: String,
}

/// A drill question, checked.
#[derive(Debug, Clone)]
pub struct Question {
    /// The id.
    pub id: String,
    /// The lesson it belongs to.
    pub lesson: String,
    /// The DEA-C01 item it tests.
    pub item: String,
    /// The question.
    pub stem: String,
    /// How many options are correct (1 for a single answer).
    pub choose: usize,
    /// The page that backs the correct answer.
    pub source: Option<String>,
    /// Why an option is more than twice as long as the shortest, when one must be.
    pub length_note: Option<String>,
    /// The options, in the order written; an option's index here is its stable id.
    pub options: Vec<AnswerOption>,
    /// The pack path of its file.
    pub path: String,
    /// Its line in that file.
    pub line: usize,
}

impl Question {
    /// Whether the learner must pick more than one option.
    pub fn is_multiple(&self) -> bool {
        self.choose > 1
    }

    /// The indexes of the correct options, in order.
    pub fn correct_options(&self) -> Vec<usize> {
        (0..self.options.len())
            .filter(|&i| self.options[i].correct)
            .collect()
    }

    /// Whether `picked` (option indexes) is right: multiple response is all or nothing.
    pub fn is_right(&self, picked: &[usize]) -> bool {
        let mut picked = picked.to_vec();
        picked.sort_unstable();
        picked.dedup();
        picked == self.correct_options()
    }
}
