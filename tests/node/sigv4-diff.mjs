// sigv4-diff.mjs - differential test of the project's SigV4 signer (through the
// build/sigv4-sign driver) against @smithy/signature-v4, the signer inside the official AWS
// SDK for JavaScript v3.
//
//   node tests/node/sigv4-diff.mjs --driver build/sigv4-sign [--count 400] [--seed N]
//
// Generates seeded random requests (paths with unicode, spaces and reserved characters,
// query parameters, headers, bodies; S3 and other services; with and without session
// tokens; header signing and presigning), signs each with both, and compares the
// signatures, the Authorization header or the presigned query.  Prints one TAP-like line per
// kind of request ("ok - ..." / "not ok - ...") and details of the first mismatches, with
// no credentials in them.  The seed comes from --seed, $TEST_SEED or the clock, and is
// printed so that a failure can be replayed.
//
// Where the two signers differ by design, the requests are shaped so that both mean the same
// thing: smithy drops a "date" header and some others (user-agent, ...) from signing, so none
// is generated; smithy hoists x-amz-* headers into the query when presigning, so all headers
// are marked unhoistable; smithy takes S3's UNSIGNED-PAYLOAD for presigning from an unsigned
// x-amz-content-sha256 header; and smithy cannot send a header twice, so names are unique.

import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { SignatureV4 } = require('@smithy/signature-v4');
const { Sha256 } = require('@aws-crypto/sha256-js');
const { escapeUri } = require('@smithy/util-uri-escape');

// ---- arguments ----

const args = process.argv.slice(2);
function arg(name, dflt) {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
}
const driver = arg('--driver', 'build/sigv4-sign');
const count = Number(arg('--count', '400'));
const seedArg = arg('--seed', process.env.TEST_SEED || '');
const seed = seedArg !== '' ? Number(seedArg) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;

// ---- seeded randomness (mulberry32) ----

let state = seed || 1;
function rand() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
const pick = (a) => a[int(0, a.length - 1)];
const chance = (p) => rand() < p;
function chars(alphabet, lo, hi) {
  let s = '';
  for (let n = int(lo, hi); n > 0; n--) s += pick(alphabet);
  return s;
}

const ALNUM = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'];
const B64 = [...ALNUM, '/', '+'];
const UNRESERVED = [...ALNUM, '-', '.', '_', '~'];
const RESERVED = [...' !$&\'()*+,:;=@[]#?^`{}|"<>\\'];
const UNICODE = ['é', 'ß', 'ሴ', '日本', 'データ', 'ключ', '€', '😀', 'ñ', 'Ω'];
const WORDS = ['bars', '2024', 'AAPL', 'part-3f9a', 'reports', 'top', 'a', 'x.csv', 'notes'];

function piece() {
  const r = rand();
  if (r < 0.3) return pick(WORDS);
  if (r < 0.45) return chars(UNRESERVED, 1, 8);
  if (r < 0.65) return pick(UNICODE);
  if (r < 0.9) return chars(RESERVED, 1, 3);
  if (r < 0.95) return pick(['%', '%41', '%2F', '100%']); // a literal '%' in a name
  return ' ';
}
function text(lo, hi) {
  let s = '';
  for (let n = int(lo, hi); n > 0; n--) s += piece();
  return s;
}

// ---- one random request ----

const SERVICES = ['ssm', 'monitoring', 'sts', 'execute-api', 'service', 'logs'];
const REGIONS = ['us-east-1', 'eu-west-3', 'ap-southeast-2', 'us-gov-west-1', 'cn-north-1'];
const HEADER_NAMES = [
  'Content-Type', 'If-None-Match', 'If-Match', 'Range', 'X-Amz-Meta-Symbol', 'x-amz-meta-note',
  'X-Amz-Target', 'X-Amz-Storage-Class', 'Content-MD5', 'X-Custom-Thing', 'Accept', 'ETag-Hint',
];

// A header value: runs of spaces and tabs, leading and trailing blanks, sometimes a folded line.
function headerValue() {
  let v = '';
  for (let n = int(0, 4); n > 0; n--) {
    v += pick([...'   \t', 'x', 'bytes=0-9', '"etag"', '*', 'text/csv', 'a  b', 'é', '1'.repeat(3)]);
  }
  if (chance(0.05)) v += '\n   folded';
  return v;
}

// Percent-encode one query component, leaving some characters raw the way a hand-written
// query might (they mean the same thing once decoded), with lower-case hex now and then.
function wireComponent(s) {
  const mode = rand();
  if (mode < 0.5) return escapeUri(s);
  let out = '';
  for (const ch of s) {
    if ('&=%#'.includes(ch) || (mode < 0.8 && !/[A-Za-z0-9\-._~ +/:@,]/.test(ch))) {
      const e = escapeUri(ch);
      out += mode < 0.65 ? e.toLowerCase().replace(/%([0-9a-f]{2})/g, '%$1') : e;
    } else {
      out += ch;
    }
  }
  return out;
}

function randomRequest(id) {
  const s3 = chance(0.5);
  const service = s3 ? 's3' : pick(SERVICES);
  const region = pick(REGIONS);
  const presign = chance(0.4);
  const method = pick(['GET', 'PUT', 'POST', 'DELETE', 'HEAD']);
  const host = s3
    ? chance(0.5) ? `screener-data.s3.${region}.amazonaws.com` : `s3.${region}.amazonaws.com`
    : `${service}.${region}.amazonaws.com`;
  const time = int(946684800, 4102444799); // 2000 .. 2099

  // Path: segments of words, unicode, reserved characters, spaces; sometimes empty ("//"),
  // "." or ".."; sometimes a trailing '/'.
  const segs = [];
  for (let n = int(0, 5); n > 0; n--) {
    const r = rand();
    segs.push(r < 0.08 ? '' : r < 0.14 ? '.' : r < 0.2 ? '..' : text(1, 3));
  }
  const rawPath = '/' + segs.join('/') + (chance(0.2) ? '/' : '');
  const wirePath = rawPath.split('/').map(escapeUri).join('/');
  // The C signer takes the wire path, or for S3 a raw path without '%' (it encodes what
  // needs encoding once); smithy without path escaping (S3) takes the wire path.
  const cPath = s3 && !rawPath.includes('%') && chance(0.5) ? rawPath : wirePath;

  // Query: names and values with everything in them, empty values, names without '=',
  // repeated names.
  const params = [];
  for (let n = int(0, 5); n > 0; n--) {
    const key = params.length && chance(0.15) ? params[params.length - 1][0] : text(1, 2);
    const value = chance(0.2) ? (chance(0.5) ? null : '') : text(0, 3);
    params.push([key, value]);
  }
  const cQuery = params
    .map(([k, v]) => wireComponent(k) + (v === null ? '' : '=' + wireComponent(v)))
    .join('&');
  const query = {};
  for (const [k, v] of params) {
    const value = v === null ? '' : v;
    if (!(k in query)) query[k] = value;
    else query[k] = [].concat(query[k], value);
  }

  const headers = [];
  const seen = new Set(['host']);
  for (let n = int(0, 4); n > 0; n--) {
    const name = pick(HEADER_NAMES);
    if (seen.has(name.toLowerCase())) continue;
    seen.add(name.toLowerCase());
    headers.push([chance(0.3) ? name.toUpperCase() : name, headerValue()]);
  }
  const body = ['PUT', 'POST'].includes(method) && chance(0.8) ? text(0, 12) : undefined;

  const token = chance(0.5) ? chars(B64, 100, 1200) + pick(['', '=', '==']) : undefined;
  const creds = {
    accessKeyId: 'AKIA' + chars([...'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'], 16, 16),
    secretAccessKey: chars(B64, 40, 40),
    sessionToken: token,
  };

  // S3 header signing: the payload hash from the body, or UNSIGNED-PAYLOAD given either as
  // an option (C) / a header (smithy), or as a header to both.
  let payload = 'body';
  if (s3 && !presign) payload = pick(['body', 'body', 'unsigned-option', 'unsigned-header']);
  return {
    id, s3, service, region, presign, method, host, time, cPath, wirePath, cQuery, query,
    headers, body, creds, payload, expires: int(1, 604800),
  };
}

// ---- the two signers ----

function cRequest(t) {
  const headers = t.headers.slice();
  if (t.payload === 'unsigned-header') headers.push(['x-amz-content-sha256', 'UNSIGNED-PAYLOAD']);
  const r = {
    id: t.id, method: t.method, host: t.host, path: t.cPath, query: t.cQuery, headers,
    region: t.region, service: t.service, time: t.time, rules: t.s3 ? 's3' : 'default',
    credentials: {
      access_key_id: t.creds.accessKeyId,
      secret_access_key: t.creds.secretAccessKey,
    },
  };
  if (t.creds.sessionToken) r.credentials.session_token = t.creds.sessionToken;
  if (t.body !== undefined) r.body = t.body;
  if (t.payload === 'unsigned-option') r.payload_hash = 'UNSIGNED-PAYLOAD';
  if (t.presign) {
    r.presign = true;
    r.expires = t.expires;
  }
  return r;
}

// Remembers smithy's canonical request, for the report of a mismatch.
class CapturingSigner extends SignatureV4 {
  createCanonicalRequest(...a) {
    this.lastCanonical = super.createCanonicalRequest(...a);
    return this.lastCanonical;
  }
}

async function smithySign(t) {
  const signer = new CapturingSigner({
    service: t.service,
    region: t.region,
    credentials: t.creds,
    sha256: Sha256,
    uriEscapePath: !t.s3,
    applyChecksum: t.s3,
  });
  const headers = { host: t.host };
  for (const [k, v] of t.headers) headers[k] = v;
  const request = {
    method: t.method, protocol: 'https:', hostname: t.host, path: t.wirePath,
    query: t.query, headers, body: t.body,
  };
  const signingDate = new Date(t.time * 1000);
  if (t.presign) {
    const unsigned = new Set();
    if (t.s3) {
      headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      unsigned.add('x-amz-content-sha256');
    }
    const keep = new Set(Object.keys(headers).map((h) => h.toLowerCase()));
    const out = await signer.presign(request, {
      signingDate, expiresIn: t.expires, unhoistableHeaders: keep, unsignableHeaders: unsigned,
    });
    return { signer, query: out.query, signature: out.query['X-Amz-Signature'] };
  }
  if (t.payload === 'unsigned-option' || t.payload === 'unsigned-header') {
    headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
  }
  const out = await signer.sign(request, { signingDate });
  const auth = out.headers.authorization;
  return { signer, authorization: auth, signature: /Signature=([0-9a-f]{64})/.exec(auth)[1] };
}

// ---- comparing ----

function canonicalParams(pairs) {
  return pairs.map(([k, v]) => `${escapeUri(k)}=${escapeUri(v)}`).sort();
}
function paramsFromQueryString(q) {
  return q.split('&').filter(Boolean).map((p) => {
    const i = p.indexOf('=');
    const dec = (s) => decodeURIComponent(s);
    return i < 0 ? [dec(p), ''] : [dec(p.slice(0, i)), dec(p.slice(i + 1))];
  });
}
function paramsFromObject(o) {
  const out = [];
  for (const [k, v] of Object.entries(o)) for (const x of [].concat(v)) out.push([k, x]);
  return out;
}

function redact(s, t) {
  let out = String(s);
  for (const secret of [t.creds.secretAccessKey, t.creds.sessionToken]) {
    if (!secret) continue;
    out = out.split(secret).join('[redacted]').split(escapeUri(secret)).join('[redacted]');
  }
  return out;
}

function describe(t) {
  const shown = { ...t, creds: { accessKeyId: t.creds.accessKeyId, sessionToken: t.creds.sessionToken ? '[redacted]' : undefined } };
  return JSON.stringify(shown);
}

// ---- main ----

const tests = [];
for (let i = 1; i <= count; i++) tests.push(randomRequest(i));
const input = tests.map((t) => JSON.stringify(cRequest(t))).join('\n') + '\n';
const run = spawnSync(driver, [], { input, maxBuffer: 1 << 30, encoding: 'utf8' });
if (run.error || run.status !== 0) {
  console.log(`not ok - ${driver} ran: ${run.error ? run.error.message : 'exit ' + run.status}`);
  process.exit(1);
}
const results = run.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));

const kinds = new Map();
let shownFailures = 0;
for (let i = 0; i < tests.length; i++) {
  const t = tests[i];
  const c = results[i];
  const kind = `${t.presign ? 'presigned' : 'header-signed'} ${t.s3 ? 'S3' : 'non-S3'} requests`;
  const k = kinds.get(kind) || { n: 0, bad: 0, token: 0 };
  kinds.set(kind, k);
  k.n++;
  if (t.creds.sessionToken) k.token++;
  let problem = null;
  let js;
  try {
    js = await smithySign(t);
  } catch (e) {
    problem = `smithy failed: ${e.message || e}`;
  }
  if (!problem && (!c || c.id !== t.id || !c.ok)) {
    problem = `sigv4-sign failed: ${c ? c.error + ': ' + c.message : 'no result'}`;
  } else if (!problem && c.signature !== js.signature) {
    problem = 'signatures differ';
  } else if (!problem && t.presign) {
    const a = canonicalParams(paramsFromQueryString(c.query)).join('&');
    const b = canonicalParams(paramsFromObject(js.query)).join('&');
    if (a !== b) problem = `presigned queries differ:\n#   C:      ${a}\n#   smithy: ${b}`;
    else if (!/&X-Amz-Signature=[0-9a-f]{64}$/.test(c.query)) problem = 'X-Amz-Signature is not last';
  } else if (!problem && c.authorization !== `Authorization: ${js.authorization}`) {
    problem = `Authorization headers differ:\n#   C:      ${c.authorization}\n#   smithy: ${js.authorization}`;
  }
  if (problem) {
    k.bad++;
    if (shownFailures++ < 5) {
      console.log(`# request ${t.id} (${kind}): ${redact(problem, t)}`);
      console.log(`#   request: ${redact(describe(t), t)}`);
      if (c && c.canonical_request) {
        console.log(`#   C canonical request:\n${redact(c.canonical_request, t).replace(/^/gm, '#     ')}`);
      }
      if (js && js.signer.lastCanonical) {
        console.log(`#   smithy canonical request:\n${redact(js.signer.lastCanonical, t).replace(/^/gm, '#     ')}`);
      }
    }
  }
}

console.log(`# seed ${seed} (replay with --seed ${seed} or TEST_SEED=${seed}), ${tests.length} requests`);
let failed = 0;
for (const [kind, k] of [...kinds.entries()].sort()) {
  const what = `${kind}: ${k.n - k.bad}/${k.n} signed alike by sigv4-sign and @smithy/signature-v4 (${k.token} with a session token)`;
  console.log(`${k.bad ? 'not ok' : 'ok'} - ${what}`);
  if (k.bad) failed++;
}
process.exit(failed ? 1 : 0);
