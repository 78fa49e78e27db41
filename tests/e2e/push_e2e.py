"""push_e2e.py - the daily push is finished by the next invocation, and never sent twice.

The Lambda collector (`screener lambda`, the fake Runtime and Invoke APIs of build/fake-lambda)
runs a collection whose push cannot reach one chat (Telegram's flood control asks a wait that
does not fit): it queues itself {"action":"push"}, which sends to that chat only.  A chat that
never becomes reachable ends the chain (no invocation that reaches nobody starts another), and
`screener collect` goes on from an unfinished marker of the same date.  Deterministic: the
stops come from the fake's faults, not from timing.  Run by tests/e2e/push.sh.
"""
import json
import os
import time
import urllib.request

B = os.environ.get("BUILD", "build")
BIN, TG, LAMBDA, SIM = B + "/screener", B + "/fake-telegram", B + "/fake-lambda", B + "/alpaca-sim"
TOKEN = "5566778899:AAF-push_e2e_token_never_shown"
AWS_KEY, AWS_SECRET = "AKIDPUSHE2E", "push-e2e-secret-key"
CHATS = [101, 102, 103, 104, 105]
SLOW = 103  # its first message meets a flood wait that does not fit the invocation

from harness import check, finish, run, start, stop  # noqa: E402
import harness  # noqa: E402

T = harness.init("screener-push.")
STORE = T + "/store"

today = time.strftime("%Y-%m-%d", time.gmtime())
sim, sim_port = start("sim", [SIM, "--port", "0", "--symbols", "20", "--years", "1",
                              "--seed", "5", "--last-day", today])
SIM_URL = f"http://127.0.0.1:{sim_port}"
tg, tg_port = start("tg", [TG, "--port", "0", "--token", TOKEN])
TG_URL = f"http://127.0.0.1:{tg_port}"

env = dict(os.environ)
for k in list(env):
    if k.startswith(("TELEGRAM_", "APCA_", "AWS_", "SCREENER_")):
        del env[k]
env.update({"APCA_API_KEY_ID": "SIMKEY", "APCA_API_SECRET_KEY": "SIMSECRET",
            "APCA_API_DATA_URL": SIM_URL, "APCA_API_BASE_URL": SIM_URL,
            "SCREENER_UNIVERSE_URL": SIM_URL + "/iwb_holdings.csv", "SCREENER_SSM": "0",
            "SCREENER_PORTFOLIO": "0", "SCREENER_STORE": STORE, "SCREENER_LOG_FORMAT": "json",
            "AWS_SHARED_CREDENTIALS_FILE": T + "/none", "AWS_CONFIG_FILE": T + "/none"})
r = run([BIN, "universe", "fetch"], env)
check("a universe of the simulator's symbols", r.returncode == 0, r.stderr)
r = run([BIN, "collect", "--no-progress"], env)
check("a first collection (no bot yet)", r.returncode == 0, r.stderr[-1500:])
os.makedirs(STORE + "/bot", exist_ok=True)
with open(STORE + "/bot/subscribers.csv", "w") as f:
    f.write("chat_id,since\n" + "".join(f"{c},{today}\n" for c in CHATS))
DATE = open(STORE + "/results/screen/latest.csv").read().split("\n")[1].split(",")[0]
MARKER = f"{STORE}/bot/pushed/{DATE}"


def tg_calls():
    with urllib.request.urlopen(TG_URL + "/_calls", timeout=10) as f:
        return [c for c in json.load(f)["result"] if c["method"] == "sendMessage"]


def tg_post(path, body):
    req = urllib.request.Request(TG_URL + path, data=json.dumps(body).encode(), method="POST")
    urllib.request.urlopen(req, timeout=10).read()


def delivered(chat):
    return sum(1 for c in tg_calls()
               if str(c["params"]["chat_id"]) == str(chat) and c.get("status") == 200)


# With the queue empty the fake answers /next with a 500, which ends the runtime: each run below
# serves what was queued and every invocation that queued itself, then stops.
lam, lam_port = start("lambda", [LAMBDA, "--port", "0", "--aws-key-id", AWS_KEY,
                                 "--aws-secret", AWS_SECRET, "--when-empty", "500"])
LAMBDA_URL = f"http://127.0.0.1:{lam_port}"


def lambda_stats():
    with urllib.request.urlopen(LAMBDA_URL + "/__fake/stats", timeout=10) as f:
        return json.load(f)


def queue(event):
    req = urllib.request.Request(LAMBDA_URL + "/__fake/events", data=json.dumps(event).encode(),
                                 method="POST")
    urllib.request.urlopen(req, timeout=10).read()


lenv = dict(env)
lenv.update({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": TG_URL,
             "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{lam_port}", "_HANDLER": "collector",
             "AWS_LAMBDA_FUNCTION_NAME": "screener-collector",
             "AWS_ENDPOINT_URL_LAMBDA": LAMBDA_URL, "AWS_ACCESS_KEY_ID": AWS_KEY,
             "AWS_SECRET_ACCESS_KEY": AWS_SECRET, "AWS_REGION": "us-east-1"})


def runtime():
    return run([BIN, "lambda"], lenv, timeout=300)


# ---- the collector's push stops short; it queues itself a push that finishes it ----
tg_post("/_fault", {"method": "sendMessage", "chat_id": SLOW, "status": 429,
                    "retry_after": 3600, "count": 1})
queue({"action": "collect"})
r = runtime()
s = lambda_stats()
inv = s["invocations"]
body = [json.loads(i["body"]) if i.get("body", "").startswith("{") else {} for i in inv]
check("the collection is answered", len(inv) >= 1 and body[0].get("ok") is True,
      r.stderr[-1500:], inv[:1])
check("... and, its push short of one chat, it invoked itself asynchronously once",
      s["invokes"] == 1 and s["invoke_requests"][0]["function"] == "screener-collector"
      and s["invoke_requests"][0]["type"] == "Event", s["invoke_requests"])
check("... with an event that only resumes the push",
      len(inv) == 2 and json.loads(inv[1]["event"]) == {"action": "push", "attempt": 1},
      [i.get("event") for i in inv])
check("the queued invocation finished the push: the one chat left, nobody else",
      len(body) == 2 and body[1].get("push", {}).get("sent") == 1
      and body[1]["push"].get("left") == 0, body[1:])
check("every subscriber got the day's message exactly once",
      all(delivered(c) == 1 for c in CHATS), {c: delivered(c) for c in CHATS})
check("the day's marker says done", open(MARKER).read().rstrip("\n").endswith("done"),
      open(MARKER).read())

# ---- delivered twice (Lambda's asynchronous queue may): the second sends nothing ----
queue({"action": "push", "attempt": 1})
r = runtime()
s = lambda_stats()
last = json.loads(s["invocations"][-1]["body"])
check("the same push event again sends nothing and starts nothing",
      last.get("push", {}).get("already_pushed") is True and last["push"].get("sent") == 0
      and s["invokes"] == 1 and all(delivered(c) == 1 for c in CHATS), last, s["invokes"])

# ---- a chat Telegram never lets through: the chain ends ----
os.remove(MARKER)
tg_post("/_reset", {})
tg_post("/_fault", {"method": "sendMessage", "chat_id": SLOW, "status": 429,
                    "retry_after": 3600, "count": -1})
queue({"action": "push", "attempt": 1})
r = runtime()
s = lambda_stats()
bodies = [json.loads(i["body"]) for i in s["invocations"][-2:]]
check("a push that reaches nobody more starts no further invocation (bounded chain)",
      s["invokes"] == 2 and bodies[-1].get("push", {}).get("sent") == 0
      and bodies[-1]["push"].get("left") == 1 and "no progress" in r.stderr,
      s["invokes"], bodies, r.stderr[-1500:])
check("... and nobody got a message twice", all(delivered(c) <= 1 for c in CHATS),
      {c: delivered(c) for c in CHATS})
os.remove(MARKER)  # everyone to address again, the flood wait still on 103
queue({"action": "push", "attempt": 20})
r = runtime()
s = lambda_stats()
check("the 20th invocation of a chain starts no 21st",
      s["invokes"] == 2 and "too many invocations" in r.stderr, s["invokes"], r.stderr[-800:])
queue({"action": "push", "attempt": 21})
r = runtime()
s = lambda_stats()
check("an attempt past the bound is refused as an invalid event",
      s["invocations"][-1].get("error_type") == "Function.InvalidEvent", s["invocations"][-1])
stop(lam)

# ---- the CLI: `screener collect` goes on from an unfinished marker of the same date ----
tg_post("/_reset", {})
with open(MARKER, "w") as f:
    f.write(f"push {DATE}\n? 101 00000000000000aa\ns 101\n? 102 00000000000000aa\n")
cenv = dict(env)
cenv.update({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": TG_URL})
r = run([BIN, "collect", "--no-progress"], cenv)
got = {c: delivered(c) for c in CHATS}
check("screener collect resumes the day's unfinished push: only the chats not addressed",
      r.returncode == 0 and got == {101: 0, 102: 0, 103: 1, 104: 1, 105: 1}
      and '"resumed":true' in r.stderr, got, r.stderr[-1500:])
check("... and closes it", open(MARKER).read().rstrip("\n").endswith("done"), open(MARKER).read())
for p in ("lambda.err", "tg.err"):
    text = open(f"{T}/{p}").read()
    check(f"no secret in {p}", TOKEN not in text and AWS_SECRET not in text)
stop(tg)
stop(sim)
finish()
