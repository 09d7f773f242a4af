#!/usr/bin/python3
"""fd_exhaustion.py XTRADING LIMIT CLIENTS: a diagnostic, not a benchmark. Starts
`xtrading serve` under an open-file limit of LIMIT (soft = hard), connects CLIENTS
order-entry clients that stay, and prints one JSON line: the gateway thread's CPU over
2 s, the server's open descriptors, and what each client had received 2.5-3 s after
connecting (HELLO, ERROR TOO_MANY_CONNECTIONS, or nothing: still in the listen backlog).
bench/RESULTS.md, "Out of file descriptors"."""
import glob
import json
import os
import re
import resource
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time

xt, limit, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
d = tempfile.mkdtemp()


def lim():
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))


def ticks(pid):
    """CPU ticks per thread: the main thread (the gateway) as "gateway"."""
    out = {}
    for t in glob.glob(f"/proc/{pid}/task/*"):
        st = open(t + "/stat").read().split(")")[-1].split()
        name = "gateway" if t.endswith("/" + str(pid)) else open(t + "/comm").read().strip()
        out[name] = int(st[11]) + int(st[12])
    return out


p = subprocess.Popen([xt, "serve", "--data", d + "/d", "--listen", "127.0.0.1:0", "--md-listen", "127.0.0.1:0",
                      "--md-tcp-listen", "off"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, preexec_fn=lim)
port = None
for line in p.stdout:
    m = re.search(rb"ready: order entry on 127\.0\.0\.1:(\d+)", line)
    if m:
        port = int(m.group(1))
        break
socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
time.sleep(0.5)
a = ticks(p.pid)
time.sleep(2)
b = ticks(p.pid)
fds = len(os.listdir(f"/proc/{p.pid}/fd"))
first = {}  # socket -> the type of its first frame, within 0.5 s
end = time.monotonic() + 0.5
for s in socks:
    s.setblocking(False)
while time.monotonic() < end and len(first) < n:
    r, _, _ = select.select([s for s in socks if s not in first], [], [], 0.05)
    for s in r:
        x = s.recv(100)
        first[s] = {0x81: "HELLO", 0x86: "ERROR"}.get(x[2], hex(x[2])) if len(x) > 2 else "closed"
kinds = {}
for s in socks:
    k = first.get(s, "nothing yet (in the backlog)")
    kinds[k] = kinds.get(k, 0) + 1
print(json.dumps({"limit": limit, "clients": n, "gateway_cpu_pct": (b["gateway"] - a["gateway"]) / 2,
                  "server_fds": fds, "answers": kinds}))
p.kill()
p.wait()
shutil.rmtree(d)
