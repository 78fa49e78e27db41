"""bot_e2e.py - the Telegram bot end to end: the real binary against the fake Bot API
(build/fake-telegram) and the Alpaca simulator (build/alpaca-sim), through `screener serve`
(webhook) and `screener poll` (long polling), and the daily push after a collection.

The expected messages are computed here, independently, from the stored result files, and
compared with what the bot sent, byte for byte.  Prints "ok N - what" / "not ok N - what".
Run by tests/e2e/bot.sh.
"""
import csv
import http.client
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

B = os.environ.get("BUILD", "build")
BIN, FAKE, SIM = B + "/screener", B + "/fake-telegram", B + "/alpaca-sim"
TOKEN = "5566778899:AAF-bot_e2e_token_never_shown"
SECRET = "e2e-Webhook_secret-0123456789"
ALLOWED = 42
STRANGER = 7

from harness import check, finish, nok, ok, procs, run, start, stop  # noqa: E402,F401
import harness  # noqa: E402

T = harness.init("screener-bot.")
STORE = T + "/store"


# ---- the market, a store with results, the fake Bot API ----
today = time.strftime("%Y-%m-%d", time.gmtime())
sim, sim_port = start("sim", [SIM, "--port", "0", "--symbols", "200", "--years", "1",
                              "--seed", "11", "--last-day", today])
SIM_URL = f"http://127.0.0.1:{sim_port}"
fake, fake_port = start("fake", [FAKE, "--port", "0", "--token", TOKEN,
                                 "--record", T + "/calls.jsonl"])
FAKE_URL = f"http://127.0.0.1:{fake_port}"

env = dict(os.environ)
for k in list(env):
    if k.startswith(("TELEGRAM_", "APCA_", "AWS_", "SCREENER_")):
        del env[k]
env.update({"APCA_API_KEY_ID": "SIMKEY", "APCA_API_SECRET_KEY": "SIMSECRET",
            "APCA_API_DATA_URL": SIM_URL, "APCA_API_BASE_URL": SIM_URL,
            "SCREENER_UNIVERSE_URL": SIM_URL + "/iwb_holdings.csv", "SCREENER_SSM": "0",
            "SCREENER_STORE": STORE, "SCREENER_LOG_FORMAT": "json"})
r = run([BIN, "universe", "fetch"], env)
check("a universe of the simulator's 200 symbols is stored", r.returncode == 0, r.stderr)
r = run([BIN, "collect", "--no-progress"], env)
check("a first collection (no bot configured) writes the results", r.returncode == 0
      and os.path.exists(STORE + "/results/screen/latest.csv"), r.stderr[-2000:])

bot_env = dict(env)
bot_env.update({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": SECRET,
                "TELEGRAM_API_URL": FAKE_URL, "TELEGRAM_ALLOWED_CHATS": f"{ALLOWED},-100200300"})


def fake_get(path):
    with urllib.request.urlopen(FAKE_URL + path, timeout=10) as f:
        return json.load(f)["result"]


def fake_post(path, body):
    req = urllib.request.Request(FAKE_URL + path, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(req, timeout=10) as f:
        return json.load(f)


def calls(method=None):
    return [c for c in fake_get("/_calls") if method is None or c["method"] == method]


# ---- the expected messages, from the stored files ----
rows = list(csv.DictReader(open(STORE + "/results/screen/latest.csv")))
DATE = rows[0]["date"]


def pct(x):
    return "n/a" if x == "" else f"{float(x):+.1f}%"


def expect_screen(k):
    s = (f"<b>Worst 180-day drawdowns</b> · {DATE} · {len(rows)} ranked\n<pre>"
         "  # Symbol      Close Drawdown  Days\n")
    for r in rows[:k]:
        s += (f"{int(r['rank']):3d} {r['symbol']:<8} {float(r['close']):9.2f} "
              f"{pct(r['drawdown_pct']):>8} {int(r['days_since_peak']):5d}\n")
    return s + ("</pre>\nDrawdown: close vs the highest high of the last 180 days; Days: "
                "trading days since that peak. /stock SYMBOL for details.")


def expect_drops(k):
    d = sorted((r for r in rows if r["change_pct"] != ""),
               key=lambda r: (float(r["change_pct"]), r["symbol"]))
    s = (f"<b>Worst one-day drops</b> · {DATE} · {len(rows)} ranked\n<pre>"
         "  # Symbol      Close   Change Drawdown\n")
    for i, r in enumerate(d[:k]):
        s += (f"{i + 1:3d} {r['symbol']:<8} {float(r['close']):9.2f} {pct(r['change_pct']):>8} "
              f"{pct(r['drawdown_pct']):>8}\n")
    return s + "</pre>"


def spark(v):
    lo, hi = min(v), max(v)
    bars = "▁▂▃▄▅▆▇█"
    return "".join(bars[max(0, min(7, int((x - lo) / (hi - lo) * 7 + 0.5))) if hi > lo else 3]
                   for x in v)


def expect_stock(sym):
    r = next(r for r in rows if r["symbol"] == sym)
    closes = next(c for c in csv.DictReader(open(STORE + "/results/closes.csv"))
                  if c["symbol"] == sym)
    v = [float(x) for x in closes["closes"].split(";")]
    return (f"<b>{sym}</b> · {DATE}\n<pre>"
            f"Close     {float(r['close']):10.2f}  ({pct(r['change_pct'])} on the day)\n"
            f"Peak      {float(r['peak']):10.2f}  on {r['peak_date']}\n"
            f"Drawdown  {pct(r['drawdown_pct']):>10}  {r['days_since_peak']} trading days "
            "since the peak\n"
            f"Rank      {int(r['rank']):10d}  of {len(rows)} by drawdown\n</pre>"
            f"\nLast {len(v)} closes: {spark(v)}\nlow {min(v):.2f}, high {max(v):.2f}")


def update(uid, chat, text, kind="message"):
    return {"update_id": uid, kind: {
        "message_id": uid, "from": {"id": abs(chat), "is_bot": False, "first_name": "E2E"},
        "chat": {"id": chat, "type": "private" if chat > 0 else "supergroup"},
        "date": 1767225600, "text": text}}


# ---- serve: the webhook ----
serve, serve_port = start("serve", [BIN, "serve", "--port", "0"], bot_env)
conn = http.client.HTTPConnection("127.0.0.1", serve_port, timeout=30)


def post(body, secret=SECRET, raw=None):
    data = raw if raw is not None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    conn.request("POST", "/webhook", body=data, headers=headers)
    resp = conn.getresponse()
    return resp.status, resp.read()


uid = 1000
answered = {}  # (chat, text) -> the webhook's inline reply text, to compare with poll's


def ask(chat, text):
    """The inline reply to text from chat: (status, sendMessage params or None)."""
    global uid
    uid += 1
    status, body = post(update(uid, chat, text))
    m = json.loads(body) if body else None
    if m:
        answered.setdefault((chat, text), m.get("text"))
    return status, m


def expect_reply(what, chat, text, want):
    status, m = ask(chat, text)
    good = (status == 200 and m is not None and m.get("method") == "sendMessage"
            and m.get("chat_id") == chat and m.get("parse_mode") == "HTML"
            and m.get("text") == want)
    check(what, good, f"status {status}", "got:", (m or {}).get("text"), "want:", want)
    return m


# Commands naming a bot: without TELEGRAM_BOT_USERNAME the server learns its name with getMe,
# once, and ignores another bot's.
fake_post("/_reset", {})
status, m = ask(-100200300, "/trigger@other_bot")
check("/trigger@other_bot in a group: ignored (200, no reply)", status == 200 and m is None, m)
expect_reply("/help@screener_fake_bot: answered", -100200300, "/help@screener_fake_bot",
             ask(-100200300, "/help")[1]["text"])
status, m = ask(-100200300, "/stats@Other_Bot")
check("... another bot's again: ignored", status == 200 and m is None, m)
getme = [json.loads(x) for x in open(T + "/calls.jsonl") if '"getMe"' in x]
check("... the name asked with getMe once, when the server started", len(getme) == 1
      and not calls("getMe"), getme)

inline = {}
SYM = rows[0]["symbol"]
inline["/screen 3"] = expect_reply("/screen 3: the 3 worst drawdowns, exactly as stored",
                                   STRANGER, "/screen 3", expect_screen(3))
inline["/screen"] = expect_reply("/screen: 10 by default", STRANGER, "/screen", expect_screen(10))
inline["/drops 5"] = expect_reply("/drops 5: the worst one-day changes", STRANGER, "/drops 5",
                                  expect_drops(5))
inline["/stock"] = expect_reply(f"/stock {SYM.lower()}: details and a 60-close sparkline",
                                STRANGER, "/stock " + SYM.lower(), expect_stock(SYM))
expect_reply("/stock NOPE: not in the screen", STRANGER, "/stock NOPE",
             f"<b>NOPE</b> is not in the screen of {DATE}: the universe does not have it, or "
             "it has no data.")
expect_reply("/screen 500: usage", STRANGER, "/screen 500",
             "Usage: /screen [N], N from 1 to 100 (default 10).")
expect_reply("an unknown command: a helpful answer", STRANGER, "/foo",
             "Unknown command /foo. Send /help to see what I can do.")
expect_reply("plain text in a private chat: a pointer to /help", STRANGER, "hello",
             "I answer commands. Send /help to see them.")
m = expect_reply("/history 1: a day of top candidates, returns to the latest day",
                 STRANGER, "/history 1",
                 ("<b>Top candidates, last 1 day</b> · returns to " + DATE + "\n<pre>" + DATE +
                  "\n  # Symbol       Then      Now   Since\n" +
                  "".join(f"{int(r['rank']):3d} {r['symbol']:<8} {float(r['close']):9.2f} "
                          f"{float(r['close']):8.2f}   +0.0%\n" for r in rows[:10]) +
                  "Average +0.0% over 10\n</pre>"))
# Past picks from day one: after the first collection (a year's backfill) the history has
# every stored date with candidates, so /history shows as many days as asked for.
hist_dates = sorted({r["date"] for r in csv.DictReader(open(STORE + "/results/top_candidates.csv"))})
check("the first collection leaves a history of every stored date, not one",
      len(hist_dates) > 100, len(hist_dates))
for n_days in (2, 5):
    status, m = ask(STRANGER, f"/history {n_days}")
    text = (m or {}).get("text", "")
    shown = re.findall(r"<pre>(\d{4}-\d{2}-\d{2})\n", text)
    check(f"/history {n_days}: the {n_days} newest dates of the history",
          status == 200 and f"last {n_days} days</b>" in text and shown == hist_dates[-n_days:],
          (shown, text[:300]))
status, m = ask(STRANGER, "/backtest")
answered.pop((STRANGER, "/backtest"), None)  # a later collection (/trigger) refreshes it
text = (m or {}).get("text", "")
bt = json.load(open(STORE + "/results/backtest/summary.json"))
check("/backtest: the stored default backtest, its period, against the universe, a sparkline",
      status == 200 and text.startswith(f"<b>Backtest</b> · {bt['start']} to {bt['end']}")
      and "not real trades" in text and "Universe" in text and "Strategy " in text
      and any(ch in text for ch in "▁▂▃▄▅▆▇█"), text)
status, m = ask(STRANGER, "/download")
text = (m or {}).get("text", "")
check("/download: the six files of the local store, by path",
      status == 200 and all(f"<code>{os.path.realpath(STORE)}/results/{f}</code>" in text
                            for f in ["screen/latest.csv", "top_candidates.csv", "bars-1y.csv",
                                      "backtest/summary.csv", "backtest/equity.csv",
                                      "backtest/trades.csv"]),
      text)
status, m = ask(STRANGER, "/help")
text = (m or {}).get("text", "")
check("/help lists the public commands, not the privileged ones",
      "/screen [N] — Worst 180-day drawdowns" in text and "/trigger" not in text, text)
status, m = ask(ALLOWED, "/help")
check("... and an allowed chat also sees /trigger and /stats",
      "/trigger — Start a collection now" in (m or {}).get("text", ""))

# Privileged commands from a stranger: refused, nothing started.
for cmd in ["/trigger", "/stats", "/portfolio", "/account", "/monitor"]:
    expect_reply(f"{cmd} from a chat not on the allow list: refused", STRANGER, cmd,
                 f"{cmd} is only for the operator's chats. To allow this one, add {STRANGER} "
                 "to TELEGRAM_ALLOWED_CHATS.")
status, m = ask(ALLOWED, "/stats")
text = (m or {}).get("text", "")
run_rec = json.load(open(STORE + "/results/last_run.json"))
check("/stats from an allowed chat: the last run's numbers and freshness",
      f"Data to   {DATE} (current)" in text and f"Symbols   {run_rec['symbols']} " in text
      and "Status    complete" in text, text)

# A reply of several messages: all but the last through the Bot API, in order, the last
# inline (Telegram sends it after the response, so the order holds); each valid and short.
before = len(calls("sendMessage"))
status, body = post(update(5000, ALLOWED, "/screen 100"))
sent = calls("sendMessage")[before:]
last = json.loads(body) if body else {}
texts = [c["params"]["text"] for c in sent] + [last.get("text", "")]
joined = "".join(texts)
check("/screen 100: 200 with the last message inline; the Bot API got the ones before",
      status == 200 and last.get("method") == "sendMessage" and last.get("chat_id") == ALLOWED
      and len(sent) >= 1, status, body[:200], len(sent))
check("... each accepted by the fake's HTML and length checks, to the right chat",
      all(c["status"] == 200 and str(c["params"]["chat_id"]) == str(ALLOWED) for c in sent),
      [c["status"] for c in sent])
check("... together holding the 100 rows, in rank order",
      [line.split()[1] for line in joined.splitlines() if line[:3].strip().isdigit()]
      == [r["symbol"] for r in rows[:100]])

# ---- webhook security ----
before = len(calls())
for secret, what in [(None, "missing"), ("wrong", "wrong"), (SECRET[:-1], "truncated"),
                     (SECRET + "x", "longer")]:
    status, body = post(update(6000, ALLOWED, "/trigger"), secret=secret)
    check(f"{what} secret: 401", status == 401, status, body)


def big_post(size):
    """Declare a body over the cap, send what the server takes, read its answer."""
    import socket
    s = socket.create_connection(("127.0.0.1", serve_port), timeout=10)
    s.sendall(b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"X-Telegram-Bot-Api-Secret-Token: " + SECRET.encode() +
              b"\r\nContent-Length: " + str(size).encode() + b"\r\n\r\n")
    try:
        s.sendall(b"x" * 65536)
    except OSError:
        pass
    try:
        data = s.recv(4096)
    except OSError:
        data = b""
    s.close()
    return int(data.split()[1]) if data.startswith(b"HTTP/1.1") else 0


status = big_post(2 << 20)
check("a 2 MiB body: 413", status == 413, status)
conn.close()
conn = http.client.HTTPConnection("127.0.0.1", serve_port, timeout=30)
check("... and none of them reached the Bot API", len(calls()) == before)
for path, method, want in [("/healthz", "GET", 200), ("/webhook", "GET", 405),
                           ("/other", "POST", 404)]:
    conn.request(method, path)
    resp = conn.getresponse()
    resp.read()
    check(f"{method} {path}: {want}", resp.status == want, resp.status)

# ---- 10,000 malformed, mutated and hostile bodies ----
rng = random.Random(int(os.environ.get("TEST_SEED", "12345")))
valid = [json.dumps(update(9, STRANGER, t)).encode()
         for t in ["/screen 3", "/stock " + SYM, "/drops", "/help", "hi"]]
kinds = ["edited_message", "channel_post", "callback_query", "my_chat_member", "poll"]


def hostile(i):
    k = i % 8
    if k == 0:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300)))
    v = bytearray(rng.choice(valid))
    if k == 1:
        for _ in range(rng.randint(1, 6)):
            v[rng.randrange(len(v))] = rng.getrandbits(8)
        return bytes(v)
    if k == 2:
        return bytes(v[:rng.randrange(len(v))])
    if k == 3:
        return json.dumps(update(100000 + i, STRANGER, "/stock " + "A" * rng.randint(1, 30000))).encode()
    if k == 4:
        return json.dumps({"update_id": 200000 + i, rng.choice(kinds): {"text": "/screen"}}).encode()
    if k == 5:
        d = rng.randint(1, 3000)
        return b'{"update_id":1,"message":' + b"[" * d + b"]" * d + b"}"
    if k == 6:
        u = update(300000 + i, STRANGER, "/screen")
        u["message"][rng.choice(["chat", "message_id", "text", "date"])] = rng.choice(
            [None, "x", 1.5, [], {}, -1, 2**63])
        return json.dumps(u).encode()
    return json.dumps(update(400000 + i, rng.choice([STRANGER, -5]), "\u00e9\u2603\U0001F4C9" *
                             rng.randint(1, 2000))).encode()


statuses = {}
t0 = time.time()
for i in range(10000):
    status, _ = post(None, raw=hostile(i))
    statuses[status] = statuses.get(status, 0) + 1
elapsed = time.time() - t0
check("10,000 hostile bodies: every one answered 200 (never a redelivery loop)",
      statuses == {200: 10000}, statuses)
conn.request("GET", "/healthz")
resp = conn.getresponse()
resp.read()
check("... and the server is still up", resp.status == 200 and serve.poll() is None)
print(f"# 10,000 hostile webhook bodies in {elapsed:.1f} s")

# ---- subscriptions, then the daily push after a collection ----
for chat in [ALLOWED, 43, 44]:
    status, m = ask(chat, "/subscribe")
    check(f"/subscribe from {chat}", (m or {}).get("text", "").startswith("Subscribed"))
expect_reply("/subscribe again: already", 44, "/subscribe", "You are already subscribed.")
subs = open(STORE + "/bot/subscribers.csv").read()
check("subscribers are stored", subs == "chat_id,since\n42,%s\n43,%s\n44,%s\n" % (
    (subs.split("\n")[1].split(",")[1],) * 3), subs)

conn.close()
rc = stop(serve)
check("serve stops on SIGTERM (exit 0)", rc == 0, rc)
serve_err = open(T + "/serve.err").read()
check("no secret in serve's logs", TOKEN not in serve_err and SECRET not in serve_err
      and TOKEN.split(":")[1] not in serve_err)

fake_post("/_fault", {"method": "sendMessage", "chat_id": 43, "status": 403,
                      "description": "Forbidden: bot was blocked by the user", "count": -1})
fake_post("/_fault", {"method": "sendMessage", "chat_id": 44, "status": 429, "retry_after": 1,
                      "count": 1})
before = len(calls())
r = run([BIN, "collect", "--no-progress"], bot_env)
pushed = [c for c in calls()[before:] if c["method"] == "sendMessage"]
check("a collection pushes the top 10 to the subscribers", r.returncode == 0 and
      sorted({str(c["params"]["chat_id"]) for c in pushed}) == ["42", "43", "44"],
      r.stderr[-1500:], pushed)
want = expect_screen(10).replace(
    "\nDrawdown: close vs the highest high of the last 180 days; Days: trading days since that "
    "peak. /stock SYMBOL for details.", "\nDrawdown: close vs the highest high of the last 180 "
    "days; Days: trading days since that peak. /stock SYMBOL for details.\n/unsubscribe stops "
    "the daily push.")
got42 = [c for c in pushed if str(c["params"]["chat_id"]) == "42"]
check("... the message is the screen's top 10", len(got42) == 1 and got42[0]["params"]["text"] == want,
      got42[0]["params"]["text"] if got42 else None, want)
at44 = [c for c in pushed if str(c["params"]["chat_id"]) == "44"]
check("... a 429 is retried after the retry_after Telegram named",
      len(at44) == 2 and at44[0]["status"] == 429 and at44[1]["status"] == 200
      and at44[1]["t_ms"] - at44[0]["t_ms"] >= 1000, at44)
subs = open(STORE + "/bot/subscribers.csv").read()
check("... the chat that blocked the bot (403) is unsubscribed",
      "\n43," not in subs and "\n42," in subs and "\n44," in subs, subs)
check("... and the summary says so", '"unsubscribed":1' in r.stderr and '"sent":2' in r.stderr,
      r.stderr[-1500:])
before = len(calls())
r = run([BIN, "collect", "--no-progress"], bot_env)
check("a second collection the same day pushes nothing again",
      r.returncode == 0 and not [c for c in calls()[before:] if c["method"] == "sendMessage"]
      and '"already_pushed":true' in r.stderr, r.stderr[-1500:])
check("no secret in the collector's logs", TOKEN not in r.stderr)

# ---- poll: getUpdates, the same answers, offsets that lose and repeat nothing ----
fake_post("/_reset", {})
script = [update(1, STRANGER, "/screen 3"), update(2, STRANGER, "/stock " + SYM),
          update(3, STRANGER, "/trigger"), update(4, STRANGER, "/screen", "edited_message"),
          {"update_id": 5, "message": {"message_id": 5, "chat": {"id": STRANGER, "type": "private"},
                                       "date": 1, "sticker": {"file_id": "x"}}},
          update(6, ALLOWED, "/drops 5")]
fake_post("/_updates", script)
fake_post("/_fault", {"method": "sendMessage", "status": 429, "retry_after": 1, "count": 1})
r = run([BIN, "poll", "--once"], bot_env)
check("poll --once answers the 5 waiting updates it asks for (allowed_updates leaves out the "
      "edited message)", r.returncode == 0 and "Answered 5 updates." in r.stdout, r.stdout,
      r.stderr[-1500:])
sent = [c for c in calls("sendMessage") if c["status"] == 200]
check("... 4 replies: none to the edited message or the sticker", len(sent) == 4,
      [c["params"].get("text", "")[:40] for c in sent])
by_text = [c["params"]["text"] for c in sent]
check("... the same texts the webhook answered inline",
      by_text[0] == inline["/screen 3"]["text"] and by_text[1] == inline["/stock"]["text"]
      and by_text[3] == inline["/drops 5"]["text"], by_text)
check("... /trigger refused for the stranger", by_text[2].startswith("/trigger is only"))
first = [c for c in calls("sendMessage")][:2]
check("... a 429 waited retry_after before the retry",
      first[0]["status"] == 429 and first[1]["t_ms"] - first[0]["t_ms"] >= 1000, first)
gets = calls("getUpdates")
check("... and the last getUpdates confirmed them (offset 7)",
      str(gets[-1]["params"].get("offset")) == "7", [g["params"] for g in gets])
r = run([BIN, "poll", "--once"], bot_env)
check("a second poll --once finds nothing to answer", r.returncode == 0 and
      "Answered 0 updates." in r.stdout, r.stdout, r.stderr[-800:])

# Every command through poll: the messages sent are the webhook's answers, byte for byte.
fake_post("/_reset", {})
same = [k for k in answered if not k[1].startswith(("/subscribe", "/stats", "/trigger"))
        or k[0] == STRANGER]
script = [update(100 + i, chat, text) for i, (chat, text) in enumerate(same)]
script += [update(500, 77, "/subscribe"), update(501, 77, "/unsubscribe"),
           update(502, ALLOWED, "/stats"), update(503, ALLOWED, "/screen 100")]
fake_post("/_updates", script)
r = run([BIN, "poll", "--once"], bot_env)
sent = [c for c in calls("sendMessage") if c["status"] == 200]
texts = [c["params"]["text"] for c in sent]
check(f"poll answers all {len(script)} commands", r.returncode == 0 and
      f"Answered {len(script)} updates." in r.stdout, r.stdout, r.stderr[-800:])
diff = [(k, t) for k, t in zip(same, texts) if answered[k] != t]
check(f"... the {len(same)} answered by the webhook too get exactly the same texts "
      "(/start /help /screen /drops /stock /history /download, usage, unknown, refusals)",
      not diff and len(texts) >= len(same), diff[:3])
rest = texts[len(same):]
check("... /subscribe and /unsubscribe from a new chat", rest[:2] == [
    "Subscribed: you will get the top 10 after each daily collection. /unsubscribe stops it.",
    "Unsubscribed: no more daily push."], rest[:2])
check("... /stats for an allowed chat", len(rest) > 2 and
      rest[2].startswith("<b>Last collection</b>") and "(current)" in rest[2], rest[2:3])
check("... /screen 100 as several messages, in order, all accepted",
      len(rest) >= 5 and "".join(rest[3:]).count("\n") >= 100 and
      all(str(c["params"]["chat_id"]) == str(ALLOWED) for c in sent[len(same) + 3:]), rest[3:])

# ---- bot setup / info / delete-webhook, and poll while a webhook is set ----
fake_post("/_reset", {})
r = run([BIN, "bot", "setup", "--webhook-url", "https://bot.example.com/webhook"], bot_env)
check("bot setup: exit 0", r.returncode == 0, r.stdout, r.stderr)
cmds = calls("setMyCommands")
names = [c["command"] for c in cmds[0]["params"]["commands"]] if cmds else []
check("... setMyCommands with the command list", cmds and cmds[0]["status"] == 200 and
      names[:3] == ["screen", "drops", "stock"] and "trigger" in names and "start" not in names,
      cmds)
hook = calls("setWebhook")
p = hook[0]["params"] if hook else {}
check("... setWebhook with the URL, the secret token and message updates only",
      hook and hook[0]["status"] == 200 and p.get("url") == "https://bot.example.com/webhook"
      and p.get("secret_token") == SECRET and p.get("allowed_updates") == ["message"], p)
check("... and the secret is not printed", SECRET not in r.stdout + r.stderr)
r = run([BIN, "bot", "info"], bot_env)
check("bot info shows the webhook", r.returncode == 0 and "https://bot.example.com/webhook"
      in r.stdout, r.stdout, r.stderr)
r = run([BIN, "poll", "--once"], bot_env)
check("poll while a webhook is set: exit 7, saying to use --delete-webhook",
      r.returncode == 7 and "--delete-webhook" in r.stderr, r.returncode, r.stderr[-600:])
r = run([BIN, "poll", "--once", "--delete-webhook"], bot_env)
check("poll --delete-webhook: removes it and polls", r.returncode == 0, r.stderr[-600:])
# Another program polls with the same token: Telegram ends the waiting getUpdates with a 409
# too, but the cure is not --delete-webhook.
other = subprocess.Popen([BIN, "poll", "--timeout", "20"], env=bot_env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
t_end = time.time() + 30
while other.poll() is None and time.time() < t_end:
    urllib.request.urlopen(f"{FAKE_URL}/bot{TOKEN}/getUpdates?timeout=0", timeout=10).read()
    time.sleep(0.2)
if other.poll() is None:
    other.kill()
out, err = other.communicate()
check("poll ended by another poller: exit 4, saying another program polls, not the webhook",
      other.returncode == 4 and "another program is polling" in err and
      "--delete-webhook" not in err, other.returncode, err[-600:])
r = run([BIN, "bot", "setup"], bot_env)
check("bot setup without --webhook-url: usage error", r.returncode == 2, r.stderr)
r = run([BIN, "bot", "setup", "--webhook-url", "http://insecure/webhook"], bot_env)
check("bot setup with an http:// URL: refused", r.returncode == 2 and "https" in r.stderr,
      r.stderr)
e = dict(bot_env)
del e["TELEGRAM_BOT_TOKEN"]
r = run([BIN, "poll", "--once"], e)
check("poll without a token: exit 7 naming TELEGRAM_BOT_TOKEN", r.returncode == 7 and
      "TELEGRAM_BOT_TOKEN" in r.stderr, r.stderr)
e = dict(bot_env)
del e["TELEGRAM_WEBHOOK_SECRET"]
r = run([BIN, "serve", "--port", "0"], e, timeout=10)
check("serve without a webhook secret refuses to start (exit 7)", r.returncode == 7 and
      "TELEGRAM_WEBHOOK_SECRET" in r.stderr, r.stderr)
e = dict(bot_env, TELEGRAM_BOT_TOKEN="not a token")
r = run([BIN, "poll", "--once"], e)
check("a malformed token: exit 7, the token not echoed", r.returncode == 7 and
      "malformed" in r.stderr and "not a token" not in r.stderr, r.stderr)
e = dict(bot_env, TELEGRAM_ALLOWED_CHATS="42,abc")
r = run([BIN, "serve", "--port", "0"], e, timeout=10)
check("a bad TELEGRAM_ALLOWED_CHATS is named", r.returncode == 2 and "'abc'" in r.stderr,
      r.stderr)

# ---- serve under load: slow clients, unauthenticated bodies, one chat's flood wait ----
import socket  # noqa: E402
import threading  # noqa: E402

serve3, port3 = start("serve3", [BIN, "serve", "--port", "0", "--max-per-address", "16",
                                 "--timeout", "30"], bot_env)


def rss_kb(p):
    for line in open(f"/proc/{p.pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def raw(src, data, read=True):
    s = socket.socket()
    s.settimeout(20)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port3))
    s.sendall(data)
    if not read:
        return s
    out = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except OSError:
        pass
    s.close()
    return out


slow = [raw("127.0.0.1", b"POST /webhook HTTP/1.1\r\nHost: a\r\n", read=False)
        for _ in range(1100)]
hz = raw("127.0.0.2", b"GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
check("1,100 slow connections from one address: /healthz from another still answers",
      hz.startswith(b"HTTP/1.1 200") and b'{"ok":true}' in hz, hz[:200])
for c in slow:
    c.close()
before_kb = rss_kb(serve3)
head = (b"POST /webhook HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1048576\r\n\r\n")
answers = []
for i in range(300):
    c = raw("127.0.0.%d" % (3 + i % 200), head, read=False)
    try:
        c.sendall(b"x" * 65536)
    except OSError:
        pass
    try:
        answers.append(c.recv(200))
    except OSError:
        answers.append(b"")
    c.close()
grown_kb = rss_kb(serve3) - before_kb
check("300 unauthenticated 1 MiB bodies: each refused with 401 before its body",
      all(a.startswith(b"HTTP/1.1 401") for a in answers), [a[:40] for a in answers[:3]])
check("... and the server did not grow for them (under 32 MiB)", grown_kb < 32 * 1024,
      f"{grown_kb} KiB")

# A chat whose reply waits for Telegram's flood control does not hold up another's /help.
fake_post("/_reset", {})
fake_post("/_fault", {"method": "sendMessage", "chat_id": ALLOWED, "status": 429,
                      "retry_after": 4, "count": 1})
c3 = http.client.HTTPConnection("127.0.0.1", port3, timeout=30)
done_a = []


def long_reply():
    conn_a = http.client.HTTPConnection("127.0.0.1", port3, timeout=30)
    conn_a.request("POST", "/webhook", body=json.dumps(update(7000, ALLOWED, "/screen 100")),
                   headers={"X-Telegram-Bot-Api-Secret-Token": SECRET,
                            "Content-Type": "application/json"})
    done_a.append(conn_a.getresponse().status)


ta = threading.Thread(target=long_reply)
ta.start()
for _ in range(200):  # until A's first send has met the 429
    if calls("sendMessage"):
        break
    time.sleep(0.02)
c3.request("POST", "/webhook", body=json.dumps(update(7001, STRANGER, "/help")),
           headers={"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"})
r3 = c3.getresponse()
help_body = r3.read()
check("/help answered while another chat's reply waits out a 429 (no lock held across it)",
      r3.status == 200 and b"Commands" in help_body and not done_a, r3.status, done_a)
ta.join()
check("... and that reply then goes out", done_a == [200], done_a)
c3.close()
stop(serve3)

# ---- /trigger from an allowed chat runs a collection ----
serve, serve_port = start("serve2", [BIN, "serve", "--port", "0"], bot_env)
conn = http.client.HTTPConnection("127.0.0.1", serve_port, timeout=30)
before = json.load(open(STORE + "/results/last_run.json"))["finished_ms"]
expect_reply("/trigger from an allowed chat: started", ALLOWED, "/trigger",
             "Collection started. /stats shows how it went when it is done.")
for _ in range(300):
    if json.load(open(STORE + "/results/last_run.json"))["finished_ms"] != before:
        break
    time.sleep(0.1)
check("... and the collection ran (a new run record)",
      json.load(open(STORE + "/results/last_run.json"))["finished_ms"] != before)
conn.close()
stop(serve)

stop(fake)
record = open(T + "/calls.jsonl").read()
check("the token never appears in what the fake recorded", TOKEN not in record)
finish()
