#!/bin/sh
# put-ssm-params.sh - store screener's secrets in SSM Parameter Store, where the Lambda
# functions read them at cold start (docs/deploying.md).
set -eu

usage() {
    cat <<'USAGE'
usage: scripts/put-ssm-params.sh [--region REGION] [--environment dev|prod] [--prefix PREFIX]

Store screener's secrets in AWS SSM Parameter Store as SecureString (encrypted with the
account's aws/ssm KMS key, which the functions' roles may use without more permissions),
overwriting what is there (PREFIX is /screener unless --prefix says otherwise):

  PREFIX/alpaca/api_key            from $APCA_API_KEY_ID
  PREFIX/alpaca/secret_key         from $APCA_API_SECRET_KEY
  PREFIX/telegram/bot_token        from $TELEGRAM_BOT_TOKEN (from @BotFather)
  PREFIX/telegram/webhook_secret   from $TELEGRAM_WEBHOOK_SECRET, else a new random one
  PREFIX/config/environment        --environment (a plain String; default dev)

A value that is not in the environment is asked for on the terminal (not echoed).  Values
reach the AWS CLI through a private temporary file, never on its command line, and are
never printed.  PREFIX must be the stack's SsmPrefix parameter (samconfig.toml: dev
/screener, prod /screener/prod), so that each environment has secrets of its own.

Options:
  --region REGION        the region of the stack (default: the AWS CLI's)
  --environment ENV      dev or prod, stored as PREFIX/config/environment
  --prefix PREFIX        the stack's SsmPrefix (default /screener), e.g. /screener/prod
  -h, --help             show this help

Needs the AWS CLI ('aws') with credentials allowed ssm:PutParameter.
USAGE
}

region=
environment=dev
prefix=/screener
while [ $# -gt 0 ]; do
    case $1 in
    -h | --help) usage; exit 0 ;;
    --region) [ $# -ge 2 ] || { echo "put-ssm-params: --region needs a value" >&2; exit 2; }; region=$2; shift 2 ;;
    --prefix) [ $# -ge 2 ] || { echo "put-ssm-params: --prefix needs a value" >&2; exit 2; }; prefix=$2; shift 2 ;;
    --environment) [ $# -ge 2 ] || { echo "put-ssm-params: --environment needs a value" >&2; exit 2; }; environment=$2; shift 2 ;;
    *) echo "put-ssm-params: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
# What the template's SsmPrefix allows (and src/aws/secrets.c checks).
if ! printf '%s\n' "$prefix" | grep -Eqx '(/[A-Za-z0-9_.-]+)+'; then
    echo "put-ssm-params: --prefix must look like /screener or /screener/prod, not '$prefix'" >&2
    exit 2
fi
case $environment in
dev | prod) ;;
*) echo "put-ssm-params: --environment must be dev or prod, not '$environment'" >&2; exit 2 ;;
esac
if ! command -v aws >/dev/null 2>&1; then
    echo "put-ssm-params: the AWS CLI ('aws') is not installed or not on PATH." >&2
    echo "Install it (Debian: apt-get install awscli; or AWS's installer for version 2) and" >&2
    echo "configure credentials ('aws configure' or AWS_PROFILE), then run this again." >&2
    exit 1
fi

# ask VAR PROMPT: $VAR from the environment, else read from the terminal without echo
ask() {
    eval "v=\${$1:-}"
    if [ -z "$v" ]; then
        if [ ! -t 0 ]; then
            echo "put-ssm-params: $1 is not set (and there is no terminal to ask on)" >&2
            exit 1
        fi
        printf '%s: ' "$2" >&2
        stty -echo
        IFS= read -r v || true
        stty echo
        echo >&2
        [ -n "$v" ] || { echo "put-ssm-params: $1 is empty" >&2; exit 1; }
    fi
    eval "$1=\$v"
}

ask APCA_API_KEY_ID "Alpaca API key id"
ask APCA_API_SECRET_KEY "Alpaca API secret key"
ask TELEGRAM_BOT_TOKEN "Telegram bot token (from @BotFather)"
# printf is a shell built-in: the token is not on a command line.
if ! printf '%s\n' "$TELEGRAM_BOT_TOKEN" | grep -Eqx '[0-9]+:[A-Za-z0-9_-]+'; then
    echo "put-ssm-params: TELEGRAM_BOT_TOKEN does not look like a bot token (123456789:AAE...)" >&2
    exit 1
fi
if [ -z "${TELEGRAM_WEBHOOK_SECRET:-}" ]; then
    # Telegram allows 1-256 characters of A-Z a-z 0-9 _ -: 64 hex digits, 256 random bits.
    TELEGRAM_WEBHOOK_SECRET=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
    echo "put-ssm-params: TELEGRAM_WEBHOOK_SECRET not set: a new random one is stored" >&2
    echo "(run scripts/set-webhook.sh afterwards so that Telegram sends it)" >&2
fi
case $TELEGRAM_WEBHOOK_SECRET in
*[!A-Za-z0-9_-]*) echo "put-ssm-params: TELEGRAM_WEBHOOK_SECRET may hold only A-Z a-z 0-9 _ -" >&2; exit 1 ;;
esac

tmp=$(umask 077 && mktemp -d "${TMPDIR:-/tmp}/put-ssm-params.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
export AWS_PAGER=""

# put NAME TYPE VALUE
put() {
    printf '%s' "$3" >"$tmp/value"
    # shellcheck disable=SC2086
    if ! aws ${region:+--region "$region"} ssm put-parameter --name "$1" --type "$2" \
        --overwrite --value "file://$tmp/value" >"$tmp/out" 2>&1; then
        echo "put-ssm-params: storing $1 failed:" >&2
        cat "$tmp/out" >&2
        exit 1
    fi
    echo "stored $1 ($2)"
}
put "$prefix/alpaca/api_key" SecureString "$APCA_API_KEY_ID"
put "$prefix/alpaca/secret_key" SecureString "$APCA_API_SECRET_KEY"
put "$prefix/telegram/bot_token" SecureString "$TELEGRAM_BOT_TOKEN"
put "$prefix/telegram/webhook_secret" SecureString "$TELEGRAM_WEBHOOK_SECRET"
put "$prefix/config/environment" String "$environment"
