"""boto3 against the keylab engine: the services of issue 23 driven by a client keylab did not
write. Reads KEYLAB_ENDPOINT and KEYLAB_IDENTITIES (the `engine serve --json` identities) from
the environment; prints one JSON object of what it saw; exits non-zero on the first surprise."""

import json
import os
import sys

import boto3
from botocore.exceptions import ClientError

ENDPOINT = os.environ["KEYLAB_ENDPOINT"]
IDS = {i["name"]: i for i in json.loads(os.environ["KEYLAB_IDENTITIES"])}
OWNER, PARTNER = "111122223333", "444455556666"


def client(service, profile, **creds):
    ident = IDS[profile]
    return boto3.client(
        service,
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        aws_access_key_id=creds.get("key", ident["access_key_id"]),
        aws_secret_access_key=creds.get("secret", ident["secret_access_key"]),
        aws_session_token=creds.get("token"),
    )


def error_code(call):
    try:
        call()
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"].get("Message", "")
    raise AssertionError("the call should have failed")


seen = {}

# STS: who am I, per identity, and an assumed role across accounts.
seen["caller"] = client("sts", "partner-admin").get_caller_identity()["Arn"]
assumed = client("sts", "partner-analyst").assume_role(
    RoleArn=f"arn:aws:iam::{OWNER}:role/PartnerReader", RoleSessionName="boto3"
)["Credentials"]
as_role = client(
    "sts",
    "partner-analyst",
    key=assumed["AccessKeyId"],
    secret=assumed["SecretAccessKey"],
    token=assumed["SessionToken"],
).get_caller_identity()
seen["assumed"] = as_role["Arn"]

# IAM: a role made, read and removed.
iam = client("iam", "owner-admin")
trust = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{PARTNER}:root"}, "Action": "sts:AssumeRole"}
        ],
    }
)
iam.create_role(RoleName="Boto3Role", AssumeRolePolicyDocument=trust)
role = iam.get_role(RoleName="Boto3Role")["Role"]
seen["role_trust_principal"] = role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["AWS"]
iam.delete_role(RoleName="Boto3Role")
seen["role_gone"] = error_code(lambda: iam.get_role(RoleName="Boto3Role"))[0]

# Secrets Manager across accounts: refused under aws/secretsmanager, allowed under a CMK.
kms = client("kms", "owner-admin")
sm_owner = client("secretsmanager", "owner-admin")
sm_partner = client("secretsmanager", "partner-admin")
arn = sm_owner.create_secret(Name="boto3/db", SecretString="s3cret")["ARN"]
policy = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{PARTNER}:user/admin"},
            "Action": "secretsmanager:GetSecretValue",
            "Resource": "*",
        }
    ],
}
sm_owner.put_resource_policy(SecretId=arn, ResourcePolicy=json.dumps(policy))
seen["managed_key"] = error_code(lambda: sm_partner.get_secret_value(SecretId=arn))
key_arn = kms.create_key(
    Policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OWNER}:root"}, "Action": "kms:*", "Resource": "*"},
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{PARTNER}:user/admin"},
                    "Action": ["kms:Decrypt", "kms:DescribeKey"],
                    "Resource": "*",
                },
            ],
        }
    )
)["KeyMetadata"]["Arn"]
arn2 = sm_owner.create_secret(Name="boto3/db2", KmsKeyId=key_arn, SecretString="shared")["ARN"]
sm_owner.put_resource_policy(SecretId=arn2, ResourcePolicy=json.dumps(policy))
seen["cmk_value"] = sm_partner.get_secret_value(SecretId=arn2)["SecretString"]

# HMAC keys.
mac_key = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
mac = kms.generate_mac(KeyId=mac_key, Message=b"id-42", MacAlgorithm="HMAC_SHA_256")["Mac"]
seen["mac_valid"] = kms.verify_mac(
    KeyId=mac_key, Message=b"id-42", MacAlgorithm="HMAC_SHA_256", Mac=mac
)["MacValid"]

# S3 UpdateObjectEncryption: SSE-S3 to SSE-KMS, body unchanged.
s3 = client("s3", "owner-admin")
s3.create_bucket(Bucket="boto3-lake")
s3.put_object(Bucket="boto3-lake", Key="t.csv", Body=b"a,b\n1,2\n")
s3.update_object_encryption(
    Bucket="boto3-lake", Key="t.csv", ObjectEncryption={"SSEKMS": {"KMSKeyArn": key_arn}}
)
head = s3.head_object(Bucket="boto3-lake", Key="t.csv")
seen["object_encryption"] = [head["ServerSideEncryption"], head["SSEKMSKeyId"]]
seen["object_body"] = s3.get_object(Bucket="boto3-lake", Key="t.csv")["Body"].read().decode()

# CloudTrail: the partner's Decrypt through Secrets Manager, with its context.
events = client("cloudtrail", "owner-admin").lookup_events(
    LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "Decrypt"}]
)["Events"]
contexts = [
    json.loads(e["CloudTrailEvent"])["requestParameters"].get("encryptionContext", {})
    for e in events
]
seen["secret_contexts"] = [c.get("SecretARN") for c in contexts if "SecretARN" in c]
seen["expected"] = {"arn2": arn2, "key_arn": key_arn}
print(json.dumps(seen))
