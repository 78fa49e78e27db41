// ssm-check.mjs - the official AWS SDK (@aws-sdk/client-ssm) against the fake SSM
// (build/fake-ssm), so that the fake is proven to speak the real wire format and to accept
// the SDK's signatures (and refuse wrong ones the way the SDK understands).
//
//   node ssm-check.mjs ENDPOINT KEY_ID SECRET [--deny NAME] [--throttled N] NAME=VALUE[:TYPE]...
//
// The NAME=VALUE arguments are the parameters the fake was started with.  Prints one line
// per check, "pass: what" or "fail: what: why"; exits 1 when any failed.  Values are never
// printed.
import {
  SSMClient,
  GetParameterCommand,
  GetParametersCommand,
} from "@aws-sdk/client-ssm";

const args = process.argv.slice(2);
const [endpoint, accessKeyId, secretAccessKey] = args;
let denied = null;
let throttled = 0;
const params = [];
for (let i = 3; i < args.length; i++) {
  if (args[i] === "--deny") denied = args[++i];
  else if (args[i] === "--throttled") throttled = Number(args[++i]);
  else {
    const eq = args[i].indexOf("=");
    let value = args[i].slice(eq + 1);
    let type = "String";
    const m = value.match(/:(String|StringList|SecureString)$/);
    if (m) {
      type = m[1];
      value = value.slice(0, -m[0].length);
    }
    params.push({ name: args[i].slice(0, eq), value, type });
  }
}

let failures = 0;
function pass(what) {
  console.log(`pass: ${what}`);
}
function fail(what, why) {
  failures++;
  console.log(`fail: ${what}: ${why}`);
}
async function check(what, fn) {
  try {
    const why = await fn();
    if (why) fail(what, why);
    else pass(what);
  } catch (e) {
    fail(what, `${e.name}: ${e.message}`);
  }
}
async function expectError(what, name, fn) {
  try {
    await fn();
    fail(what, `succeeded, expected ${name}`);
  } catch (e) {
    if (e.name === name) pass(what);
    else fail(what, `${e.name} (${e.$metadata?.httpStatusCode}), expected ${name}`);
  }
}

function client(overrides = {}) {
  return new SSMClient({
    region: "us-east-1",
    endpoint,
    credentials: { accessKeyId, secretAccessKey },
    maxAttempts: 1,
    ...overrides,
  });
}

const ssm = client();

if (throttled > 0) {
  // The SDK must see the fake's ThrottlingException as retryable and get through.
  const retrying = client({ maxAttempts: throttled + 2 });
  await check(`GetParameter succeeds after ${throttled} throttled attempts`, async () => {
    const out = await retrying.send(
      new GetParameterCommand({ Name: params[0].name, WithDecryption: true }),
    );
    if (out.Parameter.Value !== params[0].value) return "wrong value";
    if (out.$metadata.attempts !== throttled + 1)
      return `${out.$metadata.attempts} attempts, expected ${throttled + 1}`;
  });
  process.exit(failures ? 1 : 0);
}

for (const p of params.filter((q) => q.name !== denied)) {
  await check(`GetParameter ${p.name} with decryption`, async () => {
    const out = await ssm.send(new GetParameterCommand({ Name: p.name, WithDecryption: true }));
    const got = out.Parameter;
    if (got.Name !== p.name) return `Name is ${got.Name}`;
    if (got.Value !== p.value) return "the value differs";
    if (got.Type !== p.type) return `Type is ${got.Type}, expected ${p.type}`;
    if (!Number.isInteger(got.Version) || got.Version < 1) return `Version ${got.Version}`;
    if (!(got.LastModifiedDate instanceof Date) || isNaN(got.LastModifiedDate))
      return "LastModifiedDate is not a date";
    if (!got.ARN?.startsWith("arn:aws:ssm:us-east-1:")) return `ARN ${got.ARN}`;
  });
}

const secure = params.find((p) => p.type === "SecureString");
if (secure)
  await check(`GetParameter ${secure.name} without decryption gives no plain text`, async () => {
    const out = await ssm.send(new GetParameterCommand({ Name: secure.name }));
    if (out.Parameter.Value === secure.value) return "the plain value came back";
  });

const names = params.map((p) => p.name).filter((n) => n !== denied);
await check("GetParameters returns found and invalid names", async () => {
  const out = await ssm.send(
    new GetParametersCommand({ Names: [...names, "/does/not/exist"], WithDecryption: true }),
  );
  if (out.Parameters.length !== names.length)
    return `${out.Parameters.length} parameters, expected ${names.length}`;
  for (const p of params.filter((q) => q.name !== denied)) {
    const got = out.Parameters.find((q) => q.Name === p.name);
    if (!got) return `${p.name} missing`;
    if (got.Value !== p.value) return `${p.name}: the value differs`;
  }
  if (JSON.stringify(out.InvalidParameters) !== '["/does/not/exist"]')
    return `InvalidParameters ${JSON.stringify(out.InvalidParameters)}`;
});

await expectError("GetParameter of a missing name is ParameterNotFound", "ParameterNotFound", () =>
  ssm.send(new GetParameterCommand({ Name: "/does/not/exist" })),
);
await expectError("GetParameters of 11 names is a ValidationException", "ValidationException", () =>
  ssm.send(new GetParametersCommand({ Names: Array.from({ length: 11 }, (_, i) => `/n${i}`) })),
);
if (denied)
  await expectError(`GetParameters naming ${denied} is AccessDenied`, "AccessDeniedException", () =>
    ssm.send(new GetParametersCommand({ Names: [denied, ...names], WithDecryption: true })),
  );
await expectError(
  "a wrong secret key is InvalidSignatureException",
  "InvalidSignatureException",
  () =>
    client({ credentials: { accessKeyId, secretAccessKey: secretAccessKey + "x" } }).send(
      new GetParameterCommand({ Name: params[0].name }),
    ),
);
await expectError(
  "an unknown key id is UnrecognizedClientException",
  "UnrecognizedClientException",
  () =>
    client({ credentials: { accessKeyId: "AKIDUNKNOWN", secretAccessKey } }).send(
      new GetParameterCommand({ Name: params[0].name }),
    ),
);
await expectError(
  "a request signed for another region is refused",
  "InvalidSignatureException",
  () => client({ region: "eu-west-1" }).send(new GetParameterCommand({ Name: params[0].name })),
);

process.exit(failures ? 1 : 0);
