#!/bin/sh
# template.sh - the SAM template (template.yaml), offline: yamllint for YAML syntax and
# style; tests/node/cfn-validate.mjs against the CloudFormation resource specification (and
# proof that it catches broken templates); tests/e2e/template_features.py for the promises
# the deployment makes (roles, schedule, API, bucket, alarms, outputs, samconfig.toml,
# env.json); tests/e2e/sam_expand.py, what SAM generates for each samconfig.toml environment
# with its physical names (and proof that it catches two stacks colliding); and what
# `sam build` runs: make build-<Function> into ARTIFACTS_DIR.
# Prints "ok N - what" / "not ok N - what" per check.
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
T=$(mktemp -d "${TMPDIR:-/tmp}/screener-template.XXXXXX")
trap 'rm -rf "$T"' EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }

# ---- YAML ----
if command -v yamllint >/dev/null 2>&1; then
    if yamllint -c .yamllint --strict template.yaml >"$T/out" 2>&1; then
        ok "yamllint --strict: template.yaml is clean YAML"
    else
        nok "yamllint template.yaml" "$(cat "$T/out")"
    fi
else
    nok "yamllint is not installed (scripts/deps.sh --test installs it)"
fi

# ---- the CloudFormation specification ----
V=tests/node/cfn-validate.mjs
if ! command -v node >/dev/null 2>&1 || [ ! -d tests/node/node_modules/@aws-cdk/aws-service-spec ] ||
    [ ! -d tests/node/node_modules/yaml-cfn ]; then
    nok "node or the npm packages of tests/node are missing (scripts/deps.sh --node)"
else
    if node "$V" template.yaml >"$T/out" 2>&1; then
        ok "cfn-validate: $(cat "$T/out")"
    else
        nok "cfn-validate template.yaml" "$(cat "$T/out")"
    fi
    # mutant "FIND" "REPLACE" "EXPECTED MESSAGE" [FILE]: a copy of template.yaml (or of the
    # Makefile beside it) with FIND replaced, which the validator must refuse saying EXPECTED
    # MESSAGE.  All mutants are checked by one run of the validator.
    m=0
    : >"$T/mutants"
    mutant() {
        m=$((m + 1))
        mkdir -p "$T/m$m"
        cp template.yaml Makefile "$T/m$m/"
        if python3 - "$T/m$m/${4:-template.yaml}" "$1" "$2" <<'PY'; then
import sys
f, a, b = sys.argv[1:]
s = open(f).read()
if a not in s:
    sys.exit(1)
open(f, 'w').write(s.replace(a, b, 1))
PY
            printf '%s\t%s\n' "$T/m$m/template.yaml" "$3" >>"$T/mutants"
        else
            nok "mutant $m: '$1' is not in ${4:-template.yaml}"
        fi
    }
    mutant "Status: Enabled" "Statuz: Enabled" "Statuz: not a property of AWS::S3::Bucket"
    mutant "Value: !Ref CollectorFunction" "Value: !Ref Collector" "Ref to 'Collector': no such parameter or resource"
    mutant "!GetAtt CollectorFunction.Arn" "!GetAtt CollectorFunction.Url" "has no attribute 'Url'"
    mutant "!Sub '\${AWS::StackName}-bot'" "!Sub '\${AWS::Stackname}-bot'" '${AWS::Stackname} names no parameter'
    mutant "    Condition: MailAlarms" "    Metadata: {}" "refers to AlarmTopic, which does not exist when Environment=dev"
    mutant "cron(30 16 ? * MON-FRI *)" "cron(30 16 * * MON-FRI)" "cron takes 6 fields"
    mutant "Type: ScheduleV2" "Type: Schedulev2" "'Schedulev2' is not a SAM event source type"
    mutant "MemorySize: !If [IsProd, 256, 128]" "MemorySize: !If [IsProd, 256, 64]" "64 is not within 128-10240 MB"
    mutant "    Runtime: provided.al2023" "    Runtime: provided.al2023
    Role: arn:aws:iam::123456789012:role/x" "Globals.Function.Role: cannot be global"
    mutant "ThrottlingBurstLimit: 20" "ThrottlingBurst: 20" "ThrottlingBurst: not a property"
    mutant "TreatMissingData: breaching" "TreatMissingData: breach" "'breach' is not breaching"
    mutant "EvaluationPeriods: 3" "EvaluationPeriods: 8" "Period x EvaluationPeriods = 691200 s is over the limit"
    mutant "- s3:ListBucket" "- s3 ListBucket" "'s3 ListBucket' is not service:Action"
    mutant "DeletionPolicy: Retain" "DeletionPolicy: Keep" "'Keep' is not a policy"
    mutant "build-CollectorFunction build-BotFunction:" "build-CollectorFunction:" \
        "has no target build-BotFunction" Makefile
    # shellcheck disable=SC2046
    node "$V" $(cut -f1 "$T/mutants") >"$T/out" 2>&1
    while IFS="$(printf '\t')" read -r f want; do
        if grep -qF -- "$f: 0 problems" "$T/out" || ! grep -q -- "^$f: " "$T/out"; then
            nok "the validator accepts $f" "$(grep -F -- "$f" "$T/out")"
        elif grep -F -- "$f: " "$T/out" | grep -qF -- "$want"; then
            ok "the validator refuses: $(grep -F -- "$f: " "$T/out" | grep -F -- "$want" | head -1 | sed "s|^$T/||")"
        else
            nok "the validator refuses $f, but does not say '$want'" "$(grep -F -- "$f" "$T/out")"
        fi
    done <"$T/mutants"
fi

# ---- the deployment's features ----
PY=
for p in python3 /usr/bin/python3; do
    if "$p" -c 'import yaml, tomllib' 2>/dev/null; then
        PY=$p
        break
    fi
done
if [ -z "$PY" ]; then
    nok "no python3 with PyYAML and tomllib (Debian: python3-yaml)"
else
    "$PY" tests/e2e/template_features.py >"$T/out" 2>&1
    rc=$?
    while IFS= read -r line; do
        case $line in
        "ok "*) ok "${line#ok * - }" ;;
        "not ok "*) nok "${line#not ok * - }" ;;
        "#"*) echo "$line" ;;
        *) nok "template_features.py: $line" ;;
        esac
    done <"$T/out"
    [ $rc -eq 0 ] || grep -q '^not ok' "$T/out" || nok "template_features.py exited $rc"
fi

# ---- what SAM generates for each environment: no two stacks share a physical name ----
if [ -n "$PY" ]; then
    if "$PY" tests/e2e/sam_expand.py template.yaml samconfig.toml >"$T/out" 2>&1; then
        ok "sam_expand: $(grep -c '^\[' "$T/out") stacks, no physical name collision ($(grep '^\[' "$T/out" | tr '\n' ';'))"
    else
        nok "sam_expand template.yaml samconfig.toml" "$(cat "$T/out")"
    fi
    # xmutant FIND REPLACE EXPECTED [FILE]: the expansion of a changed template (or
    # samconfig.toml) must fail saying EXPECTED.
    xmutant() {
        mkdir -p "$T/x"
        cp template.yaml samconfig.toml "$T/x/"
        "$PY" - "$T/x/${4:-template.yaml}" "$1" "$2" <<'PY'
import sys
f, a, b = sys.argv[1:]
s = open(f).read()
if a not in s:
    sys.exit(1)
open(f, 'w').write(s.replace(a, b, 1))
PY
        "$PY" tests/e2e/sam_expand.py "$T/x/template.yaml" "$T/x/samconfig.toml" >"$T/xout" 2>&1
        rc=$?
        if [ $rc -eq 1 ] && grep -qF -- "$3" "$T/xout"; then
            ok "sam_expand refuses: $(grep -F -- "$3" "$T/xout" | head -1 | sed "s|^$T/x/||")"
        else
            nok "sam_expand with '$1' -> '$2': exit $rc, expected '$3'" "$(cat "$T/xout")"
        fi
    }
    # The schedule as it was before it had a Name: SAM names it after its logical ID.
    xmutant "            Name: !Sub '\${AWS::StackName}-after-the-close'
" "" "collision: AWS::Scheduler::Schedule 'CollectorFunctionAfterTheClose' of stack screener-prod"
    # The evening schedule likewise, and the two schedules given one name.
    xmutant "            Name: !Sub '\${AWS::StackName}-after-the-settle'
" "" "collision: AWS::Scheduler::Schedule 'CollectorFunctionAfterTheSettle' of stack screener-prod"
    xmutant "Name: !Sub '\${AWS::StackName}-after-the-settle'" "Name: !Sub '\${AWS::StackName}-after-the-close'" \
        "is also created by its own CollectorFunctionAfterTheClose"
    xmutant "      FunctionName: !Sub '\${AWS::StackName}-bot'" "      FunctionName: screener-bot" \
        "collision: AWS::Lambda::Function 'screener-bot'"
    xmutant "LogGroupName: !Sub '/aws/lambda/\${AWS::StackName}-collector'" \
        "LogGroupName: /aws/lambda/screener-collector" "collision: AWS::Logs::LogGroup"
    xmutant "      AlarmName: !Sub '\${AWS::StackName}-warning-bot-duration'" \
        "      AlarmName: !Sub '\${AWS::StackName}-critical-collector-errors'" \
        "collision: AWS::CloudWatch::Alarm 'screener-prod-critical-collector-errors' of stack screener-prod [prod] BotDurationAlarm is also created by its own CollectorErrorsAlarm"
    xmutant "      Name: !Sub '\${AWS::StackName}-WebhookUrl'" "      Name: WebhookUrl" \
        "collision: AWS::CloudFormation::Export 'WebhookUrl'"
    xmutant 'S3BucketName=\"REPLACE-ME-screener-data-prod\"' 'S3BucketName=\"REPLACE-ME-screener-data-dev\"' \
        "collision: AWS::S3::Bucket 'REPLACE-ME-screener-data-dev'" samconfig.toml
    xmutant 'stack_name = "screener-prod"' 'stack_name = "screener-production-environment-of-the-whole-company"' \
        "AWS::Scheduler::Schedule name 'screener-production-environment-of-the-whole-company-after-the-close'" samconfig.toml
    xmutant "          Type: ScheduleV2" "          Type: CloudWatchEvent" \
        "event source type 'CloudWatchEvent' is not modelled here"
fi

# ---- what sam build runs ----
if [ -f "$B/lambda/package/bootstrap" ]; then
    for fn in CollectorFunction BotFunction; do
        if make -s "build-$fn" ARTIFACTS_DIR="$T/art-$fn" >"$T/out" 2>&1 &&
            [ -x "$T/art-$fn/bootstrap" ] && [ -x "$T/art-$fn/screener" ] &&
            [ "$(ls "$T/art-$fn" | tr '\n' ' ')" = "bootstrap fonts screener " ] &&
            [ -f "$T/art-$fn/fonts/DejaVuSans.ttf" ]; then
            ok "make build-$fn puts bootstrap, screener and the charts' font into ARTIFACTS_DIR"
        else
            nok "make build-$fn" "$(cat "$T/out")" "$(ls -la "$T/art-$fn" 2>&1)"
        fi
    done
    make -s build-BotFunction ARTIFACTS_DIR= >"$T/out" 2>&1
    rc=$?
    [ $rc -ne 0 ] && grep -q "ARTIFACTS_DIR is not set" "$T/out" && ok "... and refuses to run without ARTIFACTS_DIR" ||
        nok "make build-BotFunction without ARTIFACTS_DIR: exit $rc" "$(cat "$T/out")"
else
    echo "# skipped: the sam build targets ($B/lambda/package is not built: make lambda)"
fi
exit 0
