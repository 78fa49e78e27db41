// s3-sdk.mjs - the official AWS SDK for JavaScript (v3) as a second S3 client for the
// end-to-end tests: what the project writes, the SDK must read, and the other way round.
//
//   node tests/node/s3-sdk.mjs get BUCKET KEY               object body to stdout
//   node tests/node/s3-sdk.mjs put BUCKET KEY FILE [COND]   COND: if-none-match, or
//                                                            if-match=ETAG; prints the ETag
//   node tests/node/s3-sdk.mjs list BUCKET PREFIX           every key, one a line (all pages)
//
// Endpoint, credentials and region come from the environment (AWS_ENDPOINT_URL_S3,
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION), path style.  An S3 error prints
// "error CODE HTTP-STATUS" on stderr and exits 3; a usage error exits 2.
import { readFileSync } from 'node:fs';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';

const [cmd, bucket, key, file, cond] = process.argv.slice(2);
const usage = () => {
  process.stderr.write('usage: s3-sdk.mjs get|put|list BUCKET KEY-OR-PREFIX [FILE [COND]]\n');
  process.exit(2);
};
if (!bucket || key === undefined) usage();

const client = new S3Client({
  endpoint: process.env.AWS_ENDPOINT_URL_S3,
  region: process.env.AWS_REGION || 'us-east-1',
  forcePathStyle: true,
  // Plain requests: no aws-chunked bodies or CRC headers, which the stand-ins do not know.
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});

async function run() {
  if (cmd === 'get') {
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    process.stdout.write(Buffer.from(await out.Body.transformToByteArray()));
  } else if (cmd === 'put') {
    if (!file) usage();
    const input = { Bucket: bucket, Key: key, Body: readFileSync(file) };
    if (cond === 'if-none-match') input.IfNoneMatch = '*';
    else if (cond && cond.startsWith('if-match=')) input.IfMatch = cond.slice(9);
    else if (cond) usage();
    const out = await client.send(new PutObjectCommand(input));
    process.stdout.write(`${out.ETag}\n`);
  } else if (cmd === 'list') {
    let token;
    do {
      const out = await client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: key, ContinuationToken: token }),
      );
      for (const o of out.Contents || []) process.stdout.write(`${o.Key}\n`);
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  } else {
    usage();
  }
}

try {
  await run();
} catch (err) {
  const status = err.$metadata ? err.$metadata.httpStatusCode : 0;
  process.stderr.write(`error ${err.Code || err.name} ${status}\n`);
  process.exit(3);
}
