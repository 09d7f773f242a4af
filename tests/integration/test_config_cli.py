#!/usr/bin/python3
"""Integration tests of `xtrading config check FILE` (docs/cli.md): it
validates as `serve` does and prints the effective settings as a config
file that loads again to the same settings; errors name the file and line
(status 1), bad usage is status 2.

usage: test_config_cli.py path/to/xtrading [unittest args]
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import unittest

XT = None
ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SHIPPED = os.path.join(ROOT, "etc", "xtrading.conf")
CREDS = os.path.join(ROOT, "etc", "credentials.example")

VALID = """# a config with every kind of value
[server]
listen = *:9101
credentials = creds
max_frame = 512

[journal]
dir = state/journal
fsync = interval=20
snapshot_secs = 60

[md]
listen = localhost:8181
tcp_listen = off
history = off

[instrument AAPL]
tick = 0.01
lot = 1
min = 1
max = 10000
ref = 180.00
band = 7.5
tz = -05:00

[instrument X.Y]
tick = 0.5
lot = 0.001
tz = Asia/Tokyo
"""


def run(*args, cwd=None):
    return subprocess.run([XT, *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def settings(text):
    """{section.key: value} of a printed config; instruments as [instrument X].key."""
    out, sec = {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            sec = line[1:-1]
            continue
        k, _, v = line.partition("=")
        out[sec + "." + k.strip()] = v.strip()
    return out


class ConfigCheck(unittest.TestCase):
    def setUp(self):
        self.dir = self.enterContext(tempfile.TemporaryDirectory(prefix="xt-config-"))

    def write(self, name, text):
        p = os.path.join(self.dir, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def ok(self, *args, cwd=None):
        r = run("config", "check", *args, cwd=cwd)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        return r.stdout

    def fails(self, status, *args, expect=None):
        r = run("config", "check", *args)
        self.assertEqual(r.returncode, status, (args, r.stdout, r.stderr))
        self.assertEqual(r.stdout, "", "nothing printed on stdout when not valid")
        if expect is not None:
            self.assertIn(expect, r.stderr)
        return r.stderr

    def assert_reloads(self, out):
        """The output is a config: checking it prints the same settings."""
        again = self.ok(self.write("again.conf", out))
        self.assertEqual(again, out)

    def assert_settings(self, out, expected):
        """The printed settings hold EXPECTED ({key: value}), and the output
        checks again to the same text. Returns all the settings."""
        s = settings(out)
        for k, v in expected.items():
            self.assertEqual(s.get(k), v, k)
        self.assert_reloads(out)
        return s

    def test_shipped_example(self):
        self.assert_settings(self.ok(SHIPPED), {
            "server.listen": "127.0.0.1:9001",
            "journal.dir": os.path.join(ROOT, "etc", "data"),
            "md.listen": "127.0.0.1:8080",
            "md.tcp_listen": "127.0.0.1:9002",
            "instrument 600519.SH.tz": "+08:00",
            "instrument ETH-USDT.lot": "0.001",
        })

    def test_shipped_example_is_the_defaults(self):
        # etc/xtrading.conf lists every key with its default: the same
        # settings as no file at all (an empty one), except journal.dir.
        empty = settings(self.ok(self.write("empty.conf", "")))
        shipped = settings(self.ok(SHIPPED))
        for k in set(empty) | set(shipped):
            if k != "journal.dir":
                self.assertEqual(empty.get(k), shipped.get(k), k)
        # and every key is written out in it, none left to its default unseen
        section, written = None, set()
        with open(SHIPPED) as f:
            for line in f:
                m = re.match(r"\[(\w+)\]\s*$", line)
                section = m.group(1) if m else section
                m = re.match(r"(\w+) =", line)
                if m and section:
                    written.add(f"{section}.{m.group(1)}")
        self.assertEqual(sorted(k for k in empty if not k.startswith("instrument") and k not in written), [])

    def test_valid_file_reloads_to_the_same_settings(self):
        shutil.copy(CREDS, os.path.join(self.dir, "creds"))
        s = self.assert_settings(self.ok(self.write("x.conf", VALID)), {
            "server.listen": "0.0.0.0:9101",
            "server.max_frame": "512",
            "server.credentials": os.path.join(self.dir, "creds"),
            "journal.dir": os.path.join(self.dir, "state/journal"),
            "journal.fsync": "interval=20",
            "md.listen": "127.0.0.1:8181",
            "md.tcp_listen": "off",
            "md.history": "off",
            "instrument AAPL.band": "7.5",
            "instrument AAPL.tz": "-05:00",
            "instrument X.Y.tz": "+09:00",
        })
        self.assertNotIn("instrument BTC-USDT.tick", s, "file instruments replace the embedded ones")
        # nothing was created: no data directory, no socket
        self.assertFalse(os.path.exists(os.path.join(self.dir, "state")))

    def test_flags_apply_in_order_after_the_file(self):
        out = self.ok(SHIPPED, "--data", "/var/lib/xt", "--listen", "0.0.0.0:9001", "--md-listen",
                      "0.0.0.0:8080", "--md-tcp-listen", "off", "--fsync", "always",
                      "--set", "limits.rate=5", "--set", "limits.rate=7", "--set", "md.history=off")
        self.assert_settings(out, {
            "journal.dir": "/var/lib/xt",
            "server.listen": "0.0.0.0:9001",
            "md.listen": "0.0.0.0:8080",
            "md.tcp_listen": "off",
            "journal.fsync": "always",
            "limits.rate": "7",
            "md.history": "off",
        })

    def test_relative_data_flag_is_from_the_working_directory(self):
        s = settings(self.ok(SHIPPED, "--data", "d", cwd=self.dir))
        self.assertEqual(s["journal.dir"], os.path.join(os.path.realpath(self.dir), "d"))
        # printed as what they name: no "." or empty component, no trailing "/" (".." kept)
        s = settings(self.ok(SHIPPED, "--data", "./d//e/./", "--set", "md.history_dir=/x/../y/.", cwd=self.dir))
        self.assertEqual(s["journal.dir"], os.path.join(os.path.realpath(self.dir), "d", "e"))
        self.assertEqual(s["md.history_dir"], "/x/../y")
        # a name ending in a space keeps the "/" after it: values are trimmed, and "d " would load as "d"
        # (found by fuzz_config)
        out = self.ok(self.write("sp.conf", "[journal]\ndir = d /./\n[md]\nhistory_dir = /h /\n"))
        self.assertIn("\ndir = " + os.path.join(self.dir, "d /") + "\n", out)
        self.assertIn("\nhistory_dir = /h /\n", out)
        self.assert_reloads(out)

    def test_errors_name_the_file_and_line(self):
        cases = [
            ("[nope]\n", 1, "unknown section"),
            ("[server]\nbogus = 1\n", 2, "bogus"),
            ("[server]\nmax_frame = 300\nmax_frame = 400\n", 3, "max_frame"),
            ("[server]\nmax_frame = 64\n", 2, "server.max_frame must be a whole number in 104..65535, got '64'"),
            ("[limits]\nrate = 100 # per second\n", 2, "limits.rate"),
            ("[server]\nlisten = example.com:9001\n", 2, "server.listen"),
            ("[journal]\nfsync = sometimes\n", 2, "fsync"),
            ("[md]\nhistory = maybe\n", 2, "history"),
            ("key = value\n", 1, ""),
            ("[server]\nthis is not a key value line\n", 2, ""),
            ("[instrument A]\ntick = 0.01\nlot = 1\n[instrument A]\ntick = 1\nlot = 1\n", 4, "A"),
            ("[instrument A]\ntick = 0.01\nlot = 1\nband = 10\n", None, "band needs ref"),
            ("[instrument A]\nlot = 1\n", None, "tick"),
            ("[instrument A]\ntick = -1\nlot = 1\n", 2, "tick"),
            ("[instrument A]\ntick = 0.01\nlot = 1\ntz = Europe/London\n", 4, "tz"),
            ("[instrument A]\ntick = 0.01\nlot = 10\nmin = 1\nmax = 5\n", None, "A"),
            ("[instrument A]\ntick = 0.01\nlot = 1\nsize = 3\n", 4,
             "unknown instrument key 'size' (want tick, lot, min, max, ref, band, tz or prev_close)"),
            ("[server]\nadmin_socket = /" + "s" * 107 + "\n", 2,
             "server.admin_socket must be at most 107 bytes (a Unix socket path), got 108"),
        ]
        for i, (text, line, what) in enumerate(cases):
            with self.subTest(text=text):
                p = self.write("bad%d.conf" % i, text)
                err = self.fails(1, p, expect=what)
                prefix = "xtrading config: %s:" % p
                self.assertTrue(err.startswith(prefix), err)
                if line is not None:
                    self.assertTrue(err.startswith("%s%d: " % (prefix, line)), err)
                self.assertEqual(len(err.strip().splitlines()), 1, err)

    def test_errors_never_echo_control_bytes(self):
        # a config may be anything: what an error quotes of it has its control bytes as '?'
        for text, want in (("[server]\nlisten\x01\x1b[2J = 1\n", "unknown key 'listen??[2J' in [server]"),
                           ("[ser\x1bver]\n", "unknown section 'ser?ver'"),
                           ("[instrument A\x1bB]\ntick = 1\nlot = 1\n", "bad instrument symbol 'A?B'"),
                           ("[server]\nlisten = \x1b[31m\n", "got '?[31m'")):
            with self.subTest(text=text):
                err = self.fails(1, self.write("ctl.conf", text), expect=want)
                self.assertNotIn("\x1b", err)

    def test_files_that_are_not_text_files(self):
        # not a regular file: refused at once (neither read for ever nor waited on)
        self.fails(1, "/dev/zero", expect="xtrading config: /dev/zero: not a regular file")
        fifo = os.path.join(self.dir, "fifo")
        os.mkfifo(fifo)
        self.fails(1, fifo, expect="fifo: not a regular file")
        self.fails(1, SHIPPED, "--credentials", "/dev/zero", expect="/dev/zero: not a regular file")
        # a UTF-8 byte-order mark (a Windows editor's) is named, in the config and the credentials file alike
        bom = "the file starts with a UTF-8 byte-order mark (EF BB BF): save it without one"
        with open(SHIPPED) as f:
            self.fails(1, self.write("bom.conf", "\ufeff" + f.read()), expect=f"bom.conf:1: {bom}")
        with open(os.path.join(os.path.dirname(SHIPPED), "credentials.example")) as f:
            creds = self.write("bom.creds", "\ufeff" + f.read())
        self.fails(1, SHIPPED, "--credentials", creds, expect=f"bom.creds:1: {bom}")
        # lines of at most 4096 bytes, a config of at most 1 MiB
        p = self.write("long.conf", "# " + "x" * 4093 + "\n")  # 4096 with its newline: fine
        self.ok(p)
        p = self.write("long.conf", "[server]\n# " + "x" * 4094 + "\n")
        self.fails(1, p, expect="long.conf:2: line longer than 4096 bytes")
        p = self.write("big.conf", ("# " + "x" * 1000 + "\n") * 1100)
        self.fails(1, p, expect="big.conf: too large (")
        p = self.write("nul.conf", "[server]\n# x\0" + "y" * 5000 + "\n")  # a NUL hides nothing from the length
        self.fails(1, p, expect="nul.conf:2: a NUL byte: not a text file")
        p = self.write("creds", "1001 k1 " + "ab" * 2100 + "\n")
        err = self.fails(1, SHIPPED, "--credentials", p, expect="creds:1: line longer than 4096 bytes")
        self.assertNotIn("abab", err, "never quotes key material")

    def test_unreadable_file(self):
        p = os.path.join(self.dir, "missing.conf")
        self.fails(1, p, expect="xtrading config: %s: No such file or directory" % p)

    def test_paths_too_long(self):
        # a file in a directory past 1022 bytes: the reason comes first (the path once pushed it out of the message)
        deep = self.dir
        while len(deep) <= 1100:
            deep = os.path.join(deep, "d" * 200)
        os.makedirs(deep)
        p = os.path.join(deep, "empty.conf")
        open(p, "w").close()
        err = self.fails(1, p, expect="xtrading config: path too long (the config file's directory at most 1022 bytes): ")
        self.assertTrue(p.startswith(err.split(": ", 2)[2].rstrip("\n")), err)  # the path, cut where the message ends
        self.fails(1, SHIPPED, "--set", "log.file=/" + "l" * 1023, expect="log.file: path too long (at most 1023 bytes)")
        self.ok(SHIPPED, "--set", "journal.dir=/" + "j" * 1022, "--set", "server.admin_socket=off")
        # a config in a directory of 1,021 bytes (it may be read) whose relative
        # journal.dir makes a path too long: FILE:LINE and the reason, whole
        # (they were cut off after the file name: the message buffer held 1 KiB)
        d = self.dir
        while len(d) < 1021:
            d = os.path.join(d, "e" * min(200, 1021 - len(d) - 1))
        os.makedirs(d, exist_ok=True)
        c = os.path.join(d, "y.conf")
        with open(c, "w") as f:
            f.write("[journal]\ndir = data\n")
        self.fails(1, c, "--set", "server.admin_socket=off",
                   expect=f"xtrading config: {c}:2: journal.dir: path too long (at most 1023 bytes)")

    def test_a_relative_path_counts_as_made_absolute(self):
        # a config named without its directory (p.conf, from its own) and a
        # relative journal.dir: the limit is on the path it names from the
        # working directory, as `config check` prints it - it was accepted,
        # and its own output then refused (a probe)
        self.write("p.conf", "[server]\nadmin_socket = off\n[journal]\ndir = x\n")
        room = 1023 - len(os.path.realpath(self.dir)) - 1  # the longest relative dir that fits
        for name in ("p.conf", "./p.conf"):
            for n, fits in ((room, True), (room + 1, False)):
                self.write("p.conf", f"[server]\nadmin_socket = off\n[journal]\ndir = {'r' * n}\n")
                r = run("config", "check", name, cwd=self.dir)
                if fits:
                    self.assertEqual(r.returncode, 0, r.stderr)
                    self.assert_reloads(r.stdout)
                else:
                    self.assertEqual(r.returncode, 1, r.stdout)
                    self.assertIn(f"{name}:4: journal.dir: path too long (at most 1023 bytes, made absolute", r.stderr)
        r = run("config", "check", SHIPPED, "--data", "r" * (room + 1), cwd=self.dir)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("journal.dir: path too long (at most 1023 bytes, made absolute", r.stderr)

    def test_bad_credentials_file(self):
        self.write("creds", "1001 demo1001 not-hex-at-all\n")
        p = self.write("c.conf", "[server]\ncredentials = creds\n")
        err = self.fails(1, p, expect="%s:1:" % os.path.join(self.dir, "creds"))
        self.assertNotIn("not-hex-at-all", err, "never quotes key material")
        self.fails(1, p, "--credentials", os.path.join(self.dir, "absent"), expect="absent")
        # the good file passes
        self.ok(p, "--credentials", CREDS)

    def test_log_file_serve_could_not_open(self):
        # serve opens log.file (appending, created if missing) and stops if
        # it cannot; check says so too, without creating it
        missing = os.path.join(self.dir, "no-such-dir", "x.log")
        self.fails(1, SHIPPED, "--set", f"log.file={missing}",
                   expect=f"xtrading config: log.file {missing}: its directory does not exist")
        self.fails(1, SHIPPED, "--set", f"log.file={self.dir}", expect=f"log.file {self.dir}: is a directory")
        # a FIFO would block serve's open until a reader came (and every line
        # after): refused; a character device (/dev/null) is fine
        fifo = os.path.join(self.dir, "fifo.log")
        os.mkfifo(fifo)
        self.fails(1, SHIPPED, "--set", f"log.file={fifo}", expect=f"log.file {fifo}: is a FIFO, socket or block device")
        self.ok(SHIPPED, "--set", "log.file=/dev/null")
        fine = os.path.join(self.dir, "x.log")
        self.ok(SHIPPED, "--set", f"log.file={fine}")
        self.assertFalse(os.path.exists(fine), "check created the log file")
        # (serve stops on them with status 2: test_log.py bad_log_settings)

    def test_bad_flag_values(self):
        self.fails(1, SHIPPED, "--set", "limits.rate=0",
                   expect="xtrading config: limits.rate must be a whole number in 1..1000000000, got '0'")
        self.fails(1, SHIPPED, "--set", "nope.key=1", expect="nope.key")
        self.fails(1, SHIPPED, "--listen", "nowhere", expect="server.listen")
        self.fails(1, SHIPPED, "--fsync", "sometimes", expect="fsync")
        # what no single key checks: one instrument's resync in half the feed, whatever set the keys
        self.fails(1, SHIPPED, "--set", "md.feed_records=1024",
                   expect="xtrading config: md.feed_records (1024) is below twice one instrument's resync, "
                          "2 x (1 + 2 x md.max_levels) = 40002 records")
        p = self.write("levels.conf", "[md]\nmax_levels = 255\n")
        self.ok(p, "--set", "md.feed_records=1024")
        self.fails(1, p, "--set", "md.feed_records=1024", "--set", "md.max_levels=256", expect="= 1026 records")

    def test_admin_socket_fits_a_unix_socket(self):
        # serve cannot bind a path over 107 bytes (sun_path): check refuses it too
        self.ok(SHIPPED, "--set", "server.admin_socket=/" + "s" * 106)
        self.fails(1, SHIPPED, "--set", "server.admin_socket=/" + "s" * 107,
                   expect="xtrading config: server.admin_socket must be at most 107 bytes (a Unix socket path), "
                          "got 108\n")
        # the default, admin.sock in journal.dir, whatever set journal.dir
        deep = "/" + "d" * 96  # + /admin.sock = 108
        self.fails(1, SHIPPED, "--data", deep, expect="got 108 (the default, admin.sock in journal.dir)")
        p = self.write("deep.conf", "[journal]\ndir = %s\n" % deep)
        self.fails(1, p, expect="got 108 (the default, admin.sock in journal.dir)")
        self.ok(SHIPPED, "--data", deep, "--set", "server.admin_socket=off")
        self.ok(SHIPPED, "--data", deep, "--set", "server.admin_socket=/tmp/xt.sock")
        self.ok(SHIPPED, "--data", deep[:-1])
        # and serve refuses it the same way, before it opens anything
        data = os.path.join(self.dir, "d")
        r = subprocess.run([XT, "serve", "--data", data, "--listen", "127.0.0.1:0", "--md-listen", "127.0.0.1:0",
                            "--set", "server.admin_socket=" + self.dir + "/" + "s" * 120],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("server.admin_socket must be at most 107 bytes", r.stderr)
        self.assertFalse(os.path.exists(data))

    def test_admin_socket_relative_is_checked_from_the_working_directory(self):
        # A relative path is checked as the absolute one it names (and prints as): once it was checked as
        # written, so `check r.conf` passed and `check /abs/r.conf` - or check on its own output - did not.
        base = os.path.realpath(self.dir)
        deep = os.path.join(base, "w" * (101 - len(base) - 1))  # len(deep) == 101: deep/a.sock is 108 bytes
        os.makedirs(deep)
        for name, sock, fits in (("r.conf", "a.sock", False), ("s.conf", "b.so", True)):
            with open(os.path.join(deep, name), "w") as f:
                f.write("[server]\nadmin_socket = %s\n" % sock)
            for cfg in (name, os.path.join(deep, name)):
                r = run("config", "check", cfg, cwd=deep)
                if fits:
                    self.assertEqual(r.returncode, 0, r.stderr)
                    again = os.path.join(self.dir, "again.conf")
                    with open(again, "w") as f:
                        f.write(r.stdout)
                    self.assertEqual(run("config", "check", again, cwd=deep).returncode, 0)
                else:
                    self.assertEqual(r.returncode, 1, (cfg, r.stdout, r.stderr))
                    self.assertIn("server.admin_socket must be at most 107 bytes (a Unix socket path), got 108", r.stderr)
        # the default, admin.sock in a relative journal.dir, the same way
        r = run("config", "check", SHIPPED, "--data", "dd", cwd=deep)  # deep/dd/admin.sock: 115 bytes
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("got 115 (the default, admin.sock in journal.dir)", r.stderr)

    def test_help_even_when_the_file_does_not_load(self):
        for args in (("config", "check", "--help"), ("config", "check", "-h"), ("config", "--help"),
                     ("config", "check", SHIPPED, "--help"), ("config", "check", SHIPPED, "--data", "x", "-h"),
                     ("config", "check", os.path.join(self.dir, "missing.conf"), "--help"),
                     ("serve", "--help"), ("serve", "--config", os.path.join(self.dir, "missing.conf"), "--help"),
                     # after an option the command would refuse, or take the help as its value (before: 1 or 2)
                     ("config", "check", os.path.join(self.dir, "missing.conf"), "--bogus", "--help"),
                     ("serve", "--bogus", "--help"), ("replay", "--max-orders", "0", "--help"),
                     ("admin", "--bogus", "--help")):
            with self.subTest(args=args):
                r = run(*args)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertTrue(r.stdout.startswith("usage: xtrading " + args[0]), r.stdout)
                self.assertEqual(r.stderr, "")

    def test_usage(self):
        for args in [(), ("--data", "x"), (SHIPPED, "--bogus", "1"), (SHIPPED, "--data"),
                     (SHIPPED, "--set", "limits.rate"),
                     # bad usage is told before the file is read (before: 1, the file's error)
                     (os.path.join(self.dir, "missing.conf"), "--bogus", "1")]:
            with self.subTest(args=args):
                self.fails(2, *args, expect="usage: xtrading config check FILE")
        for args in [("config",), ("config", "nope")]:
            r = run(*args)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("usage:", r.stderr)
        r = run("config", "check", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("usage: xtrading config check FILE", r.stdout)
        r = run("help")
        self.assertIn("config check FILE", r.stdout)

    def test_serve_rejects_what_check_rejects(self):
        # One code path: serve refuses the same file before opening anything.
        p = self.write("bad.conf", "[server]\nmax_frame = 64\n")
        r = subprocess.run([XT, "serve", "--config", p, "--data", os.path.join(self.dir, "d")],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 2)
        self.assertIn("%s:2: server.max_frame" % p, r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "d")))

    def test_serve_with_a_port_in_use_touches_no_data(self):
        # The ports are bound before recovery: a port in use ends the start
        # before it creates the data directory (docs/cli.md; a port bound by
        # a server still recovering: tests/unit/test_ports.c).
        held = self.enterContext(socket.socket())
        held.bind(("127.0.0.1", 0))
        held.listen()
        busy = "127.0.0.1:%d" % held.getsockname()[1]
        for key, flag in (("server.listen", "--listen"), ("md.listen", "--md-listen"),
                          ("md.tcp_listen", "--md-tcp-listen")):
            with self.subTest(key):
                ports = {"--listen": "127.0.0.1:0", "--md-listen": "127.0.0.1:0", "--md-tcp-listen": "127.0.0.1:0"}
                ports[flag] = busy
                data = os.path.join(self.dir, "d-" + key)
                r = subprocess.run([XT, "serve", "--data", data, *[a for kv in ports.items() for a in kv]],
                                   capture_output=True, text=True, timeout=60)
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertIn("%s %s: Address already in use" % (key, busy), r.stderr)
                self.assertFalse(os.path.exists(data))


if __name__ == "__main__":
    XT = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
