#!/usr/bin/env python3
"""template_features.py - the deployment's promises, read from template.yaml, samconfig.toml
and env.json (tests/e2e/template.sh runs it): Globals, the IsProd condition and the memory
!If, one role per function with exactly the actions and resources listed in docs/deploying.md, the
schedule after the US close in New York time, the webhook API with throttling, the data
bucket kept on delete, log retention, the three alarms on the metrics the code emits, the
SNS topic, outputs with exports; dev and prod deploy settings; env.json's variables.

The template is parsed with PyYAML and a loader that turns CloudFormation's short tags
(!Ref, !Sub, !GetAtt, !If, ...) into their long forms ({"Ref": ...}, {"Fn::Sub": ...}).
Prints "ok N - what" / "not ok N - what" per check."""
import json
import os
import re
import sys
import tomllib

import yaml

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


class CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix in ("Ref", "Condition"):
        return {suffix: value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {"Fn::" + suffix: value}


CfnLoader.add_multi_constructor("!", _tag)

n = 0
failed = 0


def check(what, cond, detail=""):
    global n, failed
    n += 1
    if cond:
        print(f"ok {n} - {what}")
    else:
        failed += 1
        print(f"not ok {n} - {what}")
        if detail:
            for line in str(detail).splitlines()[:20]:
                print(f"#   {line}")


def load(name):
    with open(os.path.join(ROOT, name), "rb") as f:
        return f.read()


t = yaml.load(load("template.yaml"), Loader=CfnLoader)
R = t["Resources"]
G = t.get("Globals", {})


def sub(s):
    return {"Fn::Sub": s}


def ref(x):
    return {"Ref": x}


# ---- anatomy ----
check("Transform: AWS::Serverless-2016-10-31", t.get("Transform") == "AWS::Serverless-2016-10-31")
gf = G.get("Function", {})
check("Globals.Function: provided.al2023 on x86_64",
      gf.get("Runtime") == "provided.al2023" and gf.get("Architectures") == ["x86_64"], gf)
P = t.get("Parameters", {})
check("Parameters: Environment dev|prod, S3BucketName, AlarmEmail",
      P.get("Environment", {}).get("AllowedValues") == ["dev", "prod"]
      and "S3BucketName" in P and "AlarmEmail" in P, P.keys())
sp_ = P.get("SsmPrefix", {})
check("Parameters: SsmPrefix, default /screener (the design's names), a '/'-path without a "
      "trailing '/'",
      sp_.get("Default") == "/screener" and re.fullmatch(sp_.get("AllowedPattern", "x"), "/screener/prod")
      and not re.fullmatch(sp_.get("AllowedPattern", "x"), "/screener/")
      and not re.fullmatch(sp_.get("AllowedPattern", "x"), "screener"), sp_)
bl_ = P.get("BotLiveAccount", {})
check("Parameters: BotLiveAccount 'false' by default, 'true' the only other value; condition BotLive",
      bl_.get("Default") == "false" and bl_.get("AllowedValues") == ["false", "true"]
      and t.get("Conditions", {}).get("BotLive") == {"Fn::Equals": [ref("BotLiveAccount"), "true"]}, bl_)
check("Conditions: IsProd is Environment == prod",
      t.get("Conditions", {}).get("IsProd") == {"Fn::Equals": [ref("Environment"), "prod"]},
      t.get("Conditions"))
mem = gf.get("MemorySize")
check("MemorySize: !If [IsProd, prod, dev], dev at least 128 MB and prod at least dev",
      isinstance(mem, dict) and list(mem) == ["Fn::If"] and mem["Fn::If"][0] == "IsProd"
      and 128 <= mem["Fn::If"][2] <= mem["Fn::If"][1] <= 512, mem)

# ---- the functions ----
fns = {k: v for k, v in R.items() if v["Type"] == "AWS::Serverless::Function"}
check("two functions, CollectorFunction and BotFunction", sorted(fns) == ["BotFunction", "CollectorFunction"], fns.keys())
col, bot = R["CollectorFunction"], R["BotFunction"]
cp, bp = col["Properties"], bot["Properties"]
check("Handler collector / bot (the runtime's _HANDLER names)",
      cp.get("Handler") == "collector" and bp.get("Handler") == "bot")
makefile = load("Makefile").decode()
for name, fn in (("CollectorFunction", col), ("BotFunction", bot)):
    check(f"{name}: BuildMethod makefile, CodeUri at the Makefile, target build-{name} there",
          fn.get("Metadata", {}).get("BuildMethod") == "makefile" and fn["Properties"].get("CodeUri") == "."
          and re.search(rf"^[^#\n]*\bbuild-{name}\b[^\n=]*:", makefile, re.M) is not None)
check("each function has its own role (no SAM policy templates, no shared role)",
      cp.get("Role") == {"Fn::GetAtt": ["CollectorRole", "Arn"]}
      and bp.get("Role") == {"Fn::GetAtt": ["BotRole", "Arn"]}
      and "Policies" not in cp and "Policies" not in bp and "Role" not in gf)

# ---- least privilege, exactly ----
BUCKET = "arn:${AWS::Partition}:s3:::${S3BucketName}"


def param(suffix):
    return sub("arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${SsmPrefix}" + suffix)


def grants(role, live=False):
    """(effect, action, resource) of every statement of the role's inline policies, with
    !If [BotLive, ...] taken as the stack would (live: BotLiveAccount=true)."""
    out = set()
    props = R[role]["Properties"]

    def pick(v):
        if isinstance(v, dict) and list(v) == ["Fn::If"] and v["Fn::If"][0] == "BotLive":
            return pick(v["Fn::If"][1 if live else 2])
        return v
    for p in props.get("Policies", []):
        for s in p["PolicyDocument"]["Statement"]:
            for a in [s["Action"]] if isinstance(s["Action"], str) else s["Action"]:
                res = pick(s["Resource"])
                for r in [res] if not isinstance(res, list) else res:
                    out.add((s["Effect"], a, json.dumps(r, sort_keys=True)))
    return out


def g(action, resource):
    return ("Allow", action, json.dumps(resource, sort_keys=True))


for role, log in (("CollectorRole", "CollectorLogGroup"), ("BotRole", "BotLogGroup")):
    props = R[role]["Properties"]
    trust = props["AssumeRolePolicyDocument"]["Statement"]
    check(f"{role}: assumed by Lambda only, no managed policies",
          trust == [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
          and "ManagedPolicyArns" not in props, trust)
logs = lambda lg: {g("logs:CreateLogStream", {"Fn::GetAtt": [lg, "Arn"]}),
                   g("logs:PutLogEvents", {"Fn::GetAtt": [lg, "Arn"]})}


def ssm(*suffixes):
    return {g(a, param(s)) for a in ("ssm:GetParameter", "ssm:GetParameters") for s in suffixes}


ALPACA = ("/alpaca/api_key", "/alpaca/secret_key")
SELF = {"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:"
                   "function:${AWS::StackName}-collector"}
want_collector = logs("CollectorLogGroup") | ssm(*ALPACA, "/telegram/bot_token") | {
    g("s3:GetObject", sub(BUCKET + "/*")), g("s3:PutObject", sub(BUCKET + "/*")),
    g("s3:ListBucket", sub(BUCKET)), g("lambda:InvokeFunction", SELF)}
bot_base = logs("BotLogGroup") | {
    g("s3:GetObject", sub(BUCKET + "/results/*")), g("s3:GetObject", sub(BUCKET + "/splits/*")),
    g("s3:GetObject", sub(BUCKET + "/bot/*")), g("s3:ListBucket", sub(BUCKET)),
    g("s3:PutObject", sub(BUCKET + "/bot/*")),
    g("lambda:InvokeFunction", {"Fn::GetAtt": ["CollectorFunction", "Arn"]})}
want_bot = bot_base | ssm("/telegram/bot_token", "/telegram/webhook_secret")
want_bot_live = want_bot | ssm(*ALPACA)
have = grants("CollectorRole")
check("collector: exactly s3:GetObject/PutObject on the objects, s3:ListBucket on the bucket, "
      "ssm:GetParameter(s) on <SsmPrefix>/alpaca/api_key, /alpaca/secret_key and "
      "/telegram/bot_token (not the webhook secret), lambda:InvokeFunction on itself only (to "
      "finish a push), its own log group",
      have == want_collector, f"extra: {have - want_collector}\nmissing: {want_collector - have}")
check("the collector's own ARN in its role names the function as the template names it",
      R["CollectorFunction"]["Properties"]["FunctionName"] == {"Fn::Sub": "${AWS::StackName}-collector"}
      and SELF["Fn::Sub"].endswith(":function:" + R["CollectorFunction"]["Properties"]["FunctionName"]["Fn::Sub"]),
      R["CollectorFunction"]["Properties"]["FunctionName"])
have = grants("BotRole")
check("bot (BotLiveAccount=false): s3:GetObject on results/*, splits/*, bot/* only (no bars, no "
      "portfolio files), ListBucket, s3:PutObject on bot/*, ssm:GetParameter(s) on the two "
      "Telegram parameters only (not the Alpaca keys), lambda:InvokeFunction on the collector, "
      "its own log group",
      have == want_bot, f"extra: {have - want_bot}\nmissing: {want_bot - have}")
have = grants("BotRole", live=True)
check("bot (BotLiveAccount=true): the same plus the two Alpaca keys",
      have == want_bot_live, f"extra: {have - want_bot_live}\nmissing: {want_bot_live - have}")
check("no wildcard action, no '*' resource, no SSM wildcard in either role",
      not any(a.endswith("*") or r == '"*"' or ("ssm:" in r and "*" in r)
              for _, a, r in grants("CollectorRole") | grants("BotRole") | grants("BotRole", True)))
secrets_c = load("src/aws/secrets.c").decode()
check("the parameter names the roles grant are the ones src/aws/secrets.c reads (after the prefix)",
      all(f'"{s}"' in secrets_c for s in ALPACA + ("/telegram/bot_token", "/telegram/webhook_secret",
                                                   "/config/environment")))
check("the code asks SSM only for what each role grants: the collector not the webhook secret, "
      "the bot the Alpaca keys only when SCREENER_LIVE_ACCOUNT allows",
      "SECRET_BIT(SECRET_TELEGRAM_BOT_TOKEN)" in load("src/app/lambda.c").decode()
      and "account_live_account()" in load("src/app/bot_setup.c").decode())
src_keys = load("src/bot/subscribers.h").decode() + load("src/bot/push.h").decode()
check("the bot's S3 writes (subscribers, push markers) are all under bot/, as its role allows",
      '"bot/subscribers.csv"' in src_keys and '"bot/pushed/"' in src_keys)

# ---- environment ----
env = gf.get("Environment", {}).get("Variables", {})
check("Globals environment: S3_BUCKET_NAME, ENVIRONMENT, TELEGRAM_ALLOWED_CHATS from parameters",
      env.get("S3_BUCKET_NAME") == ref("S3BucketName") and env.get("ENVIRONMENT") == ref("Environment")
      and env.get("TELEGRAM_ALLOWED_CHATS") == ref("TelegramAllowedChats"), env)
check("secrets are never given values in the template (they come from SSM)",
      all(env.get(k, "") == "" for k in ("APCA_API_KEY_ID", "APCA_API_SECRET_KEY", "TELEGRAM_BOT_TOKEN",
                                         "TELEGRAM_WEBHOOK_SECRET")), env)
check("the bot gets COLLECTOR_FUNCTION_NAME = !Ref CollectorFunction",
      bp.get("Environment", {}).get("Variables", {}).get("COLLECTOR_FUNCTION_NAME") == ref("CollectorFunction"))
collector_h = load("src/collect/collector.h").decode()
sd = P.get("SettleDays", {})
bounds = {m.group(1): int(m.group(2)) for m in
          re.finditer(r"#define COLLECT_SETTLE_DAYS_(MIN|MAX) (\d+)", collector_h)}
check("Parameters: SettleDays within the collector's bounds (collector.h), default the minimum, "
      "passed as SCREENER_SETTLE_DAYS",
      sd.get("Type") == "Number" and sd.get("MinValue") == bounds.get("MIN")
      and sd.get("MaxValue") == bounds.get("MAX") and sd.get("Default") == bounds.get("MIN")
      and env.get("SCREENER_SETTLE_DAYS") == ref("SettleDays"), (sd, bounds))
check("Globals environment: SCREENER_SSM_PREFIX = !Ref SsmPrefix (src/aws/secrets.c reads it)",
      env.get("SCREENER_SSM_PREFIX") == ref("SsmPrefix") and "SCREENER_SSM_PREFIX" in secrets_c, env)
check("the bot gets SCREENER_LIVE_ACCOUNT = !If [BotLive, '1', '0']: whether its role has the keys",
      bp.get("Environment", {}).get("Variables", {}).get("SCREENER_LIVE_ACCOUNT") == {"Fn::If": ["BotLive", "1", "0"]}
      and "SCREENER_LIVE_ACCOUNT" in load("src/account/account.c").decode())
check("the collector runs one at a time: ReservedConcurrentExecutions 1",
      cp.get("ReservedConcurrentExecutions") == 1, cp.get("ReservedConcurrentExecutions"))

# ---- the schedules: after the US close, and after the settle time, in New York time ----
evs = cp.get("Events", {})
sched = {k: e for k, e in evs.items() if e["Type"] == "ScheduleV2"}
check("the collector has two ScheduleV2 events, AfterTheClose and AfterTheSettle",
      set(sched) == {"AfterTheClose", "AfterTheSettle"} and len(evs) == 2, evs)
cal_h = load("src/base/calendar.h").decode()


def minute_of(name):
    m = re.search(r"#define %s \((\d+) \* 60 \+ (\d+)\)" % name, cal_h)
    return int(m[1]) * 60 + int(m[2]) if m else None


close_min, settle_min = minute_of("CAL_CLOSE_MINUTE"), minute_of("CAL_SETTLE_MINUTE")
check("... the calendar's close (16:20) and settle (20:15) minutes are found in calendar.h",
      close_min == 16 * 60 + 20 and settle_min == 20 * 60 + 15, (close_min, settle_min))
for ename, after, what, suffix in (("AfterTheClose", close_min, "the close (the day's bar is there)",
                                    "after-the-close"),
                                   ("AfterTheSettle", settle_min, "the settle time (the day's bar is final)",
                                    "after-the-settle")):
    sp = sched.get(ename, {}).get("Properties", {})
    check(f"{ename}: in America/New_York, so daylight saving never moves it",
          sp.get("ScheduleExpressionTimezone") == "America/New_York")
    m = re.fullmatch(r"cron\((\d+) (\d+) \? \* MON-FRI \*\)", sp.get("ScheduleExpression", ""))
    at = int(m[2]) * 60 + int(m[1]) if m else -1
    check(f"{ename}: on weekdays at or after {what}, the same New York day",
          m and after is not None and after <= at < 24 * 60, sp.get("ScheduleExpression"))
    check(f"{ename}: named after the stack (two stacks in one account and region do not collide)",
          sp.get("Name") == sub("${AWS::StackName}-" + suffix) and "OmitName" not in sp, sp.get("Name"))
    check(f"{ename}: delivering {{\"action\":\"collect\"}} (events/collect.json)",
          json.loads(sp.get("Input", "null")) == json.loads(load("events/collect.json")), sp.get("Input"))
cm = re.fullmatch(r"cron\((\d+) (\d+) .*",
                  sched.get("AfterTheClose", {}).get("Properties", {}).get("ScheduleExpression", ""))
check("AfterTheClose runs before the settle time (its bars are provisional, the push goes out then)",
      cm and int(cm[2]) * 60 + int(cm[1]) < settle_min)

# ---- the webhook ----
bev = bp.get("Events", {})
api_ev = [e for e in bev.values() if e["Type"] == "Api"]
ap = api_ev[0]["Properties"] if api_ev else {}
check("the bot: an Api event POST /webhook on the WebhookApi",
      len(api_ev) == 1 and ap.get("Path") == "/webhook" and ap.get("Method", "").lower() == "post"
      and ap.get("RestApiId") == ref("WebhookApi"), bev)
api = R.get("WebhookApi", {})
ms = api.get("Properties", {}).get("MethodSettings", [{}])
check("the API stage is throttled (rate and burst)",
      api.get("Type") == "AWS::Serverless::Api" and ms and ms[0].get("ThrottlingRateLimit", 0) > 0
      and ms[0].get("ThrottlingBurstLimit", 0) >= ms[0].get("ThrottlingRateLimit", 0)
      and ms[0].get("ResourcePath") == "/*" and ms[0].get("HttpMethod") == "*", ms)
TELEGRAM_RANGES = ["149.154.160.0/20", "91.108.4.0/22"]  # core.telegram.org/bots/webhooks
rp = ap.get("Auth", {}).get("ResourcePolicy", {})
check("the webhook has a resource policy admitting only Telegram's published source ranges",
      rp == {"IpRangeWhitelist": TELEGRAM_RANGES}, rp)
check("... and the template says where the ranges come from and how to update them",
      "core.telegram.org/bots/webhooks" in load("template.yaml").decode()
      and "To update" in load("template.yaml").decode())
check("the sample events hit the same route",
      json.loads(load("events/telegram-rest.json"))["path"] == "/webhook"
      and json.loads(load("events/telegram-http.json"))["rawPath"] == "/webhook")

# ---- the data bucket ----
b = R.get("DataBucket", {})
bprops = b.get("Properties", {})
check("the bucket is retained on stack deletion and on replacement",
      b.get("DeletionPolicy") == "Retain" and b.get("UpdateReplacePolicy") == "Retain")
check("... versioned", bprops.get("VersioningConfiguration") == {"Status": "Enabled"})
check("... with all public access blocked",
      bprops.get("PublicAccessBlockConfiguration") == {k: True for k in (
          "BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")})
rules = bprops.get("LifecycleConfiguration", {}).get("Rules", [])
check("... with a lifecycle rule, and none that expires current objects (the bars)",
      any(r.get("Status") == "Enabled" for r in rules) and not any("ExpirationInDays" in r or "ExpirationDate" in r for r in rules),
      rules)
check("... named by the S3BucketName parameter, as the functions' S3_BUCKET_NAME",
      bprops.get("BucketName") == ref("S3BucketName"))

# ---- logs ----
for fn, lg in (("CollectorFunction", "CollectorLogGroup"), ("BotFunction", "BotLogGroup")):
    name = R[fn]["Properties"]["FunctionName"]["Fn::Sub"]
    lp = R[lg]["Properties"]
    check(f"{lg}: /aws/lambda/<the function's name>, with a retention",
          lp.get("LogGroupName") == sub("/aws/lambda/" + name) and lp.get("RetentionInDays"), lp)
    check(f"{lg}: explicit DeletionPolicy and UpdateReplacePolicy",
          R[lg].get("DeletionPolicy") in ("Delete", "Retain") and
          R[lg].get("UpdateReplacePolicy") == R[lg].get("DeletionPolicy"), R[lg])

# ---- monitoring, prod only ----
alarms = {k: v for k, v in R.items() if v["Type"] == "AWS::CloudWatch::Alarm"}
check("three alarms, all prod only, all notifying the SNS topic",
      len(alarms) == 3 and all(a.get("Condition") == "IsProd" and a["Properties"].get("AlarmActions") == [ref("AlarmTopic")]
                                for a in alarms.values()), alarms.keys())


def alarm(metric):
    return next((a["Properties"] for a in alarms.values() if a["Properties"].get("MetricName") == metric), {})


a = alarm("Errors")
check("critical: collector Errors >= 1",
      a.get("Namespace") == "AWS/Lambda" and a.get("Dimensions") == [{"Name": "FunctionName", "Value": ref("CollectorFunction")}]
      and a.get("ComparisonOperator") == "GreaterThanOrEqualToThreshold" and a.get("Threshold") == 1
      and a.get("Statistic") == "Sum" and "CRITICAL" in a.get("AlarmDescription", ""), a)
a = alarm("Duration")
check("warning: bot Duration > 5000 ms",
      a.get("Namespace") == "AWS/Lambda" and a.get("Dimensions") == [{"Name": "FunctionName", "Value": ref("BotFunction")}]
      and a.get("ComparisonOperator") == "GreaterThanThreshold" and a.get("Threshold") == 5000
      and "WARNING" in a.get("AlarmDescription", ""), a)
a = alarm("StocksPerSecond")
check("business: no StocksPerSecond (StockScreener/Performance) is breaching: the collector did not run",
      a.get("Namespace") == "StockScreener/Performance" and a.get("TreatMissingData") == "breaching"
      and a.get("ComparisonOperator") == "LessThanThreshold" and a.get("Statistic") == "SampleCount"
      and "BUSINESS" in a.get("AlarmDescription", ""), a)
check("... over more days than a weekend, so Saturdays and Sundays do not alarm",
      a.get("Period") == 86400 and a.get("EvaluationPeriods") == a.get("DatapointsToAlarm") == 3, a)
emf = load("src/base/emf.h").decode() + load("src/daily/daily.c").decode()
check("... with the namespace and metric the collector's EMF lines carry",
      '"StockScreener/Performance"' in emf and '{"Function", "collector"}' in emf and '"StocksPerSecond"' in emf
      and 'EMF_DIM_ENVIRONMENT "Environment"' in emf)
check("... filtered on the environment too, so dev's runs cannot satisfy prod's alarm",
      a.get("Dimensions") == [{"Name": "Function", "Value": "collector"},
                              {"Name": "Environment", "Value": ref("Environment")}], a.get("Dimensions"))
check("every alarm on a custom (non AWS/) metric filters on Environment",
      all({"Name": "Environment", "Value": ref("Environment")} in x["Properties"].get("Dimensions", [])
          for x in alarms.values() if not x["Properties"].get("Namespace", "").startswith("AWS/")))
topic = R.get("AlarmTopic", {})
subs = [v for v in R.values() if v["Type"] == "AWS::SNS::Subscription"]
check("an SNS topic (prod) with the AlarmEmail subscription",
      topic.get("Type") == "AWS::SNS::Topic" and topic.get("Condition") == "IsProd" and len(subs) == 1
      and subs[0]["Properties"] == {"TopicArn": ref("AlarmTopic"), "Protocol": "email", "Endpoint": ref("AlarmEmail")},
      subs)

# ---- outputs ----
O = t.get("Outputs", {})
want = {"WebhookUrl", "DataBucketName", "CollectorFunctionName", "BotFunctionName"}
check("Outputs: WebhookUrl, DataBucketName, CollectorFunctionName, BotFunctionName, each exported",
      want <= set(O) and all(O[k].get("Export", {}).get("Name") == sub("${AWS::StackName}-" + k) for k in want), O.keys())
check("WebhookUrl is the API's /webhook on its stage",
      O.get("WebhookUrl", {}).get("Value") == sub(
          "https://${WebhookApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${Environment}/webhook")
      and api.get("Properties", {}).get("StageName") == ref("Environment"))

# ---- samconfig.toml ----
sc = tomllib.loads(load("samconfig.toml").decode())
for envname in ("dev", "prod"):
    d = sc.get(envname, {}).get("deploy", {}).get("parameters", {})
    ov = dict(re.findall(r'(\w+)="([^"]*)"', d.get("parameter_overrides", "")))
    check(f"samconfig [{envname}]: stack screener-{envname}, CAPABILITY_IAM, a region, resolve_s3, "
          f"Environment={envname}",
          d.get("stack_name") == f"screener-{envname}" and "CAPABILITY_IAM" in d.get("capabilities", "")
          and d.get("region") and d.get("resolve_s3") is True and ov.get("Environment") == envname, d)
    check(f"samconfig [{envname}]: every override is a template parameter, every required one is there",
          set(ov) <= set(P) and all(k in ov for k, v in P.items() if "Default" not in v), ov)
    check(f"samconfig [{envname}]: the bucket name placeholder cannot be deployed by mistake",
          not re.fullmatch(P["S3BucketName"]["AllowedPattern"], ov.get("S3BucketName", "")), ov.get("S3BucketName"))
prefixes = {}
for envname in ("dev", "prod"):
    d = sc.get(envname, {}).get("deploy", {}).get("parameters", {})
    ov = dict(re.findall(r'(\w+)="([^"]*)"', d.get("parameter_overrides", "")))
    prefixes[envname] = ov.get("SsmPrefix", P.get("SsmPrefix", {}).get("Default"))
check("samconfig: dev and prod read their secrets under different SsmPrefix values",
      prefixes["dev"] != prefixes["prod"] and not prefixes["prod"].startswith(prefixes["dev"] + "/alpaca"),
      prefixes)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sam_expand  # noqa: E402

try:
    stacks, collisions = sam_expand.check(t, sc)
    check(f"SAM expansion: {len(stacks)} distinct stacks in samconfig.toml, no physical name shared "
          "(schedules, functions, log groups, alarms, topics, roles, buckets, exports)",
          len(stacks) >= 2 and not collisions, "\n".join(collisions))
    names = {n for s in stacks for _, _, ty, n in s.named if ty == "AWS::Scheduler::Schedule"}
    check("SAM expansion: each stack's two schedules are named after its stack",
          names == {f"{s.stack}-{w}" for s in stacks for w in ("after-the-close", "after-the-settle")},
          names)
except sam_expand.ExpandError as e:
    check("SAM expansion of template.yaml for each samconfig environment", False, str(e))
for script in ("scripts/put-ssm-params.sh", "scripts/set-webhook.sh"):
    text = load(script).decode()
    check(f"{script}: takes --prefix (the stack's SsmPrefix) and derives the names from it",
          "--prefix" in text and "$prefix/telegram/" in text)
check("samconfig: IAM resources are unnamed, so CAPABILITY_IAM (not NAMED_IAM) is enough",
      not any("RoleName" in v.get("Properties", {}) for v in R.values() if v["Type"] == "AWS::IAM::Role"))
check("samconfig: sam local uses env.json",
      sc["default"]["local_invoke"]["parameters"]["env_vars"] == "env.json")

# ---- env.json: SAM sets only the variables the template declares ----
ej = json.loads(load("env.json"))
check("env.json: one object per function", set(ej) == set(fns), ej.keys())
for fn, vars_ in ej.items():
    declared = set(env) | set(R[fn]["Properties"].get("Environment", {}).get("Variables", {}))
    check(f"env.json {fn}: every variable is declared for it in the template",
          set(vars_) <= declared, set(vars_) - declared)
check("env.json: the secrets are obvious placeholders (or the sample events' local-dev-webhook-secret-0001)",
      all(v in ("", "local-dev-webhook-secret-0001") or re.search(r"placeholder", v, re.I)
          for f in ej.values() for k, v in f.items() if k in ("APCA_API_KEY_ID", "APCA_API_SECRET_KEY", "TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET")))

sys.exit(1 if failed else 0)
