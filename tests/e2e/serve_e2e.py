"""serve_e2e.py - `screener serve` never holds a lock across a network call.

The store is on the fake S3 (build/fake-s3), which can hold every GET of one object until it
is told to let them go (/__fake/hold, /__fake/release).  While one chat's /screen waits there
for results/screen/latest.csv, another chat's /help must be answered and a third chat's
/screen must reach S3 too: the order is checked through the fake's count of held requests,
never by timing.  Run by tests/e2e/serve.sh.
"""
import http.client
import json
import os
import threading
import time
import urllib.request

B = os.environ.get("BUILD", "build")
BIN, FAKE_S3 = B + "/screener", B + "/fake-s3"
SECRET = "e2e-Serve_secret-0123456789abc"
KEY_ID = "AKIDSERVEE2EEXAMPLE"
S3_SECRET = "serveE2e/Secret+Key/0123456789abcdefEXAMPLE"
BUCKET = "serve-bucket"
LATEST = f"{BUCKET}/demo/results/screen/latest.csv"

from harness import check, finish, run, start, stop  # noqa: E402
import harness  # noqa: E402

T = harness.init("screener-serve.")

env = dict(os.environ)
for k in list(env):
    if k.startswith(("TELEGRAM_", "APCA_", "AWS_", "SCREENER_")):
        del env[k]
env.update({"FAKE_SECRET": S3_SECRET, "SCREENER_SSM": "0", "SCREENER_LOG_FORMAT": "json",
            "AWS_SHARED_CREDENTIALS_FILE": T + "/none", "AWS_CONFIG_FILE": T + "/none"})
s3, s3_port = start("s3", [FAKE_S3, "--port", "0", "--bucket", BUCKET, "--key-id", KEY_ID,
                           "--secret-env", "FAKE_SECRET"], env)
S3_URL = f"http://127.0.0.1:{s3_port}"
env.update({"AWS_ENDPOINT_URL_S3": S3_URL, "AWS_ACCESS_KEY_ID": KEY_ID,
            "AWS_SECRET_ACCESS_KEY": S3_SECRET, "AWS_REGION": "us-east-1"})
STORE = f"s3://{BUCKET}/demo"
r = run([BIN, "demo", "--store", STORE, "--symbols", "20", "--years", "1"], env, timeout=300)
check("a demo store on the fake S3", r.returncode == 0, r.stderr[-2000:])


def control(path):
    req = urllib.request.Request(S3_URL + path, data=b"", method="POST")
    return json.load(urllib.request.urlopen(req, timeout=10))


def held():
    return json.load(urllib.request.urlopen(S3_URL + "/__fake/stats", timeout=10))["held"]


def wait_held(n):
    """Until n GETs wait at the hold (the fake's count, polled; bounded)."""
    for _ in range(1000):
        if held() >= n:
            return True
        time.sleep(0.01)
    return False


serve_env = dict(env)
serve_env["TELEGRAM_WEBHOOK_SECRET"] = SECRET
serve, port = start("serve", [BIN, "serve", "--port", "0", "--store", STORE], serve_env)
uid = [100]


def ask(chat, text, timeout=30):
    uid[0] += 1
    upd = {"update_id": uid[0], "message": {"message_id": uid[0], "date": 1,
                                            "chat": {"id": chat, "type": "private"},
                                            "text": text}}
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request("POST", "/webhook", body=json.dumps(upd),
              headers={"X-Telegram-Bot-Api-Secret-Token": SECRET,
                       "Content-Type": "application/json"})
    resp = c.getresponse()
    body = resp.read()
    c.close()
    return resp.status, body


st, body = ask(1001, "/screen 3")
check("/screen answers from the store on S3", st == 200 and b"Worst 180-day drawdowns" in body,
      st, body[:300])

# One chat's read of the screen is held at S3.
control("/__fake/hold?key=" + LATEST)
answers = {}


def asker(name, chat, text):
    try:
        answers[name] = ask(chat, text, timeout=120)
    except Exception as e:  # noqa: BLE001
        answers[name] = (0, str(e).encode())


a = threading.Thread(target=asker, args=("a", 1001, "/screen 3"))
a.start()
check("chat A's /screen waits at S3 for the screen", wait_held(1), held())

# Another chat's /help: answered while A still waits (before: it waited for A's lock).
try:
    st, body = ask(1002, "/help", timeout=20)
except Exception as e:  # noqa: BLE001
    st, body = 0, str(e).encode()
check("chat B's /help is answered while chat A's store read is held",
      st == 200 and b"/screen" in body and "a" not in answers and held() == 1,
      st, body[:200], answers)

# A third chat's /screen reaches S3 too: store reads are not one at a time.
c = threading.Thread(target=asker, args=("c", 1003, "/drops 2"))
c.start()
check("chat C's /drops reads S3 while A's read is still held (2 held at once)", wait_held(2),
      held(), answers)
check("... and neither has been answered yet", not answers, answers)

control("/__fake/release")
a.join(150)
c.join(150)
check("once released, A's /screen is answered",
      answers.get("a", (0, b""))[0] == 200 and b"Worst 180-day drawdowns" in answers["a"][1],
      answers.get("a"))
check("... and C's /drops", answers.get("c", (0, b""))[0] == 200
      and b"Worst one-day drops" in answers["c"][1], answers.get("c"))

# A redelivered update is still answered once, whichever thread gets it.
dup = {"update_id": 9000, "message": {"message_id": 1, "date": 1,
                                      "chat": {"id": 1004, "type": "private"}, "text": "/help"}}
bodies = []
for _ in range(2):
    cx = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    cx.request("POST", "/webhook", body=json.dumps(dup),
               headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    bodies.append(cx.getresponse().read())
    cx.close()
check("a redelivered update is answered once", bodies[0] and not bodies[1], bodies)

rc = stop(serve)
check("serve stops on SIGTERM (exit 0)", rc == 0, rc)
err = open(T + "/serve.err").read()
check("no secret in serve's logs", SECRET not in err and S3_SECRET not in err)
stop(s3)
finish()
