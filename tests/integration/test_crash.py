#!/usr/bin/python3
"""Crash test: `xtrading replay --journal` killed with SIGKILL at random
points, again and again, on one generated command stream.

Each round starts the journaling replay on the rest of the input, reads what
it prints (every event line carries its command's sequence number, --seq),
kills it at a random moment, then checks, with `xtrading journal verify`:
  - every command whose events were printed (released) is in the journal;
  - the recovered state hash equals a clean replay of exactly the commands
    the journal holds (`xtrading replay --hash` on that many lines).
The next round goes on from there; the last round runs to the end, and the
final state must equal a clean replay of the whole stream.

XT_CRASH_ROUNDS sets the number of kills (default 30; the full run is 300).

usage: test_crash.py path/to/xtrading
"""
import fcntl
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

XT = None
F_SETPIPE_SZ = 1031  # from <fcntl.h>; Linux


def gen_stream(path, n, seed):
    rnd = random.Random(seed)
    lines = ["INSTRUMENT CRASH tick=0.01 lot=1", "INSTRUMENT OTHER tick=0.5 lot=0.001 ref=100 band=20"]
    ids = 1
    while len(lines) < n:
        k = rnd.random()
        if k < 0.55:
            sym = rnd.choice(["CRASH", "CRASH", "OTHER"])
            px = f"{rnd.randint(995, 1005) / 100:.2f}" if sym == "CRASH" else f"{rnd.randint(190, 210) / 2:.1f}"
            qty = str(rnd.randint(1, 30)) if sym == "CRASH" else f"{rnd.randint(1, 30) / 1000:.3f}"
            tif = rnd.choice(["", "", "", " IOC", " FOK", " POST"])
            lines.append(f"NEW {ids} {rnd.randint(1, 9)} {sym} {rnd.choice(['BUY', 'SELL'])} LIMIT {px} {qty}{tif}")
            ids += 1
        elif k < 0.9:
            lines.append(f"CANCEL {rnd.randint(max(1, ids - 200), ids)} {rnd.randint(1, 9)}")
        elif k > 0.99:  # OTHER's band moved (docs/matching.md "Moving the band"), or taken away
            band = rnd.choice([f" ref={rnd.randint(190, 210) / 2:.1f} band=20"] * 4 + [""])
            lines.append(f"INSTRUMENT OTHER tick=0.5 lot=0.001{band}")
        else:
            lines.append(f"AMEND {rnd.randint(max(1, ids - 200), ids)} {rnd.randint(1, 9)} "
                         f"{rnd.randint(995, 1005) / 100:.2f} {rnd.randint(1, 30)}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return lines


def clean_hash(lines, n, tmp):
    """The state hash after the first n commands, from a plain replay."""
    path = os.path.join(tmp, "prefix.txt")
    with open(path, "w") as f:
        f.write("\n".join(lines[:n]) + ("\n" if n else ""))
    out = subprocess.run([XT, "replay", "--hash", path], capture_output=True, text=True, check=True).stdout
    m = re.search(r"^HASH (\d+) ([0-9a-f]{16})$", out, re.M)
    assert m and int(m.group(1)) == n, out[-200:]
    return m.group(2)


def verify(data):
    r = subprocess.run([XT, "journal", "verify", data], capture_output=True, text=True)
    m = re.search(r"last seq (\d+), state hash ([0-9a-f]{16}): (\w+)", r.stdout)
    if r.returncode != 0 or not m or m.group(3) != "verified":
        raise AssertionError(f"journal verify failed:\n{r.stdout}\n{r.stderr}")
    return int(m.group(1)), m.group(2)


def read_all(pipe, out, slow):
    """Reads the child's output; slowly if asked, so that the pipe fills and
    the child sits blocked while releasing results - where a bug that
    released them before they were durable would show."""
    chunks = []
    while True:
        b = pipe.read1(4096) if slow else pipe.read()
        if not b:
            break
        chunks.append(b)
        if slow:
            time.sleep(0.002)
    out.append(b"".join(chunks))


def run_round(data, rest_path, kill_after, extra, slow):
    """Runs the journaling replay on rest_path; kills it after kill_after
    seconds (None: let it finish). Returns (highest seq printed, finished,
    whether a torn tail was cut at start)."""
    # A write of up to PIPE_BUF (4096) bytes to a pipe is atomic: a blocked
    # release of a small batch shows nothing. Slow rounds use batches whose
    # output is larger, so that a blocked release is partly visible.
    batch = "512" if slow else "64"
    p = subprocess.Popen([XT, "replay", "--journal", data, "--seq", "--batch-max", batch, "--snapshot-every", "2500",
                          *extra, rest_path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if slow:  # a small pipe fills at once: the child blocks in its releases
        fcntl.fcntl(p.stdout.fileno(), F_SETPIPE_SZ, 4096)
    out = []
    reader = threading.Thread(target=read_all, args=(p.stdout, out, slow))
    reader.start()
    finished = True
    if kill_after is not None:
        try:
            p.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGKILL)
            finished = False
    p.wait()
    reader.join()
    err = p.stderr.read().decode()
    if finished and p.returncode != 0:
        raise AssertionError(f"replay failed ({p.returncode}): {err}")
    torn = "cut a torn tail" in err
    printed = 0
    text = out[0].decode() if out else ""
    for line in text.split("\n")[:-1]:  # only complete lines
        printed = max(printed, int(line.split(" ", 1)[0]))
    return printed, finished and p.returncode == 0, torn


def main():
    global XT
    XT = os.path.abspath(sys.argv[1])
    rounds = int(os.environ.get("XT_CRASH_ROUNDS", "30"))
    seed = int(os.environ.get("XT_CRASH_SEED", "1"))
    rnd = random.Random(seed)
    tmp = tempfile.mkdtemp(prefix="xt-crash-")
    try:
        total = 100000 + 1000 * rounds
        src = os.path.join(tmp, "stream.txt")
        lines = gen_stream(src, total, seed)
        data = os.path.join(tmp, "data")
        durable = 0
        kills = torn = 0
        while True:
            rest = os.path.join(tmp, "rest.txt")
            with open(rest, "w") as f:
                f.write("\n".join(lines[durable:]) + "\n")
            last = kills >= rounds
            policy = [] if rnd.random() < 0.7 else ["--fsync", rnd.choice(["always", "interval=2"])]
            slow = not last and rnd.random() < 0.5
            # mostly mid-run, sometimes during start-up and recovery; a slow
            # round is killed after start-up, while blocked releasing results
            kill_after = None if last else (0.012 + 0.04 * rnd.random() if slow else
                                            rnd.choice([0.0005, 0.003, 0.01, 0.02, 0.04]) * rnd.random() + 0.0005)
            printed, finished, was_torn = run_round(data, rest, kill_after, policy, slow)
            torn += was_torn
            if not finished:
                kills += 1
            if not os.path.isdir(data) or not any(re.fullmatch(r"(wal|snap)-\d{20}\.(log|xts)", f)
                                                  for f in os.listdir(data)):
                # killed before it made the directory or its first segment
                # (verify refuses a directory without either: nothing to verify)
                if printed or durable:
                    raise AssertionError(f"round {kills}: the journal directory is gone or empty")
                continue
            seq, h = verify(data)
            want = clean_hash(lines, seq, tmp)
            if h != want:
                raise AssertionError(f"round {kills}: recovered state {h} at seq {seq}, clean replay {want}")
            if printed > seq:
                raise AssertionError(f"round {kills}: seq {printed} was printed but the journal ends at {seq}")
            if seq < durable:
                raise AssertionError(f"round {kills}: the journal went back from {durable} to {seq}")
            durable = seq
            if finished and (last or durable == len(lines)):
                break
        if durable != len(lines):
            raise AssertionError(f"the final run stopped at {durable} of {len(lines)}")
        print(f"{kills} kills survived ({torn} left a torn tail to cut); {durable} commands; "
              "final state equals a clean replay")
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
