"""harness.py - what the Python end-to-end drivers share: TAP-like "ok N - what" lines, a
temporary directory, servers started and always stopped, commands run with a timeout."""
import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

n = 0
failures = 0
T = None  # the run's temporary directory, made by init()
procs = []


def init(prefix):
    """Make the temporary directory; every server started is killed at exit, whatever happens."""
    global T
    T = tempfile.mkdtemp(prefix=prefix, dir=os.environ.get("TMPDIR", "/tmp"))
    atexit.register(_cleanup)
    return T


def _cleanup():
    for p in procs:
        if p.poll() is None:
            p.kill()


def ok(what):
    global n
    n += 1
    print(f"ok {n} - {what}", flush=True)


def nok(what, *detail):
    global n, failures
    n += 1
    failures += 1
    print(f"not ok {n} - {what}", flush=True)
    for d in detail:
        for line in str(d).splitlines()[:40]:
            print(f"#   {line}")


def check(what, cond, *detail):
    (ok if cond else nok)(what, *([] if cond else detail))


def start(name, args, env=None):
    """Start a server that prints its 127.0.0.1:PORT on stdout; return (process, port)."""
    out = open(f"{T}/{name}.out", "w")
    err = open(f"{T}/{name}.err", "w")
    p = subprocess.Popen(args, stdout=out, stderr=err, env=env)
    procs.append(p)
    for _ in range(400):
        text = open(f"{T}/{name}.out").read()
        if "127.0.0.1:" in text:
            port = int(text.split("127.0.0.1:")[1].split()[0].strip(" ()"))
            return p, port
        if p.poll() is not None:
            break
        time.sleep(0.025)
    nok(f"{name} did not start", open(f"{T}/{name}.err").read())
    finish()


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return p.returncode


def finish():
    _cleanup()
    shutil.rmtree(T, ignore_errors=True)
    sys.exit(1 if failures else 0)


def run(args, env, timeout=120):
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)
