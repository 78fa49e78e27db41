// report-browser.mjs - the HTML report in a real browser: headless Chromium driven by
// puppeteer-core, the page opened from a file with the network off.
//
//   node tests/node/report-browser.mjs CHROMIUM REPORT.html EXPECT.json OUTDIR
//
// EXPECT.json: {"drawdowns": [symbols in rank order], "drops": [symbols, worst first],
// "portfolio": n, "backtest": true|false, "history": true|false, "injected": "text"}.
// Prints one TAP line per check ("ok N - ..." / "not ok N - ..." with "#" details) and
// writes the screenshots and the printed PDF to OUTDIR.  Exits 1 when Chromium cannot be
// started at all.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';

const require = createRequire(import.meta.url);
const puppeteer = require('puppeteer-core');

const [chromium, reportPath, expectPath, outDir] = process.argv.slice(2);
const expect = JSON.parse(readFileSync(expectPath, 'utf8'));
const url = pathToFileURL(resolve(reportPath)).href;

let n = 0;
let failed = 0;
function check(desc, cond, ...details) {
  n++;
  if (cond) {
    console.log(`ok ${n} - ${desc}`);
  } else {
    failed++;
    console.log(`not ok ${n} - ${desc}`);
    for (const d of details) console.log(`#   ${String(d).split('\n').join('\n#   ')}`);
  }
}

// A PNG decoded with nothing but zlib: 8-bit RGB or RGBA, non-interlaced (what Chromium
// writes).  Returns {width, height, channels, pixels}.
function decodePng(buf) {
  const sig = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
  if (!buf.subarray(0, 8).equals(sig)) throw new Error('not a PNG');
  let pos = 8;
  let width, height, depth, colour, interlace;
  const idat = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      depth = data[8];
      colour = data[9];
      interlace = data[12];
    } else if (type === 'IDAT') {
      idat.push(data);
    } else if (type === 'IEND') {
      break;
    }
    pos += 12 + len;
  }
  if (depth !== 8 || (colour !== 2 && colour !== 6) || interlace !== 0)
    throw new Error(`unsupported PNG: depth ${depth}, colour type ${colour}, interlace ${interlace}`);
  const channels = colour === 6 ? 4 : 3;
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = pixels.subarray(y * stride, (y + 1) * stride);
    const prev = y ? pixels.subarray((y - 1) * stride, y * stride) : Buffer.alloc(stride);
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? out[x - channels] : 0;
      const b = prev[x];
      const c = x >= channels ? prev[x - channels] : 0;
      let v = line[x];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else if (filter !== 0) throw new Error(`bad PNG filter ${filter}`);
      out[x] = v & 255;
    }
  }
  return { width, height, channels, pixels };
}

// How much the image says: the variance of the luminance, the share of pixels that are not
// the background (the most common value), and how many distinct colours it uses.
function imageStats(png) {
  const { width, height, channels, pixels } = png;
  let sum = 0, sum2 = 0;
  const counts = new Map();
  for (let i = 0; i < width * height; i++) {
    const r = pixels[i * channels], g = pixels[i * channels + 1], b = pixels[i * channels + 2];
    const l = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    sum += l;
    sum2 += l * l;
    const k = (r << 16) | (g << 8) | b;
    counts.set(k, (counts.get(k) || 0) + 1);
  }
  const count = width * height;
  const mean = sum / count;
  let bg = 0;
  for (const v of counts.values()) bg = Math.max(bg, v);
  return { variance: sum2 / count - mean * mean, ink: 1 - bg / count, colours: counts.size };
}

const userDataDir = mkdtempSync(join(process.env.TMPDIR || tmpdir(), 'report-chromium-'));
let browser;
try {
  browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    userDataDir,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run',
      '--disable-dev-shm-usage',
    ],
  });
} catch (err) {
  console.log(`not ok 1 - Chromium starts`);
  console.log(`#   ${err.message.split('\n')[0]}`);
  rmSync(userDataDir, { recursive: true, force: true });
  process.exit(1);
}

try {
  const page = await browser.newPage();
  const requests = [];
  const problems = [];
  await page.setOfflineMode(true);
  await page.setRequestInterception(true);
  page.on('request', (req) => {
    requests.push(req.url());
    if (req.url() === url) req.continue();
    else req.abort('blockedbyclient');
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`console: ${msg.text()}`);
  });
  await page.evaluateOnNewDocument(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  await page.setViewport({ width: 1280, height: 900, deviceScaleFactor: 1 });
  const resp = await page.goto(url, { waitUntil: 'load' });
  check('the report opens from a file', resp === null || resp.ok() || resp.status() === 0);
  check('no request leaves the page (only the document itself is loaded)',
    requests.length === 1 && requests[0] === url, requests.join('\n'));
  const csp = await page.evaluate(() => window.__csp);
  check('no Content-Security-Policy violation (style and script hashes match)', csp.length === 0,
    csp.join('\n'));
  check('no script error or console warning', problems.length === 0, problems.join('\n'));

  const symbols = (id) => page.$$eval(`#${id} tbody tr`, (rows) =>
    rows.map((r) => r.cells[1].textContent));
  const column = (id, i) => page.$$eval(`#${id} tbody tr`, (rows, i) =>
    rows.map((r) => r.cells[i].getAttribute('data-v')), i);

  const dd = await symbols('drawdowns');
  check(`the drawdown table has the ${expect.drawdowns.length} expected rows in rank order`,
    JSON.stringify(dd) === JSON.stringify(expect.drawdowns),
    `got  ${dd.join(' ')}`, `want ${expect.drawdowns.join(' ')}`);
  const drops = await symbols('drops');
  check(`the drops table has the ${expect.drops.length} expected rows, worst first`,
    JSON.stringify(drops) === JSON.stringify(expect.drops),
    `got  ${drops.join(' ')}`, `want ${expect.drops.join(' ')}`);
  const sparks = await page.$$eval('#drawdowns tbody svg.spark path', (v) => v.length);
  check('a sparkline in every drawdown row', sparks === expect.drawdowns.length, `${sparks} sparklines`);
  const peaks = await page.$$eval('#drawdowns tbody svg.spark line', (v) => v.length);
  check('the peak marked in every sparkline', peaks === expect.drawdowns.length, `${peaks} peak lines`);

  // Sorting by a click on a header.
  const header = async (id, label) => {
    const handles = await page.$$(`#${id} thead th button`);
    for (const h of handles) {
      if ((await h.evaluate((b) => b.textContent)) === label) return h;
    }
    throw new Error(`no header '${label}' in #${id}`);
  };
  await (await header('drawdowns', 'Symbol')).click();
  const bySymbol = await symbols('drawdowns');
  const sorted = [...expect.drawdowns].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  check('a click on Symbol sorts the rows by symbol, ascending',
    JSON.stringify(bySymbol) === JSON.stringify(sorted), `got ${bySymbol.join(' ')}`);
  const aria = await page.$eval('#drawdowns thead th:nth-child(2)', (th) => th.getAttribute('aria-sort'));
  check('... and the header says so (aria-sort)', aria === 'ascending', `aria-sort ${aria}`);
  await (await header('drawdowns', 'Symbol')).click();
  const bySymbolDesc = await symbols('drawdowns');
  check('a second click sorts them descending',
    JSON.stringify(bySymbolDesc) === JSON.stringify([...sorted].reverse()), `got ${bySymbolDesc.join(' ')}`);
  await (await header('drawdowns', 'Change %')).click();
  const changes = (await column('drawdowns', 7)).map((v) => (v === '' ? NaN : Number(v)));
  const known = changes.filter((v) => !Number.isNaN(v));
  const ascending = known.every((v, i) => i === 0 || known[i - 1] <= v);
  const naLast = changes.findIndex((v) => Number.isNaN(v)) === -1 ||
    changes.slice(changes.findIndex((v) => Number.isNaN(v))).every((v) => Number.isNaN(v));
  check('a click on Change % sorts numerically (not as text), unknown values last',
    ascending && naLast && known.length > 0, changes.join(' '));
  await (await header('drawdowns', '#')).click();
  const back = await symbols('drawdowns');
  check('a click on # restores the rank order',
    JSON.stringify(back) === JSON.stringify(expect.drawdowns), back.join(' '));
  await (await header('drops', 'Drawdown %')).click();
  const dds = (await column('drops', 4)).map(Number);
  check('the drops table sorts too', dds.every((v, i) => i === 0 || dds[i - 1] <= v), dds.join(' '));

  // The other sections.
  const bins = await page.$$eval('#histogram rect', (v) => v.length);
  check('the histogram has its 20 bins', bins === 20, `${bins} bins`);
  const binTotal = await page.$$eval('#histogram rect title', (v) =>
    v.reduce((s, t) => s + Number(t.textContent.match(/: (\d+) stocks/)[1]), 0));
  check('the histogram counts every ranked stock', binTotal === expect.ranked,
    `${binTotal} counted, ${expect.ranked} ranked`);
  const hist = await page.$$eval('#history tbody tr', (v) => v.length);
  check('past candidates are listed', expect.history ? hist > 0 : hist === 0, `${hist} rows`);
  const pf = await page.$$eval('#portfolio tbody tr', (v) => v.length);
  check(`the portfolio section has its ${expect.portfolio} positions`, pf === expect.portfolio, `${pf} rows`);
  const lines = await page.$$eval('#equity-chart polyline', (v) => v.length);
  check('the backtest chart draws the equity and the benchmark',
    expect.backtest ? lines === 2 : lines === 0, `${lines} lines`);
  if (expect.provisional !== undefined) {
    const prov = await page.$$eval('#provisional', (v) => v.length);
    check(`the provisional mark is ${expect.provisional ? 'shown' : 'absent'}`,
      prov === (expect.provisional ? 1 : 0), `${prov}`);
  }
  if (expect.injected) {
    const text = await page.$eval('#last-run', (p) => p.textContent);
    const foreign = await page.$$eval('img, iframe, object, embed, script:not(:last-of-type)',
      (v) => v.length);
    const scripts = await page.$$eval('script', (v) => v.length);
    check('markup in a stored value shows as text and creates no element',
      text.includes(expect.injected) && foreign === 0 && scripts === 1,
      `text: ${text}`, `foreign elements ${foreign}, scripts ${scripts}`);
  }

  // Phone and desktop, on screen and on paper.
  for (const [name, vp] of [
    ['phone', { width: 390, height: 844, deviceScaleFactor: 1, isMobile: true, hasTouch: true }],
    ['desktop', { width: 1280, height: 900, deviceScaleFactor: 1 }],
  ]) {
    await page.setViewport(vp);
    const overflow = await page.evaluate(() =>
      document.documentElement.scrollWidth - document.documentElement.clientWidth);
    check(`${name}: the page does not scroll sideways (tables scroll in their box)`, overflow <= 0,
      `${overflow}px too wide`);
    const shot = await page.screenshot({ type: 'png' });
    writeFileSync(join(outDir, `report-${name}.png`), shot);
    const png = decodePng(shot);
    const st = imageStats(png);
    check(`${name}: the screenshot is ${vp.width}x${vp.height}`, png.width === vp.width &&
      png.height === vp.height, `${png.width}x${png.height}`);
    check(`${name}: the screenshot is not blank (ink ${(st.ink * 100).toFixed(1)}%, ` +
      `variance ${st.variance.toFixed(0)}, ${st.colours} colours)`,
    st.ink > 0.03 && st.variance > 100 && st.colours > 16);
  }
  await page.emulateMediaType('print');
  const navShown = await page.$eval('nav', (e) => getComputedStyle(e).display !== 'none');
  check('print: the navigation is left off paper', !navShown);
  const pdf = Buffer.from(await page.pdf({ format: 'A4', printBackground: false }));
  writeFileSync(join(outDir, 'report.pdf'), pdf);
  const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) || []).length;
  check(`print: the page prints (${pages} A4 pages, ${pdf.length} bytes)`,
    pdf.subarray(0, 5).toString() === '%PDF-' && pages >= 1);
  check('still no request after all of that (the viewport changes reload the document)',
    requests.every((r) => r === url), requests.join('\n'));
  const reused = await page.$$eval('#drops tbody svg.spark use', (v) => v.length);
  const drawn = await page.$$eval('#drops tbody svg.spark path', (v) => v.length);
  check('the drops table draws its own sparklines or reuses those drawn above',
    reused + drawn === expect.drops.length && reused > 0, `${reused} reused, ${drawn} drawn`);
} catch (err) {
  check('the browser checks ran to the end', false, err.stack);
} finally {
  await browser.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
