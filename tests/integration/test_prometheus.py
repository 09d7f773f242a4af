#!/usr/bin/python3
"""Integration test of /metrics scraped by a real Prometheus server
(Debian's `prometheus` package; scripts/deps.sh test installs it): a
server, a Prometheus scraping its market-data port every second, a few
orders, then the series queried back through Prometheus' HTTP API
(/api/v1/query) and the target's health read from /api/v1/targets.

The `prometheus` binary must be on PATH: without it the test fails (it is
not skipped). Waits are polls for a condition with a deadline.

usage: test_prometheus.py path/to/xtrading [name-substring ...]
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_http as H  # noqa: E402
import test_md_ws as W  # noqa: E402
import test_server as TS  # noqa: E402
import xtclient as X  # noqa: E402

TESTS, test = TS.registry()
check = TS.check
LISTENING = re.compile(r'msg="Listening on" address=127\.0\.0\.1:(\d+)')


class Prometheus:
    """A prometheus process scraping 127.0.0.1:md_port/metrics every
    second, its storage in a temporary directory."""

    def __init__(self, md_port):
        exe = shutil.which("prometheus")
        check(exe is not None, "prometheus is not on PATH: install Debian's prometheus (scripts/deps.sh test)")
        self.tmp = tempfile.mkdtemp(prefix="xt-prometheus-test-")
        conf = os.path.join(self.tmp, "prometheus.yml")
        with open(conf, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: xtrading\n    scrape_interval: 1s\n    scrape_timeout: 1s\n"
                    f"    static_configs:\n      - targets: ['127.0.0.1:{md_port}']\n")
        self.logpath = os.path.join(self.tmp, "prometheus.log")
        # port 0: the kernel's choice, read back from the log (a port found
        # free and closed again could be taken before prometheus binds it)
        with open(self.logpath, "wb") as log:
            self.proc = subprocess.Popen(
                [exe, f"--config.file={conf}", f"--storage.tsdb.path={os.path.join(self.tmp, 'data')}",
                 "--web.listen-address=127.0.0.1:0", "--log.level=info"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        try:
            self.port = self.wait("listening", self.listening)
        except BaseException:
            self.stop()
            raise

    def listening(self):
        """The web port, once the log says where it listens; else None."""
        with open(self.logpath, errors="replace") as f:
            m = LISTENING.search(f.read())
        return m and int(m.group(1))

    def log(self):
        try:
            with open(self.logpath, errors="replace") as f:
                return f.read()[-1500:]
        except OSError:
            return ""

    def get(self, path):
        """(status, body bytes); (None, reason) when nothing answers."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()
        except (urllib.error.URLError, ConnectionError, socket.timeout) as e:
            return None, str(e).encode()

    def wait(self, what, pred, timeout=30):
        """Polls pred() until it returns something true; fails after timeout."""
        end = time.monotonic() + timeout
        while True:
            check(self.proc.poll() is None, f"prometheus exited ({self.proc.returncode}): {self.log()}")
            got = pred()
            if got:
                return got
            check(time.monotonic() < end, f"prometheus: still not {what} after {timeout}s\n{self.log()}")
            time.sleep(0.2)

    def api(self, path):
        st, body = self.get(path)
        if st != 200:
            return None
        j = json.loads(body)
        check(j.get("status") == "success", f"{path}: {j}")
        return j["data"]

    def query(self, expr):
        """The instant vector of expr: [(labels, float value)], or None."""
        d = self.api("/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        if d is None:
            return None
        check(d["resultType"] == "vector", f"{expr}: {d}")
        return [(r["metric"], float(r["value"][1])) for r in d["result"]]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not os.environ.get("XT_KEEP"):
            shutil.rmtree(self.tmp, ignore_errors=True)


@test
def test_scraped_by_prometheus():
    """Prometheus scrapes the market-data port; its target is up; after 3
    NEW_ORDERs, one trade and a cancel, xt_commands_total and
    xt_trades_total come back from /api/v1/query with those values, and
    the histograms' counts are there too."""
    s = W.start()
    p = Prometheus(s.md_port)
    try:
        p.wait("ready", lambda: p.get("/-/ready")[0] == 200)

        def target_up():
            d = p.api("/api/v1/targets?state=active")
            ts = d and [t for t in d["activeTargets"] if t["labels"].get("job") == "xtrading"]
            return ts and ts[0]["health"] == "up" and ts[0]
        t = p.wait("scraping the target (health up)", target_up)
        check(t["scrapeUrl"] == f"http://127.0.0.1:{s.md_port}/metrics", f"scrape url {t['scrapeUrl']}")
        check(t["lastError"] == "", f"last scrape error {t['lastError']!r}")

        def up_and_ready():
            r = p.query('xt_up{job="xtrading"} + xt_ready{job="xtrading"}')
            return r and r[0][1] == 2
        p.wait("seeing xt_up and xt_ready at 1", up_and_ready)

        A, B, _ = H.one_trade(s.port)
        check(B.answer(B.cancel(orig_clordid=999999)).type == X.REJECTED, "cancel of an unknown order")

        def series(expr, want):
            def got():
                r = p.query(expr)
                return r is not None and len(r) == 1 and r[0][1] == want and r
            return p.wait(f"returning {expr} == {want}", got)
        r = series('xt_commands_total{job="xtrading",type="new"}', 3)
        check(r[0][0].get("instance") == f"127.0.0.1:{s.md_port}", f"labels {r[0][0]}")
        series('xt_commands_total{job="xtrading",type="cancel"}', 1)
        series('xt_trades_total{job="xtrading"}', 1)
        series('xt_rejects_total{job="xtrading",reason="UNKNOWN_ORDER"}', 1)
        series('sum(xt_connections{job="xtrading",protocol="order_entry"})', 2)

        def counted(name):
            r = p.query(f'{name}_count{{job="xtrading"}}')
            return r and r[0][1] > 0
        for h in ("xt_order_ack_latency_seconds", "xt_journal_fsync_seconds", "xt_engine_batch_seconds",
                  "xt_engine_command_seconds",
                  "xt_md_lag_seconds"):
            p.wait(f"counting {h}", lambda h=h: counted(h))
        A.close()
        B.close()
    finally:
        p.stop()


def main():
    return TS.run_tests(TESTS, sys.argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
