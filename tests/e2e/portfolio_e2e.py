"""portfolio_e2e.py - portfolio tracking end to end: the real binary against the Alpaca
simulator's trading endpoints (build/alpaca-sim) and the fake Bot API (build/fake-telegram).

`screener portfolio`, `portfolio snapshot`, `account` and `monitor` in every format, their exit
codes for refused and missing credentials, 5xx, missing fields and nulls; /portfolio,
/account, /monitor and /screen's holdings marks through `screener serve`; the snapshot after
each collection (reruns and kill -9 leave one complete file per date); the sell-signal alert
pushed exactly once when the target is crossed, again after a fall below and a new crossing.
The expected numbers and messages are computed here from the simulator's own answers and the
stored screen.  Prints "ok N - what" / "not ok N - what".  Run by tests/e2e/portfolio.sh.
"""
import csv
import datetime
import http.client
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from decimal import Decimal
from zoneinfo import ZoneInfo

B = os.environ.get("BUILD", "build")
BIN, FAKE, SIM = B + "/screener", B + "/fake-telegram", B + "/alpaca-sim"
TOKEN = "5566778899:AAF-portfolio_e2e_token"
SECRET = "portfolio-e2e-Webhook_secret-42"
ALLOWED = 42
STRANGER = 7

from harness import check, finish, nok, ok, procs, run, start, stop  # noqa: E402,F401
import harness  # noqa: E402

T = harness.init("screener-portfolio.")
STORE = T + "/store"


# ---- the simulator with a scripted account, the fake Bot API ----
today = time.strftime("%Y-%m-%d", time.gmtime())
with open(T + "/account.json", "w") as f:
    json.dump({"account": {"cash": "25000"}, "positions": []}, f)
sim, sim_port = start("sim", [SIM, "--port", "0", "--symbols", "30", "--years", "1", "--seed", "5",
                              "--last-day", today, "--account", T + "/account.json"])
SIM_URL = f"http://127.0.0.1:{sim_port}"
fake, fake_port = start("fake", [FAKE, "--port", "0", "--token", TOKEN])
FAKE_URL = f"http://127.0.0.1:{fake_port}"
KEYS = {"APCA-API-KEY-ID": "SIMKEY", "APCA-API-SECRET-KEY": "SIMSECRET"}


def sim_get(path):
    req = urllib.request.Request(SIM_URL + path, headers=KEYS)
    with urllib.request.urlopen(req, timeout=10) as f:
        return json.load(f)


def sim_post(path, body):
    data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    req = urllib.request.Request(SIM_URL + path, data=data, method="POST")
    with urllib.request.urlopen(req, timeout=10) as f:
        return json.load(f)


def fake_get(path):
    with urllib.request.urlopen(FAKE_URL + path, timeout=10) as f:
        return json.load(f)["result"]


SYMS = [a["symbol"] for a in sim_get("/v2/assets")]
closes = {}


def set_positions(entries):
    """entries: (symbol, qty, return wanted in %): the entry price that gives that return at
    today's close in the simulator."""
    sim_post("/__sim/positions", [{"symbol": s, "qty": q, "avg_entry_price": "1"}
                                  for s, q, _ in entries])
    cur = {p["symbol"]: Decimal(p["current_price"]) for p in sim_get("/v2/positions")}
    pos = []
    for s, q, r in entries:
        entry = (cur[s] / (1 + Decimal(r) / 100)).quantize(Decimal("0.01"))
        pos.append({"symbol": s, "qty": q, "avg_entry_price": str(entry)})
    sim_post("/__sim/positions", pos)


env = dict(os.environ)
for k in list(env):
    if k.startswith(("TELEGRAM_", "APCA_", "AWS_", "SCREENER_")):
        del env[k]
env.update({"APCA_API_KEY_ID": "SIMKEY", "APCA_API_SECRET_KEY": "SIMSECRET",
            "APCA_API_DATA_URL": SIM_URL, "APCA_API_BASE_URL": SIM_URL,
            "SCREENER_UNIVERSE_URL": SIM_URL + "/iwb_holdings.csv", "SCREENER_SSM": "0",
            "SCREENER_STORE": STORE, "SCREENER_LOG_FORMAT": "json"})
bot_env = dict(env)
bot_env.update({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": SECRET,
                "TELEGRAM_API_URL": FAKE_URL, "TELEGRAM_ALLOWED_CHATS": f"{ALLOWED}"})

r = run([BIN, "universe", "fetch"], env)
check("a universe of the simulator's 30 symbols", r.returncode == 0, r.stderr)
shutil.copytree(STORE, T + "/universe-only")

# Seven positions (one short, one not in the market) well below the target.
HELD = [SYMS[3], SYMS[8], SYMS[12], SYMS[17], SYMS[21], SYMS[25]]
set_positions([(HELD[0], "10", 40), (HELD[1], "5", 12.5), (HELD[2], "-3", 0),
               (HELD[3], "2.5", -20), (HELD[4], "100", 75), (HELD[5], "1", 3)])
pos = sim_get("/v2/positions")
pos.append({"symbol": "ZZTOP", "qty": "4", "avg_entry_price": "10", "current_price": "11"})
sim_post("/__sim/positions", [{k: p[k] for k in ("symbol", "qty", "avg_entry_price")
                               if k in p} | ({"current_price": p["current_price"]}
                                             if p["symbol"] == "ZZTOP" else {})
                              for p in pos])

r = run([BIN, "collect", "--no-progress"], env)
check("a collection with the trading API reachable succeeds", r.returncode == 0, r.stderr[-1500:])
summary = [json.loads(line) for line in r.stderr.splitlines()
           if '"message":"portfolio snapshot"' in line]
check("... and logs the portfolio snapshot it stored",
      len(summary) == 1 and summary[0]["snapshot"] == "created" and summary[0]["positions"] == 7
      and summary[0]["alert"] == "none", r.stderr[-1500:])


# ---- the expected values, from the simulator and the stored screen ----
def micro(s):
    return int(Decimal(s) * 1000000)


def fixed(m):
    """num_format_fixed: the shortest exact decimal of millionths."""
    s = str(Decimal(m) / 1000000)
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def money(m, sign=False):
    """bot_money: two decimals, grouped, sign on request."""
    if m is None:
        return "n/a"
    neg = m < 0
    cents = (abs(m) + 5000) // 10000
    body = f"{cents // 100:,}.{cents % 100:02d}"
    return ("-" if neg and cents else "+" if sign and cents else "") + body


def pct1(x):
    return "n/a" if x is None else f"{x + 0.0:+.1f}%"


def screen(store=None):
    rows = list(csv.DictReader(open((store or STORE) + "/results/screen/latest.csv")))
    return rows[0]["date"], {r["symbol"]: r for r in rows}, len(rows)


def positions():
    out = []
    for p in sorted(sim_get("/v2/positions"), key=lambda p: p["symbol"]):
        side = -1 if p["side"] == "short" else 1
        out.append({"symbol": p["symbol"], "qty": side * abs(micro(p["qty"])),
                    "avg": micro(p["avg_entry_price"]), "cur": micro(p["current_price"]),
                    "mv": micro(p["market_value"]), "pl": micro(p["unrealized_pl"]),
                    "ret": float(p["unrealized_plpc"]) * 100.0})
    return out


SDATE, SROWS, SN = screen()
POS = positions()
snaps = sorted(os.listdir(STORE + "/portfolio/snapshots/" + os.listdir(
    STORE + "/portfolio/snapshots")[0]))
check("one snapshot file, named by its date", len(snaps) == 1 and snaps[0].endswith(".csv"), snaps)
SNAP_DATE = snaps[0][:-4]
SNAP = f"{STORE}/portfolio/snapshots/{SNAP_DATE[:4]}/{SNAP_DATE}.csv"


def expect_snapshot(store=None):
    s = ("date,symbol,qty,avg_entry_price,current_price,market_value,unrealized_pl,"
         "unrealized_return_pct,drawdown_rank\n")
    sdate, srows, _ = screen(store)
    for p in positions():
        rank = srows[p["symbol"]]["rank"] if sdate == SNAP_DATE and p["symbol"] in srows else ""
        s += (f"{SNAP_DATE},{p['symbol']},{fixed(p['qty'])},{fixed(p['avg'])},{fixed(p['cur'])},"
              f"{fixed(p['mv'])},{fixed(p['pl'])},{p['ret'] + 0.0:.4f},{rank}\n")
    return s


got = open(SNAP).read()
check("the snapshot holds every position, as the simulator values them",
      got == expect_snapshot(), got, expect_snapshot())
check("... dated today in New York or the last trading day before",
      SNAP_DATE <= time.strftime("%Y-%m-%d") and SNAP_DATE >= time.strftime(
          "%Y-%m-%d", time.gmtime(time.time() - 6 * 86400)), SNAP_DATE)

# ---- screener portfolio ----
r = run([BIN, "portfolio", "--format", "csv"], env)
want = ("date,symbol,qty,avg_entry_price,current_price,market_value,unrealized_pl,"
        "unrealized_return_pct,drawdown_rank,drawdown_pct,screen_date\n")
for p in POS:
    sr = SROWS.get(p["symbol"])
    want += (f"{SNAP_DATE},{p['symbol']},{fixed(p['qty'])},{fixed(p['avg'])},{fixed(p['cur'])},"
             f"{fixed(p['mv'])},{fixed(p['pl'])},{p['ret'] + 0.0:.4f},"
             f"{sr['rank'] if sr else ''},{sr['drawdown_pct'] if sr else ''},"
             f"{SDATE if sr else ''}\n")
check("portfolio --format csv: positions with today's drawdown rank and drawdown",
      r.returncode == 0 and r.stdout == want, r.stderr, r.stdout, want)
r = run([BIN, "portfolio"], env)
lines = r.stdout.splitlines()
check("portfolio: a table with a header, one line per position and the total",
      r.returncode == 0 and lines[0].startswith(f"Positions on {SNAP_DATE}: 7 (ranks from the "
                                                f"screen of {SDATE}, {SN} stocks)")
      and lines[1].split()[:4] == ["symbol", "qty", "entry", "current"]
      and [x.split()[0] for x in lines[2:9]] == [p["symbol"] for p in POS]
      and lines[9].split() == ["total", money(sum(p["mv"] for p in POS)),
                               money(sum(p["pl"] for p in POS), True)], r.stdout, r.stderr)
r = run([BIN, "portfolio", "--format", "json"], env)
try:
    j = json.loads(r.stdout)
except ValueError:
    j = {}
check("portfolio --format json: the same positions, numbers as numbers, no problems",
      r.returncode == 0 and [p["symbol"] for p in j.get("positions", [])]
      == [p["symbol"] for p in POS] and j["problems"] == []
      and j["positions"][0]["qty"] == float(Decimal(POS[0]["qty"]) / 1000000), r.stdout)

# ---- screener account ----
acct = sim_get("/v2/account")
r = run([BIN, "account", "--format", "json"], env)
try:
    j = json.loads(r.stdout)
except ValueError:
    j = {}
eq, last = micro(acct["equity"]), micro(acct["last_equity"])
check("account --format json: equity, last equity, day P/L = equity - last_equity, cash, "
      "buying power", r.returncode == 0 and Decimal(str(j.get("equity"))) == Decimal(acct["equity"])
      and Decimal(str(j["day_pl"])) == (Decimal(eq - last) / 1000000)
      and Decimal(str(j["cash"])) == Decimal("25000")
      and Decimal(str(j["buying_power"])) == Decimal(acct["buying_power"])
      and j["status"] == "ACTIVE", r.stdout, acct)
r = run([BIN, "account"], env)
check("account: a table with the day's P/L and its percentage",
      r.returncode == 0 and f"day P/L       {money(eq - last, True):>15}  "
      f"({(eq / last - 1) * 100:+.2f}%)" in r.stdout, r.stdout)
r = run([BIN, "account", "--history", "1W", "--format", "csv"], env)
hist = list(csv.DictReader(io.StringIO(r.stdout)))
check("account --history 1W: daily equity, the last one the account's",
      r.returncode == 0 and 3 <= len(hist) <= 6 and hist[-1]["equity"] == f"{eq / 1e6:.2f}"
      and [h["date"] for h in hist] == sorted(h["date"] for h in hist), r.stdout, r.stderr)
r = run([BIN, "account", "--history", "7X"], env)
check("account --history 7X: usage error", r.returncode == 2 and "--history" in r.stderr)

# ---- screener monitor ----
top = sorted(POS, key=lambda p: (-p["ret"], p["symbol"]))[:5]
avg = sum(p["ret"] for p in top) / 5
r = run([BIN, "monitor", "--format", "json"], env)
try:
    j = json.loads(r.stdout)
except ValueError:
    j = {}
check("monitor --format json: the top 5 by return, their average, below the 100% target",
      r.returncode == 0 and [t["symbol"] for t in j.get("top", [])] == [p["symbol"] for p in top]
      and abs(j["average_pct"] - avg) < 1e-4 and j["reached"] is False and j["positions"] == 7
      and j["target_pct"] == 100, r.stdout, top)
r = run([BIN, "monitor"], env)
check("monitor: a table and the verdict", r.returncode == 0 and
      "not reached: the average is below the target" in r.stdout
      and f"{'average':<14} {f'{avg + 0.0:+.2f}%':>10}  (5 of 7 positions)" in r.stdout,
      r.stdout)
r = run([BIN, "monitor", "--target", "20"], env)
check("monitor --target 20: reached", r.returncode == 0 and "REACHED" in r.stdout, r.stdout)
r = run([BIN, "monitor", "--format", "csv"], dict(env, SCREENER_PROFIT_TARGET="20.5"))
rows = list(csv.DictReader(io.StringIO(r.stdout)))
check("SCREENER_PROFIT_TARGET=20.5: the target, reached, in csv",
      r.returncode == 0 and len(rows) == 5 and rows[0]["target_pct"] == "20.5000"
      and rows[0]["reached"] == "true", r.stdout)
r = run([BIN, "monitor", "--target", "abc"], env)
check("monitor --target abc: usage error (exit 2)", r.returncode == 2, r.stderr)
r = run([BIN, "monitor"], dict(env, SCREENER_PROFIT_TARGET="lots"))
check("a bad SCREENER_PROFIT_TARGET is named (exit 2)",
      r.returncode == 2 and "SCREENER_PROFIT_TARGET" in r.stderr, r.stderr)
for cmd in ["portfolio", "account", "monitor"]:
    r = run([BIN, cmd, "--help"], env)
    check(f"{cmd} --help", r.returncode == 0 and f"usage: screener {cmd}" in r.stdout
          and "Exit codes" in r.stdout)
r = run([BIN, "portfolio"], dict(env, SCREENER_STORE=T + "/universe-only"))
check("portfolio on a store with no screen yet: the positions, without ranks",
      r.returncode == 0 and "(no screen stored: no ranks)" in r.stdout
      and len(r.stdout.splitlines()) == 10, r.stdout, r.stderr)
r = run([BIN, "portfolio", "bogus"], env)
check("portfolio bogus: usage error", r.returncode == 2, r.stderr)

# ---- credentials, faults ----
r = run([BIN, "portfolio"], dict(env, APCA_API_SECRET_KEY="WRONG-SECRET-99"))
check("a refused key: exit 7, saying what to check, the secret not printed",
      r.returncode == 7 and "refused the credentials" in r.stderr
      and "WRONG-SECRET-99" not in r.stderr + r.stdout, r.returncode, r.stderr)
e = dict(env)
del e["APCA_API_KEY_ID"]
r = run([BIN, "account"], e)
check("no key: exit 7 naming APCA_API_KEY_ID", r.returncode == 7 and "APCA_API_KEY_ID" in r.stderr,
      r.stderr)
r = run([BIN, "account"], dict(env, APCA_API_BASE_URL="paper-api.alpaca.markets"))
check("a base URL without a scheme: exit 7 naming APCA_API_BASE_URL",
      r.returncode == 7 and "APCA_API_BASE_URL" in r.stderr, r.stderr)
sim_post("/__sim/trading-fault", "401")
r = run([BIN, "monitor"], env)
check("the trading API answers 401: exit 7", r.returncode == 7 and "HTTP 401" in r.stderr,
      r.stderr)
sim_post("/__sim/trading-fault", "500")
r = run([BIN, "portfolio"], env)
check("always 500: exit 6 after the retries", r.returncode == 6 and "HTTP 500" in r.stderr,
      r.stderr[-800:])
sim_post("/__sim/trading-fault", "500@1x2")
r = run([BIN, "portfolio", "--format", "csv"], env)
check("500 twice, then an answer: retried, exit 0", r.returncode == 0 and r.stdout == want,
      r.stderr[-800:])
sim_post("/__sim/trading-fault", "nulls")
r = run([BIN, "portfolio"], env)
check("null prices: exit 0, n/a in the table, each named on stderr",
      r.returncode == 0 and "n/a" in r.stdout and
      f"warning: position {POS[0]['symbol']}: 'current_price' is null" in r.stderr, r.stdout,
      r.stderr)
sim_post("/__sim/trading-fault", "missing")
r = run([BIN, "account", "--format", "json"], env)
try:
    j = json.loads(r.stdout)
except ValueError:
    j = {}
check("fields missing from the account: null in JSON, listed as problems",
      r.returncode == 0 and j.get("equity") is None and j.get("day_pl") is None
      and "account: 'last_equity' is missing" in j.get("problems", []), r.stdout, r.stderr)
sim_post("/__sim/trading-fault", "malformed")
r = run([BIN, "account"], env)
check("an answer that is never JSON: exit 3", r.returncode == 3, r.returncode, r.stderr[-600:])
sim_post("/__sim/trading-fault", "")

# ---- the bot: /portfolio, /account, /monitor, /screen's marks ----
serve, serve_port = start("serve", [BIN, "serve", "--port", "0"], bot_env)
conn = http.client.HTTPConnection("127.0.0.1", serve_port, timeout=30)
uid = 1000


def ask(chat, text):
    global uid
    uid += 1
    body = json.dumps({"update_id": uid, "message": {
        "message_id": uid, "from": {"id": chat, "is_bot": False, "first_name": "E2E"},
        "chat": {"id": chat, "type": "private"}, "date": 1767225600, "text": text}}).encode()
    conn.request("POST", "/webhook", body=body, headers={
        "Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET})
    resp = conn.getresponse()
    data = resp.read()
    return resp.status, (json.loads(data) if data else None)


def expect_reply(what, chat, text, want):
    status, m = ask(chat, text)
    got = (m or {}).get("text")
    check(what, status == 200 and got == want, f"status {status}", "got:", got, "want:", want)


def expect_portfolio():
    sdate, srows, sn = screen()
    s = (f"<b>Portfolio</b> · {len(POS)} positions\n<pre>"
         f"{'Symbol':<6} {'Qty':>6} {'Entry':>8} {'Now':>8} {'Return':>7} {'Rank':>4}\n")
    for p in POS:
        rank = srows[p["symbol"]]["rank"] if p["symbol"] in srows else "-"
        s += (f"{p['symbol']:<6} {fixed(p['qty']):>6} {p['avg'] / 1e6:8.2f} "
              f"{p['cur'] / 1e6:8.2f} {pct1(p['ret']):>7} {rank:>4}\n")
    return (s + f"</pre>\nValue {money(sum(p['mv'] for p in POS))} · unrealized P/L "
            f"{money(sum(p['pl'] for p in POS), True)}\nRank: place among the {sn} stocks of "
            f"the 180-day drawdown screen of {sdate} (- not in it).")


def expect_monitor(target=100.0):
    t = sorted(POS, key=lambda p: (-p["ret"], p["symbol"]))[:5]
    a = sum(p["ret"] for p in t) / len(t)
    s = f"<b>Sell signal</b> · target {pct1(target)}\n<pre>  # {'Symbol':<8} {'Return':>8}\n"
    for i, p in enumerate(t):
        s += f"{i + 1:3d} {p['symbol']:<8} {pct1(p['ret']):>8}\n"
    s += f"Average      {pct1(a):>8}\n</pre>"
    if a >= target:
        return s + (f"\n<b>Target reached</b>: the top 5 positions average {pct1(a)}, at or "
                    f"above {pct1(target)}. The strategy says: sell them.")
    return s + (f"\nNot yet: the top 5 positions average {pct1(a)}, below the target of "
                f"{pct1(target)}.")


def spark(v):
    lo, hi = min(v), max(v)
    bars = "▁▂▃▄▅▆▇█"
    return "".join(bars[max(0, min(7, int((x - lo) / (hi - lo) * 7 + 0.5))) if hi > lo else 3]
                   for x in v)


def expect_account():
    a = sim_get("/v2/account")
    h = [x for x in sim_get("/v2/account/portfolio/history?period=1M&timeframe=1D")["equity"]
         if x is not None]
    e, le = micro(a["equity"]), micro(a["last_equity"])
    s = (f"<b>Account</b> {a['account_number']} · {a['status']}\n<pre>"
         f"Equity       {money(e):>13}\nCash         {money(micro(a['cash'])):>13}\n"
         f"Buying power {money(micro(a['buying_power'])):>13}\n"
         f"Day P/L      {money(e - le, True):>13} {pct1((e / le - 1) * 100)}\n</pre>")
    return s + (f"\nEquity, last {len(h)} trading days: {spark(h)}\nlow "
                f"{money(round(min(h) * 1e6))}, high {money(round(max(h) * 1e6))}")


expect_reply("/portfolio: positions, entry, current, return and today's drawdown rank",
             ALLOWED, "/portfolio", expect_portfolio())
expect_reply("/monitor: the top 5, their average, not yet at the target", ALLOWED, "/monitor",
             expect_monitor())
expect_reply("/account: equity, cash, buying power, day P/L and a month of equity", ALLOWED,
             "/account", expect_account())
for cmd in ["/portfolio", "/account", "/monitor"]:
    expect_reply(f"{cmd} from a chat not on the allow list: refused", STRANGER, cmd,
                 f"{cmd} is only for the operator's chats. To allow this one, add {STRANGER} "
                 "to TELEGRAM_ALLOWED_CHATS.")


def screen_marks(chat):
    status, m = ask(chat, "/screen 30")
    text = (m or {}).get("text", "")
    marked = sorted(line.split()[1].rstrip("*") for line in text.splitlines()
                    if line[:3].strip().isdigit() and line.split()[1].endswith("*"))
    return text, marked


text, marked = screen_marks(ALLOWED)
held_ranked = sorted(p["symbol"] for p in POS if p["symbol"] in SROWS)
check("/screen in an allowed chat marks the candidates held with *",
      marked == held_ranked and len(marked) >= 3 and "</pre>\n* you hold it\n" in text, marked,
      held_ranked, text)
text, marked = screen_marks(STRANGER)
check("... and not for a stranger: holdings are the operator's", marked == []
      and "you hold it" not in text, text)
sim_post("/__sim/trading-fault", "401")
status, m = ask(ALLOWED, "/portfolio")
check("/portfolio when Alpaca refuses the key: a clear apology",
      (m or {}).get("text", "").startswith("Sorry, /portfolio failed: the Alpaca trading API "
                                           "refused the credentials"), m)
text, marked = screen_marks(ALLOWED)
check("... and /screen still answers, without marks", marked == [] and "Worst 180-day" in text)
sim_post("/__sim/trading-fault", "nulls")
status, m = ask(ALLOWED, "/portfolio")
text = (m or {}).get("text", "")
check("/portfolio with null prices: n/a and a note naming what was missing",
      " n/a " in text and "Not all of Alpaca's answer was usable (n/a above): position "
      f"{POS[0]['symbol']}: 'current_price' is null" in text and "; and " in text, text)
sim_post("/__sim/trading-fault", "")

# ---- the sell-signal alert: exactly once per crossing ----
for chat in [ALLOWED, STRANGER]:
    status, m = ask(chat, "/subscribe")
    check(f"/subscribe from {chat}", (m or {}).get("text", "").startswith("Subscribed"), m)
conn.close()
stop(serve)


# ---- the bot without the trading keys: answers from what the last collection stored ----
def serve_answers(what, e, questions):
    """Start `serve` with e, ask each question from the allowed chat, return the texts."""
    global conn
    srv, port = start(what, [BIN, "serve", "--port", "0"], e)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    texts = []
    for q in questions:
        status, m = ask(ALLOWED, q)
        texts.append((m or {}).get("text", "") if status == 200 else f"HTTP {status}")
    conn.close()
    stop(srv)
    return texts


nokeys_env = {k: v for k, v in bot_env.items()
              if k not in ("APCA_API_KEY_ID", "APCA_API_SECRET_KEY")}
# Were the trading API called, it would fail: nothing listens there.
nokeys_env.update({"SCREENER_LIVE_ACCOUNT": "0", "APCA_API_BASE_URL": "http://127.0.0.1:9"})
os.makedirs(T + "/empty-store")
texts = serve_answers("serve-empty", dict(nokeys_env, SCREENER_STORE=T + "/empty-store"),
                      ["/portfolio", "/account", "/monitor"])
check("no keys, nothing stored yet: /portfolio, /account, /monitor say so",
      all(t.startswith(f"<b>{c}</b>\nNothing is stored yet: this bot answers from what the "
                       "collector stores after each collection")
          for t, c in zip(texts, ["/portfolio", "/account", "/monitor"])), texts)

r = run([BIN, "collect", "--no-progress"], env)
check("a collection stores the account for the bot", r.returncode == 0
      and os.path.exists(STORE + "/results/account/latest.json"), r.stderr[-1500:])
with open(STORE + "/results/account/latest.json") as f:
    stored = json.load(f)
taken = datetime.datetime.fromtimestamp(stored["taken_ms"] / 1000, ZoneInfo("America/New_York"))
NOTE = f"\n<i>As of {taken:%Y-%m-%d %H:%M} New York, from the last collection.</i>"
want = [expect_portfolio() + NOTE, expect_account() + NOTE, expect_monitor() + NOTE]
texts = serve_answers("serve-stored", nokeys_env, ["/portfolio", "/account", "/monitor"])
for what, got, w in zip(["/portfolio", "/account", "/monitor"], texts, want):
    check(f"no keys (SCREENER_LIVE_ACCOUNT=0): {what} is the live answer from the store, dated",
          got == w, "got:", got, "want:", w)
text, = serve_answers("serve-stored-marks", nokeys_env, ["/screen 30"])
marked = sorted(line.split()[1].rstrip("*") for line in text.splitlines()
                if line[:3].strip().isdigit() and line.split()[1].endswith("*"))
check("no keys: /screen marks the holdings the collection stored", marked == held_ranked, marked,
      held_ranked)
e = dict(nokeys_env, APCA_API_KEY_ID="SIMKEY", APCA_API_SECRET_KEY="SIMSECRET")
text, = serve_answers("serve-stored-keys", e, ["/portfolio"])
check("SCREENER_LIVE_ACCOUNT=0 with keys at hand: still the stored answer", text == want[0], text)
e = {k: v for k, v in nokeys_env.items() if k != "SCREENER_LIVE_ACCOUNT"}
text, = serve_answers("serve-stored-unset", e, ["/portfolio"])
check("SCREENER_LIVE_ACCOUNT unset and no keys: the stored answer", text == want[0], text)

shutil.copytree(STORE, T + "/bad-store")
for bad in ["", '{"taken_ms":', '{"taken_ms":1796419867000,"positions":[{"symbol":"a b"}]}']:
    with open(T + "/bad-store/results/account/latest.json", "w") as f:
        f.write(bad)
    texts = serve_answers("serve-bad", dict(nokeys_env, SCREENER_STORE=T + "/bad-store"),
                          ["/portfolio", "/account", "/monitor", "/help"])
    check(f"a stored file that cannot be read ({bad[:20]!r}): each command says so, the bot "
          "goes on", all("The account stored by the last collection cannot be read "
                         "(results/account/latest.json: " in t for t in texts[:3])
          and "/portfolio" in texts[3], texts)


def alerts_since(k):
    return [c for c in fake_get("/_calls")[k:] if c["method"] == "sendMessage"
            and "Sell signal" in c["params"].get("text", "")]


def collect(what):
    k = len(fake_get("/_calls"))
    r = run([BIN, "collect", "--no-progress"], bot_env)
    s = [json.loads(line) for line in r.stderr.splitlines()
         if '"message":"portfolio snapshot"' in line]
    if r.returncode != 0 or len(s) != 1:
        nok(f"{what}: the collection", r.stderr[-1500:])
        return None, []
    return s[0], alerts_since(k)


MARKER = STORE + "/portfolio/alerts/target-reached"
s, sent = collect("below the target")
check("below the target: no alert, no marker", s and s["alert"] == "none" and not sent
      and not os.path.exists(MARKER), s, sent)
set_positions([(HELD[0], "10", 240), (HELD[1], "5", 130), (HELD[2], "-3", 90),
               (HELD[3], "2.5", 100), (HELD[4], "100", 75), (HELD[5], "1", 3)])
POS = positions()
s, sent = collect("crossing the target")
check("the first day the top 5 average reaches 100%: one alert",
      s and s["alert"] == "fire" and s["target_reached"] is True and len(sent) == 1, s, sent)
check("... to the allowed subscriber only", [str(c["params"]["chat_id"]) for c in sent]
      == [str(ALLOWED)], sent)
top = sorted(POS, key=lambda p: (-p["ret"], p["symbol"]))[:5]
avg = sum(p["ret"] for p in top) / 5
want_alert = (f"<b>Sell signal</b> · {SNAP_DATE}\nThe top 5 positions average <b>{pct1(avg)}</b>, "
              f"at or above the profit target of +100.0%.\n<pre>  # {'Symbol':<8} {'Return':>8}\n"
              + "".join(f"{i + 1:3d} {p['symbol']:<8} {pct1(p['ret']):>8}\n"
                        for i, p in enumerate(top))
              + f"Average      {pct1(avg):>8}\n</pre>\nThis alert comes once, the first day the "
              "target is reached; /monitor shows the signal any time.")
check("... saying so with the top 5", sent and sent[0]["params"]["text"] == want_alert
      and sent[0]["status"] == 200, sent[0]["params"]["text"] if sent else None, want_alert)
check("... and the marker records it", os.path.exists(MARKER)
      and json.load(open(MARKER))["state"] == "fired"
      and json.load(open(MARKER))["date"] == SNAP_DATE, open(MARKER).read())
s, sent = collect("still above")
check("the next collection, still above: no second alert",
      s and s["alert"] == "already" and not sent, s, sent)
set_positions([(HELD[0], "10", 40), (HELD[1], "5", 12.5), (HELD[2], "-3", 0),
               (HELD[3], "2.5", -20), (HELD[4], "100", 75), (HELD[5], "1", 3)])
POS = positions()
s, sent = collect("below again")
check("below again: the marker is armed again, nothing sent",
      s and s["alert"] == "reset" and not sent and json.load(open(MARKER))["state"] == "armed",
      s, sent)
set_positions([(HELD[0], "10", 300), (HELD[1], "5", 150), (HELD[2], "-3", 120),
               (HELD[3], "2.5", 110), (HELD[4], "100", 95), (HELD[5], "1", 3)])
POS = positions()
# Two collectors at once see the new crossing: exactly one of them alerts.
k = len(fake_get("/_calls"))
two = [subprocess.Popen([BIN, "collect", "--no-progress"], env=bot_env, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, text=True) for _ in range(2)]
outs = [p.communicate(timeout=120) for p in two]
states = sorted(json.loads(line)["alert"] for _, err in outs for line in err.splitlines()
                if '"message":"portfolio snapshot"' in line)
sent = alerts_since(k)
check("a new crossing seen by two collectors at once: one alert, exactly",
      all(p.returncode == 0 for p in two) and states == ["already", "fire"] and len(sent) == 1,
      states, sent, *[err[-600:] for _, err in outs])
s = {"snapshot": "replaced"}
check("the replaced snapshot follows the positions (one file, the latest capture)",
      open(SNAP).read() == expect_snapshot() and s["snapshot"] in ("replaced", "unchanged"),
      open(SNAP).read(), expect_snapshot())
r = run([BIN, "portfolio", "snapshot"], env)
check("portfolio snapshot right after: unchanged", r.returncode == 0 and
      "already stored, unchanged" in r.stdout, r.stdout, r.stderr)
set_positions([(HELD[0], "11", 300), (HELD[1], "5", 150)])
POS = positions()
r = run([BIN, "portfolio", "snapshot"], env)
check("portfolio snapshot after trades: replaces the day's snapshot",
      r.returncode == 0 and "replaced the earlier one of the day" in r.stdout
      and open(SNAP).read() == expect_snapshot(), r.stdout, r.stderr)
files = [f for d in os.listdir(STORE + "/portfolio/snapshots")
         for f in os.listdir(f"{STORE}/portfolio/snapshots/{d}")]
check("still one snapshot file for the date: nothing duplicated", files == [SNAP_DATE + ".csv"],
      files)

# ---- the Lambda collector takes the snapshot too ----
with open(T + "/event.json", "w") as f:
    f.write('{"action":"collect"}')
r = run([BIN, "invoke", "--event", T + "/event.json", "--handler", "collector"], env)
check("the Lambda collector (invoke) stores the snapshot as well",
      r.returncode == 0 and '"message":"portfolio snapshot"' in r.stderr
      and '"snapshot":"unchanged"' in r.stderr, r.returncode, r.stderr[-1200:])
r = run([BIN, "collect", "--no-progress"], dict(env, SCREENER_PORTFOLIO="0"))
check("SCREENER_PORTFOLIO=0: no snapshot step", r.returncode == 0
      and "portfolio snapshot" not in r.stderr, r.stderr[-800:])
sim_post("/__sim/trading-fault", "503")
r = run([BIN, "collect", "--no-progress"], env)
check("the trading API down: the collection still succeeds, the failure logged",
      r.returncode == 0 and "portfolio: no snapshot this run" in r.stderr, r.stderr[-800:])
sim_post("/__sim/trading-fault", "")

# ---- kill -9 during collections: the snapshot is whole or absent, a rerun completes it ----
want_snap = expect_snapshot()
rng = random.Random(int(os.environ.get("TEST_SEED", "4242")))
bad = []
for trial in range(8):
    store = f"{T}/k{trial}"
    shutil.copytree(T + "/universe-only", store)
    e = dict(env, SCREENER_STORE=store)
    p = subprocess.Popen([BIN, "collect", "--no-progress"], env=e, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    time.sleep(rng.uniform(0.05, 0.6))
    p.send_signal(signal.SIGKILL)
    p.wait()
    d = f"{store}/portfolio/snapshots/{SNAP_DATE[:4]}"
    seen = sorted(os.listdir(d)) if os.path.isdir(d) else []
    whole = all(open(f"{d}/{f}").read().startswith("date,symbol") for f in seen
                if not f.startswith("."))
    r = run([BIN, "collect", "--no-progress"], e)
    after = sorted(f for f in os.listdir(d) if not f.startswith(".")) if os.path.isdir(d) else []
    snap = open(f"{d}/{SNAP_DATE}.csv").read() if after else ""
    # the ranks follow that store's own screen
    want_snap = expect_snapshot(store) if after else ""
    if not whole or r.returncode != 0 or after != [SNAP_DATE + ".csv"] or snap != want_snap:
        bad.append((trial, seen, whole, r.returncode, after, snap[:300]))
check("8 collections killed at random moments: never half a snapshot, each rerun gives the "
      "one file of the date", not bad, *bad)

stop(fake)
finish()
