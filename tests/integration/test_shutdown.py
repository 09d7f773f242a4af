#!/usr/bin/python3
"""Integration tests of a graceful shutdown under load (docs/deploy.md,
issue 6): clients send NEW_ORDERs continuously over several connections
(xtclient.py), then SIGTERM (or SIGINT) arrives mid-stream. The server must
exit 0 within a bound; every order it ACCEPTED is there after a restart
(ORDER_STATUS of each, and the session's last clordid); each connection's
answers are a prefix of what it sent (nothing read was left unanswered),
none ACCEPTED after one was refused SHUTTING_DOWN, then ERROR SHUTDOWN and
the close; and the final snapshot is the journal's last record (the restart
recovers from it with no journal record to replay).

usage: test_shutdown.py path/to/xtrading [name-substring ...]
"""
import os
import re
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_server as TS  # noqa: E402
import xtclient as X  # noqa: E402

TESTS, test = TS.registry()
check = TS.check
WINDOW = 32           # orders in flight per connection
ACCOUNTS = (1001, 1002, 1003, 1004)
STOP_BOUND = 10.0     # seconds from the signal to the exit
RECOVERED = re.compile(r'msg="recovered" .*snapshot=(\d+) records=(\d+) next_seq=(\d+)')


class Client(threading.Thread):
    """One connection sending resting BUY orders (never crossing), WINDOW
    in flight, until the server closes it; records what it sent and every
    answer."""

    def __init__(self, port, account):
        super().__init__(daemon=True)
        self.c = TS.login(port, account, 1)
        self.inst = self.c.inst["BTC-USDT"]
        self.sent = []            # clordids, in the order sent
        self.answers = {}         # clordid -> ACCEPTED / REJECTED
        self.errors = []          # ERROR messages
        self.dup = []             # second answers (must stay empty)
        self.closed = False
        self.failure = None
        self.n_accepted = 0       # read by the test while the thread runs

    def accepted(self):
        return [k for k, m in self.answers.items() if m.type == X.ACCEPTED]

    def _send_more(self):
        n = WINDOW - (len(self.sent) - len(self.answers))
        if n <= 0:
            return
        frames = []
        for _ in range(n):
            cl = self.c.next_clordid()
            frames.append(X.encode_new_order(cl, self.inst, X.BUY, 1000 + cl % 50, 1))
            self.sent.append(cl)
        self.c.send(b"".join(frames))

    def _take(self):
        while self.c.inbox:
            m = self.c.inbox.popleft()
            if m.type in (X.ACCEPTED, X.REJECTED):
                (self.dup if m.clordid in self.answers else []).append(m)
                self.answers[m.clordid] = m
                self.n_accepted += m.type == X.ACCEPTED
            elif m.type == X.ERROR:
                self.errors.append(m)

    def run(self):
        end = time.monotonic() + 60
        try:
            while time.monotonic() < end:
                try:
                    self._send_more()
                except OSError:     # the server closed; what is left to read still counts
                    pass
                try:
                    self.c._pump(0.05)
                except X.Closed:
                    self._take()
                    self.closed = True
                    return
                self._take()
        except Exception as e:     # reported by the test
            self.failure = e


def check_client(cl):
    """The client side of a clean stop, for one connection."""
    check(cl.failure is None, f"client {cl.c.account}: {cl.failure!r}")
    check(cl.closed, f"client {cl.c.account}: the connection was not closed")
    check(not cl.dup, f"client {cl.c.account}: second answers {cl.dup[:3]}")
    check(set(cl.answers) <= set(cl.sent), f"client {cl.c.account}: answers to orders never sent")
    k = len(cl.answers)
    check(set(cl.sent[:k]) == set(cl.answers),
          f"client {cl.c.account}: {k} answers, not to the first {k} orders sent: an order read was not answered")
    acc = sorted(cl.accepted())
    refused = sorted(c for c, m in cl.answers.items() if m.type == X.REJECTED)
    for c in refused:
        m = cl.answers[c]
        check(m.reason == X.R["SHUTTING_DOWN"], f"client {cl.c.account}: rejected other than SHUTTING_DOWN: {m!r}")
    if refused and acc:
        check(acc[-1] < refused[0],
              f"client {cl.c.account}: order {acc[-1]} ACCEPTED after order {refused[0]} was refused SHUTTING_DOWN")
    check([e.code for e in cl.errors] == [X.E["SHUTDOWN"]],
          f"client {cl.c.account}: errors before the close {cl.errors}")
    return acc, refused


def check_restart(srv, clients):
    """Restarted: recovered from the final snapshot with no record to
    replay; every ACCEPTED order open, with its clordid; each session's
    last clordid the last one accepted."""
    srv.start()
    m = RECOVERED.search(srv.stderr())
    check(m is not None, f"no recovery line: {srv.stderr()[-500:]}")
    snap, records, nxt = (int(g) for g in m.groups())
    check(records == 0 and snap == nxt - 1,
          f"not a final snapshot of the last record: snapshot {snap} + {records} records, next {nxt}")
    check(os.path.exists(os.path.join(srv.data, f"snap-{snap:020d}.xts")), f"snapshot file of seq {snap}")
    for cl in clients:
        acc = {c: cl.answers[c] for c in cl.accepted()}
        c = TS.Conn(srv.port)
        la = c.login(cl.c.account, session=1, heartbeat_ms=TS.HB)
        check(la.last_clordid == max(acc), f"account {cl.c.account}: last clordid {la.last_clordid}, "
                                           f"last ACCEPTED {max(acc)}")
        items = sorted(acc.items())
        for i in range(0, len(items), 500):
            chunk = items[i:i + 500]
            c.send(b"".join(X.encode_status(rid + 1, 0, a.order_id) for rid, (_, a) in
                            enumerate(chunk, start=i)))
            got = {}
            while len(got) < len(chunk):
                r = c.expect(X.STATUS_REPLY, 10)
                got[r.request_id] = r
            for rid, (cl_id, a) in enumerate(chunk, start=i):
                r = got[rid + 1]
                check(r.order_id == a.order_id and r.clordid == cl_id and r.status == 1 and r.remaining == 1,
                      f"account {cl.c.account}: ACCEPTED order {a!r} after the restart: {r!r}")
        c.close()


def stop_under_load(sig, sets=None, min_accepted=5000):
    srv = TS.Server({**TS.BIG, **(sets or {})})
    clients = [Client(srv.port, a) for a in ACCOUNTS]
    for cl in clients:
        cl.start()
    end = time.monotonic() + 30
    while sum(cl.n_accepted for cl in clients) < min_accepted:
        check(time.monotonic() < end, f"fewer than {min_accepted} orders accepted in 30 s")
        check(all(cl.is_alive() for cl in clients), "a client stopped before the signal")
        time.sleep(0.01)
    t0 = time.monotonic()
    srv.proc.send_signal(sig)
    try:
        rc = srv.proc.wait(STOP_BOUND)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"still running {STOP_BOUND}s after {sig.name}") from None
    took = time.monotonic() - t0
    check(rc == 0, f"exit status {rc} after {sig.name}: {srv.stderr()[-500:]}")
    check('msg="stopped cleanly"' in srv.stderr(), f"no clean stop reported: {srv.stderr()[-300:]}")
    for cl in clients:
        cl.join(10)
        check(not cl.is_alive(), f"client {cl.c.account} still running after the server exited")
    refused = 0
    for cl in clients:
        refused += len(check_client(cl)[1])
    n_acc = sum(len(cl.accepted()) for cl in clients)
    print(f"  {sig.name}: exit 0 in {took:.2f}s; {n_acc} ACCEPTED, {refused} SHUTTING_DOWN, "
          f"{sum(len(cl.sent) for cl in clients) - n_acc - refused} sent but never read", flush=True)
    check_restart(srv, clients)
    return refused


@test
def test_sigterm_under_load():
    stop_under_load(signal.SIGTERM)


@test
def test_sigint_under_load():
    """The same with SIGINT; the engine held 100 ms after each batch
    (debug.engine_delay_us), so that orders certainly arrive between the
    signal and the engine's end and are refused SHUTTING_DOWN."""
    refused = stop_under_load(signal.SIGINT, {"debug.engine_delay_us": 100000}, min_accepted=500)
    check(refused > 0, "no order refused SHUTTING_DOWN while the engine finished its last batch")


def main():
    return TS.run_tests(TESTS, sys.argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
