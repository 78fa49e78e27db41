#!/bin/sh
# tail-logs.sh - the deployed functions' logs (JSON lines and EMF metrics) from CloudWatch
# Logs (docs/deploying.md).
set -eu

usage() {
    cat <<'USAGE'
usage: scripts/tail-logs.sh [collector|bot] [--env dev|prod | --stack NAME] [--region REGION]
                            [--since DURATION] [--follow]

Print the log of the collector (default) or the bot function of the stack: each run's JSON
lines ("collection finished" with its summary, errors with what failed) and the EMF metric
lines.  The function's name comes from the stack's outputs.

Options:
  --env ENV          the stack of samconfig.toml's environment: screener-dev (default) or
                     screener-prod
  --stack NAME       the stack's name, if not one of those
  --region REGION    the stack's region (default: the AWS CLI's)
  --since DURATION   how far back: 30s, 10m, 2h, 1d (default 1h)
  --follow           keep printing new lines until interrupted
  -h, --help         show this help

Needs the AWS CLI ('aws') with credentials allowed cloudformation:DescribeStacks and
logs:FilterLogEvents.  With AWS CLI version 2 it runs 'aws logs tail'; with version 1,
'aws logs filter-log-events' (polled every 5 s with --follow).
USAGE
}

stack="screener-dev"
region=
since=1h
follow=
which=collector
while [ $# -gt 0 ]; do
    case $1 in
    -h | --help) usage; exit 0 ;;
    collector | bot) which=$1; shift ;;
    --env)
        [ $# -ge 2 ] || { echo "tail-logs: --env needs dev or prod" >&2; exit 2; }
        case $2 in
        dev | prod) stack=screener-$2 ;;
        *) echo "tail-logs: --env must be dev or prod, not '$2'" >&2; exit 2 ;;
        esac
        shift 2
        ;;
    --stack) [ $# -ge 2 ] || { echo "tail-logs: --stack needs a name" >&2; exit 2; }; stack=$2; shift 2 ;;
    --region) [ $# -ge 2 ] || { echo "tail-logs: --region needs a value" >&2; exit 2; }; region=$2; shift 2 ;;
    --since) [ $# -ge 2 ] || { echo "tail-logs: --since needs a duration" >&2; exit 2; }; since=$2; shift 2 ;;
    --follow) follow=1; shift ;;
    *) echo "tail-logs: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
case $since in
*[0-9]s) secs=${since%s} ;;
*[0-9]m) secs=$((${since%m} * 60)) ;;
*[0-9]h) secs=$((${since%h} * 3600)) ;;
*[0-9]d) secs=$((${since%d} * 86400)) ;;
*) echo "tail-logs: --since takes a number and s, m, h or d (e.g. 2h), not '$since'" >&2; exit 2 ;;
esac
case $secs in
'' | *[!0-9]*) echo "tail-logs: --since takes a number and s, m, h or d (e.g. 2h), not '$since'" >&2; exit 2 ;;
esac
if ! command -v aws >/dev/null 2>&1; then
    echo "tail-logs: the AWS CLI ('aws') is not installed or not on PATH." >&2
    echo "Install it (Debian: apt-get install awscli; or AWS's installer for version 2) and" >&2
    echo "configure credentials ('aws configure' or AWS_PROFILE), then run this again." >&2
    exit 1
fi
export AWS_PAGER=""
key=CollectorFunctionName
[ "$which" = bot ] && key=BotFunctionName
# shellcheck disable=SC2086
fn=$(aws ${region:+--region "$region"} cloudformation describe-stacks --stack-name "$stack" \
    --query "Stacks[0].Outputs[?OutputKey=='$key'].OutputValue" --output text) || {
    echo "tail-logs: cannot read the stack '$stack' (deployed? right region and account?)" >&2
    exit 1
}
if [ -z "$fn" ] || [ "$fn" = None ]; then
    echo "tail-logs: the stack '$stack' has no $key output" >&2
    exit 1
fi
group=/aws/lambda/$fn
echo "tail-logs: $group, since $since" >&2

if aws --version 2>&1 | grep -q '^aws-cli/1\.'; then
    start=$((($(date +%s) - secs) * 1000))
    while :; do
        # shellcheck disable=SC2086
        out=$(aws ${region:+--region "$region"} logs filter-log-events --log-group-name "$group" \
            --start-time "$start" --query 'events[].[timestamp,message]' --output text)
        if [ -n "$out" ] && [ "$out" != None ]; then
            printf '%s\n' "$out" | cut -f2-
            last=$(printf '%s\n' "$out" | awk -F '\t' '$1 ~ /^[0-9]+$/ { t = $1 } END { print t }')
            [ -n "$last" ] && start=$((last + 1))
        fi
        [ -n "$follow" ] || break
        sleep 5
    done
else
    # shellcheck disable=SC2086
    exec aws ${region:+--region "$region"} logs tail "$group" --since "$since" --format short ${follow:+--follow}
fi
