#!/usr/bin/python3
"""Integration tests of the server's log (docs/config.md#log): with
log.format=json and log.file every line of the file is a JSON object with
ts, level and msg, the server's events are there in order (recovered,
memory, ready, reloaded, stopping, stopped cleanly), stderr holds none of them,
and SIGHUP opens the file again after a rename (logrotate), and says in
the log why it refused a config that no longer reads; log.level=warn
leaves the info events out; the default is logfmt on stderr.

usage: test_log.py path/to/xtrading [name-substring ...]
"""
import fcntl
import json
import os
import re
import signal
import subprocess
import sys
import termios
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_admin as A  # noqa: E402
import test_server as TS  # noqa: E402
import xtclient as X  # noqa: E402

TESTS, test = TS.registry()
check = TS.check
LOGFMT = re.compile(r'ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=(debug|info|warn|error) msg="((?:[^"\\]|\\.)*)"'
                    r'( [A-Za-z0-9_.]+=("(?:[^"\\]|\\.)*"|[^ "=]+))*$')


# Said at start on a host whose open-file limit cannot hold the default
# connection limits (config.md "Open files", tested in test_server.py): a
# fact of the host, left out of the sequences of events checked here.
FD_CUT = "connection limits cut to the open-file limit"


def host_free(lines):
    """stderr lines (or JSON events) without the host's FD_CUT warning."""
    return [ln for ln in lines if FD_CUT not in (ln if isinstance(ln, str) else ln["msg"])]


def stderr_of(srv):
    return "".join(ln + "\n" for ln in host_free(srv.stderr().splitlines()))


def read_json_lines(path):
    with open(path) as f:
        lines = f.read().splitlines()
    out = []
    for ln in lines:
        try:
            j = json.loads(ln)
        except ValueError:
            raise AssertionError(f"{path}: not JSON: {ln!r}") from None
        check(isinstance(j, dict) and set(j) >= {"ts", "level", "msg"}, f"{path}: {ln!r}")
        check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", j["ts"]), f"ts {j['ts']!r}")
        out.append(j)
    return out


@test
def test_json_to_a_file_reopened_on_sighup():
    srv = TS.Server({"log.format": "json"}, start=False)
    path = os.path.join(srv.tmp, "xt.log")
    srv.sets["log.file"] = path
    srv.start()
    first = host_free(read_json_lines(path))
    check([j["msg"] for j in first] == ["recovered", "memory", "ready"], f"start events {first}")
    mem, ready = first[1], first[2]
    check(mem["prefault"] is True and 0 <= mem["huge_pages_mb"] <= mem["resident_mb"] and
          mem["resident_mb"] > 256 and isinstance(mem["transparent_hugepages"], str), f"memory {mem}")
    check(ready["level"] == "info" and ready["order_entry"] == f"127.0.0.1:{srv.port}", f"ready {ready}")
    check(ready["demo_accounts"] is True and ready["instruments"] == 4, f"ready {ready}")
    check(first[0]["snapshot"] == 0 and first[0]["records"] == 0, f"recovered {first[0]}")
    os.rename(path, path + ".1")
    srv.proc.send_signal(signal.SIGHUP)
    TS.wait_for(lambda: os.path.exists(path) and any(j["msg"] == "reloaded" for j in read_json_lines(path)),
                "reloaded in a new log file")
    check(srv.stop() == 0, "exit 0")
    after = read_json_lines(path)
    check([j["msg"] for j in after][0] == "reloaded", f"after the rename {after}")
    check(after[0]["limits.rate"] == 100000 and after[0]["credentials"].startswith("(the embedded demo"),
          f"reloaded {after[0]}")
    stopping = [j for j in after if j["msg"].startswith("stopping")]
    check(len(stopping) == 1 and stopping[0]["signal"] == "SIGTERM", f"stopping {after}")
    stopped = after[-1]
    check(stopped["msg"] == "stopped cleanly" and stopped["last_seq"] == stopped["snapshot"] == 4,
          f"stopped {stopped}")
    check([j["msg"] for j in host_free(read_json_lines(path + ".1"))] == ["recovered", "memory", "ready"],
          "the old file kept")
    check(stderr_of(srv) == "", f"stderr holds log lines: {srv.stderr()[-300:]}")


@test
def test_a_fifo_at_sighup_keeps_the_old_file():
    """A SIGHUP that finds a FIFO where log.file was (a log shipper's pipe
    whose reader is gone) keeps writing the old file and says why there;
    order entry goes on. The gateway thread waited in open() for a reader:
    no answers, no admin, and SIGTERM unheard."""
    srv = TS.Server({"log.format": "json"}, start=False)
    path = os.path.join(srv.tmp, "xt.log")
    srv.sets["log.file"] = path
    srv.start()
    os.rename(path, path + ".1")
    os.mkfifo(path)
    srv.proc.send_signal(signal.SIGHUP)
    told = TS.wait_for(lambda: [j for j in read_json_lines(path + ".1") if j["msg"].startswith("SIGHUP: cannot open")],
                       "the refused reopen told in the old file")
    check(told[0]["reason"] == "not a regular file (a FIFO, device or socket)", f"{told}")
    c = TS.login(srv.port, 1001)
    c.place(c.inst["BTC-USDT"], TS.BUY, 100, 1)
    check(srv.stop() == 0, "exit 0")
    check(read_json_lines(path + ".1")[-1]["msg"] == "stopped cleanly", "the old file written to the end")


@test
def test_a_failed_final_snapshot_is_a_warning():
    """A stop whose final snapshot fails (a directory stands where its file
    goes, as a full disk would fail it) says so: the `snapshot failed`
    error, then `stopped cleanly, but the final snapshot failed: ...` as a
    warning, with the snapshot the next start uses (none: 0); exit 0, the
    journal having every command. It once said `stopped cleanly ...
    snapshot=0` at info, as for a journal with nothing to save."""
    srv = TS.Server({"log.format": "json", "journal.snapshot_secs": 0})
    os.mkdir(os.path.join(srv.data, "snap-%020d.tmp" % 4))  # the stop's snapshot: after the 4 instruments
    check(srv.stop() == 0, "exit 0")
    lines = [json.loads(ln) for ln in srv.stderr().splitlines() if ln.startswith("{")]
    failed = [j for j in lines if j["msg"] == "snapshot failed"]
    check(len(failed) == 1 and failed[0]["level"] == "error" and failed[0]["seq"] == 4, f"{lines}")
    stopped = lines[-1]
    check(stopped["level"] == "warn" and stopped["msg"].startswith("stopped cleanly, but the final snapshot failed")
          and stopped["last_seq"] == 4 and stopped["snapshot"] == 0, f"stopped {stopped}")


@test
def test_refused_reload_says_why_in_the_log():
    """A SIGHUP whose config no longer reads is refused, and the log (a
    file here) says why - the file, the line, what is wrong - not stderr."""
    srv = TS.Server({"log.format": "json"}, start=False)
    path, conf = os.path.join(srv.tmp, "xt.log"), os.path.join(srv.tmp, "xt.conf")
    with open(conf, "w") as f:
        f.write("[limits]\nrate = 1000\n")
    srv.sets["log.file"] = path
    srv.args += ["--config", conf]
    srv.start()
    with open(conf, "w") as f:
        f.write("[limits]\nrate = lots\n")
    srv.proc.send_signal(signal.SIGHUP)
    TS.wait_for(lambda: any(j["msg"].startswith("SIGHUP: reload refused") for j in read_json_lines(path)),
                "reload refused in the log")
    refused = [j for j in read_json_lines(path) if j["msg"].startswith("SIGHUP: reload refused")][0]
    check(refused["level"] == "warn" and f"{conf}:2" in refused["reason"] and "limits.rate" in refused["reason"],
          f"refused {refused}")
    check(srv.stop() == 0, "exit 0")
    check(stderr_of(srv) == "", f"stderr: {srv.stderr()[-300:]}")


@test
def test_default_logfmt_and_level():
    """logfmt on stderr by default, every line in the format; at
    log.level=warn the info events are not written."""
    srv = TS.Server()
    check(srv.stop() == 0, "exit 0")
    lines = host_free(srv.stderr().splitlines())
    check([LOGFMT.match(ln).group(2) for ln in lines if LOGFMT.match(ln)] ==
          ["recovered", "memory", "ready", "stopping: no new connections or orders; draining", "stopped cleanly"],
          f"stderr {lines}")
    check(all(LOGFMT.match(ln) for ln in lines), f"not logfmt: {lines}")
    # prefault off: on a host without transparent huge pages the memory event is a warning
    srv = TS.Server({"log.level": "warn", "engine.prefault": "off"})
    check(srv.stop() == 0, "exit 0")
    check(stderr_of(srv) == "", f"info events at log.level=warn: {srv.stderr()}")


@test
def test_demo_accounts_on_a_reachable_address_are_a_warning():
    """Without a credentials file the demo accounts, whose secrets are in
    the docs, log in; on a non-loopback address (market data on 0.0.0.0
    here) the start says so, as a warning naming the addresses (it once
    said only demo_accounts=true, at info). On loopback it does not
    (test_default_logfmt_and_level)."""
    srv = TS.Server({"md.listen": "0.0.0.0:0"})
    check(srv.stop() == 0, "exit 0")
    warn = [ln for ln in host_free(srv.stderr().splitlines()) if "level=warn" in ln]
    check(len(warn) == 1 and "the demo accounts, whose secrets are published" in warn[0] and
          "md_http=0.0.0.0" in warn[0] and "order_entry=127.0.0.1" in warn[0], f"warnings: {warn}")


@test
def test_lines_lost_are_counted():
    """log.file whose writes fail (here /dev/full: ENOSPC, as a full disk; a
    file at RLIMIT_FSIZE fails EFBIG alike) lost every line without a word.
    Now stderr says so once for a run of failures, and
    xt_log_lines_lost_total counts the lines (docs/metrics.md)."""
    srv = TS.Server(start=False)
    srv.sets["log.file"] = "/dev/full"
    srv.start()
    lost = TS.metric(srv, "xt_log_lines_lost_total")
    check(lost >= 3, f"recovered, memory, ready: {lost} lines counted")
    told = [l for l in srv.stderr().splitlines() if "xtrading: log.file /dev/full: a write failed" in l]
    check(len(told) == 1 and "(No space left on device)" in told[0] and "xt_log_lines_lost_total" in told[0],
          f"stderr: {srv.stderr()[-800:]}")
    srv.proc.send_signal(signal.SIGHUP)  # a reload: one more line lost, not told again
    TS.wait_for(lambda: TS.metric(srv, "xt_log_lines_lost_total") > lost, "the reload's line counted")
    check(srv.stop() == 0, "exit 0")
    told = [l for l in srv.stderr().splitlines() if "a write failed" in l]
    check(len(told) == 1, f"told {len(told)} times: {told}")


@test
def test_a_log_pipe_nobody_reads_holds_no_order():
    """stderr a pipe whose reader stopped (a stuck log shipper): once it is
    full, a log line used to block the thread that wrote it - the gateway's
    at a reload's `reloaded` - and with it every order, login and admin
    request until the pipe was read (a probe found it). Lines now go to the
    log's own writer thread: the gateway goes on; the lines come once the
    pipe is read."""
    tmp = TS.Server(start=False).tmp
    data = os.path.join(tmp, "data")
    r, w = os.pipe()
    fcntl.fcntl(w, 1031, 4096)  # F_SETPIPE_SZ: one page, full after a few dozen lines
    proc = subprocess.Popen([TS.XT, "serve", "--data", data, "--listen", "127.0.0.1:0", "--md-listen", "127.0.0.1:0",
                             "--md-tcp-listen", "off"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=w)
    os.close(w)
    try:
        port = None
        for raw in proc.stdout:  # (stdout: the ports; read on below, so that it never fills)
            m = TS.READY.search(raw.decode(errors="replace"))
            if m:
                port = int(m.group(1))
                break
        check(port, "no ready line")
        threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()

        def queued():
            b = bytearray(4)
            fcntl.ioctl(r, termios.FIONREAD, b)
            return int.from_bytes(b, "little")

        last, same = -1, 0  # reloads, each a line, until the pipe takes no more
        deadline = time.monotonic() + 20
        while same < 10:
            check(time.monotonic() < deadline and proc.poll() is None, f"the pipe did not fill: {queued()} bytes")
            proc.send_signal(signal.SIGHUP)
            time.sleep(0.02)
            n = queued()
            same = same + 1 if n == last else 0
            last = n
        proc.send_signal(signal.SIGHUP)  # one more line, behind the full pipe
        a = A.Admin(os.path.join(data, "admin.sock"), timeout=3)
        check(a.ask("stats").get("ok") is True, "admin stats")
        c = X.Conn(port, timeout=3)
        c.login(1001)
        c.new_order(2, X.BUY, 100, 1, clordid=1)
        c.expect(X.ACCEPTED, clordid=1)
        c.close()
        got = b""  # now read: the lines held come, behind what the pipe held
        os.set_blocking(r, False)
        deadline = time.monotonic() + 10
        while len(got) < last or got.count(b'msg="reloaded"') <= got[:last].count(b'msg="reloaded"'):
            check(time.monotonic() < deadline, f"the held lines did not come: {got[-300:]!r}")
            try:
                got += os.read(r, 65536)
            except BlockingIOError:
                time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        while True:  # read to the end: the stop's lines, written before the exit
            try:
                d = os.read(r, 65536)
                if not d:
                    break
                got += d
            except BlockingIOError:
                time.sleep(0.05)
        check(proc.wait(10) == 0, "exit 0")
        check(b'msg="stopped cleanly"' in got.splitlines()[-1], f"the last line: {got[-300:]!r}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(r)


@test
def test_bad_log_settings():
    """A bad log.level is a config error (exit 2); so is a log.file that
    cannot be opened, as `config check` says (it was exit 1, which systemd's
    unit restarts every 2 s: docs/deploy.md), saying why on stderr, before
    the data directory is made."""
    # a temporary data directory and ports of the kernel's choice: should the
    # server start after all, it does not write ./data or take port 9001
    srv = TS.Server(start=False)
    serve = [TS.XT, "serve", "--data", srv.data, "--listen", "127.0.0.1:0", "--md-listen", "127.0.0.1:0",
             "--md-tcp-listen", "off"]
    r = TS.subprocess.run([*serve, "--set", "log.level=loud"], capture_output=True, text=True, timeout=30)
    check(r.returncode == 2 and "log.level must be debug, info, warn or error" in r.stderr, f"{r}")
    fifo = os.path.join(srv.tmp, "fifo.log")  # the open waited for a reader, deaf to SIGTERM
    os.mkfifo(fifo)
    for path, why in (("/nonexistent-dir/xt.log", "No such file or directory"), (srv.tmp, "Is a directory"),
                      (fifo, "not a regular file (a FIFO, device or socket)")):
        r = TS.subprocess.run([*serve, "--set", f"log.file={path}"], capture_output=True, text=True, timeout=30)
        check(r.returncode == 2 and r.stderr == f"xtrading serve: log.file {path}: {why}\n", f"{r}")
    check(not os.path.exists(srv.data), "the data directory was made")


def main():
    return TS.run_tests(TESTS, sys.argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
