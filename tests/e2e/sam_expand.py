#!/usr/bin/env python3
"""sam_expand.py - what `sam deploy` would create for each environment of samconfig.toml,
with the physical names, and whether two stacks would collide.

    python3 tests/e2e/sam_expand.py [TEMPLATE [SAMCONFIG]]

For every environment with deploy parameters in samconfig.toml (its stack name, region and
parameter overrides on top of the template's defaults), the template is expanded the way the
SAM transform expands it, as far as names go:

  - AWS::Serverless::Function -> AWS::Lambda::Function (FunctionName), an IAM role
    <Id>Role when it names none, and per event source <Id><Event>:
      ScheduleV2  -> AWS::Scheduler::Schedule named Name, else (unless OmitName: true)
                     named after its logical ID <Id><Event>, in GroupName (default
                     "default"), and the role <Id><Event>Role the scheduler assumes;
      Schedule    -> AWS::Events::Rule (Name when given) and a Lambda permission;
      Api, HttpApi, SQS, SNS, S3, CloudWatchLogs, EventBridgeRule ->
                     permissions, subscriptions or mappings CloudFormation names itself;
  - AWS::Serverless::Api -> AWS::ApiGateway::RestApi (its Name need not be unique), a
    deployment and a stage inside that API;
  - resources whose names are unique in a scope: log groups, alarms, SNS topics, Lambda
    functions, schedules, EventBridge rules, SQS queues, DynamoDB tables, SSM parameters
    (account and region), IAM roles (account), S3 buckets (everywhere), and the stack's
    export names (account and region).

Intrinsic functions are evaluated with each environment's values: Ref (parameters, pseudo
parameters, resources), Sub, If with the template's conditions, Join, Select, Equals, And,
Or, Not; a resource whose Condition is false is not created.  An event source or a SAM
resource type this model does not know is an error, so that a new one cannot slip past.
Every stack is assumed to be in the same account (samconfig.toml does not say otherwise).

Names are also checked against what each service accepts (length and characters: a long
stack name can make the schedule's name too long).  Prints each environment's named
resources, then one line per collision: two different stacks creating the same name in the
same scope, or one stack creating it twice; and one line per invalid name.  Exits 1 on any of
them or an error."""
import json
import os
import re
import sys
import tomllib

import yaml


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

ACCOUNT = "123456789012"

# type -> (name property, scope): "region" (per account and region), "account", "global".
NAMED = {
    "AWS::Lambda::Function": ("FunctionName", "region"),
    "AWS::Logs::LogGroup": ("LogGroupName", "region"),
    "AWS::CloudWatch::Alarm": ("AlarmName", "region"),
    "AWS::SNS::Topic": ("TopicName", "region"),
    "AWS::SQS::Queue": ("QueueName", "region"),
    "AWS::DynamoDB::Table": ("TableName", "region"),
    "AWS::SSM::Parameter": ("Name", "region"),
    "AWS::Events::Rule": ("Name", "region"),
    "AWS::Scheduler::Schedule": ("Name", "region"),
    "AWS::IAM::Role": ("RoleName", "account"),
    "AWS::IAM::ManagedPolicy": ("ManagedPolicyName", "account"),
    "AWS::S3::Bucket": ("BucketName", "global"),
}
# Types whose name, if any, need not be unique, or that CloudFormation always names itself.
UNNAMED = {
    "AWS::ApiGateway::RestApi", "AWS::ApiGateway::Deployment", "AWS::ApiGateway::Stage",
    "AWS::ApiGatewayV2::Api", "AWS::ApiGatewayV2::Stage", "AWS::Lambda::Permission",
    "AWS::S3::BucketPolicy", "AWS::SNS::Subscription", "AWS::Lambda::EventSourceMapping",
    "AWS::Logs::SubscriptionFilter", "AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy",
}
# Event sources that expand only into resources CloudFormation names itself.
QUIET_EVENTS = {"Api", "HttpApi", "SQS", "SNS", "S3", "CloudWatchLogs", "EventBridgeRule",
                "Kinesis", "DynamoDB"}


# What each service accepts as a name (length, characters).
NAME_RULES = {
    "AWS::Lambda::Function": (64, r"[A-Za-z0-9_-]+"),
    "AWS::Scheduler::Schedule": (64, r"[0-9a-zA-Z_.-]+"),
    "AWS::Events::Rule": (64, r"[0-9a-zA-Z_.-]+"),
    "AWS::SNS::Topic": (256, r"[A-Za-z0-9_-]+"),
    "AWS::CloudWatch::Alarm": (255, r"[^\x00-\x1f]+"),
    "AWS::Logs::LogGroup": (512, r"[A-Za-z0-9_./#-]+"),
    "AWS::IAM::Role": (64, r"[\w+=,.@-]+"),
}


class ExpandError(Exception):
    pass


class Stack:
    def __init__(self, tpl, env, stack_name, region, overrides):
        self.tpl, self.env, self.stack, self.region = tpl, env, stack_name, region
        self.params = {}
        for k, p in tpl.get("Parameters", {}).items():
            if k in overrides:
                self.params[k] = overrides[k]
            elif "Default" in p:
                self.params[k] = str(p["Default"])
            else:
                raise ExpandError(f"[{env}] parameter {k} has no default and no override")
        for k in overrides:
            if k not in self.params:
                raise ExpandError(f"[{env}] override {k} is not a template parameter")
        self.pseudo = {
            "AWS::StackName": stack_name, "AWS::Region": region, "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{ACCOUNT}:stack/{stack_name}/id",
        }
        self.conds = {}
        self.named = []  # (scope key, logical id, type, name)
        self.bad_names = []

    # ---- intrinsic functions ----
    def cond(self, name):
        if name not in self.conds:
            c = self.tpl.get("Conditions", {}).get(name)
            if c is None:
                raise ExpandError(f"no condition {name}")
            self.conds[name] = bool(self.ev(c))
        return self.conds[name]

    def ev(self, v):
        if isinstance(v, list):
            return [self.ev(x) for x in v]
        if not isinstance(v, dict):
            return v
        if len(v) != 1:
            return {k: self.ev(x) for k, x in v.items()}
        (fn, a), = v.items()
        if fn == "Ref":
            if a in self.params:
                return self.params[a]
            if a in self.pseudo:
                return self.pseudo[a]
            if a in self.tpl.get("Resources", {}):
                return self.physical(a)
            raise ExpandError(f"Ref to unknown {a}")
        if fn == "Condition":
            return self.cond(a)
        if fn == "Fn::Sub":
            s, vars_ = (a if isinstance(a, list) else [a, {}])
            vals = {k: self.ev(x) for k, x in (vars_ or {}).items()}

            def one(m):
                ref = m.group(1).strip()
                if ref.startswith("!"):
                    return "${" + ref[1:] + "}"
                if ref in vals:
                    return str(vals[ref])
                if "." in ref and ref.split(".")[0] in self.tpl.get("Resources", {}):
                    return f"<{self.stack}:{ref}>"
                return str(self.ev({"Ref": ref}))
            return re.sub(r"\$\{([^}]*)\}", one, s)
        if fn == "Fn::If":
            return self.ev(a[1] if self.cond(a[0]) else a[2])
        if fn == "Fn::Equals":
            return str(self.ev(a[0])) == str(self.ev(a[1]))
        if fn == "Fn::And":
            return all(self.ev(x) for x in a)
        if fn == "Fn::Or":
            return any(self.ev(x) for x in a)
        if fn == "Fn::Not":
            return not self.ev(a[0])
        if fn == "Fn::Join":
            return a[0].join(str(x) for x in self.ev(a[1]))
        if fn == "Fn::Select":
            return self.ev(a[1])[int(self.ev(a[0]))]
        if fn == "Fn::GetAtt":
            res, attr = a if isinstance(a, list) else a.split(".", 1)
            return f"<{self.stack}:{res}.{attr}>"
        if fn.startswith("Fn::"):
            return f"<{self.stack}:{fn}>"
        return {k: self.ev(x) for k, x in v.items()}

    def physical(self, lid):
        """What Ref of a resource gives: its name when named, else a name unique to the stack."""
        r = self.tpl["Resources"][lid]
        t = r["Type"]
        prop = {"AWS::Serverless::Function": "FunctionName"}.get(t) or NAMED.get(t, (None,))[0]
        name = r.get("Properties", {}).get(prop) if prop else None
        return str(self.ev(name)) if name is not None else f"{self.stack}-{lid}-GENERATED"

    # ---- expansion ----
    def add(self, scope, type_, lid, name, extra=()):
        if name is None or name == {"Ref": "AWS::NoValue"}:
            return
        name = str(self.ev(name))
        if type_ in NAME_RULES and "<" not in name:
            most, pattern = NAME_RULES[type_]
            if len(name) > most or not re.fullmatch(pattern, name):
                self.bad_names.append(f"{type_} name '{name}' of stack {self.stack} [{self.env}] {lid} "
                                      f"is not a valid name (at most {most} characters of {pattern})")
        key = {"region": (type_, ACCOUNT, self.region) + tuple(extra),
               "account": (type_, ACCOUNT), "global": (type_,)}[scope] + (name,)
        self.named.append((key, lid, type_, name))

    def resource(self, lid, type_, props, events_of=None):
        if type_ in NAMED:
            prop, scope = NAMED[type_]
            extra = ()
            if type_ == "AWS::Scheduler::Schedule":
                extra = (str(self.ev(props.get("GroupName", "default"))),)
            if type_ == "AWS::Events::Rule":
                extra = (str(self.ev(props.get("EventBusName", "default"))),)
            self.add(scope, type_, lid, props.get(prop), extra)
        elif type_ not in UNNAMED and not type_.startswith("AWS::Serverless::"):
            pass  # not a resource with a unique name in this model

    def expand(self):
        res = self.tpl.get("Resources", {})
        glob = self.tpl.get("Globals", {})
        for lid, r in res.items():
            if "Condition" in r and not self.cond(r["Condition"]):
                continue
            t, p = r["Type"], r.get("Properties", {}) or {}
            if t == "AWS::Serverless::Function":
                props = dict(glob.get("Function", {}))
                props.update(p)
                self.resource(lid, "AWS::Lambda::Function", props)
                if "Role" not in props:
                    self.resource(lid + "Role", "AWS::IAM::Role", {})
                if "FunctionUrlConfig" in props or "AutoPublishAlias" in props or \
                        "DeploymentPreference" in props:
                    raise ExpandError(f"{lid}: FunctionUrlConfig/AutoPublishAlias/DeploymentPreference "
                                      "are not modelled here")
                for ename, e in (props.get("Events") or {}).items():
                    elid = lid + ename
                    et, ep = e.get("Type"), e.get("Properties", {}) or {}
                    if et == "ScheduleV2":
                        omit = ep.get("OmitName") in (True, "true", "True")
                        if omit and "Name" in ep:
                            raise ExpandError(f"{lid}.Events.{ename}: Name cannot be set when OmitName is true")
                        name = None if omit else ep.get("Name", elid)
                        self.resource(elid, "AWS::Scheduler::Schedule",
                                      {"Name": name, "GroupName": ep.get("GroupName", "default")})
                        if "RoleArn" not in ep:
                            self.resource(elid + "Role", "AWS::IAM::Role", {})
                        if isinstance(ep.get("DeadLetterConfig"), dict) and "Arn" not in ep["DeadLetterConfig"]:
                            self.resource(ep["DeadLetterConfig"].get("QueueLogicalId", elid + "Queue"),
                                          "AWS::SQS::Queue", {})
                    elif et == "Schedule":
                        self.resource(elid, "AWS::Events::Rule", {"Name": ep.get("Name")})
                    elif et in QUIET_EVENTS:
                        pass
                    else:
                        raise ExpandError(f"{lid}.Events.{ename}: event source type '{et}' is not "
                                          "modelled here (add what SAM generates from it)")
            elif t in ("AWS::Serverless::Api", "AWS::Serverless::HttpApi"):
                props = dict(glob.get("Api" if t.endswith("::Api") else "HttpApi", {}))
                props.update(p)
                if "Domain" in props:
                    dom = props["Domain"]
                    self.add("global", "AWS::ApiGateway::DomainName", lid + "DomainName",
                             dom.get("DomainName"))
            elif t.startswith("AWS::Serverless::"):
                raise ExpandError(f"{lid}: SAM resource type {t} is not modelled here")
            else:
                self.resource(lid, t, p)
        for oname, o in self.tpl.get("Outputs", {}).items():
            if "Condition" in o and not self.cond(o["Condition"]):
                continue
            if "Export" in o:
                self.add("region", "AWS::CloudFormation::Export", f"Outputs.{oname}",
                         o["Export"].get("Name"))
        return self


def environments(sc):
    """(env, stack name, region, overrides) of each samconfig environment with deploy
    parameters."""
    out = []
    for env, sections in sc.items():
        if not isinstance(sections, dict):
            continue
        d = sections.get("deploy", {}).get("parameters")
        if not d:
            continue
        ov = d.get("parameter_overrides", "")
        if isinstance(ov, list):
            ov = " ".join(ov)
        overrides = dict((k, a if a else b) for k, a, b in
                         re.findall(r'(\w+)=(?:"([^"]*)"|(\S*))', ov))
        out.append((env, d.get("stack_name"), d.get("region"), overrides))
    return out


def check(tpl, sc):
    """(stacks, collisions): the expanded stacks and a list of collision messages."""
    stacks = []
    seen = {}
    # [default] is usually the same stack as a named environment: name it by the latter.
    for env, stack_name, region, overrides in sorted(environments(sc), key=lambda e: e[0] == "default"):
        if not stack_name or not region:
            raise ExpandError(f"[{env}] needs stack_name and region")
        key = (stack_name, region)
        if key in seen:  # the same stack under another name ([default] beside [dev])
            continue
        seen[key] = env
        stacks.append(Stack(tpl, env, stack_name, region, overrides).expand())
    collisions = [b for s in stacks for b in s.bad_names]
    owners = {}
    for s in stacks:
        for key, lid, type_, name in s.named:
            if key in owners:
                o, olid = owners[key]
                where = f"stack {o.stack} [{o.env}] {olid}"
                if o is s:
                    where = f"its own {olid}"
                collisions.append(f"collision: {type_} '{name}' of stack {s.stack} [{s.env}] {lid} "
                                  f"is also created by {where}")
            else:
                owners[key] = (s, lid)
    return stacks, collisions


def main(argv):
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    tfile = argv[1] if len(argv) > 1 else os.path.join(root, "template.yaml")
    sfile = argv[2] if len(argv) > 2 else os.path.join(root, "samconfig.toml")
    try:
        with open(tfile) as f:
            tpl = yaml.load(f, Loader=CfnLoader)
        with open(sfile, "rb") as f:
            sc = tomllib.load(f)
        stacks, collisions = check(tpl, sc)
    except (OSError, yaml.YAMLError, tomllib.TOMLDecodeError, ExpandError, KeyError, TypeError) as e:
        print(f"{tfile}: error: {e}")
        return 1
    for s in stacks:
        print(f"[{s.env}] stack {s.stack} in {s.region}: {len(s.named)} named resources")
        for key, lid, type_, name in s.named:
            print(f"  {type_:30} {name:45} {lid}")
    for c in collisions:
        print(f"{tfile}: {c}")
    if len(stacks) < 2:
        print(f"{tfile}: only {len(stacks)} stack in {sfile}: nothing to compare")
    return 1 if collisions else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
