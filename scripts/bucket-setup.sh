#!/bin/sh
# bucket-setup.sh - give a data bucket made outside the SAM template what the template gives
# its own: versioning, the lifecycle rules of scripts/lifecycle.json, no public access,
# encryption, HTTPS only (docs/deploying.md).
set -eu

usage() {
    cat <<'USAGE'
usage: scripts/bucket-setup.sh BUCKET [--region REGION] [--create]

Configure BUCKET as the template configures the bucket it makes, for a bucket made outside
it (deploy then with CreateBucket=false S3BucketName=BUCKET):
  - versioning on (a replaced or deleted object stays recoverable);
  - the lifecycle rules in scripts/lifecycle.json (noncurrent versions expire after 90
    days, unfinished multipart uploads after 7; current objects, the bars, never expire);
  - all public access blocked, objects owned by the bucket owner (no ACLs);
  - default encryption SSE-S3 (AES256);
  - a bucket policy refusing plain HTTP.
Each step can be rerun safely.

Options:
  --region REGION    the bucket's region (default: the AWS CLI's)
  --create           create the bucket first
  -h, --help         show this help

Needs the AWS CLI ('aws') with credentials allowed to configure the bucket (s3:PutBucket*,
s3:PutLifecycleConfiguration, s3:PutEncryptionConfiguration, s3:CreateBucket with --create).
USAGE
}

here=$(cd "$(dirname "$0")" && pwd)
bucket=
region=
create=
while [ $# -gt 0 ]; do
    case $1 in
    -h | --help) usage; exit 0 ;;
    --region) [ $# -ge 2 ] || { echo "bucket-setup: --region needs a value" >&2; exit 2; }; region=$2; shift 2 ;;
    --create) create=1; shift ;;
    -*) echo "bucket-setup: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *)
        [ -z "$bucket" ] || { echo "bucket-setup: one bucket at a time ('$bucket', '$1')" >&2; exit 2; }
        bucket=$1
        shift
        ;;
    esac
done
[ -n "$bucket" ] || { usage >&2; exit 2; }
if ! printf '%s\n' "$bucket" | grep -Eqx '[a-z0-9][a-z0-9-]{1,61}[a-z0-9]'; then
    echo "bucket-setup: '$bucket' is not a bucket name screener can use (3-63 lower-case" >&2
    echo "letters, digits and hyphens; no dots, which break TLS to the bucket's host)" >&2
    exit 2
fi
if ! command -v aws >/dev/null 2>&1; then
    echo "bucket-setup: the AWS CLI ('aws') is not installed or not on PATH." >&2
    echo "Install it (Debian: apt-get install awscli; or AWS's installer for version 2) and" >&2
    echo "configure credentials ('aws configure' or AWS_PROFILE), then run this again." >&2
    exit 1
fi
export AWS_PAGER=""
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bucket-setup.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# step WHAT AWS-ARGS...: one s3api call, named in the output and in any failure
step() {
    what=$1
    shift
    # shellcheck disable=SC2086
    if aws ${region:+--region "$region"} s3api "$@" >"$tmp/out" 2>&1; then
        echo "bucket-setup: $what"
    else
        echo "bucket-setup: $what failed:" >&2
        cat "$tmp/out" >&2
        exit 1
    fi
}

if [ -n "$create" ]; then
    r=${region:-${AWS_REGION:-${AWS_DEFAULT_REGION:-$(aws configure get region 2>/dev/null || true)}}}
    if [ -z "$r" ] || [ "$r" = us-east-1 ]; then
        step "created $bucket" create-bucket --bucket "$bucket"
    else
        step "created $bucket in $r" create-bucket --bucket "$bucket" \
            --create-bucket-configuration "LocationConstraint=$r"
    fi
fi
step "public access blocked" put-public-access-block --bucket "$bucket" \
    --public-access-block-configuration \
    BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true
step "objects owned by the bucket owner" put-bucket-ownership-controls --bucket "$bucket" \
    --ownership-controls 'Rules=[{ObjectOwnership=BucketOwnerEnforced}]'
step "default encryption SSE-S3" put-bucket-encryption --bucket "$bucket" \
    --server-side-encryption-configuration \
    '{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"}}]}'
step "versioning enabled" put-bucket-versioning --bucket "$bucket" \
    --versioning-configuration Status=Enabled
step "lifecycle rules from scripts/lifecycle.json" put-bucket-lifecycle-configuration \
    --bucket "$bucket" --lifecycle-configuration "file://$here/lifecycle.json"
cat >"$tmp/policy.json" <<POLICY
{"Version":"2012-10-17","Statement":[{"Sid":"DenyPlainHttp","Effect":"Deny","Principal":"*",
"Action":"s3:*","Resource":["arn:aws:s3:::$bucket","arn:aws:s3:::$bucket/*"],
"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}
POLICY
step "plain HTTP refused" put-bucket-policy --bucket "$bucket" --policy "file://$tmp/policy.json"
echo "bucket-setup: done; deploy with CreateBucket=false S3BucketName=$bucket"
