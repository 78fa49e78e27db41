// cfn-validate.mjs - an offline check of a CloudFormation / AWS SAM template against the
// CloudFormation resource specification (the npm package @aws-cdk/aws-service-spec: every
// AWS:: resource type, its properties, their types, which are required, its GetAtt
// attributes; plus the SAM resource types).  cfn-lint is not packaged for Debian 12 and the
// npm "cfn-lint" carries a 2019 specification, so this is what CI runs instead.
//
//   node cfn-validate.mjs TEMPLATE...
//
// The template is parsed with yaml-cfn (every short-form tag: !Ref, !Sub, !GetAtt, !If,
// !Equals, !And, !Not, !Condition, ...).  Checked:
//   - anatomy: top-level sections, parameter types and constraints (a Default among the
//     AllowedValues and matching the AllowedPattern), resource attributes (DeletionPolicy,
//     UpdateReplacePolicy, Condition, DependsOn), outputs (Value, unique Export names);
//   - every resource type exists; every property is known for its type, recursively through
//     the nested property types, has the right shape (string, number, boolean, list, map,
//     object) unless an intrinsic function computes it, and required properties are present;
//   - SAM: Globals sections and what may be global, the function's event sources checked by
//     their Type (ScheduleV2, newer than the package's SAM part, from the SAM documentation),
//     schedule expressions (cron with six fields and one '?', rate, at) and time zones,
//     Api events pointing at an AWS::Serverless::Api, MemorySize and Timeout ranges, and a
//     Makefile with a build-<LogicalId> target for each BuildMethod: makefile;
//   - intrinsic functions: known names and argument shapes; every Ref, GetAtt and ${} in a
//     Sub names a parameter, a pseudo parameter or a resource, with an attribute its type
//     has; every condition named exists;
//   - conditions: for every combination of the parameters the conditions test, every
//     resource and output that exists refers only to resources that exist too;
//   - a few values CloudFormation rejects at deploy time: alarm operators, statistics,
//     periods and evaluation ranges, missing-data treatment, log retention days, S3
//     versioning and lifecycle status, IAM policy documents (Version, Effect, Action form).
// Prints each problem as "TEMPLATE: PATH: what is wrong", or a one-line summary of each valid
// template; exits 1 when any template has a problem.  (One process checks many templates:
// loading the specification is most of the time.)
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { yamlParse } from "yaml-cfn";

const files = process.argv.slice(2);
if (!files.length) {
  console.error("usage: node cfn-validate.mjs TEMPLATE...");
  process.exit(2);
}

const specPath = new URL("./node_modules/@aws-cdk/aws-service-spec/db.json.gz", import.meta.url);
const db = JSON.parse(zlib.gunzipSync(fs.readFileSync(specPath))).schema;
const resourceSpec = new Map(db.resource.entities.map((r) => [r.cloudFormationType, r]));
const typeDefs = new Map(db.typeDefinition.entities.map((t) => [t.$id, t]));
const typeDefByName = (resType, name) => {
  // The type definitions of a resource are linked by the usesType relation.
  const r = resourceSpec.get(resType);
  const used = (db.usesType.forward[r.$id] || []).map((l) => typeDefs.get(l.$id));
  return used.find((t) => t && t.name === name);
};

// SAM passes an Api's MethodSettings to its API Gateway stage unchanged: check them as the
// stage's (the package's SAM part types them as any JSON).
resourceSpec.get("AWS::Serverless::Api").properties.MethodSettings =
  resourceSpec.get("AWS::ApiGateway::Stage").properties.MethodSettings;

function validate(file) {
  let tpl;
  try {
    tpl = yamlParse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    return [`${file}: not a YAML template: ${e.message}`];
  }
  const problems = [];
  const problem = (where, what) => problems.push(`${where}: ${what}`);

  const SAM = "AWS::Serverless-2016-10-31";
  const transforms = [].concat(tpl.Transform || []);
  const isSam = transforms.includes(SAM);
  const pseudo = new Set([
    "AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition", "AWS::Region",
    "AWS::StackId", "AWS::StackName", "AWS::URLSuffix",
  ]);
  const params = tpl.Parameters || {};
  const resources = tpl.Resources || {};
  const conditions = tpl.Conditions || {};
  const outputs = tpl.Outputs || {};
  const mappings = tpl.Mappings || {};

  // ---- anatomy ----
  const topLevel = new Set([
    "AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Rules", "Mappings",
    "Conditions", "Transform", "Resources", "Outputs", "Globals",
  ]);
  for (const k of Object.keys(tpl)) if (!topLevel.has(k)) problem(k, "not a template section");
  if (tpl.AWSTemplateFormatVersion !== undefined && tpl.AWSTemplateFormatVersion !== "2010-09-09")
    problem("AWSTemplateFormatVersion", "must be '2010-09-09'");
  if (tpl.Globals && !isSam) problem("Globals", `needs Transform: ${SAM}`);
  if (!Object.keys(resources).length) problem("Resources", "no resources");
  const logicalId = /^[A-Za-z0-9]{1,255}$/;

  const paramKeys = new Set([
    "Type", "Default", "AllowedValues", "AllowedPattern", "ConstraintDescription", "Description",
    "MaxLength", "MinLength", "MaxValue", "MinValue", "NoEcho",
  ]);
  for (const [name, p] of Object.entries(params)) {
    const at = `Parameters.${name}`;
    if (!logicalId.test(name)) problem(at, "not an alphanumeric name");
    for (const k of Object.keys(p)) if (!paramKeys.has(k)) problem(`${at}.${k}`, "not a parameter property");
    const t = p.Type;
    if (!(["String", "Number", "List<Number>", "CommaDelimitedList"].includes(t) ||
          /^(List<)?AWS::[A-Za-z0-9:<>]+>?$/.test(t || "")))
      problem(`${at}.Type`, `'${t}' is not a parameter type`);
    if (p.Default !== undefined) {
      const d = String(p.Default);
      if (p.AllowedValues && !p.AllowedValues.map(String).includes(d))
        problem(`${at}.Default`, `'${d}' is not among the AllowedValues`);
      if (p.AllowedPattern && !new RegExp(`^(?:${p.AllowedPattern})$`).test(d))
        problem(`${at}.Default`, `'${d}' does not match the AllowedPattern`);
    }
  }

  const resourceKeys = new Set([
    "Type", "Properties", "DependsOn", "Condition", "DeletionPolicy", "UpdateReplacePolicy",
    "Metadata", "CreationPolicy", "UpdatePolicy",
  ]);
  const policies = new Set(["Delete", "Retain", "RetainExceptOnCreate", "Snapshot"]);
  for (const [id, r] of Object.entries(resources)) {
    const at = `Resources.${id}`;
    if (!logicalId.test(id)) problem(at, "not an alphanumeric logical id");
    if (params[id]) problem(at, "has the name of a parameter");
    for (const k of Object.keys(r)) if (!resourceKeys.has(k)) problem(`${at}.${k}`, "not a resource attribute");
    for (const k of ["DeletionPolicy", "UpdateReplacePolicy"])
      if (r[k] !== undefined && !policies.has(r[k])) problem(`${at}.${k}`, `'${r[k]}' is not a policy`);
    if (r.Condition !== undefined && !(r.Condition in conditions))
      problem(`${at}.Condition`, `no condition '${r.Condition}'`);
    for (const dep of [].concat(r.DependsOn || []))
      if (!(dep in resources)) problem(`${at}.DependsOn`, `no resource '${dep}'`);
  }

  const outputKeys = new Set(["Description", "Value", "Export", "Condition"]);
  const exportNames = new Map();
  for (const [name, o] of Object.entries(outputs)) {
    const at = `Outputs.${name}`;
    for (const k of Object.keys(o)) if (!outputKeys.has(k)) problem(`${at}.${k}`, "not an output property");
    if (o.Value === undefined) problem(at, "no Value");
    if (o.Condition !== undefined && !(o.Condition in conditions))
      problem(`${at}.Condition`, `no condition '${o.Condition}'`);
    if (o.Export) {
      if (o.Export.Name === undefined) problem(`${at}.Export`, "no Name");
      const key = JSON.stringify(o.Export.Name);
      if (exportNames.has(key)) problem(`${at}.Export.Name`, `same as ${exportNames.get(key)}'s`);
      exportNames.set(key, name);
    }
  }

  // ---- intrinsic functions ----
  const fnNames = new Set([
    "Ref", "Fn::GetAtt", "Fn::Sub", "Fn::If", "Fn::Join", "Fn::Select", "Fn::Split", "Fn::GetAZs",
    "Fn::ImportValue", "Fn::FindInMap", "Fn::Base64", "Fn::Cidr", "Fn::Equals", "Fn::And",
    "Fn::Or", "Fn::Not", "Fn::Transform", "Fn::Length", "Fn::ToJsonString", "Condition",
  ]);
  const isIntrinsic = (v) =>
    v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 1 &&
    (Object.keys(v)[0] === "Ref" || Object.keys(v)[0].startsWith("Fn::"));

  // The type CloudFormation sees for a resource after the SAM transform, for GetAtt.
  const samGenerated = {
    "AWS::Serverless::Function": "AWS::Lambda::Function",
    "AWS::Serverless::Api": "AWS::ApiGateway::RestApi",
    "AWS::Serverless::HttpApi": "AWS::ApiGatewayV2::Api",
    "AWS::Serverless::SimpleTable": "AWS::DynamoDB::Table",
    "AWS::Serverless::LayerVersion": "AWS::Lambda::LayerVersion",
    "AWS::Serverless::StateMachine": "AWS::StepFunctions::StateMachine",
  };
  function attributeOk(resId, attr) {
    const type = resources[resId].Type;
    const spec = resourceSpec.get(samGenerated[type] || type);
    if (!spec) return true; // custom resources: any attribute
    return attr in (spec.attributes || {});
  }

  // subRefs("a ${X} ${Y.Arn} ${!Literal}") -> ["X", "Y.Arn"]
  const subRefs = (s) => [...s.matchAll(/\$\{([^}!][^}]*)\}/g)].map((m) => m[1].trim());

  // checkRefs(value, at, inConditions): every intrinsic in value is well formed and names
  // what exists.
  function checkRefs(v, at, inConditions = false) {
    if (Array.isArray(v)) return v.forEach((x, i) => checkRefs(x, `${at}[${i}]`, inConditions));
    if (!v || typeof v !== "object") return;
    const keys = Object.keys(v);
    if (keys.length === 1 && (keys[0] === "Ref" || keys[0].startsWith("Fn::") ||
                              (inConditions && keys[0] === "Condition"))) {
      const fn = keys[0];
      const a = v[fn];
      if (!fnNames.has(fn)) return problem(at, `unknown intrinsic function ${fn}`);
      switch (fn) {
        case "Ref":
          if (typeof a !== "string") return problem(at, "Ref takes a name");
          if (inConditions && !(a in params) && !pseudo.has(a))
            return problem(at, `a condition may Ref only parameters, not '${a}'`);
          if (!(a in params) && !(a in resources) && !pseudo.has(a))
            problem(at, `Ref to '${a}': no such parameter or resource`);
          return;
        case "Fn::GetAtt": {
          const [res, attr] = typeof a === "string" ? [a.slice(0, a.indexOf(".")), a.slice(a.indexOf(".") + 1)] : a;
          if (!(res in resources)) return problem(at, `GetAtt of '${res}': no such resource`);
          if (typeof attr === "string" && !attributeOk(res, attr))
            problem(at, `${resources[res].Type} has no attribute '${attr}'`);
          return;
        }
        case "Fn::Sub": {
          const [s, vars] = Array.isArray(a) ? a : [a, {}];
          if (typeof s !== "string") return problem(at, "Sub takes a string");
          for (const ref of subRefs(s)) {
            if (ref in (vars || {}) || ref in params || ref in resources || pseudo.has(ref)) continue;
            const dot = ref.indexOf(".");
            if (dot > 0 && ref.slice(0, dot) in resources) {
              if (!attributeOk(ref.slice(0, dot), ref.slice(dot + 1)))
                problem(at, `\${${ref}}: ${resources[ref.slice(0, dot)].Type} has no attribute '${ref.slice(dot + 1)}'`);
            } else {
              problem(at, `\${${ref}} names no parameter, resource or variable`);
            }
          }
          return checkRefs(vars, `${at}.Sub`, inConditions);
        }
        case "Fn::If":
          if (!Array.isArray(a) || a.length !== 3) return problem(at, "If takes [condition, then, else]");
          if (!(a[0] in conditions)) problem(at, `If: no condition '${a[0]}'`);
          return checkRefs(a.slice(1), at, inConditions);
        case "Condition":
          if (!(a in conditions)) problem(at, `no condition '${a}'`);
          return;
        case "Fn::Equals":
          if (!Array.isArray(a) || a.length !== 2) problem(at, "Equals takes two values");
          return checkRefs(a, at, inConditions);
        case "Fn::And":
        case "Fn::Or":
          if (!Array.isArray(a) || a.length < 2 || a.length > 10) problem(at, `${fn} takes 2 to 10 conditions`);
          return checkRefs(a, at, true);
        case "Fn::Not":
          if (!Array.isArray(a) || a.length !== 1) problem(at, "Not takes one condition");
          return checkRefs(a, at, true);
        case "Fn::Join":
          if (!Array.isArray(a) || a.length !== 2 || typeof a[0] !== "string") problem(at, "Join takes [delimiter, list]");
          return checkRefs(a, at, inConditions);
        case "Fn::FindInMap":
          if (!Array.isArray(a) || a.length < 3) return problem(at, "FindInMap takes [map, key, key]");
          if (typeof a[0] === "string" && !(a[0] in mappings)) problem(at, `no mapping '${a[0]}'`);
          return checkRefs(a, at, inConditions);
        default:
          return checkRefs(a, at, inConditions);
      }
    }
    for (const k of keys) checkRefs(v[k], `${at}.${k}`, inConditions);
  }

  for (const [name, c] of Object.entries(conditions)) {
    const fn = c && typeof c === "object" && Object.keys(c).length === 1 ? Object.keys(c)[0] : "";
    if (!["Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not", "Condition"].includes(fn))
      problem(`Conditions.${name}`, "not a condition function (Equals, And, Or, Not, Condition)");
    checkRefs(c, `Conditions.${name}`, true);
  }
  for (const [id, r] of Object.entries(resources)) {
    checkRefs(r.Properties, `Resources.${id}.Properties`);
    checkRefs(r.Metadata, `Resources.${id}.Metadata`);
  }
  checkRefs(tpl.Globals, "Globals");
  for (const [name, o] of Object.entries(outputs)) checkRefs(o, `Outputs.${name}`);

  // ---- properties against the specification ----
  // checkValue(value, type, at, resType): value fits the spec type.
  function checkValue(v, t, at, resType) {
    if (v === undefined || v === null) return problem(at, "no value");
    if (isIntrinsic(v)) {
      const fn = Object.keys(v)[0];
      if (fn === "Fn::If" && Array.isArray(v[fn])) {
        for (const b of v[fn].slice(1))
          if (!(isIntrinsic(b) && b.Ref === "AWS::NoValue")) checkValue(b, t, at, resType);
      }
      return; // computed at deploy time
    }
    switch (t.type) {
      case "string":
      case "date-time":
        if (typeof v === "object") problem(at, `expected a string, got ${Array.isArray(v) ? "a list" : "an object"}`);
        return;
      case "integer":
      case "number":
        if (typeof v === "number" || (typeof v === "string" && v.trim() !== "" && !isNaN(Number(v)))) return;
        return problem(at, `expected a number, got ${JSON.stringify(v)}`);
      case "boolean":
        if (typeof v === "boolean" || v === "true" || v === "false") return;
        return problem(at, `expected true or false, got ${JSON.stringify(v)}`);
      case "json":
        if (typeof v !== "object" && typeof v !== "string") problem(at, "expected an object");
        return;
      case "tag":
        if (typeof v !== "object") problem(at, "expected a tag {Key, Value}");
        return;
      case "array":
        if (!Array.isArray(v)) return problem(at, "expected a list");
        return v.forEach((x, i) => checkValue(x, t.element, `${at}[${i}]`, resType));
      case "map":
        if (typeof v !== "object" || Array.isArray(v)) return problem(at, "expected a map");
        return Object.entries(v).forEach(([k, x]) => checkValue(x, t.element, `${at}.${k}`, resType));
      case "ref": {
        const def = typeDefs.get(t.reference.$ref);
        if (typeof v !== "object" || Array.isArray(v)) return problem(at, `expected a ${def.name} object`);
        return checkProps(v, def.properties, at, resType);
      }
      case "union": {
        // Fits when one alternative raises no problem.
        const saved = problems.length;
        for (const alt of t.types) {
          const before = problems.length;
          checkValue(v, alt, at, resType);
          if (problems.length === before) {
            problems.length = saved;
            return;
          }
          problems.length = before;
        }
        problems.length = saved;
        return problem(at, `fits none of the types it may have`);
      }
      default:
        return;
    }
  }

  function checkProps(obj, defs, at, resType, { skipRequired = false } = {}) {
    if (isIntrinsic(obj)) return checkValue(obj, { type: "json" }, at, resType);
    for (const [k, v] of Object.entries(obj)) {
      if (!(k in defs)) {
        problem(`${at}.${k}`, `not a property of ${resType}${at.includes(".Properties.") ? " (at this level)" : ""}`);
        continue;
      }
      checkValue(v, defs[k].type, `${at}.${k}`, resType);
    }
    if (!skipRequired)
      for (const [k, d] of Object.entries(defs))
        if (d.required && !(k in obj)) problem(at, `${resType}: required property ${k} is missing`);
  }

  // SAM's event sources, by Type.  ScheduleV2 is newer than the package's SAM specification:
  // its properties are those the SAM documentation lists (sam-property-function-schedulev2).
  const samEvents = {
    S3: "S3Event", SNS: "SNSEvent", SQS: "SQSEvent", Kinesis: "KinesisEvent", DynamoDB: "DynamoDBEvent",
    Api: "ApiEvent", Schedule: "ScheduleEvent", CloudWatchEvent: "CloudWatchEventEvent",
    CloudWatchLogs: "CloudWatchLogsEvent", IoTRule: "IoTRuleEvent", AlexaSkill: "AlexaSkillEvent",
    EventBridgeRule: "EventBridgeRuleEvent", HttpApi: "HttpApiEvent", Cognito: "CognitoEvent",
  };
  const schedulerType = (name) => ({ type: "ref", reference: { $ref: typeDefByName("AWS::Scheduler::Schedule", name).$id } });
  const str = { type: "string" };
  const scheduleV2 = {
    ScheduleExpression: { type: str, required: true }, ScheduleExpressionTimezone: { type: str },
    Input: { type: str }, Description: { type: str }, Name: { type: str }, GroupName: { type: str },
    State: { type: str }, StartDate: { type: str }, EndDate: { type: str }, RoleArn: { type: str },
    KmsKeyArn: { type: str }, PermissionsBoundary: { type: str }, OmitName: { type: { type: "boolean" } },
    FlexibleTimeWindow: { type: schedulerType("FlexibleTimeWindow") },
    RetryPolicy: { type: schedulerType("RetryPolicy") },
    DeadLetterConfig: { type: { type: "json" } },
  };

  function checkSchedule(expr, at) {
    if (typeof expr !== "string") return;
    let m;
    if ((m = expr.match(/^cron\((.*)\)$/))) {
      const f = m[1].trim().split(/\s+/);
      if (f.length !== 6) return problem(at, `cron takes 6 fields (min hour day-of-month month day-of-week year), got ${f.length}`);
      if ((f[2] === "?") === (f[4] === "?")) problem(at, "cron: exactly one of day-of-month and day-of-week must be '?'");
      const ranges = [[0, 59], [0, 23]];
      for (let i = 0; i < 2; i++)
        for (const n of f[i].split(/[,\-/]/))
          if (n !== "*" && !(Number(n) >= ranges[i][0] && Number(n) <= ranges[i][1]))
            problem(at, `cron: '${f[i]}' is not a ${i ? "hour" : "minute"}`);
      if (f[4] !== "?" && !/^([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT|L|#|,|-|\*|\/)+$/i.test(f[4].replace(/[0-9]/g, "1")))
        problem(at, `cron: '${f[4]}' is not a day of the week`);
    } else if ((m = expr.match(/^rate\((\d+) (\w+)\)$/))) {
      const unit = Number(m[1]) === 1 ? ["minute", "hour", "day"] : ["minutes", "hours", "days"];
      if (!unit.includes(m[2])) problem(at, `rate: '${m[2]}' with ${m[1]} (singular for 1, plural otherwise)`);
    } else if (!/^at\(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\)$/.test(expr)) {
      problem(at, `'${expr}' is not cron(...), rate(...) or at(...)`);
    }
  }

  const samGlobals = {
    Function: "AWS::Serverless::Function", Api: "AWS::Serverless::Api", HttpApi: "AWS::Serverless::HttpApi",
    SimpleTable: "AWS::Serverless::SimpleTable", StateMachine: "AWS::Serverless::StateMachine",
    LayerVersion: "AWS::Serverless::LayerVersion",
  };
  const notGlobal = { Function: ["Role", "Policies", "FunctionName", "Events"] };
  const globals = tpl.Globals || {};
  for (const [section, props] of Object.entries(globals)) {
    const type = samGlobals[section];
    if (!type) {
      problem(`Globals.${section}`, "not a Globals section");
      continue;
    }
    for (const k of notGlobal[section] || [])
      if (k in props) problem(`Globals.${section}.${k}`, "cannot be global");
    checkProps(props, resourceSpec.get(type).properties, `Globals.${section}`, type, { skipRequired: true });
  }

  const literal = (v) => (isIntrinsic(v) ? undefined : v);
  const branches = (v) =>
    isIntrinsic(v) && "Fn::If" in v ? v["Fn::If"].slice(1).flatMap(branches) : [v];

  for (const [id, r] of Object.entries(resources)) {
    const at = `Resources.${id}`;
    const type = r.Type;
    if (typeof type !== "string") {
      problem(at, "no Type");
      continue;
    }
    if (type.startsWith("Custom::") || type === "AWS::CloudFormation::CustomResource") continue;
    const spec = resourceSpec.get(type);
    if (!spec) {
      problem(`${at}.Type`, `'${type}' is not a resource type`);
      continue;
    }
    const own = r.Properties || {};
    // A SAM resource gets the Globals of its kind before the transform.
    const section = Object.keys(samGlobals).find((s) => samGlobals[s] === type);
    const props = { ...((section && globals[section]) || {}), ...own };
    if (type === "AWS::Serverless::Function") {
      const { Events, ...rest } = own;
      checkProps({ ...((globals.Function) || {}), ...rest }, spec.properties, `${at}.Properties`, type, { skipRequired: true });
      if (!props.CodeUri && !props.InlineCode && !props.ImageUri) problem(`${at}.Properties`, "no CodeUri, InlineCode or ImageUri");
      if (props.PackageType !== "Image") {
        if (!props.Runtime) problem(`${at}.Properties`, "no Runtime");
        if (!props.Handler) problem(`${at}.Properties`, "no Handler");
      }
      for (const m of branches(props.MemorySize).map(literal))
        if (m !== undefined && !(Number(m) >= 128 && Number(m) <= 10240)) problem(`${at}.Properties.MemorySize`, `${m} is not within 128-10240 MB`);
      for (const t of branches(props.Timeout).map(literal))
        if (t !== undefined && !(Number(t) >= 1 && Number(t) <= 900)) problem(`${at}.Properties.Timeout`, `${t} is not within 1-900 s`);
      for (const a of [].concat(literal(props.Architectures) || []))
        if (!["x86_64", "arm64"].includes(a)) problem(`${at}.Properties.Architectures`, `'${a}' is not x86_64 or arm64`);
      for (const [name, ev] of Object.entries(Events || {})) {
        const eat = `${at}.Properties.Events.${name}`;
        const defs = ev.Type === "ScheduleV2" ? scheduleV2 : samEvents[ev.Type] && typeDefByName(type, samEvents[ev.Type])?.properties;
        if (!defs) {
          problem(`${eat}.Type`, `'${ev.Type}' is not a SAM event source type`);
          continue;
        }
        for (const k of Object.keys(ev)) if (!["Type", "Properties"].includes(k)) problem(`${eat}.${k}`, "not an event source property");
        checkProps(ev.Properties || {}, defs, `${eat}.Properties`, `${type} ${ev.Type} event`);
        const p = ev.Properties || {};
        if (ev.Type === "ScheduleV2") {
          checkSchedule(p.ScheduleExpression, `${eat}.Properties.ScheduleExpression`);
          const tz = p.ScheduleExpressionTimezone;
          if (typeof tz === "string" && !/^(UTC|[A-Z][A-Za-z_]+(\/[A-Z][A-Za-z_+-]+)+)$/.test(tz))
            problem(`${eat}.Properties.ScheduleExpressionTimezone`, `'${tz}' is not a time zone name (Area/City)`);
          if (p.State !== undefined && !["ENABLED", "DISABLED"].includes(p.State))
            problem(`${eat}.Properties.State`, "ENABLED or DISABLED");
          if (typeof p.Input === "string") {
            try {
              JSON.parse(p.Input.replace(/<aws\.scheduler\.[a-z-]+>/g, "x"));
            } catch {
              problem(`${eat}.Properties.Input`, "not JSON");
            }
          }
        }
        if (ev.Type === "Schedule") checkSchedule(p.Schedule, `${eat}.Properties.Schedule`);
        if (ev.Type === "Api") {
          if (typeof p.Path === "string" && !p.Path.startsWith("/")) problem(`${eat}.Properties.Path`, "must start with /");
          if (typeof p.Method === "string" && !/^(get|post|put|patch|delete|head|options|any)$/i.test(p.Method))
            problem(`${eat}.Properties.Method`, `'${p.Method}' is not an HTTP method`);
          const api = p.RestApiId && p.RestApiId.Ref;
          if (p.RestApiId && !(api && resources[api] && resources[api].Type === "AWS::Serverless::Api"))
            problem(`${eat}.Properties.RestApiId`, "must be a Ref to an AWS::Serverless::Api");
        }
      }
      // sam build runs `make build-<LogicalId>` in CodeUri.
      if (r.Metadata && r.Metadata.BuildMethod === "makefile" && typeof props.CodeUri === "string") {
        const mk = path.join(path.dirname(file), props.CodeUri, "Makefile");
        let text = "";
        try {
          text = fs.readFileSync(mk, "utf8");
        } catch {
          problem(`${at}.Metadata.BuildMethod`, `makefile, but there is no ${mk}`);
        }
        if (text && !new RegExp(`^([^\\s:#=]+\\s+)*build-${id}(\\s+[^\\s:#=]+)*\\s*:`, "m").test(text))
          problem(`${at}.Metadata.BuildMethod`, `makefile, but ${mk} has no target build-${id}`);
      }
      continue;
    }
    checkProps(section ? props : own, spec.properties, `${at}.Properties`, type, { skipRequired: !!section });

    // Values CloudFormation refuses at deploy time that the specification does not encode.
    const P = own;
    if (type === "AWS::CloudWatch::Alarm") {
      const ops = ["GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold",
        "LessThanOrEqualToThreshold", "LessThanLowerOrGreaterThanUpperThreshold",
        "LessThanLowerThreshold", "GreaterThanUpperThreshold"];
      if (!ops.includes(P.ComparisonOperator)) problem(`${at}.Properties.ComparisonOperator`, `'${P.ComparisonOperator}' is not an operator`);
      if (P.Statistic !== undefined && !["SampleCount", "Average", "Sum", "Minimum", "Maximum"].includes(P.Statistic))
        problem(`${at}.Properties.Statistic`, `'${P.Statistic}' is not a statistic`);
      if (P.TreatMissingData !== undefined && !["breaching", "notBreaching", "ignore", "missing"].includes(P.TreatMissingData))
        problem(`${at}.Properties.TreatMissingData`, `'${P.TreatMissingData}' is not breaching, notBreaching, ignore or missing`);
      const period = Number(P.Period), n = Number(P.EvaluationPeriods);
      if (P.Period !== undefined && !([10, 20, 30].includes(period) || (period >= 60 && period % 60 === 0)))
        problem(`${at}.Properties.Period`, `${P.Period} is not 10, 20, 30 or a multiple of 60`);
      if (period * n > (period < 3600 ? 86400 : 604800))
        problem(`${at}.Properties.EvaluationPeriods`, `Period x EvaluationPeriods = ${period * n} s is over the limit (1 day, or 7 days for periods of an hour or more)`);
      if (P.DatapointsToAlarm !== undefined && Number(P.DatapointsToAlarm) > n)
        problem(`${at}.Properties.DatapointsToAlarm`, "more than EvaluationPeriods");
      if (P.MetricName === undefined && P.Metrics === undefined) problem(`${at}.Properties`, "no MetricName or Metrics");
    }
    if (type === "AWS::Logs::LogGroup") {
      const days = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
      for (const d of branches(P.RetentionInDays).map(literal))
        if (d !== undefined && !days.includes(Number(d))) problem(`${at}.Properties.RetentionInDays`, `${d} is not one of ${days.join(", ")}`);
    }
    if (type === "AWS::S3::Bucket") {
      const st = P.VersioningConfiguration && P.VersioningConfiguration.Status;
      if (st !== undefined && !["Enabled", "Suspended"].includes(st)) problem(`${at}.Properties.VersioningConfiguration.Status`, "Enabled or Suspended");
      for (const [i, rule] of ((P.LifecycleConfiguration || {}).Rules || []).entries())
        if (!["Enabled", "Disabled"].includes(rule.Status)) problem(`${at}.Properties.LifecycleConfiguration.Rules[${i}].Status`, "Enabled or Disabled");
    }
    const docs = [];
    if (type === "AWS::IAM::Role") {
      docs.push([P.AssumeRolePolicyDocument, `${at}.Properties.AssumeRolePolicyDocument`]);
      for (const [i, p] of (P.Policies || []).entries()) docs.push([p.PolicyDocument, `${at}.Properties.Policies[${i}].PolicyDocument`]);
    }
    if (type === "AWS::S3::BucketPolicy") docs.push([P.PolicyDocument, `${at}.Properties.PolicyDocument`]);
    for (const [doc, dat] of docs) {
      if (!doc || isIntrinsic(doc)) continue;
      if (doc.Version !== "2012-10-17") problem(`${dat}.Version`, "should be '2012-10-17'");
      for (const [i, s] of [].concat(doc.Statement || []).entries()) {
        if (!["Allow", "Deny"].includes(s.Effect)) problem(`${dat}.Statement[${i}].Effect`, "Allow or Deny");
        for (const a of [].concat(s.Action || s.NotAction || []))
          if (typeof a === "string" && !(a === "*" || /^[a-z0-9-]+:[A-Za-z0-9*?]+$/.test(a)))
            problem(`${dat}.Statement[${i}].Action`, `'${a}' is not service:Action`);
        if (!s.Action && !s.NotAction) problem(`${dat}.Statement[${i}]`, "no Action");
        if (type === "AWS::IAM::Role" && dat.endsWith("AssumeRolePolicyDocument") ? !s.Principal : false)
          problem(`${dat}.Statement[${i}]`, "a trust policy needs a Principal");
        if (!dat.endsWith("AssumeRolePolicyDocument") && type === "AWS::IAM::Role" && !s.Resource && !s.NotResource)
          problem(`${dat}.Statement[${i}]`, "no Resource");
      }
    }
  }

  // ---- conditions: in every combination of parameter values, what exists refers only to
  // what exists ----
  const condParams = new Map(); // parameter -> literals compared with it
  (function collect(v) {
    if (Array.isArray(v)) return v.forEach(collect);
    if (!v || typeof v !== "object") return;
    if ("Fn::Equals" in v && Array.isArray(v["Fn::Equals"])) {
      const [a, b] = v["Fn::Equals"];
      for (const [x, y] of [[a, b], [b, a]])
        if (x && x.Ref && x.Ref in params) {
          if (!condParams.has(x.Ref)) condParams.set(x.Ref, new Set());
          if (!isIntrinsic(y)) condParams.get(x.Ref).add(String(y));
        }
    }
    Object.values(v).forEach(collect);
  })(conditions);
  const domains = [...condParams].map(([name, lits]) => {
    const p = params[name];
    const vals = p.AllowedValues ? p.AllowedValues.map(String)
      : [...new Set([...(p.Default !== undefined ? [String(p.Default)] : []), ...lits, "<any other value>"])];
    return [name, vals];
  });
  const scenarios = domains.reduce((acc, [name, vals]) => acc.flatMap((s) => vals.map((v) => ({ ...s, [name]: v }))), [{}]);

  function evalCond(c, sc, memo) {
    const fn = Object.keys(c)[0];
    const a = c[fn];
    const val = (x) => (x && x.Ref !== undefined ? sc[x.Ref] ?? `<${x.Ref}>` : String(x));
    switch (fn) {
      case "Fn::Equals": return val(a[0]) === val(a[1]);
      case "Fn::And": return a.every((x) => evalCond(x, sc, memo));
      case "Fn::Or": return a.some((x) => evalCond(x, sc, memo));
      case "Fn::Not": return !evalCond(a[0], sc, memo);
      case "Condition": return condValue(a, sc, memo);
      default: return false;
    }
  }
  function condValue(name, sc, memo) {
    if (!(name in memo)) memo[name] = conditions[name] ? evalCond(conditions[name], sc, memo) : false;
    return memo[name];
  }
  const missing = new Set();
  for (const sc of scenarios) {
    const memo = {};
    const exists = (id) => !resources[id].Condition || condValue(resources[id].Condition, sc, memo);
    const label = Object.entries(sc).map(([k, v]) => `${k}=${v}`).join(", ");
    const refersTo = (v, from) => {
      if (Array.isArray(v)) return v.forEach((x) => refersTo(x, from));
      if (!v || typeof v !== "object") return;
      if (isIntrinsic(v)) {
        const fn = Object.keys(v)[0];
        const a = v[fn];
        const need = (id) => {
          if (id in resources && !exists(id)) missing.add(`${from}: refers to ${id}, which does not exist when ${label}`);
        };
        if (fn === "Fn::If" && Array.isArray(a)) return refersTo(condValue(a[0], sc, memo) ? a[1] : a[2], from);
        if (fn === "Ref") return need(a);
        if (fn === "Fn::GetAtt") return need(typeof a === "string" ? a.split(".")[0] : a[0]);
        if (fn === "Fn::Sub") {
          const [s, vars] = Array.isArray(a) ? a : [a, {}];
          if (typeof s === "string") subRefs(s).forEach((ref) => need(ref.split(".")[0]));
          return refersTo(vars, from);
        }
      }
      Object.values(v).forEach((x) => refersTo(x, from));
    };
    for (const [id, r] of Object.entries(resources)) {
      if (!exists(id)) continue;
      refersTo(r.Properties, `Resources.${id}`);
      for (const dep of [].concat(r.DependsOn || [])) if (dep in resources && !exists(dep))
        missing.add(`Resources.${id}: DependsOn ${dep}, which does not exist when ${label}`);
      if (r.Type === "AWS::Serverless::Function" || r.Type === "AWS::Serverless::Api") {
        const section = r.Type === "AWS::Serverless::Function" ? "Function" : "Api";
        refersTo(globals[section], `Globals.${section} (for ${id})`);
      }
    }
    for (const [name, o] of Object.entries(outputs))
      if (!o.Condition || condValue(o.Condition, sc, memo)) refersTo(o, `Outputs.${name}`);
  }
  missing.forEach((m) => problems.push(m));

  if (problems.length) return problems.map((p) => `${file}: ${p}`);
  const types = Object.values(resources).map((r) => r.Type);
  console.log(
    `${file}: valid: ${types.length} resources of ${new Set(types).size} types, ` +
      `${Object.keys(params).length} parameters, ${Object.keys(conditions).length} conditions, ` +
      `${Object.keys(outputs).length} outputs, references checked in ${scenarios.length} parameter combinations`,
  );
  return [];
}

let bad = 0;
for (const file of files) {
  const problems = validate(file);
  if (problems.length) {
    bad++;
    for (const p of problems) console.log(p);
    console.log(`${file}: ${problems.length} problem${problems.length === 1 ? "" : "s"}`);
  }
}
process.exit(bad ? 1 : 0);
