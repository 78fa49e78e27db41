// Full-history drawdown screen in DuckDB (@duckdb/node-api), on the screener's CSV store.
//
// usage: node peer_duckdb.mjs STORE OUT.csv [--window DAYS] [--min-bars N] [--top N]
//                                          [--threads N]
//
// Computes what `screener screen --from first --to last --top 10 --format csv` computes
// (docs/definitions.md#the-screen), reading the store's part files directly:
//     STORE/bars/**/part-*.csv    symbol,date,open,high,low,close,volume,vwap,trades
//     STORE/splits/*.csv          symbol,ex_date,new_rate,old_rate
//
// Split adjustment uses a per-bar basis: g(t) is the product of the factors (new_rate /
// old_rate) of the symbol's splits with ex_date <= t, and price * g is comparable across
// splits.  The price of a bar b as of a later date D is price_b * g(b) / g(D): the raw price
// divided by the factors of the splits with b < ex_date <= D.
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

function usage(msg) {
  process.stderr.write(`peer_duckdb: ${msg}\nusage: node peer_duckdb.mjs STORE OUT.csv ` +
    '[--window DAYS] [--min-bars N] [--top N] [--threads N]\n');
  process.exit(2);
}

const args = process.argv.slice(2);
const pos = [];
const opt = { window: 180, 'min-bars': 30, top: 10, threads: 0 };
for (let i = 0; i < args.length; i++) {
  const m = /^--(window|min-bars|top|threads)$/.exec(args[i]);
  if (!m) { pos.push(args[i]); continue; }
  const v = Number(args[++i]);
  if (!Number.isInteger(v) || v < 0) usage(`${args[i - 1]}: expected a whole number`);
  opt[m[1]] = v;
}
if (pos.length !== 2) usage('expected STORE and OUT');
const [store, out] = pos.map((p) => resolve(p));
const W = opt.window, MIN_BARS = opt['min-bars'], TOP = opt.top;
if (W < 1 || MIN_BARS < 1 || TOP < 1) usage('--window, --min-bars and --top must be positive');

const lit = (s) => `'${s.replaceAll("'", "''")}'`;
const barsGlob = lit(join(store, 'bars', '**', 'part-*.csv'));
const splitsDir = join(store, 'splits');
const haveSplits = existsSync(splitsDir) && readdirSync(splitsDir).some((f) => f.endsWith('.csv'));

const PRICE = 'DECIMAL(18,6)';
const barColumns = `{'symbol': 'VARCHAR', 'date': 'DATE', 'open': '${PRICE}', 'high': '${PRICE}',
  'low': '${PRICE}', 'close': '${PRICE}', 'volume': 'BIGINT', 'vwap': '${PRICE}',
  'trades': 'BIGINT'}`;
const splitColumns = `{'symbol': 'VARCHAR', 'ex_date': 'DATE', 'new_rate': '${PRICE}',
  'old_rate': '${PRICE}'}`;

// Prices are exact decimals; they are compared as millionths (the store's own unit) times g.
// Each split starts a segment [ex_date, next ex_date) with its cumulative factor g.
const splitsSql = haveSplits
  ? `SELECT symbol, ex_date,
            lead(ex_date, 1, DATE '9999-12-31') OVER by_date AS until,
            product(round(new_rate::DOUBLE * 1000000) / round(old_rate::DOUBLE * 1000000))
              OVER (by_date ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS g
     FROM (SELECT DISTINCT * FROM read_csv(${lit(join(splitsDir, '*.csv'))}, header = true,
                                           auto_detect = false, columns = ${splitColumns}))
     WINDOW by_date AS (PARTITION BY symbol ORDER BY ex_date)`
  : `SELECT NULL::VARCHAR AS symbol, NULL::DATE AS ex_date, NULL::DATE AS until,
            NULL::DOUBLE AS g WHERE false`;

const sql = `
COPY (
  WITH
  raw AS (
    -- a symbol-day stored in two parts is the same bar twice
    SELECT DISTINCT symbol, date, high, close, volume
    FROM read_csv(${barsGlob}, header = true, auto_detect = false, columns = ${barColumns})
  ),
  splits AS (${splitsSql}),
  adj AS (
    SELECT b.symbol, b.date, b.volume, coalesce(s.g, 1.0) AS g,
           round(b.high::DOUBLE * 1000000) * coalesce(s.g, 1.0) AS high_s,
           round(b.close::DOUBLE * 1000000) * coalesce(s.g, 1.0) AS close_s
    FROM raw b LEFT JOIN splits s
      ON b.symbol = s.symbol AND b.date >= s.ex_date AND b.date < s.until
  ),
  win AS (
    SELECT *,
           max(high_s) OVER w AS peak_s,
           count(*) OVER w AS nbars,
           lag(close_s) OVER by_date AS prev_close_s,
           row_number() OVER by_date AS seq
    FROM adj
    WINDOW by_date AS (PARTITION BY symbol ORDER BY date),
           w AS (PARTITION BY symbol ORDER BY date
                 RANGE BETWEEN INTERVAL ${W - 1} DAYS PRECEDING AND CURRENT ROW)
  ),
  best AS (
    -- the top N of each date by drawdown, ties by symbol (min_by keeps them in order)
    SELECT unnest(top, recursive := true), generate_subscripts(top, 1) AS rank
    FROM (SELECT min_by(e, {'d': e.drawdown_pct, 's': e.symbol}, ${TOP}) AS top
          FROM (SELECT *, 100.0 * (close_s - peak_s) / peak_s AS drawdown_pct
                FROM win WHERE nbars >= ${MIN_BARS}) e
          GROUP BY e.date)
  ),
  peak AS (
    -- the peak bar: the latest bar of the window whose high is the peak
    SELECT b.symbol, b.date, max(p.date) AS peak_date, arg_max(p.seq, p.date) AS peak_seq
    FROM best b JOIN win p
      ON p.symbol = b.symbol AND p.high_s = b.peak_s
     AND p.date BETWEEN b.date - ${W - 1} AND b.date
    GROUP BY b.symbol, b.date
  )
  SELECT strftime(b.date, '%Y-%m-%d') AS date, b.rank, b.symbol,
         printf('%.4f', b.close_s / b.g / 1000000) AS close,
         printf('%.4f', b.peak_s / b.g / 1000000) AS peak,
         strftime(p.peak_date, '%Y-%m-%d') AS peak_date,
         printf('%.4f', b.drawdown_pct) AS drawdown_pct,
         b.seq - p.peak_seq AS days_since_peak,
         printf('%.4f', 100.0 * (b.close_s / b.prev_close_s - 1.0)) AS change_pct,
         b.volume
  FROM best b JOIN peak p USING (symbol, date)
  ORDER BY b.date, b.rank
) TO ${lit(out)} (FORMAT csv, HEADER true, QUOTE '')`;

const config = opt.threads ? { threads: String(opt.threads) } : {};
const instance = await DuckDBInstance.create(':memory:', config);
const con = await instance.connect();
try {
  const r = await con.run(sql);
  process.stderr.write(`peer_duckdb: rows_written=${r.rowsChanged}\n`);
} catch (e) {
  process.stderr.write(`peer_duckdb: ${e.message}\n`);
  process.exit(1);
} finally {
  con.closeSync?.();
}
