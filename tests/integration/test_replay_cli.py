#!/usr/bin/python3
"""Integration tests of `xtrading replay` as a user runs it: files and stdin,
the shipped examples against their expected output, exit statuses and error
messages, capacities, and determinism on a large generated session.

usage: test_replay_cli.py path/to/xtrading   (run from the repository root)
"""
import os
import random
import subprocess
import sys
import tempfile
import unittest

XT = None
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(*args, stdin=None):
    return subprocess.run([XT, *args], input=stdin, capture_output=True, text=True, timeout=120)


def write_tmp(text):
    f = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)
    f.write(text)
    f.close()
    return f.name


class Examples(unittest.TestCase):
    def test_examples_match_expected_output(self):
        ex = os.path.join(ROOT, "examples")
        names = sorted(n[:-4] for n in os.listdir(ex) if n.endswith(".txt"))
        self.assertIn("demo", names)
        for name in names:
            expected = os.path.join(ex, name + ".expected")
            self.assertTrue(os.path.exists(expected), f"{name}.txt has no .expected file")
            with self.subTest(example=name):
                r = run("replay", "--book", os.path.join(ex, name + ".txt"))
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stderr, "")
                with open(expected) as f:
                    self.assertEqual(r.stdout, f.read())

    def test_stdin_and_dash_read_the_same(self):
        with open(os.path.join(ROOT, "examples", "demo.txt")) as f:
            text = f.read()
        from_file = run("replay", "--book", os.path.join(ROOT, "examples", "demo.txt")).stdout
        self.assertEqual(run("replay", "--book", stdin=text).stdout, from_file)
        self.assertEqual(run("replay", "--book", "-", stdin=text).stdout, from_file)
        without_book = run("replay", stdin=text).stdout
        self.assertTrue(from_file.startswith(without_book))
        self.assertNotIn("BOOK", without_book)


class Errors(unittest.TestCase):
    def test_malformed_line_stops_with_status_2(self):
        path = write_tmp("INSTRUMENT X tick=0.01 lot=1\n"
                         "NEW 1 1 X BUY LIMIT 10.00 5\n"
                         "NEW 2 1 X BUY LIMIT 10.00 five\n"
                         "NEW 3 1 X BUY LIMIT 10.00 5\n")
        try:
            r = run("replay", "--book", path)
        finally:
            os.unlink(path)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stdout, "ACCEPTED 1\n")  # events before it, no book
        self.assertEqual(r.stderr, "line 3: bad quantity 'five'\n")

    def test_instrument_defined_again(self):
        # only its band may move (docs/replay-format.md): another lot stops the run
        r = run("replay", stdin="INSTRUMENT X tick=0.01 lot=1\n\nINSTRUMENT X tick=0.01 lot=2\n")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr,
                         "line 3: instrument defined again with another tick, lot, min or max (only ref and band may change)\n")

    def test_a_band_moves(self):
        # ref 10.00 +-10%, then ref 10.50 +-10% ([9.45, 11.55]), then none; the order resting outside stays
        text = ("INSTRUMENT X tick=0.01 lot=1 ref=10.00 band=10\n"
                "NEW 1 7 X SELL LIMIT 10.90 5\nNEW 2 8 X BUY LIMIT 11.50 5\n"
                "INSTRUMENT X tick=0.010 lot=1 ref=10.50 band=10\n"
                "NEW 3 8 X BUY LIMIT 11.50 1\nNEW 4 8 X BUY LIMIT 9.40 5\n"
                "INSTRUMENT X tick=0.01 lot=1 min=1\n"
                "INSTRUMENT X tick=0.01 lot=1\nNEW 5 8 X BUY LIMIT 99.00 1\n")
        r = run("replay", stdin=text)
        self.assertEqual(r.returncode, 2, r.stderr)  # min given where it was not: not a band move
        self.assertEqual(r.stdout, "ACCEPTED 1\nREJECTED 2 PRICE_BAND\nACCEPTED 3\nTRADE X 10.90 1 1 3\n"
                                   "REJECTED 4 PRICE_BAND\n")
        r = run("replay", stdin=text.replace("INSTRUMENT X tick=0.01 lot=1 min=1\n", ""))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.endswith("ACCEPTED 5\nTRADE X 10.90 1 1 5\n"), r.stdout)
        # journaled, the moves verify, and md rebuild takes them for the one instrument they are
        with tempfile.TemporaryDirectory(prefix="xt-replay-") as d:
            j = os.path.join(d, "data")
            r = run("replay", "--journal", j, stdin=text.replace("INSTRUMENT X tick=0.01 lot=1 min=1\n", ""))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(run("journal", "verify", j).returncode, 0)
            rb = run("md", "rebuild", j, "--out", os.path.join(d, "kl"))
            self.assertEqual(rb.returncode, 0, rb.stderr)
            self.assertIn("instruments: 1 ", rb.stdout)

    def test_rejects_are_not_errors(self):
        r = run("replay", stdin="INSTRUMENT X tick=0.01 lot=1\nCANCEL 5 1\nNEW 1 1 NOPE BUY LIMIT 1 1\n")
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stdout, "REJECTED 5 UNKNOWN_ORDER\nREJECTED 1 UNKNOWN_SYMBOL\n")

    def test_missing_file_is_status_1(self):
        r = run("replay", "/nonexistent/commands.txt")
        self.assertEqual(r.returncode, 1)
        self.assertIn("/nonexistent/commands.txt", r.stderr)
        # a directory opens but does not read: the message names it too (it
        # said only "read error: Is a directory")
        d = tempfile.mkdtemp()
        try:
            r = run("replay", d)
            self.assertEqual(r.returncode, 1)
            self.assertEqual(r.stderr, f"xtrading replay: {d}: read error: Is a directory\n")
        finally:
            os.rmdir(d)

    def test_usage_errors_are_status_2(self):
        self.assertEqual(run("replay", "--bogus").returncode, 2)
        self.assertEqual(run("replay", "a", "b").returncode, 2)
        self.assertEqual(run("replay", "--max-orders").returncode, 2)
        self.assertEqual(run("replay", "--max-orders", "0").returncode, 2)
        self.assertEqual(run("replay", "--max-orders", "-5").returncode, 2)
        self.assertEqual(run("replay", "--max-orders", "12x").returncode, 2)
        self.assertEqual(run().returncode, 2)
        self.assertEqual(run("frobnicate").returncode, 2)

    def test_capacities_and_journal_numbers_have_the_config_ranges(self):
        # the flags are serve's config keys, read with their ranges (docs/cli.md): once replay took any
        # positive number, and a capacity the engine refuses said only "cannot create the engine"
        with tempfile.TemporaryDirectory(prefix="xt-replay-") as d:
            j = os.path.join(d, "data")
            for args, want in ((("--max-levels", "4294967295"), "engine.max_levels must be a whole number in "
                                                                 "1..4294967294, got '4294967295'"),
                               (("--max-instruments", "16777217"), "engine.max_instruments"),
                               (("--journal", j, "--keep-snapshots", "1001"), "journal.keep_snapshots must be a "
                                                                              "whole number in 1..1000, got '1001'"),
                               (("--journal", j, "--segment-bytes", "4095"), "journal.segment_bytes"),
                               (("--journal", j, "--batch-max", "0"), "journal.batch_max")):
                with self.subTest(args=args):
                    r = run("replay", *args, stdin="INSTRUMENT X tick=1 lot=1\n")
                    self.assertEqual(r.returncode, 2, r.stderr)
                    self.assertEqual(r.stdout, "")
                    self.assertEqual(r.stderr, f"xtrading replay: {args[-2]}: {r.stderr.split(': ', 2)[2]}")
                    self.assertIn(want, r.stderr)
            self.assertFalse(os.path.exists(j), "a refused flag opened the journal")
            r = run("replay", "--journal", j, "--snapshot-secs", "0", "--snapshot-every", "0", "--keep-snapshots",
                    "1000", "--segment-bytes", "4096", "--hash", stdin="INSTRUMENT X tick=1 lot=1\n")
            self.assertEqual(r.returncode, 0, r.stderr)

    def test_journal_options_need_a_journal(self):
        # without --journal they set nothing: refused, not ignored
        for opt, val in (("--fsync", "always"), ("--batch-max", "8"), ("--snapshot-every", "10"),
                         ("--snapshot-secs", "5"), ("--keep-snapshots", "3"), ("--segment-bytes", "65536")):
            with self.subTest(opt=opt):
                r = run("replay", opt, val, stdin="INSTRUMENT X tick=1 lot=1\n")
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertEqual(r.stdout, "")
                self.assertIn(f"xtrading replay: {opt} needs --journal DIR", r.stderr)
        with tempfile.TemporaryDirectory(prefix="xt-replay-") as d:
            r = run("replay", "--fsync", "always", "--journal", os.path.join(d, "data"), "--hash",
                    stdin="INSTRUMENT X tick=1 lot=1\n")
            self.assertEqual(r.returncode, 0, r.stderr)

    def test_help_and_version(self):
        r = run("replay", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("usage: xtrading replay", r.stdout)
        r = run("help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("replay", r.stdout)
        r = run("version")
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith("xtrading "))
        # an argument they do not take is bad usage, as for every command (it
        # was ignored, status 0); --help is still help
        for cmd in ("version", "help"):
            r = run(cmd, "--bogus")
            self.assertEqual(r.returncode, 2, r)
            self.assertTrue(r.stderr.startswith(f"xtrading {cmd}: takes no arguments, got '--bogus'"), r.stderr)
            r = run(cmd, "--help")
            self.assertEqual(r.returncode, 0, r)
            self.assertTrue(r.stdout.startswith("usage: xtrading"), r.stdout)

    def test_overlong_line_is_a_clean_error(self):
        text = "INSTRUMENT X tick=0.01 lot=1\nNEW 1 1 X BUY LIMIT 10.00 5" + " " * 5000 + "\nNEW 2 1 X BUY LIMIT 10.00 5\n"
        r = run("replay", stdin=text)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr, "line 2: line longer than 4096 bytes\n")
        ok = "NEW 1 1 X BUY LIMIT 10.00 5" + " " * (4096 - 27)
        self.assertEqual(len(ok), 4096)
        r = run("replay", stdin="INSTRUMENT X tick=0.01 lot=1\n" + ok + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "ACCEPTED 1\n")

    def test_last_line_without_newline(self):
        r = run("replay", "--book", stdin="INSTRUMENT X tick=0.01 lot=1\nNEW 1 1 X BUY LIMIT 10.00 5")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "ACCEPTED 1\nBOOK X BUY 10.00 1:5\n")

    def test_binary_garbage_is_a_clean_error(self):
        r = subprocess.run([XT, "replay"], input=b"\x00\xff\xfe garbage\n", capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 2)
        self.assertTrue(r.stderr.startswith(b"line 1: "))


class Capacity(unittest.TestCase):
    def test_max_orders_gives_capacity_rejects(self):
        cmds = ["INSTRUMENT X tick=0.01 lot=1"] + [f"NEW {i} 1 X BUY LIMIT {10 + i / 100:.2f} 1" for i in range(1, 6)]
        r = run("replay", "--max-orders", "3", stdin="\n".join(cmds) + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines()[3:], ["REJECTED 4 CAPACITY", "REJECTED 5 CAPACITY"])

    def test_max_instruments(self):
        r = run("replay", "--max-instruments", "1", stdin="INSTRUMENT X tick=1 lot=1\nINSTRUMENT Y tick=1 lot=1\n")
        self.assertEqual(r.returncode, 2)
        self.assertIn("line 2: too many instruments", r.stderr)


class LargeSession(unittest.TestCase):
    def test_large_session_is_deterministic_and_consistent(self):
        rnd = random.Random(7)
        lines = ["INSTRUMENT S tick=0.01 lot=1", "INSTRUMENT T tick=0.5 lot=0.001 ref=100 band=20"]
        live = []
        for i in range(1, 60001):
            k = rnd.random()
            if k < 0.6 or not live:
                sym = rnd.choice("ST")
                px = f"{rnd.randint(990, 1010) / 100:.2f}" if sym == "S" else f"{rnd.randint(170, 230) / 2:.1f}"
                qty = str(rnd.randint(1, 50)) if sym == "S" else f"{rnd.randint(1, 50) / 1000:.3f}"
                tif = rnd.choice(["", "", "", "IOC", "FOK", "POST"])
                lines.append(f"NEW {i} {rnd.randint(1, 20)} {sym} {rnd.choice(['BUY', 'SELL'])} LIMIT {px} {qty} {tif}")
                live.append(i)
            elif k < 0.9:
                lines.append(f"CANCEL {live.pop(rnd.randrange(len(live)))} {rnd.randint(1, 20)}")
            else:
                lines.append(f"CANCEL {rnd.choice(live)} 1")
        text = "\n".join(lines) + "\n"
        a = run("replay", "--book", stdin=text)
        b = run("replay", "--book", stdin=text)
        self.assertEqual(a.returncode, 0, a.stderr)
        self.assertEqual(a.stdout, b.stdout)
        out = a.stdout.splitlines()
        # every NEW gets exactly one ACCEPTED or REJECTED, every CANCEL one CANCELED or REJECTED
        news = sum(1 for l in lines if l.startswith("NEW"))
        accepted = sum(1 for l in out if l.startswith("ACCEPTED"))
        rejected = sum(1 for l in out if l.startswith("REJECTED"))
        user_cancels = sum(1 for l in out if l.startswith("CANCELED") and l.endswith("USER"))
        cancels = sum(1 for l in lines if l.startswith("CANCEL "))
        self.assertEqual(accepted + rejected, news + cancels - user_cancels)
        self.assertGreater(sum(1 for l in out if l.startswith("TRADE")), 1000)
        # the book is uncrossed: best bid below best ask for each symbol
        for sym in "ST":
            bids = [float(l.split()[3]) for l in out if l.startswith(f"BOOK {sym} BUY")]
            asks = [float(l.split()[3]) for l in out if l.startswith(f"BOOK {sym} SELL")]
            self.assertEqual(bids, sorted(bids, reverse=True))
            self.assertEqual(asks, sorted(asks))
            if bids and asks:
                self.assertLess(bids[0], asks[0])


if __name__ == "__main__":
    XT = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
