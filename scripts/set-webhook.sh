#!/bin/sh
# set-webhook.sh - point Telegram at the deployed bot: the stack's WebhookUrl output and the
# secrets in SSM, registered with `screener bot setup` (docs/deploying.md).
set -eu

usage() {
    cat <<'USAGE'
usage: scripts/set-webhook.sh [--env dev|prod | --stack NAME] [--region REGION]
                              [--prefix PREFIX] [--screener PATH] [--drop-pending]

Read the WebhookUrl output and the SsmPrefix parameter of the stack (aws cloudformation
describe-stacks), the bot token and webhook secret from SSM Parameter Store
(PREFIX/telegram/bot_token and PREFIX/telegram/webhook_secret, as the bot function reads
them; PREFIX is /screener by default), and run
`screener bot setup --webhook-url URL`: Telegram then sends every message to the bot's API
with that secret, which the function checks.  Run it after the first deploy and after
changing the webhook secret.  Secrets are never printed or put on a command line.

Options:
  --env ENV          the stack of samconfig.toml's environment: screener-dev (default) or
                     screener-prod
  --stack NAME       the stack's name, if not one of those
  --region REGION    the stack's region (default: the AWS CLI's)
  --prefix PREFIX    the SSM prefix, if not the stack's SsmPrefix parameter
  --screener PATH    the screener binary (default: build/screener, else screener on PATH)
  --drop-pending     drop the updates Telegram is still holding
  -h, --help         show this help

Needs the AWS CLI ('aws') with credentials allowed cloudformation:DescribeStacks and
ssm:GetParameter on PREFIX/telegram/*.
USAGE
}

here=$(cd "$(dirname "$0")/.." && pwd)
stack="screener-dev"
region=
prefix=
screener=
drop=
while [ $# -gt 0 ]; do
    case $1 in
    -h | --help) usage; exit 0 ;;
    --env)
        [ $# -ge 2 ] || { echo "set-webhook: --env needs dev or prod" >&2; exit 2; }
        case $2 in
        dev | prod) stack=screener-$2 ;;
        *) echo "set-webhook: --env must be dev or prod, not '$2'" >&2; exit 2 ;;
        esac
        shift 2
        ;;
    --stack) [ $# -ge 2 ] || { echo "set-webhook: --stack needs a name" >&2; exit 2; }; stack=$2; shift 2 ;;
    --region) [ $# -ge 2 ] || { echo "set-webhook: --region needs a value" >&2; exit 2; }; region=$2; shift 2 ;;
    --prefix) [ $# -ge 2 ] || { echo "set-webhook: --prefix needs a value" >&2; exit 2; }; prefix=$2; shift 2 ;;
    --screener) [ $# -ge 2 ] || { echo "set-webhook: --screener needs a path" >&2; exit 2; }; screener=$2; shift 2 ;;
    --drop-pending) drop=--drop-pending; shift ;;
    *) echo "set-webhook: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
if ! command -v aws >/dev/null 2>&1; then
    echo "set-webhook: the AWS CLI ('aws') is not installed or not on PATH." >&2
    echo "Install it (Debian: apt-get install awscli; or AWS's installer for version 2) and" >&2
    echo "configure credentials ('aws configure' or AWS_PROFILE), then run this again." >&2
    exit 1
fi
if [ -z "$screener" ]; then
    if [ -x "$here/build/screener" ]; then
        screener=$here/build/screener
    elif command -v screener >/dev/null 2>&1; then
        screener=screener
    else
        echo "set-webhook: no screener binary: run 'make' first, or give --screener PATH" >&2
        exit 1
    fi
fi
export AWS_PAGER=""

# shellcheck disable=SC2086
url=$(aws ${region:+--region "$region"} cloudformation describe-stacks --stack-name "$stack" \
    --query "Stacks[0].Outputs[?OutputKey=='WebhookUrl'].OutputValue" --output text) || {
    echo "set-webhook: cannot read the stack '$stack' (deployed? right region and account?)" >&2
    exit 1
}
case $url in
https://*) ;;
*)
    echo "set-webhook: the stack '$stack' has no WebhookUrl output (got '$url')" >&2
    exit 1
    ;;
esac

# param NAME: the decrypted value of an SSM parameter (kept in a variable, never printed)
param() {
    # shellcheck disable=SC2086
    aws ${region:+--region "$region"} ssm get-parameter --name "$1" --with-decryption \
        --query Parameter.Value --output text || {
        echo "set-webhook: cannot read the SSM parameter $1 (scripts/put-ssm-params.sh stores it)" >&2
        exit 1
    }
}
if [ -z "$prefix" ]; then
    # shellcheck disable=SC2086
    prefix=$(aws ${region:+--region "$region"} cloudformation describe-stacks --stack-name "$stack" \
        --query "Stacks[0].Parameters[?ParameterKey=='SsmPrefix'].ParameterValue" --output text) ||
        prefix=
    case $prefix in
    /*) ;;
    *) prefix=/screener ;; # a stack from before the parameter existed
    esac
fi
if ! printf '%s\n' "$prefix" | grep -Eqx '(/[A-Za-z0-9_.-]+)+'; then
    echo "set-webhook: the SSM prefix must look like /screener or /screener/prod, not '$prefix'" >&2
    exit 2
fi
token=$(param "$prefix/telegram/bot_token")
secret=$(param "$prefix/telegram/webhook_secret")

echo "set-webhook: registering $url (stack $stack)"
# shellcheck disable=SC2086
TELEGRAM_BOT_TOKEN=$token TELEGRAM_WEBHOOK_SECRET=$secret SCREENER_SSM=0 \
    "$screener" bot setup --webhook-url "$url" $drop
TELEGRAM_BOT_TOKEN=$token SCREENER_SSM=0 "$screener" bot info
