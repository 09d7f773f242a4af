#!/usr/bin/python3
"""`make install` (deploy/install.cmake, docs/deploy.md): runs the install
rules of a build tree into temporary DESTDIRs, under the prefixes
/usr/local and /usr, and checks the file list, the paths written into the
config and the systemd unit, that an existing config is kept, and that the
installed binary runs (`--help`, `version`, `config check` on the
installed config). The unit is checked with `systemd-analyze verify` when
that tool is installed (the check is skipped, and says so, when it is not).
Also checks that `make install` builds the release preset first and passes
PREFIX and DESTDIR through (a dry run: `make -n`).

usage: test_install.py CMAKE BUILD_DIR SOURCE_DIR
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

CMAKE = BUILD = SRC = None


def sh(*args, env=None, cwd=None):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=120, env=env, cwd=cwd)


def read(path):
    with open(path) as f:
        return f.read()


def tree(root, skip=()):
    out = set()
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if x not in skip]
        for f in files:
            out.add(os.path.relpath(os.path.join(d, f), root))
    return out


class Install(unittest.TestCase):
    def setUp(self):
        self.dest = self.enterContext(tempfile.TemporaryDirectory(prefix="xt-install-"))

    def install(self, prefix):
        env = dict(os.environ, DESTDIR=self.dest)
        r = sh(CMAKE, "--install", BUILD, "--prefix", prefix, env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout

    def expected(self, prefix, confdir):
        p = prefix.lstrip("/")
        doc = p + "/share/doc/xtrading/"
        files = {p + "/bin/xtrading", confdir.lstrip("/") + "/xtrading.conf",
                 p + "/lib/systemd/system/xtrading.service"}
        files |= {doc + f for f in ("README.md", "LICENSE", ".dockerignore", "bench/RESULTS.md",
                                    "etc/xtrading.conf", "etc/credentials.example")}
        files |= {doc + "docs/" + f for f in os.listdir(os.path.join(SRC, "docs")) if f.endswith(".md")}
        for d in ("examples", "deploy", "bench/results"):
            files |= {doc + d + "/" + f for f in tree(os.path.join(SRC, d))}
        return files

    def check_links(self, root, skip=()):
        """Every relative link of the Markdown files under root (but in the
        directories named in skip) names a file or directory that is there."""
        bad = []
        for f in sorted(tree(root, skip)):
            if not f.endswith(".md"):
                continue
            text = read(os.path.join(root, f))
            for target in re.findall(r"\]\(([^)\s]+)\)", text):
                path = target.split("#", 1)[0]
                if not path or re.match(r"^[a-z]+:", path):
                    continue  # an anchor in the same file, or http:, mailto:, ...
                if not os.path.exists(os.path.normpath(os.path.join(root, os.path.dirname(f), path))):
                    bad.append("%s: %s" % (f, target))
        self.assertEqual(bad, [], "links that lead nowhere")

    def check_binary(self, prefix, confdir):
        xt = os.path.join(self.dest, prefix.lstrip("/"), "bin", "xtrading")
        self.assertTrue(os.access(xt, os.X_OK))
        r = sh(xt, "--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("config check FILE", r.stdout)
        r = sh(xt, "version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^xtrading \d+\.\d+\.\d+\n$")
        conf = os.path.join(self.dest, confdir.lstrip("/"), "xtrading.conf")
        r = sh(xt, "config", "check", conf)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("\ndir = /var/lib/xtrading\n", r.stdout)
        self.assertIn("\nlisten = 127.0.0.1:9001\n", r.stdout)
        return xt

    def check_unit(self, prefix, confdir, xt):
        unit = os.path.join(self.dest, prefix.lstrip("/"), "lib/systemd/system/xtrading.service")
        text = read(unit)
        start = "ExecStart=%s/bin/xtrading serve --config %s/xtrading.conf --data /var/lib/xtrading\n" % (
            prefix, confdir)
        self.assertIn(start, text)
        for line in ["User=xtrading", "StateDirectory=xtrading", "Restart=on-failure", "KillSignal=SIGTERM",
                     "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
                     "ReadWritePaths=/var/lib/xtrading", "ExecReload=/bin/kill -HUP $MAINPID"]:
            self.assertRegex(text, "(?m)^" + re.escape(line) + "$")
        nofile = int(re.search(r"(?m)^LimitNOFILE=(\d+)$", text).group(1))
        self.assertGreaterEqual(nofile, 100000, "80,000 connections by default need the descriptors")
        self.assertTrue(re.search(r"(?m)^TimeoutStopSec=\d+$", text))
        if not shutil.which("systemd-analyze"):
            print("systemd-analyze not installed: unit not verified", file=sys.stderr)
            return
        # verify wants ExecStart's binary to exist: point it at the installed one.
        d = tempfile.mkdtemp(dir=self.dest)
        p = os.path.join(d, "xtrading.service")
        with open(p, "w") as f:
            f.write(text.replace("ExecStart=%s/bin/xtrading" % prefix, "ExecStart=" + xt))
        r = sh("systemd-analyze", "verify", p)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stderr.strip(), "", "systemd-analyze verify warns")

    def test_prefix_usr_local(self):
        self.install("/usr/local")
        self.assertEqual(tree(self.dest), self.expected("/usr/local", "/usr/local/etc/xtrading"))
        self.check_links(os.path.join(self.dest, "usr/local/share/doc/xtrading"))
        xt = self.check_binary("/usr/local", "/usr/local/etc/xtrading")
        self.check_unit("/usr/local", "/usr/local/etc/xtrading", xt)

    def test_prefix_usr_puts_the_config_in_etc(self):
        self.install("/usr")
        self.assertEqual(tree(self.dest), self.expected("/usr", "/etc/xtrading"))
        xt = self.check_binary("/usr", "/etc/xtrading")
        self.check_unit("/usr", "/etc/xtrading", xt)
        # As installed under /usr, the unit is the checked-in one, unchanged.
        self.assertEqual(read(os.path.join(self.dest, "usr/lib/systemd/system/xtrading.service")),
                         read(os.path.join(SRC, "deploy/systemd/xtrading.service")))

    def test_reinstall_keeps_the_config(self):
        self.install("/opt/xt")
        conf = os.path.join(self.dest, "opt/xt/etc/xtrading/xtrading.conf")
        with open(conf, "a") as f:
            f.write("# edited\n")
        edited = read(conf)
        out = self.install("/opt/xt")
        self.assertIn("Keeping", out)
        self.assertEqual(read(conf), edited)
        self.assertTrue(os.path.exists(conf + ".new"))
        self.assertNotIn("# edited", read(conf + ".new"))

    def test_the_source_trees_docs_links_resolve(self):
        for d in ("docs", "bench"):
            self.assertTrue(os.path.isdir(os.path.join(SRC, d)))
        # The source tree's own Markdown: README, docs/, bench/, deploy/, ...
        self.check_links(SRC, skip={".git", "build", os.path.basename(os.path.normpath(BUILD))})

    def test_make_install_builds_release_first(self):
        r = sh("make", "-n", "install", "PREFIX=/opt/x", "DESTDIR=/tmp/stage", cwd=SRC)
        self.assertEqual(r.returncode, 0, r.stderr)
        build = r.stdout.find("cmake --build --preset release")
        inst = r.stdout.find('DESTDIR="/tmp/stage" cmake --install build/release --prefix "/opt/x"')
        self.assertGreaterEqual(build, 0, r.stdout)
        self.assertGreater(inst, build, r.stdout)
        r = sh("make", "-n", "install", cwd=SRC)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('DESTDIR="" cmake --install build/release --prefix "/usr/local"', r.stdout)


if __name__ == "__main__":
    CMAKE, BUILD, SRC = sys.argv[1:4]
    del sys.argv[1:4]
    unittest.main(verbosity=2)
