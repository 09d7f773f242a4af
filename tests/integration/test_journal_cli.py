#!/usr/bin/python3
"""`xtrading replay --journal` and `xtrading journal ...` as an operator uses
them: continuing a journal, dump | replay reproducing the book, verify,
stats, corruption in the middle and in the tail, damaged snapshots, repair,
and the directory lock.

usage: test_journal_cli.py path/to/xtrading   (run from the repository root)
"""
import fcntl
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import unittest

XT = None
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
from crc32c import crc32c  # noqa: E402
DEMO = os.path.join(ROOT, "examples", "demo.txt")


def run(*args, stdin=None):
    return subprocess.run([XT, *args], input=stdin, capture_output=True, text=True, timeout=120)


def stream(n, offset=0):
    lines = [] if offset else ["INSTRUMENT Z tick=0.01 lot=1"]
    for i in range(offset + 1, offset + n + 1):
        side = "BUY" if i % 2 else "SELL"
        lines.append(f"NEW {i} {i % 7 + 1} Z {side} LIMIT {10 + (i * 37 % 11) / 100:.2f} {i % 9 + 1}")
        if i % 3 == 0:
            lines.append(f"CANCEL {i - 2} {(i - 2) % 7 + 1}")
    return "\n".join(lines) + "\n"


def hash_of(text):
    out = run("replay", "--hash", stdin=text).stdout
    return re.search(r"^HASH (\d+) ([0-9a-f]{16})$", out, re.M).groups()


def segments(d):
    return sorted(f for f in os.listdir(d) if re.fullmatch(r"wal-\d{20}\.log", f))


class JournalCli(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="xt-jcli-")
        self.d = os.path.join(self.tmp, "data")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def journal(self, text, *extra):
        """Journals text, read from a file: batches (and so snapshot points)
        do not depend on how a pipe happens to deliver it."""
        path = os.path.join(self.tmp, "input.txt")
        with open(path, "w") as f:
            f.write(text)
        r = run("replay", "--journal", self.d, "--hash", *extra, path)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def test_keep_all_segments(self):
        """Retention deletes the segments only old snapshots needed; with
        --keep-all-segments (journal.keep_all_segments) it deletes none,
        so the journal still starts at record 1."""
        extra = ("--segment-bytes", "4096", "--snapshot-every", "100", "--batch-max", "50", "--keep-snapshots", "1")
        self.journal(stream(600), *extra)
        first = "wal-00000000000000000001.log"
        self.assertNotIn(first, segments(self.d))
        shutil.rmtree(self.d)
        self.journal(stream(600), *extra, "--keep-all-segments")
        segs = segments(self.d)
        self.assertEqual(segs[0], first)
        self.assertGreater(len(segs), 3)
        self.assertEqual(len([f for f in os.listdir(self.d) if f.endswith(".xts")]), 1)
        r = run("journal", "verify", self.d)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run("replay", "--keep-all-segments", stdin="")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--keep-all-segments needs --journal DIR", r.stderr)

    def test_events_and_book_as_without_a_journal(self):
        with open(DEMO) as f:
            text = f.read()
        plain = run("replay", "--book", DEMO).stdout
        r = run("replay", "--journal", self.d, "--book", DEMO)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, plain)
        self.assertEqual(run("replay", "--journal", os.path.join(self.tmp, "d2"), "--book", stdin=text).stdout, plain)

    def test_continues_and_dump_replays_to_the_same_book(self):
        a, b = stream(300), stream(200, offset=300)
        self.journal(a, "--snapshot-every", "100", "--segment-bytes", "4096", "--batch-max", "50")
        r = self.journal(b, "--segment-bytes", "4096", "--batch-max", "50")
        self.assertEqual(r.stdout.splitlines()[-1].split()[1:], list(hash_of(a + b)))
        self.assertNotIn("torn", r.stderr)  # clean runs leave no torn tail
        book = run("replay", "--book", stdin=a + b).stdout.split("\n")
        book = "\n".join(l for l in book if l.startswith("BOOK")) + "\n"
        dump = run("journal", "dump", self.d, "--format", "replay")
        self.assertEqual(dump.returncode, 0, dump.stderr)
        # the options before DIR: the same (DIR was taken to be "--format": "not a directory")
        first = run("journal", "dump", "--format", "replay", self.d)
        self.assertEqual((first.returncode, first.stdout, first.stderr), (0, dump.stdout, dump.stderr))
        replayed = run("replay", "--book", stdin=dump.stdout).stdout.split("\n")
        self.assertEqual("\n".join(l for l in replayed if l.startswith("BOOK")) + "\n", book)
        # retention removed the early segments: the text dump starts after a snapshot and says so
        text = run("journal", "dump", self.d).stdout.splitlines()
        self.assertRegex(text[0], r"^# the journal starts after snapshot \d+$")
        self.assertRegex(text[1], r"^\d+ -?\d+ (NEW|CANCEL) ")
        late = run("journal", "dump", self.d, "--from", "5000000000")  # sequence numbers are 64-bit
        self.assertEqual(late.returncode, 0, late.stderr)
        self.assertEqual([l for l in late.stdout.splitlines() if not l.startswith("#")], [])
        self.assertRegex(late.stderr, r"^xtrading journal dump: the journal ends at sequence \d+: nothing from "
                                      r"--from 5000000000\n$")  # (it printed nothing, and said nothing)

    def test_verify_waits_for_the_lock(self):
        # verify reads a directory nothing writes: a killed server's snapshot child holds the LOCK until its
        # snapshot is written and old files deleted (verify, reading meanwhile, saw files vanish and said
        # NOT verified); it waits for such a holder, and refuses a directory still held after 10 s
        self.journal(stream(50))
        fd = os.open(os.path.join(self.d, "LOCK"), os.O_RDWR)
        fcntl.flock(fd, fcntl.LOCK_EX)
        t0 = time.monotonic()
        v = subprocess.Popen([XT, "journal", "verify", self.d], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        time.sleep(0.5)  # the holder's time: verify must not read (or end) before the release
        self.assertIsNone(v.poll(), "verify did not wait for the LOCK's holder")
        fcntl.flock(fd, fcntl.LOCK_UN)
        out, err = v.communicate(timeout=60)
        self.assertEqual(v.returncode, 0, err)
        self.assertIn(": verified", out)
        self.assertGreaterEqual(time.monotonic() - t0, 0.5)
        fcntl.flock(fd, fcntl.LOCK_EX)  # held past 10 s: a running server
        r = run("journal", "verify", self.d)
        os.close(fd)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("is in use (a running server, or the snapshot the child of a killed server is still writing)",
                      r.stderr)
        self.assertEqual(r.stdout, "")

    def test_verify_and_stats(self):
        # Snapshots are forked one at a time, so where a second one in the
        # same run lands depends on timing. Three runs of 160 commands with
        # --snapshot-every 150 each take exactly one while running - at 150
        # in the first, 150 after the start in the others - and one at exit.
        # A snapshot is taken at the end of a batch, and batches form as
        # stdin's reads come (timing): --batch-max 1 makes every command a
        # batch, so the snapshots land at the same sequence numbers every run.
        parts = [stream(120), stream(120, offset=120), stream(120, offset=240)]
        for part in parts:
            self.journal(part, "--snapshot-every", "150", "--keep-snapshots", "10", "--batch-max", "1")
        v = run("journal", "verify", self.d)
        self.assertEqual(v.returncode, 0, v.stderr)
        seq, h = hash_of("".join(parts))
        self.assertIn(f"last seq {seq}, state hash {h}: verified", v.stdout)
        snaps = sorted(f for f in os.listdir(self.d) if f.startswith("snap-"))
        self.assertEqual(snaps, [f"snap-{n:020d}.xts" for n in (150, 161, 311, 321, 471, 481)])
        self.assertEqual(v.stdout.count("gives the same final state"), len(snaps))
        self.assertEqual(v.stdout.count("agrees with the journal replayed to it"), len(snaps))
        s = run("journal", "stats", self.d)
        self.assertEqual(s.returncode, 0, s.stderr)
        self.assertIn(f"sequence 1..{seq}", s.stdout)
        self.assertIn(f"snapshots: {len(snaps)}", s.stdout)
        # each segment's format and rules: which builds can read it
        for seg in segments(self.d):
            self.assertRegex(s.stdout, rf"{seg}  \d+ bytes, format 2, rules 2")

    def test_stats_counts_every_record_type(self):
        # a SESSION_END record (the server's; docs/journal-format.md) appended
        # after the replay tool's records: stats counted it in neither the
        # total nor a type ("records: 50 ... sequence 1..51")
        text = stream(40)
        self.journal(text)
        seq = int(hash_of(text)[0])
        seg = os.path.join(self.d, segments(self.d)[-1])
        body = struct.pack("<QqBII", seq + 1, time.time_ns(), 5, 1001, 7)  # seq, ts, type, account, session
        with open(seg, "ab") as f:
            f.write(struct.pack("<I", 8 + len(body)) + struct.pack("<I", crc32c(body)) + body)
        s = run("journal", "stats", self.d)
        self.assertEqual(s.returncode, 0, s.stderr)
        m = re.search(r"^records: (\d+) \(instrument (\d+), new (\d+), cancel (\d+), amend (\d+), "
                      r"session_end (\d+)\), sequence 1\.\.(\d+)$", s.stdout, re.M)
        self.assertTrue(m, s.stdout)
        total, *by_type, last = (int(g) for g in m.groups())
        self.assertEqual((total, last, by_type[-1]), (seq + 1, seq + 1, 1))
        self.assertEqual(sum(by_type), total)
        self.assertRegex(run("journal", "dump", self.d).stdout, rf"(?m)^{seq + 1} \d+ SESSION_END 1001 7$")
        v = run("journal", "verify", self.d)
        self.assertEqual(v.returncode, 0, v.stderr)
        self.assertIn(f"last seq {seq + 1},", v.stdout)

    def test_stats_fails_where_start_up_refuses(self):
        # stats exited 0 on a directory start-up refuses; it reports what
        # verify reports (the same checks), on stderr, and exits 1
        def refused(want):
            self.assertEqual(run("replay", "--journal", self.d, stdin="").returncode, 1)
            for cmd in ("stats", "verify"):
                r = run("journal", cmd, self.d)
                self.assertEqual(r.returncode, 1, (cmd, r.stdout, r.stderr))
                self.assertIn(want, r.stderr, cmd)

        def fresh():
            shutil.rmtree(self.d, ignore_errors=True)
            return self.small_segments(2)

        drop_snapshots_after = self.drop_snapshots_after

        with self.subTest("the newest segment, the one wal-last names, is missing"):
            segs = fresh()
            os.unlink(os.path.join(self.d, segs[-1]))
            drop_snapshots_after(int(segs[-1][4:24]) - 1)  # nothing else wrong
            refused(f"the one from sequence {int(segs[-1][4:24])} (wal-last names it), is missing")
        with self.subTest("a snapshot ahead of the journal's end"):
            segs = fresh()
            os.unlink(os.path.join(self.d, segs[-1]))
            os.unlink(os.path.join(self.d, "wal-last"))  # a directory from before wal-last
            end = int(segs[-1][4:24]) - 1
            snap = max(int(f[5:25]) for f in os.listdir(self.d) if f.startswith("snap-"))
            self.assertGreater(snap, end)
            refused(f"snapshot {snap} is ahead of the journal's end {end}")
        with self.subTest("snapshots, but no journal segment"):
            segs = fresh()
            for f in segs:
                os.unlink(os.path.join(self.d, f))
            os.unlink(os.path.join(self.d, "wal-last"))
            snap = max(int(f[5:25]) for f in os.listdir(self.d) if f.startswith("snap-"))
            refused(f"snapshot {snap}, but no journal segment")
        with self.subTest("the journal's start gone, and no snapshot reaches it"):
            segs = fresh()
            os.unlink(os.path.join(self.d, segs[0]))
            drop_snapshots_after(0)
            self.assertEqual(run("replay", "--journal", self.d, stdin="").returncode, 1)
            r = run("journal", "stats", self.d)  # before: 0
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn(f"the journal starts at sequence {int(segs[1][4:24])}, after 1", r.stderr)
            r = run("journal", "verify", self.d)
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn("the journal does not start at 1 and no snapshot loads", r.stderr)
        with self.subTest("a sound directory"):
            fresh()
            s = run("journal", "stats", self.d)
            self.assertEqual((s.returncode, s.stderr), (0, ""))

    def test_capacities_no_engine_here_can_take_are_named(self):
        # a segment header's capacities, its CRC made good, beyond the
        # defaults and this machine: stats said 0, verify and dump "offset 0:
        # invalid argument"; each now names the file and the field, as
        # start-up does, and fails
        self.journal(stream(100))
        seg = os.path.join(self.d, segments(self.d)[0])
        with open(seg, "r+b") as f:
            h = bytearray(f.read(64))
            struct.pack_into("<I", h, 32, 0xFFFFFFFF)  # max_orders
            struct.pack_into("<I", h, 60, crc32c(bytes(h[:60])))
            f.seek(0)
            f.write(h)
        for cmd in ("stats", "verify", "dump"):
            r = run("journal", cmd, self.d)
            self.assertEqual(r.returncode, 1, (cmd, r.stderr))
            self.assertIn(f"{os.path.basename(seg)}: max_orders 4294967295 exceeds engine.max_orders", r.stderr, cmd)

    def test_verify_an_empty_directory(self):
        # no segment and no snapshot: a backup copy that failed is not "verified"
        os.mkdir(self.d)
        v = run("journal", "verify", self.d)
        self.assertEqual(v.returncode, 1, v.stdout)
        self.assertIn(f"{self.d}: no journal segment and no snapshot: nothing to verify", v.stderr)
        self.assertNotIn("verified", v.stdout)
        self.assertEqual(run("journal", "verify", os.path.join(self.tmp, "nope")).returncode, 2)  # not a directory
        # the other tools alike (they printed zeros or nothing, status 0, and repair left a LOCK behind)
        for cmd, verb in (("dump", "dump"), ("stats", "count"), ("repair", "repair")):
            r = run("journal", cmd, self.d)
            self.assertEqual((r.returncode, r.stdout, r.stderr),
                             (1, "", f"xtrading journal: {self.d}: no journal segment and no snapshot: nothing to {verb}\n"))
        self.assertEqual(os.listdir(self.d), [])
        self.journal("")  # what a first start leaves: an empty segment, and that verifies
        v = run("journal", "verify", self.d)
        self.assertEqual(v.returncode, 0, v.stderr)
        self.assertIn("last seq 0,", v.stdout)

    def test_help(self):
        # `journal SUB --help` asks for help: it does not name a directory
        for args in (["--help"], ["-h"], ["dump", "--help"], ["verify", "--help"], ["stats", "-h"],
                     ["repair", "--help"], ["dump", self.tmp, "--help"], ["stats", self.tmp, "--help"]):
            with self.subTest(args=args):
                r = run("journal", *args)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertTrue(r.stdout.startswith("usage: xtrading journal"), r.stdout)
                self.assertEqual(r.stderr, "")

    def test_verify_tells_a_bad_record_once(self):
        # the replays from the start and from each snapshot all reach it
        for part in (stream(120), stream(120, offset=120), stream(120, offset=240)):
            self.journal(part, "--keep-snapshots", "10")  # a snapshot at each run's end
        snaps = sorted(f for f in os.listdir(self.d) if f.startswith("snap-"))
        os.unlink(os.path.join(self.d, snaps.pop()))  # the one at the end: the others lie before the damage
        self.assertEqual(len(snaps), 2)
        seg = os.path.join(self.d, segments(self.d)[-1])
        with open(seg, "r+b") as f:
            f.seek(os.path.getsize(seg) - 200)  # past the last snapshot, with valid records after it
            b = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([b[0] ^ 0xFF]))
        v = run("journal", "verify", self.d)
        self.assertEqual(v.returncode, 1)
        self.assertEqual(len([l for l in v.stderr.splitlines() if l.startswith("error:")]), 1, v.stderr)
        self.assertRegex(v.stdout, r": NOT verified \(1 problem: the errors above\)\n$")

    def test_verify_tells_a_bad_segment_header_and_a_misnamed_snapshot_once(self):
        # a segment's spoilt header, met by the replay from the start and by
        # those from the snapshots before it: one error naming the file (it
        # was two, the second without a path); a snapshot renamed to another
        # number: said as that (it was a hash mismatch and "record N does not
        # apply" twice, and an error at offset 0)
        segs = self.small_segments(4)
        self.flip(os.path.join(self.d, segs[-2]), 28)  # (not the newest: wal-last names that, a fact of its own)
        v = run("journal", "verify", self.d)
        self.assertEqual(v.returncode, 1)
        errors = [l for l in v.stderr.splitlines() if l.startswith("error:")]
        self.assertEqual(len(errors), 1, v.stderr)
        self.assertIn(segs[-2], errors[0])
        self.assertRegex(v.stdout, r": NOT verified \(1 problem: the errors above\)\n$")
        self.flip(os.path.join(self.d, segs[-2]), 28)  # whole again
        snaps = sorted(f for f in os.listdir(self.d) if f.startswith("snap-"))
        seq = int(snaps[-1][5:25])
        os.rename(os.path.join(self.d, snaps[-1]), os.path.join(self.d, "snap-%020d.xts" % (seq - 1)))
        v = run("journal", "verify", self.d)
        self.assertEqual(v.returncode, 1)
        errors = [l for l in v.stderr.splitlines() if l.startswith("error:")]
        self.assertEqual(errors, [f"error: {self.d}/snap-{seq - 1:020d}.xts: named for seq {seq - 1} but holds the "
                                  f"state after {seq} (recovery sets it aside)"], v.stderr)

    def test_corruption_in_the_middle_stops_start_up_and_repair_cuts_it(self):
        self.journal(stream(500))
        seg = os.path.join(self.d, segments(self.d)[0])
        with open(seg, "r+b") as f:
            f.seek(3000)
            b = f.read(1)
            f.seek(3000)
            f.write(bytes([b[0] ^ 0xFF]))
        for snap in [f for f in os.listdir(self.d) if f.startswith("snap-")]:
            os.unlink(os.path.join(self.d, snap))  # force recovery to read the journal
        r = run("replay", "--journal", self.d, stdin="")
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r"wal-0+1\.log offset \d+: .*valid records follow")
        v = run("journal", "verify", self.d)
        self.assertEqual(v.returncode, 1)
        self.assertRegex(v.stdout, r"state hash [0-9a-f]{16}: NOT verified \(1 problem: the errors above\)\n$")
        # valid records follow the damage: they may be acknowledged orders,
        # so repair cuts them only when told to, and says so
        before = {f: os.path.getsize(os.path.join(self.d, f)) for f in os.listdir(self.d)}
        rep = run("journal", "repair", self.d)
        self.assertEqual(rep.returncode, 1, rep.stdout)
        self.assertRegex(rep.stderr, r"valid records follow it at .*wal-0+1\.log offset \d+: a cut there would remove")
        self.assertIn(f"run 'xtrading journal repair {self.d} --force'", rep.stderr)
        self.assertEqual({f: os.path.getsize(os.path.join(self.d, f)) for f in os.listdir(self.d)}, before)
        frce = run("journal", "repair", self.d, "--frce")
        self.assertEqual(frce.returncode, 2)
        self.assertTrue(frce.stderr.startswith("xtrading journal repair: unexpected argument '--frce'\n"), frce.stderr)
        self.assertTrue(run("journal", "verify", self.d, "--force").stderr.startswith(
            "xtrading journal verify: unexpected argument '--force'\n"))  # (the usage alone did not say)
        rep = run("journal", "repair", self.d, "--force")
        self.assertEqual(rep.returncode, 0, rep.stderr)
        self.assertIn("cut there", rep.stdout)
        backups = [f for f in os.listdir(self.d) if f.startswith("repair-")]
        self.assertEqual(len(backups), 1)
        kept = os.listdir(os.path.join(self.d, backups[0]))
        self.assertEqual(kept, [os.path.basename(seg)])
        self.assertGreater(os.path.getsize(os.path.join(self.d, backups[0], kept[0])), 0)
        self.assertEqual(run("journal", "verify", self.d).returncode, 0)
        r = run("replay", "--journal", self.d, "--hash", stdin="")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertLess(int(r.stdout.split()[1]), 500)

    def test_repair_keeps_a_sparse_tail_sparse(self):
        # what repair cuts is kept in repair-*/, its holes holes: a probe's
        # journal with a terabyte hole behind its last record (truncate -s)
        # had repair copy every zero and fill the disk
        self.journal(stream(300))
        for snap in [f for f in os.listdir(self.d) if f.startswith("snap-")]:
            os.unlink(os.path.join(self.d, snap))
        seg = os.path.join(self.d, segments(self.d)[-1])
        end = os.path.getsize(seg)
        os.truncate(seg, 1 << 30)
        with open(seg, "r+b") as f:  # and one byte far on, where the copy must keep it
            f.seek((1 << 30) - 5)
            f.write(b"\x07")
        rep = run("journal", "repair", self.d)
        self.assertEqual(rep.returncode, 0, rep.stderr)
        backups = [f for f in os.listdir(self.d) if f.startswith("repair-")]
        self.assertEqual(len(backups), 1)
        kept = os.path.join(self.d, backups[0], os.path.basename(seg))
        st = os.stat(kept)
        self.assertEqual(st.st_size, (1 << 30) - end)
        self.assertLess(st.st_blocks * 512, 1 << 20, "the copy's zeros were written out")
        with open(kept, "rb") as f:
            f.seek(st.st_size - 6)
            self.assertEqual(f.read(), b"\0\x07\0\0\0\0")
            f.seek(0)
            self.assertEqual(f.read(65536), bytes(65536))
        self.assertEqual(os.path.getsize(seg), end)
        self.assertEqual(run("journal", "verify", self.d).returncode, 0)

    def flip(self, path, offset):
        with open(path, "r+b") as f:
            f.seek(offset)
            b = f.read(1)
            f.seek(offset)
            f.write(bytes([b[0] ^ 0xFF]))

    def test_stats_and_dump_tell_the_capacities(self):
        # a second run with another capacity starts a segment recording it:
        # stats shows each segment's, and dump says it where it changes, as
        # replay's flags (replay runs at its own: docs/journal.md)
        a, b = stream(150), stream(150, offset=150)

        def stats_says(max_orders):
            s = run("journal", "stats", self.d)
            self.assertEqual(s.returncode, 0, s.stderr)
            self.assertRegex(s.stdout, rf"{segments(self.d)[-1]}  \d+ bytes, format 2, rules 2, "
                             rf"max_orders {max_orders}, max_levels 262144, max_instruments 1024\n")
        self.journal(a)
        stats_says(1048576)
        d = run("journal", "dump", self.d)
        self.assertEqual(d.returncode, 0, d.stderr)
        self.assertNotIn("# capacities", d.stdout)  # replay's defaults: no line
        self.journal(b, "--max-orders", "5000")
        stats_says(5000)
        n1 = int(hash_of(a)[0])
        d = run("journal", "dump", self.d)
        self.assertEqual(d.returncode, 0, d.stderr)
        told = [ln for ln in d.stdout.splitlines() if ln.startswith("# capacities")]
        self.assertEqual(told, [f"# capacities --max-orders 5000 --max-levels 262144 --max-instruments 1024 "
                                f"from sequence {n1 + 1}"])

    def test_repair_keeps_the_newer_snapshot(self):
        # two runs, the second with other capacities (a new segment); the
        # snapshots at their ends are kept, the first segment is retired.
        # The second segment's last record is spoilt: recovery from the
        # newer snapshot must read through it, finds no record after it to
        # go on from (it is the snapshot's last), and refuses. Repair keeps that
        # snapshot (cutting back to the older one would lose the second run)
        # and starts the journal again after it.
        a, b = stream(150), stream(150, offset=150)
        self.journal(a)
        self.journal(b, "--max-orders", "5000")
        n1, n2 = int(hash_of(a)[0]), int(hash_of(a + b)[0])
        self.assertEqual(segments(self.d), [f"wal-{n1 + 1:020d}.log"])
        seg = segments(self.d)[0]
        self.flip(os.path.join(self.d, seg), os.path.getsize(os.path.join(self.d, seg)) - 3)  # its last record
        r = run("replay", "--journal", self.d, stdin="")
        self.assertEqual(r.returncode, 1)
        rep = run("journal", "repair", self.d)
        self.assertEqual(rep.returncode, 0, rep.stderr)
        self.assertIn(f"the journal is spoilt, before snapshot {n2}: kept the snapshot", rep.stdout)
        self.assertIn(f"recovery now starts from snapshot {n2} and ends at sequence {n2}", rep.stdout)
        # the segments before the snapshot and the older snapshot set aside, a new segment after it
        self.assertEqual(segments(self.d), [f"wal-{n2 + 1:020d}.log"])
        backups = [f for f in os.listdir(self.d) if f.startswith("repair-")]
        self.assertEqual(sorted(os.listdir(os.path.join(self.d, backups[0]))), [f"snap-{n1:020d}.xts", seg])
        v = run("journal", "verify", self.d)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        r = run("replay", "--journal", self.d, "--hash", stdin="")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split()[1:], list(hash_of(a + b)))
        # and the journal goes on from there
        c = stream(50, offset=300)
        self.journal(c, "--max-orders", "5000")
        r = run("replay", "--journal", self.d, "--hash", stdin="")
        self.assertEqual(r.stdout.split()[1:], list(hash_of(a + b + c)))

    def test_repair_of_a_spoilt_header_where_recovery_starts(self):
        # the segment recovery starts in has a bad header (not a torn one):
        # one repair goes on from the snapshot, and verify agrees
        a, b = stream(150), stream(150, offset=150)
        self.journal(a)
        self.journal(b, "--max-orders", "5000")
        n2 = int(hash_of(a + b)[0])
        seg = os.path.join(self.d, segments(self.d)[-1])
        self.flip(seg, 8)
        self.assertEqual(run("replay", "--journal", self.d, stdin="").returncode, 1)
        rep = run("journal", "repair", self.d)
        self.assertEqual(rep.returncode, 0, rep.stdout + rep.stderr)
        self.assertIn(f"recovery now starts from snapshot {n2} and ends at sequence {n2}", rep.stdout)
        self.assertEqual(run("journal", "verify", self.d).returncode, 0)

    def test_a_fifo_in_place_of_a_file_is_refused(self):
        # a FIFO where a segment, snapshot or K-line file should be is no
        # file to read: refused at once (before: the tools, and a server's
        # recovery, waited for a writer for ever); run's timeout catches a hang
        self.journal(stream(60), "--snapshot-every", "30")
        seg = os.path.join(self.d, segments(self.d)[0])
        os.unlink(seg)
        os.mkfifo(seg)
        for cmd in ("verify", "stats", "dump", "repair"):
            r = run("journal", cmd, self.d)
            self.assertEqual(r.returncode, 1, f"{cmd}: {r.stdout} {r.stderr}")
            self.assertIn("not a regular file", r.stderr, cmd)
        # a directory there is called one (it was "not a regular file (a FIFO, device or socket)")
        os.unlink(seg)
        os.mkdir(seg)
        for cmd in ("verify", "stats", "dump"):
            r = run("journal", cmd, self.d)
            self.assertEqual(r.returncode, 1, f"{cmd}: {r.stdout} {r.stderr}")
            self.assertTrue(any(seg in l and "cannot open: Is a directory" in l for l in r.stderr.splitlines()),
                            f"{cmd}: {r.stderr}")
        os.rmdir(seg)
        os.mkfifo(seg)
        r = run("replay", "--journal", self.d, stdin="")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("not a regular file", r.stderr)
        fifo = os.path.join(self.tmp, "candles")
        os.mkfifo(fifo)
        r = run("md", "dump", fifo)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("not a regular file", r.stderr)
        # the directory's LOCK too: verify opened it read-only, which waited
        # for a writer; now it reads the directory as one without a LOCK (a
        # copy), and what takes the lock refuses
        lock = os.path.join(self.d, "LOCK")
        os.unlink(lock)
        os.mkfifo(lock)
        r = run("journal", "verify", self.d)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("not a regular file", r.stderr)  # the FIFO segment: it got past the LOCK
        for args in (["journal", "repair", self.d], ["replay", "--journal", self.d]):
            r = run(*args, stdin="")
            self.assertEqual(r.returncode, 1, f"{args}: {r.stdout} {r.stderr}")
            self.assertIn("not a regular file", r.stderr, args)

    def small_segments(self, at_least):
        """600 commands journaled in 4 KiB segments (at least `at_least` of
        them) with a snapshot every 100; returns the segment names. Where a
        segment rolls depends on how the commands fell into batches (a
        batch ends at --batch-max or when its time is up) and on whether
        the spare was ready: 300 commands made 3 segments after retention
        as often as 4 under load, 600 make 6 or more."""
        self.journal(stream(600), "--segment-bytes", "4096", "--snapshot-every", "100", "--batch-max", "50",
                     "--keep-snapshots", "10")
        segs = segments(self.d)
        self.assertGreaterEqual(len(segs), at_least)
        return segs

    def drop_snapshots_after(self, seq):
        """Removes the snapshots beyond seq: they would recover past a loss."""
        for f in os.listdir(self.d):
            if f.startswith("snap-") and int(f[5:25]) > seq:
                os.unlink(os.path.join(self.d, f))

    def test_tools_read_past_a_spoilt_segment_recovery_does_not_need(self):
        # the first segment's header spoilt: recovery, from the newest
        # snapshot, does not read it. verify checks the journal from the
        # oldest snapshot whose journal can be read, stats counts the
        # records of the segments after it, dump prints them - each telling
        # the damage, status 1 (they said "nothing replayed", "records: 0"
        # and printed nothing; found by a probe)
        segs = self.small_segments(5)
        second = int(segs[1][4:24])
        self.flip(os.path.join(self.d, segs[0]), 20)  # in the header
        text = stream(600)
        n, h = hash_of(text)
        r = run("replay", "--journal", self.d, "--hash", stdin="")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split()[1:], [n, h])
        v = run("journal", "verify", self.d)
        self.assertEqual(v.returncode, 1, v.stdout + v.stderr)
        self.assertIn(f"{segs[0]}: bad segment header", v.stderr)
        m = re.search(r"^journal: (\d+) records replayed from snapshot (\d+)$", v.stdout, re.M)
        self.assertIsNotNone(m, v.stdout)
        self.assertGreaterEqual(int(m.group(2)), second - 1)
        self.assertEqual(int(m.group(1)), int(n) - int(m.group(2)))
        self.assertRegex(v.stdout, rf"last seq {n}, state hash {h}: NOT verified \(1 problem: the errors above\)\n$")
        s = run("journal", "stats", self.d)
        self.assertEqual(s.returncode, 1, s.stdout + s.stderr)
        self.assertIn(f"{segs[0]} offset 0: bad segment header", s.stderr)
        self.assertRegex(s.stdout, rf"records: {int(n) - second + 1} \(.*\), sequence {second}\.\.{n}\n")
        d = run("journal", "dump", self.d, "--from", str(int(n) - 9))
        self.assertEqual(d.returncode, 1, d.stderr)
        self.assertIn(f"{segs[0]}: bad segment header", d.stderr)
        self.assertEqual([int(x.split()[0]) for x in d.stdout.splitlines() if not x.startswith("#")],
                         list(range(int(n) - 9, int(n) + 1)))

    def test_repair_names_the_later_segments_it_would_cut(self):
        # damage in an early segment: a cut there takes every later segment,
        # sound as they are; without --force repair refuses and names them
        segs = self.small_segments(4)
        self.drop_snapshots_after(int(segs[1][4:24]) - 1)  # recovery reads the segment from its start
        self.flip(os.path.join(self.d, segs[1]), 64 + 30)
        before = {f: os.path.getsize(os.path.join(self.d, f)) for f in os.listdir(self.d)}
        rep = run("journal", "repair", self.d)
        self.assertEqual(rep.returncode, 1, rep.stdout)
        end = int(segs[1][4:24]) - 1
        self.assertIn(f"a cut there would remove the rest of the segment, and {len(segs) - 2} later segments (the "
                      f"newest from sequence {int(segs[-1][4:24])}; the cut would end the journal at {end})",
                      rep.stderr)
        self.assertEqual({f: os.path.getsize(os.path.join(self.d, f)) for f in os.listdir(self.d)}, before)
        rep = run("journal", "repair", self.d, "--force")
        self.assertEqual(rep.returncode, 0, rep.stderr)
        self.assertIn(f"the journal now ends at sequence {end}", rep.stdout)
        backups = [f for f in os.listdir(self.d) if f.startswith("repair-")]
        self.assertEqual(sorted(os.listdir(os.path.join(self.d, backups[0]))), segs[1:])
        self.assertEqual(run("journal", "verify", self.d).returncode, 0)

    def test_repair_does_not_promise_records_in_a_garbage_segment(self):
        # a last segment of garbage from its first byte: repair refuses to
        # cut it without --force (a bad header hides whatever it holds) and
        # says the cut would take the whole segment - not "valid records
        # among it", which it did not know (a probe)
        segs = self.small_segments(3)
        self.drop_snapshots_after(int(segs[0][4:24]) - 1)  # recovery reads the journal from its start
        nxt = int(run("journal", "stats", self.d).stdout.split("sequence ")[1].split("..")[1].split()[0]) + 1
        with open(os.path.join(self.d, "wal-%020d.log" % nxt), "wb") as f:
            f.write(bytes(range(256)) * 16)
        rep = run("journal", "repair", self.d)
        self.assertEqual(rep.returncode, 1, rep.stdout + rep.stderr)
        self.assertIn(f"wal-{nxt:020d}.log offset 0: a cut there would remove the whole segment, which may hold",
                      rep.stderr)
        self.assertNotIn("valid records", rep.stderr)
        self.assertEqual(len(segments(self.d)), len(segs) + 1)

    def test_replay_under_the_first_rules(self):
        # an amend of a partly filled order below min: refused under rules 1,
        # taken under 2. `replay --rules 1 --journal` writes a version-1
        # segment; its dump says so, and replays exactly only with --rules 1
        text = ("INSTRUMENT Z tick=0.01 lot=1 min=5\n"
                "NEW 1 1 Z SELL LIMIT 10.00 10\n"
                "NEW 2 2 Z BUY LIMIT 10.00 7\n"
                "AMEND 1 1 10.00 2\n")
        self.assertIn("AMENDED 1 10.00 2", run("replay", stdin=text).stdout)
        self.assertIn("REJECTED 1 INVALID_QTY", run("replay", "--rules", "1", stdin=text).stdout)
        for bad in ("0", "3", "x"):
            r = run("replay", "--rules", bad, stdin=text)
            self.assertEqual(r.returncode, 2, bad)
            self.assertIn("--rules", r.stderr)
        j = self.journal(text, "--rules", "1")
        self.assertIn("REJECTED 1 INVALID_QTY", j.stdout)
        want = j.stdout.split("HASH ")[1].split()
        self.assertIn("format 1, rules 1", run("journal", "stats", self.d).stdout)
        v = run("journal", "verify", self.d)
        self.assertIn(f"state hash {want[1]}: verified", v.stdout)
        d = run("journal", "dump", self.d, "--format", "replay")
        self.assertEqual(d.returncode, 0, d.stderr)
        self.assertTrue(d.stdout.startswith("# matching rules 1 from sequence 1\n"), d.stdout)
        self.assertIn("'xtrading replay --rules R' re-creates those of revision R", d.stderr)
        self.assertEqual(hash_of(d.stdout), tuple(want[:1] + [hash_of(text)[1]]))  # the newest rules: another state
        self.assertNotEqual(hash_of(d.stdout)[1], want[1])
        r = run("replay", "--rules", "1", "--hash", stdin=d.stdout)
        self.assertEqual(r.stdout.split("HASH ")[1].split(), want)
        t = run("journal", "dump", self.d, "--from", "3").stdout  # the line comes with the first one dumped
        self.assertTrue(t.startswith("# matching rules 1 from sequence 3\n3 "), t)
        # continued under the newest rules: a version-2 segment after the
        # clean stop's snapshot, which retention leaves alone; nothing older
        self.journal("AMEND 1 1 10.00 2\n", "--keep-snapshots", "5")
        self.assertIn("format 2, rules 2", run("journal", "stats", self.d).stdout)
        d = run("journal", "dump", self.d, "--format", "replay")
        self.assertEqual(d.returncode, 0, d.stderr)
        self.assertNotIn("# matching", d.stdout)
        self.assertNotIn("older matching rules", d.stderr)
        # the snapshot's order 1 had filled 7 of 10: its NEW line carries
        # the 3 left, below min, and the dump says what that means
        self.assertIn("NEW 1 1 Z SELL LIMIT 10.00 3 ", d.stdout)
        self.assertIn("1 resting order of snapshot 4 had filled part of its quantity: its NEW line carries only what "
                      "remains, which 'replay' refuses where it is below the instrument's min", d.stderr)
        self.assertIn("REJECTED 1 INVALID_QTY", run("replay", stdin=d.stdout).stdout)

    def test_newest_segments_missing(self):
        # wal-last names the newest segment: with the newest segments gone
        # (and the snapshots beyond what is left), start-up refuses instead
        # of taking the journal for a shorter one; repair accepts the loss
        segs = self.small_segments(4)
        for f in segs[-2:]:
            os.unlink(os.path.join(self.d, f))
        left = int(segs[-2][4:24]) - 1  # the journal now ends before the first segment removed
        self.drop_snapshots_after(left)
        r = run("replay", "--journal", self.d, stdin="")
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"the journal's newest segment, the one from sequence {int(segs[-1][4:24])}", r.stderr)
        self.assertIn("is missing", r.stderr)
        v = run("journal", "verify", self.d)  # what a backup check must see
        self.assertEqual(v.returncode, 1)
        self.assertIn("is missing", v.stderr)
        m = run("md", "rebuild", self.d)  # nor are K-lines rebuilt from what is left
        self.assertNotEqual(m.returncode, 0)
        self.assertIn("is missing; the newest there starts at", m.stderr)
        self.assertIn("nothing was written", m.stderr)
        rep = run("journal", "repair", self.d)
        self.assertEqual(rep.returncode, 0, rep.stdout + rep.stderr)
        self.assertIn(f"the journal now ends at sequence {left} (the commands after it are lost)", rep.stdout)
        r = run("replay", "--journal", self.d, "--hash", stdin="")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split()[1], str(left))
        self.assertEqual(run("journal", "verify", self.d).returncode, 0)

    def test_newest_segment_cut_to_nothing(self):
        # wal-last is written only after its segment's header is synced: the
        # segment it names with no header (cut to 0 or 30 bytes) was damaged,
        # not torn by a crash while it was created. Before, start-up took it
        # for such a tear, removed it, and said "bytes=0": its commands were
        # lost without a word
        segs = self.small_segments(3)
        left = int(segs[-1][4:24]) - 1
        self.drop_snapshots_after(left)
        for size in (30, 0):
            os.truncate(os.path.join(self.d, segs[-1]), size)
            r = run("replay", "--journal", self.d, stdin="")
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn(f"the journal's newest segment, the one from sequence {left + 1} (wal-last names it), "
                          "has no valid header", r.stderr)
            v = run("journal", "verify", self.d)
            self.assertEqual(v.returncode, 1)
            self.assertIn("has no valid header", v.stderr)
            self.assertNotIn("recovery cuts it", v.stderr)  # it does not: it refuses
            # dump gives what it can read, and says - and exits 1 - that the rest is lost (it exited 0)
            d = run("journal", "dump", self.d)
            self.assertEqual(d.returncode, 1, d.stderr)
            self.assertIn("has no valid header", d.stderr)
            self.assertNotIn("recovery cuts it", d.stderr)
            self.assertEqual(d.stdout.splitlines()[-1].split()[0], str(left))
        rep = run("journal", "repair", self.d)
        self.assertEqual(rep.returncode, 0, rep.stdout + rep.stderr)
        r = run("replay", "--journal", self.d, "--hash", stdin="")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split()[1], str(left))
        self.assertEqual(run("journal", "verify", self.d).returncode, 0)

    def snapshot_with_commands_after(self):
        """A journal of one segment whose newest snapshot has commands after
        it: (the commands, the segment's path, the snapshot's sequence)."""
        a = stream(300)
        self.journal(a, "--snapshot-every", "100", "--batch-max", "50", "--keep-snapshots", "3")
        self.assertEqual(len(segments(self.d)), 1)
        snaps = sorted(f for f in os.listdir(self.d) if f.startswith("snap-"))
        os.unlink(os.path.join(self.d, snaps[-1]))  # the clean stop's: the newest is now one with commands after it
        return a, os.path.join(self.d, segments(self.d)[0]), int(snaps[-2][5:25])

    def test_damage_before_the_snapshot_is_read_past(self):
        # spoilt before the snapshot, with commands after it in the same
        # segment: the snapshot holds the spoilt records' effect, so
        # recovery reads past them (with a warning) to the snapshot's end
        # and goes on; repair has nothing to cut; verify, which replays
        # from the start too, reports the damage once, and checks the rest
        # from the snapshots after it (it stopped at the damage, and called
        # every later snapshot one "ahead of the journal's end")
        a, seg, newest = self.snapshot_with_commands_after()
        self.flip(seg, 64 + 30)  # the segment's first record, before the snapshot
        before = {f: os.path.getsize(os.path.join(self.d, f)) for f in os.listdir(self.d)}
        rep = run("journal", "repair", self.d)
        self.assertEqual(rep.returncode, 0, rep.stderr)
        self.assertIn("nothing to repair", rep.stdout)
        self.assertEqual({f: os.path.getsize(os.path.join(self.d, f)) for f in os.listdir(self.d)}, before)
        v = run("journal", "verify", self.d)
        self.assertEqual(v.returncode, 1)
        errors = [ln for ln in v.stderr.splitlines() if ln.startswith("error:")]
        self.assertEqual(len(errors), 1, v.stderr)
        self.assertRegex(errors[0], r"wal-0+1\.log offset 64: ")
        self.assertNotIn("ahead", v.stderr)
        self.assertRegex(v.stdout, r"snapshot \d+: replaying the rest of the journal from it reaches its end, "
                                   r"past the damage\n")
        n, h = hash_of(a)
        self.assertRegex(v.stdout, rf"last seq {n}, state hash {h}: NOT verified \(1 problem: the errors above\)\n$")
        r = run("replay", "--journal", self.d, "--hash", stdin="")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split()[1:], [n, h])
        self.assertRegex(r.stderr, rf"warning: read past 1 damaged record\(s\) before snapshot {newest} \(\d+ bytes at "
                                   r".*wal-0+1\.log offset 64\)")
        self.assertEqual({f: os.path.getsize(os.path.join(self.d, f)) for f in os.listdir(self.d)
                          if not f.startswith("snap-")},
                         {f: s for f, s in before.items() if not f.startswith("snap-")})  # nothing cut

    def test_damage_before_the_snapshot_where_the_journal_starts_late(self):
        # retention removed the journal's start: the oldest snapshot is where
        # verify's replay begins, and damage before it in the segment it
        # ends in was never read - verify said "verified" (status 0) and
        # stats called it a torn tail "recovery cuts it", then the snapshot
        # "ahead of the journal's end"; both now tell it as start-up reads it
        a = stream(600)
        self.journal(a, "--segment-bytes", "6000", "--snapshot-every", "100", "--batch-max", "50",
                     "--keep-snapshots", "10", "--keep-all-segments")
        snaps = sorted(int(f[5:25]) for f in os.listdir(self.d) if f.startswith("snap-"))
        firsts = [int(f[4:24]) for f in segments(self.d)]
        # a snapshot inside a segment, records of that segment after it: start-up reads that segment
        snap = next(s for s in snaps[:-1] if any(1 < f < s and s + 1 < g for f, g in zip(firsts, firsts[1:] + [1 << 62])))
        first = max(f for f in firsts if f < snap)  # the segment the snapshot ends in, its first record before it
        for f in firsts:
            if f < first:
                os.unlink(os.path.join(self.d, f"wal-{f:020d}.log"))
        for s in snaps:
            if s != snap:
                os.unlink(os.path.join(self.d, f"snap-{s:020d}.xts"))
        self.flip(os.path.join(self.d, f"wal-{first:020d}.log"), 64 + 30)
        r = run("replay", "--journal", self.d, "--hash", stdin="")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split()[1:], list(hash_of(a)))
        self.assertIn("read past 1 damaged record(s)", r.stderr)
        for cmd in ("verify", "stats"):
            v = run("journal", cmd, self.d)
            self.assertEqual(v.returncode, 1, v.stdout + v.stderr)
            errors = [ln for ln in v.stderr.splitlines() if ln.startswith(("error:", "warning:"))]
            self.assertEqual(len(errors), 1, v.stderr)
            self.assertRegex(errors[0], rf"^error: .*wal-{first:020d}\.log offset 64: [^:]+, among records a "
                                        r"snapshot holds: start-up reads past them")

    def test_damage_start_up_does_not_read_past_is_not_told_so(self):
        # the last record spoilt, the clean stop's snapshot right after it:
        # nothing valid follows, so start-up stops there and refuses (the
        # snapshot "ahead of the journal") - verify and stats say that, not
        # "start-up reads past them" (a review caught the tools saying so)
        self.journal(stream(100))
        seg = os.path.join(self.d, segments(self.d)[-1])
        with open(seg, "rb") as f:
            data = f.read()
        at, last = 64, None
        while at + 4 <= len(data) and struct.unpack_from("<I", data, at)[0]:
            last, at = at, at + struct.unpack_from("<I", data, at)[0]
        self.flip(seg, last + 30)
        self.assertEqual(run("replay", "--journal", self.d, stdin="").returncode, 1)
        for cmd in ("verify", "stats"):
            v = run("journal", cmd, self.d)
            self.assertEqual(v.returncode, 1, v.stdout + v.stderr)
            self.assertNotIn("among records a snapshot holds", v.stderr)
            self.assertRegex(v.stderr, r"error: snapshot \d+ is ahead of the journal's end \d+\n")

    def test_bad_header_of_the_segment_a_snapshot_ends_in(self):
        # the newest segment's header spoilt, the newest snapshot inside it,
        # commands after that: start-up refuses and names repair; repair
        # refuses (it would cut them) and names --force, with which it goes
        # on from the snapshot (it refused even then: no tool led on)
        a, seg, newest = self.snapshot_with_commands_after()
        self.flip(seg, 28)  # in the header
        r = run("replay", "--journal", self.d, stdin="")
        self.assertEqual(r.returncode, 1)
        self.assertIn("xtrading journal repair", r.stderr)
        rep = run("journal", "repair", self.d)
        self.assertEqual(rep.returncode, 1)
        self.assertIn(f"before snapshot {newest}; commands after the snapshot follow it", rep.stderr)
        self.assertIn(f"run 'xtrading journal repair {self.d} --force'", rep.stderr)
        rep = run("journal", "repair", self.d, "--force")
        self.assertEqual(rep.returncode, 0, rep.stderr)
        self.assertIn("with the commands after the snapshot, which are lost", rep.stdout)
        n, h = hash_of("\n".join(a.splitlines()[:newest]) + "\n")
        self.assertEqual(int(n), newest)
        r = run("replay", "--journal", self.d, "--hash", stdin="")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split()[1:], [n, h])
        v = run("journal", "verify", self.d)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)

    def test_journal_ending_before_the_snapshot(self):
        # the segments after a snapshot gone (deleted, or the one it ends in
        # cut short): start-up refuses, naming repair; repair goes on from the
        # snapshot
        a = stream(200)
        self.journal(a, "--snapshot-every", "100", "--batch-max", "50")
        n = int(hash_of(a)[0])
        for cut in ("all", "short"):
            with self.subTest(cut=cut):
                if cut == "all":
                    for f in segments(self.d):
                        os.unlink(os.path.join(self.d, f))
                    want = "the journal's segments are all missing"  # wal-last names one
                else:
                    seg = os.path.join(self.d, segments(self.d)[-1])
                    self.journal(stream(100, offset=200))  # records after the snapshot, in a segment from n + 1
                    n2 = int(hash_of(a + stream(100, offset=200))[0])
                    os.truncate(seg, 64 + 10)  # a torn record: the snapshot's own is gone
                    want = f"snapshot {n2} is ahead of the journal"
                    n = n2
                    seg = os.path.basename(seg)
                size = {f: os.path.getsize(os.path.join(self.d, f)) for f in segments(self.d)}
                r = run("replay", "--journal", self.d, stdin="")
                self.assertEqual(r.returncode, 1)
                self.assertIn(want, r.stderr)
                self.assertIn("xtrading journal repair", r.stderr)
                if cut == "all":  # a directory from before wal-last: the snapshot tells
                    os.unlink(os.path.join(self.d, "wal-last"))
                    r = run("replay", "--journal", self.d, stdin="")
                    self.assertIn(f"snapshot {n}, but no journal segment", r.stderr)
                self.assertEqual({f: os.path.getsize(os.path.join(self.d, f)) for f in segments(self.d)}, size,
                                 "nothing cut by a start that refuses")
                rep = run("journal", "repair", self.d)
                self.assertEqual(rep.returncode, 0, rep.stderr)
                self.assertIn(f"recovery now starts from snapshot {n} and ends at sequence {n}", rep.stdout)
                r = run("replay", "--journal", self.d, "--hash", stdin="")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout.split()[1], str(n))
                v = run("journal", "verify", self.d)
                self.assertEqual(v.returncode, 0, v.stdout + v.stderr)

    def test_repair_leaves_what_recovery_does_not_read(self):
        # an old segment kept only for the oldest snapshot is damaged:
        # start-up does not read it, so repair must not cut there
        a, b = stream(300), stream(100, offset=300)
        self.journal(a, "--snapshot-every", "100", "--batch-max", "50", "--keep-snapshots", "3")
        self.journal(b, "--max-orders", "5000", "--keep-snapshots", "3")
        old = os.path.join(self.d, segments(self.d)[0])
        self.assertTrue(old.endswith("wal-00000000000000000001.log"), segments(self.d))
        self.flip(old, 64 + 55 * 20)
        before = sorted(os.listdir(self.d))
        rep = run("journal", "repair", self.d)
        self.assertEqual(rep.returncode, 0, rep.stderr)
        self.assertIn("nothing to repair", rep.stdout)
        self.assertEqual(sorted(os.listdir(self.d)), before)
        self.assertEqual(run("journal", "verify", self.d).returncode, 1)  # verify reads it all
        r = run("replay", "--journal", self.d, "--hash", stdin="")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split()[1:], list(hash_of(a + b)))

    def test_torn_tail_is_cut_with_a_warning(self):
        a = stream(300)
        self.journal(a)
        for snap in [f for f in os.listdir(self.d) if f.startswith("snap-")]:
            os.unlink(os.path.join(self.d, snap))
        seg = os.path.join(self.d, segments(self.d)[-1])
        os.truncate(seg, os.path.getsize(seg) - 5)
        v = run("journal", "verify", self.d)
        self.assertEqual(v.returncode, 0, v.stderr)  # a torn tail is not a disagreement
        self.assertIn("recovery cuts it", v.stderr)
        r = run("replay", "--journal", self.d, "--hash", stdin="")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("warning: cut a torn tail", r.stderr)
        seq = int(r.stdout.split()[1])
        lines = a.splitlines()
        self.assertEqual(r.stdout.split()[2], hash_of("\n".join(lines[:seq]) + "\n")[1])

    def test_damaged_snapshot_falls_back(self):
        a = stream(300)
        self.journal(a, "--snapshot-every", "100", "--keep-snapshots", "3", "--batch-max", "50")
        snaps = sorted(f for f in os.listdir(self.d) if f.startswith("snap-"))
        newest = os.path.join(self.d, snaps[-1])
        os.truncate(newest, os.path.getsize(newest) // 2)
        s = run("journal", "stats", self.d)
        self.assertIn("BAD", s.stdout)
        self.assertEqual(s.returncode, 1)
        v = run("journal", "verify", self.d)
        self.assertEqual(v.returncode, 1)
        # stats reports it on standard error too, as verify does (it was on standard output only)
        told = [l for l in v.stderr.splitlines() if snaps[-1] in l]
        self.assertTrue(told and told[0] in s.stderr.splitlines(), f"verify: {v.stderr!r}, stats: {s.stderr!r}")
        r = run("replay", "--journal", self.d, "--hash", stdin="")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split()[1:], list(hash_of(a)))
        # why, and no hint to look at stats, which no longer lists the snapshot set aside as .bad
        self.assertRegex(r.stderr, rf"warning: 1 newer snapshot\(s\) did not load \(the newest: [^\n]*{snaps[-1]}"
                                   rf"[^\n]*\); recovered from snapshot \d+; 1 set aside as NAME.bad\n")
        self.assertNotIn("journal stats", r.stderr)

    def test_directory_lock(self):
        p = subprocess.Popen([XT, "replay", "--journal", self.d], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        p.stdin.write("INSTRUMENT L tick=1 lot=1\nNEW 1 1 L BUY LIMIT 1 1\n")
        p.stdin.flush()
        self.assertEqual(p.stdout.readline(), "ACCEPTED 1\n")  # it is running, holding the lock
        try:
            r = run("replay", "--journal", self.d, stdin="")
            self.assertEqual(r.returncode, 1)
            self.assertIn("in use by another process", r.stderr)
            self.assertEqual(run("journal", "repair", self.d).returncode, 1)
        finally:
            p.stdin.close()
            p.wait(timeout=30)
        # a LOCK that is not a file: the message names it
        other = tempfile.mkdtemp(prefix="xt-jcli-lock-")
        os.mkdir(os.path.join(other, "LOCK"))
        r = run("replay", "--journal", other, stdin="")
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"data directory {other}: its LOCK file: Is a directory", r.stderr)
        open(os.path.join(other, "wal-00000000000000000001.log"), "w").close()  # a journal to repair
        r = run("journal", "repair", other)  # the file named as recovery names it (it said only DIR: Is a directory)
        self.assertEqual((r.returncode, r.stderr),
                         (1, f"xtrading journal repair: {other}: its LOCK file: Is a directory\n"))
        shutil.rmtree(other)

    def test_a_stop_while_a_fifo_has_no_writer(self):
        # the input a FIFO nobody has opened yet: its open waited for a writer
        # before the signals were set up, and SIGTERM ended the run (143) with
        # no word; now the run waits for input as for a pipe's, and stops cleanly
        fifo = os.path.join(tempfile.mkdtemp(prefix="xt-jcli-fifo-"), "in")
        os.mkfifo(fifo)
        p = subprocess.Popen([XT, "replay", "--journal", self.d, "--seq", fifo],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            self.assertTrue(self._wait_lock(), "the journal opened")
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(timeout=60), 0)
            self.assertEqual(p.stderr.read(), "xtrading replay: stopped by a signal after sequence 0\n")
        finally:
            p.kill()
            p.wait()
            p.stdout.close()
            p.stderr.close()
        # a writer's lines, then its end: the run ends with the input
        p = subprocess.Popen([XT, "replay", "--journal", self.d, "--seq", fifo],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        with open(fifo, "w") as w:
            w.write("INSTRUMENT L tick=1 lot=1\nNEW 1 1 L BUY LIMIT 1 1\n")
        out, err = p.communicate(timeout=60)
        self.assertEqual((p.returncode, out, err), (0, "2 ACCEPTED 1\n", ""))

    def _wait_lock(self):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if os.path.exists(os.path.join(self.d, "LOCK")):
                return True
            time.sleep(0.01)
        return False

    def test_snapshot_on_request_and_a_clean_stop(self):
        # interval policy: results print before their sync, so only the
        # clean stop's final sync puts command 3 in the journal
        p = subprocess.Popen([XT, "replay", "--journal", self.d, "--seq", "--fsync", "interval=60000"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            p.stdin.write("INSTRUMENT L tick=1 lot=1\nNEW 1 1 L BUY LIMIT 1 1\n")
            p.stdin.flush()
            self.assertEqual(p.stdout.readline(), "2 ACCEPTED 1\n")
            p.send_signal(signal.SIGUSR1)
            self.assertEqual(p.stderr.readline(), "xtrading replay: snapshot requested at sequence 2\n")
            p.stdin.write("NEW 2 1 L SELL LIMIT 2 1\n")
            p.stdin.flush()
            self.assertEqual(p.stdout.readline(), "3 ACCEPTED 2\n")
            p.send_signal(signal.SIGTERM)  # stdin still open: a stop, not the end of the input
            self.assertEqual(p.wait(timeout=60), 0)
            self.assertEqual(p.stderr.read(), "xtrading replay: stopped by a signal after sequence 3\n")
        finally:
            p.kill()
            p.wait()
            p.stdin.close()
            p.stdout.close()
            p.stderr.close()
        self.assertEqual(sorted(f for f in os.listdir(self.d) if f.startswith("snap-")),
                         ["snap-00000000000000000002.xts", "snap-00000000000000000003.xts"])
        v = run("journal", "verify", self.d)
        self.assertEqual(v.returncode, 0, v.stderr)
        self.assertIn("last seq 3,", v.stdout)

    def test_a_partial_line_does_not_hold_back_results(self):
        # The input stops in the middle of a line: the complete commands
        # before it must be committed and printed, not held until the line
        # ends. (A hang here is the failure; 60 s is only a safety net.)
        p = subprocess.Popen([XT, "replay", "--journal", self.d], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        try:
            p.stdin.write("INSTRUMENT L tick=1 lot=1\nNEW 1 1 L BUY LIMIT 1 1\nNEW 2 1 L BU")
            p.stdin.flush()
            ready, _, _ = select.select([p.stdout], [], [], 60)
            self.assertTrue(ready, "nothing printed while the last line is incomplete")
            self.assertEqual(p.stdout.readline(), "ACCEPTED 1\n")
            p.stdin.write("Y LIMIT 1 1\n")
            p.stdin.close()
            self.assertEqual(p.stdout.read(), "ACCEPTED 2\n")
            self.assertEqual(p.wait(timeout=60), 0)
        finally:
            p.kill()
            p.wait()
            p.stdout.close()
            p.stderr.close()

    def test_bad_options(self):
        self.assertEqual(run("replay", "--journal", self.d, "--fsync", "often").returncode, 2)
        r = run("replay", "--journal", self.d, "--fsync", "interval=0")  # the range is said
        self.assertEqual((r.returncode, r.stderr), (2, "xtrading replay: --fsync wants batch, always, "
                                                       "interval=<ms> (1..60000) or none, got 'interval=0'\n"))
        self.assertEqual(run("replay", "--journal").returncode, 2)
        self.assertEqual(run("journal", "dump").returncode, 2)
        self.assertEqual(run("journal", "frob", self.tmp).returncode, 2)
        self.assertEqual(run("journal", "verify", os.path.join(self.tmp, "nope")).returncode, 2)
        for args, err in ((["--format", "xml"], "xtrading journal dump: --format takes text or replay, got 'xml'\n"),
                          (["--from", "x"], "xtrading journal dump: --from needs a positive integer, got 'x'\n"),
                          (["--frob"], "xtrading journal dump: unknown option '--frob'\n"),
                          (["jj"], "xtrading journal dump: unexpected argument 'jj'\n")):  # (it said "option")
            with self.subTest(args=args):
                r = run("journal", "dump", self.tmp, *args)
                self.assertEqual((r.returncode, r.stdout, r.stderr), (2, "", err))

    def test_an_option_given_twice_is_refused(self):
        # `replay --journal A --journal B` ran on B without a word (stop 50's
        # probe): the operator may think the commands went into A. Nothing
        # is created in either directory.
        a, b = os.path.join(self.tmp, "a"), os.path.join(self.tmp, "b")
        for args, err in ((["replay", "--journal", a, "--journal", b],
                           "xtrading replay: --journal given twice; each option is taken once\n"),
                          (["journal", "dump", self.tmp, "--from", "3", "--from", "5"],
                           "xtrading journal dump: --from given twice; each option is taken once\n"),
                          (["md", "rebuild", self.tmp, "--out", a, "--out", b],
                           "xtrading md rebuild: --out given twice; each option is taken once\n")):
            with self.subTest(args=args):
                r = run(*args, stdin="INSTRUMENT L tick=1 lot=1\n")
                self.assertEqual((r.returncode, r.stdout, r.stderr), (2, "", err))
                self.assertFalse(os.path.exists(a) or os.path.exists(b))
        # serve and config check layer their flags in order (cli.md): the last --data is the one
        conf = os.path.join(self.tmp, "empty.conf")
        open(conf, "w").close()
        r = run("config", "check", conf, "--data", a, "--data", b)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"dir = {b}\n", r.stdout)
        # an admin command's words are the server's (a symbol may be "--data"), after "--" or not
        sock = os.path.join(self.tmp, "no.sock")
        for args in (["halt", "--", "--x", "--x"], ["halt", "--socket"]):
            r = run("admin", "--socket", sock, *args)
            self.assertNotIn("given twice", r.stderr)
        r = run("admin", "--socket", sock, "--socket", sock, "stats")
        self.assertEqual((r.returncode, r.stderr),
                         (2, "xtrading admin: --socket given twice; each option is taken once\n"))
        # help is printed wherever it stands, repeated options or not (review)
        for args in (["replay", "--help", "--help"], ["journal", "dump", "--help", "--from", "1", "--from", "1"],
                     ["md", "rebuild", "-h", "--out", a, "--out", b]):
            with self.subTest(args=args):
                r = run(*args)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn("usage:", r.stdout)


if __name__ == "__main__":
    XT = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
