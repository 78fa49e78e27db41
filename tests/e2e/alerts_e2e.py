"""alerts_e2e.py - each chat's alerts end to end: the real binary against the Alpaca simulator
(build/alpaca-sim) and the fake Bot API (build/fake-telegram).  Alerts are set through the
three transports (`screener serve`, `screener poll`, the Lambda bot handler via `screener
invoke`), then collections evaluate them: two collectors at once send each crossing once, a
rerun sends nothing, a chat that blocked the bot loses its alerts.  The expected message is
computed here from the stored screen.  Prints "ok N - what" / "not ok N - what".
Run by tests/e2e/alerts.sh.
"""
import base64
import csv
import http.client
import json
import math
import os
import subprocess
import time
import urllib.request

B = os.environ.get("BUILD", "build")
BIN, FAKE, SIM = B + "/screener", B + "/fake-telegram", B + "/alpaca-sim"
TOKEN = "5566778899:AAF-alerts_e2e_token_never_shown"
SECRET = "e2e-Alerts_secret-0123456789"

from harness import check, finish, run, start, stop  # noqa: E402
import harness  # noqa: E402

T = harness.init("screener-alerts.")
STORE = T + "/store"

today = time.strftime("%Y-%m-%d", time.gmtime())
sim, sim_port = start("sim", [SIM, "--port", "0", "--symbols", "120", "--years", "1",
                              "--seed", "5", "--last-day", today])
SIM_URL = f"http://127.0.0.1:{sim_port}"
fake, fake_port = start("fake", [FAKE, "--port", "0", "--token", TOKEN])
FAKE_URL = f"http://127.0.0.1:{fake_port}"

env = dict(os.environ)
for k in list(env):
    if k.startswith(("TELEGRAM_", "APCA_", "AWS_", "SCREENER_", "_HANDLER")):
        del env[k]
env.update({"APCA_API_KEY_ID": "SIMKEY", "APCA_API_SECRET_KEY": "SIMSECRET",
            "APCA_API_DATA_URL": SIM_URL, "APCA_API_BASE_URL": SIM_URL,
            "SCREENER_UNIVERSE_URL": SIM_URL + "/iwb_holdings.csv", "SCREENER_SSM": "0",
            "SCREENER_PORTFOLIO": "0", "SCREENER_STORE": STORE, "SCREENER_LOG_FORMAT": "json"})
r = run([BIN, "universe", "fetch"], env)
check("a universe of the simulator's symbols is stored", r.returncode == 0, r.stderr[-800:])
r = run([BIN, "collect", "--no-progress"], env)
check("a first collection (no bot configured) writes the results", r.returncode == 0
      and os.path.exists(STORE + "/results/screen/latest.csv"), r.stderr[-2000:])

bot_env = dict(env)
bot_env.update({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": SECRET,
                "TELEGRAM_API_URL": FAKE_URL})


def fake_get(path):
    with urllib.request.urlopen(FAKE_URL + path, timeout=10) as f:
        return json.load(f)["result"]


def fake_post(path, body):
    req = urllib.request.Request(FAKE_URL + path, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(req, timeout=10) as f:
        return json.load(f)


def sent():
    return [c for c in fake_get("/_calls") if c["method"] == "sendMessage"]


rows = list(csv.DictReader(open(STORE + "/results/screen/latest.csv")))
DATE = rows[0]["date"]
A = rows[0]  # the worst drawdown: an alert at its value (rounded toward zero) fires
dd = float(A["drawdown_pct"])
thr = math.ceil(dd * 100) / 100
check("the worst drawdown is deep enough to set an alert on", thr < 0, A)
THR = f"{thr:.2f}".rstrip("0").rstrip(".")
SYM, QUIET = A["symbol"], rows[-1]["symbol"]


def update(uid, chat, text):
    return {"update_id": uid, "message": {
        "message_id": uid, "from": {"id": chat, "is_bot": False, "first_name": "E2E"},
        "chat": {"id": chat, "type": "private"}, "date": 1767225600, "text": text}}


# ---- serve ----
serve, serve_port = start("serve", [BIN, "serve", "--port", "0"], bot_env)
conn = http.client.HTTPConnection("127.0.0.1", serve_port, timeout=30)
uid = 100


def ask(chat, text):
    global uid
    uid += 1
    conn.request("POST", "/webhook", body=json.dumps(update(uid, chat, text)).encode(),
                 headers={"Content-Type": "application/json",
                          "X-Telegram-Bot-Api-Secret-Token": SECRET})
    resp = conn.getresponse()
    body = resp.read()
    return json.loads(body).get("text", "") if body else ""


got = ask(42, f"/alert {SYM.lower()} {THR}")
check("serve: /alert SYMBOL PCT sets the alert", got.startswith(
    f"Alert set: <b>{SYM}</b> 180-day drawdown at or below {THR}%"), got)
got = ask(42, f"/alert {QUIET} drop -99")
check("serve: /alert SYMBOL drop PCT", got.startswith(
    f"Alert set: <b>{QUIET}</b> one-day change at or below -99%"), got)
check("serve: a positive threshold is refused with an example",
      ask(42, f"/alert {SYM} 30") == f"'30' is not below zero: an alert fires on a fall; e.g. "
      "/alert AAPL -30 (180-day drawdown at or below -30%) or /alert AAPL drop -5 (one-day change "
      "at or below -5%).")
check("serve: an unknown symbol is refused", ask(42, "/alert ZZZZZ -30").startswith(
    f"<b>ZZZZZ</b> is not in the screen of {DATE}"))
check("serve: malformed arguments get the usage", ask(42, "/alert").startswith(
    "Usage: /alert SYMBOL PCT or /alert SYMBOL drop PCT, e.g. /alert AAPL -30"))
got = ask(45, f"/alert {SYM} {THR}")
check("serve: another chat sets the same alert", got.startswith("Alert set"), got)
check("serve: /help lists the alert commands", all(
    s in ask(7, "/help") for s in ["/alert SYMBOL [drop] PCT", "/alerts —", "/unalert SYMBOL|all"]))
conn.close()
stop(serve)

# ---- poll ----
fake_post("/_updates", [update(500, 43, f"/alert {SYM} {THR}")])
before = len(sent())
r = run([BIN, "poll", "--once"], bot_env)
replies = sent()[before:]
check("poll: /alert sets the alert", r.returncode == 0 and len(replies) == 1
      and replies[0]["params"]["text"].startswith(f"Alert set: <b>{SYM}</b>"),
      r.stderr[-800:], replies)

# ---- the Lambda bot handler ----
body = base64.b64encode(json.dumps(update(900, 44, f"/alert {SYM} {THR}")).encode()).decode()
event = {"version": "2.0", "routeKey": "POST /webhook", "rawPath": "/webhook",
         "rawQueryString": "", "headers": {"content-type": "application/json",
                                           "x-telegram-bot-api-secret-token": SECRET},
         "requestContext": {"http": {"method": "POST", "path": "/webhook"},
                            "requestId": "e2e", "timeEpoch": 1767225600123},
         "body": body, "isBase64Encoded": True}
open(T + "/ev.json", "w").write(json.dumps(event))
r = run([BIN, "invoke", "--event", T + "/ev.json", "--handler", "bot"], bot_env)
try:
    text = json.loads(json.loads(r.stdout)["body"])["text"]
except (ValueError, KeyError, TypeError):
    text = None
check("Lambda: /alert sets the alert", r.returncode == 0 and text is not None
      and text.startswith(f"Alert set: <b>{SYM}</b>"), r.stdout[-800:], r.stderr[-800:])
for chat in (42, 43, 44, 45):
    check(f"chat {chat}'s alerts are stored", os.path.exists(f"{STORE}/bot/alerts/{chat}.csv"))

# ---- two collectors at once, then a rerun ----
fake_post("/_fault", {"method": "sendMessage", "chat_id": 45, "status": 403,
                      "description": "Forbidden: bot was blocked by the user", "count": -1})
before = len(sent())
ps = [subprocess.Popen([BIN, "collect", "--no-progress"], env=bot_env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True) for _ in range(2)]
outs = [p.communicate(timeout=300) for p in ps]
check("two collectors at once both succeed", all(p.returncode == 0 for p in ps),
      *[o[1][-800:] for o in outs])
rows = list(csv.DictReader(open(STORE + "/results/screen/latest.csv")))
A = next(r for r in rows if r["symbol"] == SYM)
DATE = A["date"]
want = (f"<b>Alert</b> · <b>{SYM}</b> · {DATE}\nIts 180-day drawdown is "
        f"<b>{float(A['drawdown_pct']):+.1f}%</b>, at or below your threshold of {THR}%.\n"
        f"Close {float(A['close']):.2f} · peak {float(A['peak']):.2f} on {A['peak_date']} "
        f"(drawdown {float(A['drawdown_pct']):+.1f}%)\n/stock {SYM} for details. This alert comes "
        f"again once the 180-day drawdown is back above {THR}% and falls to it again; /unalert "
        f"{SYM} removes it.")
msgs = sent()[before:]
for chat in (42, 43, 44):
    mine = [c for c in msgs if str(c["params"]["chat_id"]) == str(chat)]
    check(f"chat {chat} gets its crossing once, as computed from the screen",
          len(mine) == 1 and mine[0]["status"] == 200 and mine[0]["params"]["text"] == want,
          mine, want)
check("... and nothing about the alert that did not cross",
      not [c for c in msgs if QUIET in c["params"]["text"]])
check("the chat that blocked the bot (403) has its alerts removed",
      open(f"{STORE}/bot/alerts/45.csv").read() == "symbol,kind,threshold,state,fired,checked\n"
      and len([c for c in msgs if str(c["params"]["chat_id"]) == "45"]) == 1, msgs)
summaries = [o[1] for o in outs]
check("the collectors log an alerts summary", all('"message":"alerts"' in s for s in summaries),
      *[s[-600:] for s in summaries])
check("no secret in the collectors' logs", all(TOKEN.split(":")[1] not in s for s in summaries))

before = len(sent())
r = run([BIN, "collect", "--no-progress"], bot_env)
check("a rerun of the same day sends no alert again",
      r.returncode == 0 and not sent()[before:], r.stderr[-800:], sent()[before:])

# ---- /alerts and /unalert after the crossing ----
serve, serve_port = start("serve2", [BIN, "serve", "--port", "0"], bot_env)
conn = http.client.HTTPConnection("127.0.0.1", serve_port, timeout=30)
got = ask(42, "/alerts")
check("/alerts shows the value and that it fired",
      f"{SYM:<8} drawdown" in got and f"fired {DATE}" in got and "armed" in got, got)
check("/unalert SYMBOL removes it", ask(42, f"/unalert {SYM}") == f"Removed your alert on <b>{SYM}</b>.")
check("/unalert all removes the rest", ask(42, "/unalert all") == "Removed all your alerts (1).")
check("/alerts: none left", ask(42, "/alerts").startswith("You have no alerts."))
conn.close()
stop(serve)
finish()
