// s3rver.mjs - run the npm S3 stand-in (s3rver) for the end-to-end tests.
//
//   node tests/node/s3rver.mjs [BUCKET...]
//
// Listens on 127.0.0.1 on a free port, keeps its objects in a fresh temporary directory
// (removed on exit), creates the buckets (default: test-bucket), then prints one line
// "listening on 127.0.0.1:PORT" and serves until SIGTERM or SIGINT.  s3rver accepts only the
// access key id S3RVER, verifies no signature and ignores conditional PUTs; on Node 20 it
// needs NODE_OPTIONS=--openssl-legacy-provider or truncated listings fail with a 500.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const S3rver = require('s3rver');

const buckets = process.argv.slice(2);
if (buckets.length === 0) buckets.push('test-bucket');
const directory = mkdtempSync(join(process.env.TMPDIR || tmpdir(), 's3rver-'));

const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory,
  vhostBuckets: false,
  configureBuckets: buckets.map((name) => ({ name })),
});

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  try {
    await server.close();
  } finally {
    rmSync(directory, { recursive: true, force: true });
    process.exit(0);
  }
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

try {
  const { port } = await server.run();
  process.stdout.write(`listening on 127.0.0.1:${port}\n`);
} catch (err) {
  rmSync(directory, { recursive: true, force: true });
  process.stderr.write(`s3rver: ${err.message}\n`);
  process.exit(1);
}
