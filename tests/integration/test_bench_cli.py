#!/usr/bin/python3
"""`xtrading bench engine`, `bench journal`, `bench fills` and `bench mdstate` as a user runs them:
the JSON report's shape and consistency, flows deterministic by seed,
argument errors; `loadgen --idle --json` against `bench echo`; every
benchmark's --help. Small runs; no
performance assertions (numbers belong in bench/RESULTS.md, not in CI).

usage: test_bench_cli.py path/to/xtrading
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

XT = None
REGIMES = ["fixed", "normal", "swing25", "swing40", "swing60"]


def bench(*args):
    r = subprocess.run([XT, "bench", "engine", *args], capture_output=True, text=True, timeout=300)
    return r


class BenchCli(unittest.TestCase):
    def test_json_report(self):
        r = bench("--orders", "4000", "--runs", "1", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        for name in REGIMES:
            reg = doc[name]
            for key in ["msgs_per_s", "inthread_msgs_per_s", "p50_ns", "p99_ns", "p999_ns", "max_ns",
                        "messages", "new", "cancel", "amend", "trades", "peak_orders", "peak_levels"]:
                self.assertIn(key, reg, f"{name}.{key}")
            self.assertEqual(reg["new"], 4000)
            self.assertEqual(reg["messages"], reg["new"] + reg["cancel"] + reg["amend"])
            self.assertGreater(reg["messages"], 1.5 * 4000)
            self.assertGreater(reg["trades"], 0)
            self.assertGreater(reg["msgs_per_s"], 0)
            self.assertLessEqual(reg["p50_ns"], reg["p99_ns"])
            self.assertLessEqual(reg["p99_ns"], reg["p999_ns"])
            self.assertLessEqual(reg["p999_ns"], reg["max_ns"])
        worst = min(doc[n]["msgs_per_s"] for n in REGIMES)
        self.assertEqual(doc["worst_msgs_per_s"], worst)
        self.assertEqual(doc[doc["worst_regime"]]["msgs_per_s"], worst)
        # the swing regimes really swing
        self.assertEqual(doc["fixed"]["mid_low"], doc["fixed"]["mid_high"])
        self.assertLess(doc["swing60"]["mid_low"], 0.5 * doc["swing60"]["mid_high"])

    def test_flow_is_deterministic_by_seed(self):
        def shape(seed):
            r = bench("--orders", "3000", "--runs", "1", "--regime", "swing40", "--inthread", "--json", "--seed", seed)
            self.assertEqual(r.returncode, 0, r.stderr)
            d = json.loads(r.stdout)["swing40"]
            return (d["messages"], d["trades"], d["peak_orders"], d["peak_levels"], d["late"])
        self.assertEqual(shape("5"), shape("5"))
        self.assertNotEqual(shape("5"), shape("6"))

    def test_inthread_says_what_it_did_not_measure(self):
        """--inthread runs no ring and times no message: those figures are
        null (JSON) or "-" (table), and the worst is the in-thread one,
        named so. They were the in-thread figure, labelled ring, and
        zeros, a probe found."""
        r = bench("--orders", "2000", "--runs", "1", "--regime", "normal", "--inthread", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        reg = doc["normal"]
        for key in ["msgs_per_s", "p50_ns", "p99_ns", "p999_ns", "max_ns"]:
            self.assertIsNone(reg[key], key)
        self.assertGreater(reg["inthread_msgs_per_s"], 0)
        self.assertNotIn("worst_msgs_per_s", doc)
        self.assertEqual(doc["worst_inthread_msgs_per_s"], reg["inthread_msgs_per_s"])
        r = bench("--orders", "2000", "--runs", "1", "--regime", "normal", "--inthread")
        self.assertEqual(r.returncode, 0, r.stderr)
        row = next(ln.split() for ln in r.stdout.splitlines() if ln.startswith("normal"))
        self.assertEqual((row[2], row[4], row[7]), ("-", "-", "-"))
        self.assertRegex(r.stdout, r"worst: normal at \d+ msgs/s \(in-thread\)")

    def test_table_output(self):
        r = bench("--orders", "2000", "--runs", "1", "--regime", "normal")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("normal", r.stdout)
        self.assertIn("worst: normal", r.stdout)

    def test_journal_json_report(self):
        with tempfile.TemporaryDirectory(prefix="xt-bench-j-") as d:
            r = subprocess.run([XT, "bench", "journal", "--orders", "5000", "--always", "200", "--recovery-records",
                                "20000", "--resting", "20000", "--runs", "1", "--dir", d, "--json"],
                               capture_output=True, text=True, timeout=300)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(os.listdir(d), [])  # it cleans up after itself
        doc = json.loads(r.stdout)
        for name in ["batch", "always", "interval=10", "none"]:
            p = doc[name]
            self.assertGreater(p["cmds_per_s"], 0)
            self.assertLessEqual(p["sync_p50_us"], p["sync_p99_us"])
            self.assertLessEqual(p["sync_p99_us"], p["sync_max_us"])
        self.assertEqual(doc["batch"]["syncs"], -(-doc["batch"]["commands"] // 4096))  # one per batch of 4096
        self.assertEqual(doc["always"]["syncs"], doc["always"]["commands"])  # one per command
        self.assertEqual(doc["none"]["syncs"], 0)
        self.assertEqual(doc["recovery"]["records"], 20000)
        snap = doc["snapshot"]
        self.assertEqual(snap["resting"], 20000)
        self.assertEqual(snap["bytes"], 80 + 72 + 56 * 20000 + 16)  # docs/journal-format.md
        self.assertTrue(snap["forked_ok"])

    def test_fills_json_report(self):
        r = subprocess.run([XT, "bench", "fills", "--accounts", "300", "--per-account", "40", "--runs", "3", "--json"],
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual((doc["accounts"], doc["per_account"], doc["runs"]), (300, 40, 3))
        self.assertEqual(doc["fills"], 300 * 40)  # every ring full
        self.assertEqual(doc["bytes"], 4 + 56 * 300 * 40)  # docs/journal-format.md
        self.assertTrue(doc["identical"])
        for key in ["whole_ms", "whole_encode_ms", "begin_ms", "helper_ms", "adds_per_s", "quiet_add_us"]:
            self.assertGreaterEqual(doc[key], 0, key)
        self.assertLessEqual(doc["whole_encode_ms"], doc["whole_ms"])
        self.assertLessEqual(doc["begin_ms"], doc["begin_max_ms"])
        bad = [["--accounts", "0"], ["--per-account", "0"], ["--runs", "16"], ["--frobnicate"]]
        for args in bad:
            self.assertEqual(subprocess.run([XT, "bench", "fills", *args], capture_output=True).returncode, 2, args)
        r = subprocess.run([XT, "bench", "fills", "--accounts", "500"], capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("bytes identical: yes", r.stdout)

    def test_mdstate_json_report(self):
        r = subprocess.run([XT, "bench", "mdstate", "--instruments", "40", "--tape", "600", "--minutes", "30",
                            "--runs", "3", "--json"], capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual((doc["instruments"], doc["tape"], doc["minutes"], doc["runs"]), (40, 600, 30, 3))
        # docs/journal-format.md: a count, then per instrument 904 bytes and 40 per minute and per trade:
        # tapes full, 30 minutes and the open one at least, and not an hour more
        self.assertGreaterEqual(doc["bytes"], 4 + 40 * (904 + 40 * (31 + 600)))
        self.assertLess(doc["bytes"], 4 + 40 * (904 + 40 * (90 + 600)))
        self.assertTrue(doc["identical"])
        for key in ["whole_ms", "begin_ms", "helper_ms", "commands_per_s", "longest_cmd_us", "quiet_cmd_us"]:
            self.assertGreaterEqual(doc[key], 0, key)
        self.assertLessEqual(doc["begin_ms"], doc["begin_max_ms"])
        bad = [["--instruments", "0"], ["--tape", "0"], ["--minutes", "1441"], ["--runs", "0"], ["--frobnicate"]]
        for args in bad:
            self.assertEqual(subprocess.run([XT, "bench", "mdstate", *args], capture_output=True).returncode, 2, args)
        r = subprocess.run([XT, "bench", "mdstate", "--instruments", "20"], capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("bytes identical: yes", r.stdout)

    def test_loadgen_idle_json_is_one_object(self):
        # with --json stdout is the JSON object alone; the "idle: N sessions
        # logged in" line (what scripts wait for) goes to stderr
        echo = subprocess.Popen([XT, "bench", "echo", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            line = echo.stdout.readline()
            self.assertTrue(line.startswith("echo: listening on 127.0.0.1:"), line)
            addr = line.split()[-1]
            r = subprocess.run([XT, "loadgen", "--connect", addr, "--connections", "3", "--idle", "--duration", "0.3",
                                "--json"], capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            doc = json.loads(r.stdout)
            self.assertEqual((doc["idle_sessions"], doc["failed_connections"]), (3, 0))
            self.assertIn("idle: 3 sessions logged in\n", r.stderr)
            r = subprocess.run([XT, "loadgen", "--connect", addr, "--connections", "2", "--idle", "--duration", "0.3"],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, "idle: 2 sessions logged in\n")  # without --json: on stdout, as before
        finally:
            echo.terminate()
            echo.wait(timeout=30)
            echo.stdout.close()
            echo.stderr.close()

    def test_loadgen_values(self):
        # values out of range or malformed are bad usage, said at once: --rate
        # 1e12 was taken and the open loop's schedule never let the event
        # loop see SIGTERM; --duration 1e10 overflowed its ns and ran nothing;
        # an empty account and a repeated mix name were passed over unsaid
        bad = (["--rate", "1e12"], ["--rate", "2e8"], ["--duration", "1e10"], ["--warmup", "1e10"],
               ["--accounts", "1001,,1002"], ["--accounts", "1001,"], ["--mix", "new=50,new=50"],
               ["--mix", "new=,cancel=1"], ["--mix", "new=-1"])
        for args in bad:
            with self.subTest(args=args):
                r = subprocess.run([XT, "loadgen", "--connect", "127.0.0.1:1", *args], capture_output=True,
                                   text=True, timeout=30)
                self.assertEqual(r.returncode, 2, r)
                self.assertTrue(r.stderr.startswith(f"xtrading loadgen: {args[0]} needs "), r.stderr)
        # a key id past 16 characters is said as that (it was "unknown option or bad value"), and an option
        # without its value as one; md dump's --limit with --tail says why (it printed the usage alone)
        for cmd, err in ((["loadgen", "--account", "1", "--secret", "s", "--key-id", "k" * 17],
                          "xtrading loadgen: --key-id takes 1..16 characters, got 17\n"),
                         (["loadgen", "--bogus"], "xtrading loadgen: unknown option or a value missing: --bogus\n"),
                         (["md", "dump", "x.kl", "--limit", "1", "--tail", "1"],
                          "xtrading md dump: --limit and --tail do not go together\n")):
            with self.subTest(cmd=cmd):
                r = subprocess.run([XT, *cmd], capture_output=True, text=True, timeout=30)
                self.assertEqual(r.returncode, 2, r)
                self.assertTrue(r.stderr.startswith(err), r.stderr)
        # wsbench: the publisher's --rate/--size without --nats-publish, and a
        # --server-pid that is no process, are bad usage (ignored, and
        # reported as -1 KB, before)
        for args, err in ((["--rate", "5"], "--rate is an option of --nats-publish"),
                          (["--size", "100"], "--size is an option of --nats-publish"),
                          (["--server-pid", "999999999"], "--server-pid 999999999: no such process")):
            with self.subTest(args=args):
                r = subprocess.run([XT, "wsbench", "--connect", "127.0.0.1:1", *args], capture_output=True,
                                   text=True, timeout=30)
                self.assertEqual(r.returncode, 2, r)
                self.assertTrue(r.stderr.startswith("xtrading wsbench: " + err), r.stderr)
        # a rate with decimals runs as given and is reported so (it said 2 for 1.5)
        echo = subprocess.Popen([XT, "bench", "echo", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            addr = echo.stdout.readline().split()[-1]
            r = subprocess.run([XT, "loadgen", "--connect", addr, "--rate", "1.5", "--duration", "0.2", "--warmup",
                                "0", "--json"], capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(json.loads(r.stdout)["rate"], 1.5)
        finally:
            echo.terminate()
            echo.wait(timeout=30)
            echo.stdout.close()
            echo.stderr.close()

    def test_help(self):
        for args in (["bench", "--help"], ["bench", "engine", "--help"], ["bench", "journal", "-h"],
                     ["bench", "fills", "--help"], ["bench", "mdstate", "--help"], ["bench", "echo", "--help"],
                     ["loadgen", "--help"], ["loadgen", "--json", "-h"], ["wsbench", "--help"]):
            with self.subTest(args=args):
                r = subprocess.run([XT, *args], capture_output=True, text=True, timeout=60)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertTrue(r.stdout.startswith("usage: xtrading " + args[0]), r.stdout)

    def test_bad_arguments(self):
        self.assertEqual(bench("--regime", "calm").returncode, 2)
        self.assertEqual(bench("--orders", "10").returncode, 2)
        self.assertEqual(bench("--runs", "0").returncode, 2)
        self.assertEqual(bench("--runs", "99").returncode, 2)
        self.assertEqual(bench("--frobnicate").returncode, 2)
        r = subprocess.run([XT, "bench"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        r = subprocess.run([XT, "bench", "bogus"], capture_output=True, text=True)  # said: the usage alone
        self.assertEqual(r.returncode, 2)
        self.assertTrue(r.stderr.startswith("xtrading bench: unknown subcommand 'bogus' (subcommands: engine, "
                                            "journal, fills, mdstate, echo)\n"), r.stderr)
        for runs in ("16", "3000000000"):  # the values as given (the second was said as a negative int)
            r = subprocess.run([XT, "bench", "engine", "--runs", runs], capture_output=True, text=True)
            self.assertEqual((r.returncode, r.stderr), (2, "xtrading bench: --orders must be >= 1000 and --runs "
                                                           f"1..15, got --orders 1000000 --runs {runs}\n"))
        r = subprocess.run([XT, "bench", "--help"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)
        # a bad value is named as one, not as an unknown option
        for args, err in ((["journal", "--only", "bogus"], "xtrading bench journal: --only takes policies, recovery "
                                                            "or snapshot, got 'bogus'\n"),
                          (["journal", "--dir"], "xtrading bench journal: --dir needs a directory\n"),
                          (["echo", "--listen", "nowhere"], "xtrading bench echo: --listen needs HOST:PORT, got "
                                                            "'nowhere'\n")):
            with self.subTest(args=args):
                r = subprocess.run([XT, "bench", *args], capture_output=True, text=True, timeout=30)
                self.assertEqual((r.returncode, r.stdout, r.stderr), (2, "", err))
        # a --dir that is not there is named (it said only "No such file or directory")
        missing = os.path.join(tempfile.mkdtemp(prefix="xt-bench-cli-"), "nope")
        r = subprocess.run([XT, "bench", "journal", "--dir", missing, "--only", "recovery"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual((r.returncode, r.stdout, r.stderr),
                         (1, "", f"xtrading bench journal: --dir {missing}: No such file or directory\n"))


if __name__ == "__main__":
    XT = sys.argv.pop(1)
    unittest.main(verbosity=2)
