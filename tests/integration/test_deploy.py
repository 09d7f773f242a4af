#!/usr/bin/python3
"""Checks of the deployment files in deploy/ (docs/deploy.md), short of
running them: the Kubernetes manifests parse and say what the docs say
(one replica, a volume for the journal, probes, the Service's ports, the
grace period equal to the systemd unit's stop timeout) and their config
passes `xtrading config check`; the Dockerfile's runtime packages are the
ones the binary links (when dpkg can tell) and its server flags are real;
the Prometheus rules pass `promtool check rules` and their unit tests
(`promtool test rules alerts_test.yml`) when promtool is installed, and
they and the Grafana dashboard use only the metric names of docs/deploy.md.
Those names, the labels the rules and panels group and select by, and the
label values they match are checked against what a real server's /metrics
serves (a server is started for it). hadolint checks the Dockerfile when
it is installed.

usage: test_deploy.py path/to/xtrading SOURCE_DIR
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

try:
    import yaml  # python3-yaml (scripts/deps.sh test); without it only the minimal checks run
except ImportError:
    yaml = None

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_http as H  # noqa: E402
import test_md_ws as W  # noqa: E402
import test_server as TS  # noqa: E402

XT = SRC = None
METRICS = {"xt_up", "xt_ready", "xt_journal_failed", "xt_commands_total", "xt_rejects_total", "xt_trades_total", "xt_connections",
           "xt_md_slow_consumer_drops_total", "xt_md_slow_consumer_disconnects_total", "xt_md_conflations_total",
           "xt_md_lag_seconds",
           "xt_journal_fsyncs_total", "xt_journal_fsync_seconds", "xt_journal_stalled_seconds", "xt_journal_disk_free_bytes",
           "xt_order_ack_latency_seconds",
           "xt_seconds_since_snapshot", "xt_md_send_lag_seconds", "xt_engine_command_seconds",
           "xt_md_order_sessions", "xt_md_order_sessions_refused_total", "xt_memory_huge_pages_bytes",
           "process_cpu_seconds_total", "process_resident_memory_bytes",
           "xt_config_last_reload_successful", "xt_config_needs_restart", "xt_order_entry_messages_lost_total",
           "xt_log_lines_lost_total", "xt_journal_recovery_tail_cut_bytes", "xt_journal_spare_misses_total",
           "xt_market_clock_behind_seconds"}
HISTOGRAMS = {"xt_md_lag_seconds", "xt_journal_fsync_seconds", "xt_order_ack_latency_seconds",
              "xt_md_send_lag_seconds", "xt_engine_command_seconds"}


def path(*p):
    return os.path.join(SRC, *p)


def read(*p):
    with open(path(*p)) as f:
        return f.read()


def sh(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=120, **kw)


def metric_names(expr):
    """The xt_* and process_* names an expression uses, histogram suffixes taken off."""
    out = set()
    for m in re.findall(r"\b(?:xt|process)_[a-z0-9_]+", expr):
        for suffix in ("_bucket", "_sum", "_count"):
            if m.endswith(suffix) and m[: -len(suffix)] in HISTOGRAMS:
                m = m[: -len(suffix)]
        out.add(m)
    return out


def expressions():
    """(where, PromQL) of every alert rule and dashboard target."""
    out = []
    if yaml is not None:
        for g in yaml.safe_load(read("deploy", "prometheus", "alerts.yml"))["groups"]:
            out += [(r["alert"], r["expr"]) for r in g["rules"]]
    else:  # without a YAML parser: the one-line exprs only
        text = read("deploy", "prometheus", "alerts.yml")
        out += [("alerts.yml", e) for e in re.findall(r"(?m)^\s+expr: ([^|\s].*)$", text)]
    for p in json.loads(read("deploy", "grafana", "xtrading.json"))["panels"]:
        out += [(p["title"], t["expr"]) for t in p["targets"]]
    return out


TARGET_LABELS = {"instance", "job"}  # added by Prometheus to every series it scrapes


class YamlSyntax(unittest.TestCase):
    """What can be checked without a YAML parser: no tabs, every document of
    a manifest has apiVersion and kind, the alert rules have groups."""

    def test_minimal(self):
        for f in sorted(os.listdir(path("deploy", "k8s"))):
            text = read("deploy", "k8s", f)
            self.assertNotIn("\t", text, f)
            for doc in re.split(r"(?m)^---$", text):
                self.assertRegex(doc, r"(?m)^apiVersion: \S+$", f)
                self.assertRegex(doc, r"(?m)^kind: [A-Za-z]+$", f)
        for f in ("alerts.yml", "alerts_test.yml"):
            text = read("deploy", "prometheus", f)
            self.assertNotIn("\t", text, f)
        self.assertRegex(read("deploy", "prometheus", "alerts.yml"), r"(?m)^groups:$")


@unittest.skipIf(yaml is None, "python3-yaml not installed")
class K8s(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.docs = []
        for f in sorted(os.listdir(path("deploy", "k8s"))):
            if f.endswith(".yaml"):
                cls.docs += [d for d in yaml.safe_load_all(read("deploy", "k8s", f)) if d]
        cls.kind = {}
        for d in cls.docs:
            cls.kind.setdefault(d["kind"], []).append(d)

    def test_kustomization_lists_every_manifest(self):
        k = self.kind["Kustomization"][0]
        files = {f for f in os.listdir(path("deploy", "k8s")) if f.endswith(".yaml") and f != "kustomization.yaml"}
        self.assertEqual(set(k["resources"]), files)

    def test_statefulset(self):
        (ss,) = self.kind["StatefulSet"]
        spec = ss["spec"]
        self.assertEqual(spec["replicas"], 1, "a single writer")
        pod = spec["template"]["spec"]
        (c,) = pod["containers"]
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        self.assertEqual(ports, {"order-entry": 9001, "md-ws": 8080, "md-binary": 9002})
        for probe, p in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"), ("startupProbe", "/healthz")):
            self.assertEqual(c[probe]["httpGet"]["path"], p)
            self.assertIn(c[probe]["httpGet"]["port"], ("md-ws", 8080))
        (claim,) = spec["volumeClaimTemplates"]
        mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
        self.assertEqual(mounts[claim["metadata"]["name"]], "/var/lib/xtrading")
        self.assertEqual(c["args"][c["args"].index("--data") + 1], "/var/lib/xtrading")
        for k in ("requests", "limits"):
            self.assertIn("cpu", c["resources"][k])
            self.assertIn("memory", c["resources"][k])
        self.assertTrue(pod["securityContext"]["runAsNonRoot"])
        self.assertNotEqual(pod["securityContext"]["runAsUser"], 0)
        secrets = [v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v]
        self.assertEqual(secrets, ["xtrading-credentials"])
        self.assertEqual(spec["serviceName"], "xtrading-headless")
        self.assertIn("xtrading-headless", [s["metadata"]["name"] for s in self.kind["Service"]])
        unit = read("deploy", "systemd", "xtrading.service")
        stop = int(re.search(r"(?m)^TimeoutStopSec=(\d+)$", unit).group(1))
        self.assertEqual(pod["terminationGracePeriodSeconds"], stop, "the same shutdown bound everywhere")

    def test_service(self):
        svc = [s for s in self.kind["Service"] if s["metadata"]["name"] == "xtrading"][0]
        ports = {p["port"]: p["targetPort"] for p in svc["spec"]["ports"]}
        self.assertEqual(ports, {9001: "order-entry", 8080: "md-ws", 9002: "md-binary"})
        (ss,) = self.kind["StatefulSet"]
        self.assertEqual(svc["spec"]["selector"], ss["spec"]["selector"]["matchLabels"])

    def test_configmap_is_a_valid_config(self):
        (cm,) = self.kind["ConfigMap"]
        (ss,) = self.kind["StatefulSet"]
        c = ss["spec"]["template"]["spec"]["containers"][0]
        conf_path = c["args"][c["args"].index("--config") + 1]
        mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
        self.assertEqual(conf_path, mounts["config"] + "/xtrading.conf")
        text = cm["data"]["xtrading.conf"]
        self.assertIn("credentials = " + mounts["credentials"] + "/credentials", text)
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "xtrading.conf")
            with open(p, "w") as f:
                f.write(text)
            # the Secret's file is not here: the example credentials stand in for it
            r = sh(XT, "config", "check", p, "--credentials", path("etc", "credentials.example"),
                   *c["args"][c["args"].index("--data"):])
        self.assertEqual(r.returncode, 0, r.stderr)
        for key in ("listen = 0.0.0.0:9001", "listen = 0.0.0.0:8080", "tcp_listen = 0.0.0.0:9002",
                    "dir = /var/lib/xtrading"):
            self.assertIn("\n" + key + "\n", r.stdout)


class Docker(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.text = read("deploy", "docker", "Dockerfile")
        cls.lines = re.sub(r"\\\n", " ", cls.text).splitlines()

    def instr(self, name):
        return [ln.split(None, 1)[1] for ln in self.lines if ln.split(None, 1)[:1] == [name]]

    def test_stages_user_volume_ports(self):
        self.assertEqual([f.split()[0] for f in self.instr("FROM")], ["debian:12-slim", "debian:12-slim"])
        (user,) = self.instr("USER")
        self.assertNotIn(user.split(":")[0], ("0", "root"))
        self.assertIn("/var/lib/xtrading", self.instr("VOLUME")[0])
        self.assertEqual(set(self.instr("EXPOSE")[0].split()), {"9001", "8080", "9002"})
        (hc,) = self.instr("HEALTHCHECK")
        self.assertIn("/healthz", hc)
        self.assertIn("8080", hc)

    def test_runtime_packages_are_what_the_binary_links(self):
        runtime = self.text.split("\nFROM ")[2]
        pkgs = set(re.search(r"--no-install-recommends(.*?)&&", runtime, re.S).group(1).replace("\\", " ").split())
        self.assertEqual(pkgs, {"libssl3", "libwslay1", "libhttp-parser2.9", "libjansson4", "libisal2"})
        if not shutil.which("dpkg") or not shutil.which("ldd"):
            print("no dpkg/ldd: the package list is not compared with the binary's libraries", file=sys.stderr)
            return
        libs = re.findall(r"=> (/\S+)", sh("ldd", XT).stdout)
        libs = [lib for lib in libs if "libasan" not in lib and "libubsan" not in lib]  # the ASan build
        owners = set()
        for lib in libs:
            r = sh("dpkg", "-S", os.path.realpath(lib))
            if r.returncode != 0:
                r = sh("dpkg", "-S", lib)
            self.assertEqual(r.returncode, 0, lib)
            owners.add(r.stdout.split(":")[0])
        owners -= {"libc6", "libgcc-s1", "libstdc++6"}  # in debian:12-slim already
        self.assertEqual(owners, pkgs)

    def test_cmd_flags_are_real(self):
        (cmd,) = self.instr("CMD")
        args = json.loads(cmd)
        self.assertEqual(args[0], "serve")
        conf = args[args.index("--config") + 1]
        self.assertEqual(conf, "/etc/xtrading/xtrading.conf", "where make install PREFIX=/usr puts it")
        rest = [a for i, a in enumerate(args[1:], 1) if a != "--config" and args[i - 1] != "--config"]
        r = sh(XT, "config", "check", path("etc", "xtrading.conf"), *rest)
        self.assertEqual(r.returncode, 0, r.stderr)
        for key in ("listen = 0.0.0.0:9001", "listen = 0.0.0.0:8080", "tcp_listen = 0.0.0.0:9002",
                    "dir = /var/lib/xtrading"):
            self.assertIn("\n" + key + "\n", r.stdout)

    def test_dockerignore_keeps_build_out(self):
        ignored = read(".dockerignore").split()
        for p in ("build", ".git"):
            self.assertIn(p, ignored)

    def test_hadolint(self):
        if not shutil.which("hadolint"):
            self.skipTest("hadolint not installed")
        r = sh("hadolint", path("deploy", "docker", "Dockerfile"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


class Monitoring(unittest.TestCase):
    @unittest.skipIf(yaml is None, "python3-yaml not installed")
    def test_alert_rules(self):
        rules = yaml.safe_load(read("deploy", "prometheus", "alerts.yml"))
        names = set()
        for g in rules["groups"]:
            for r in g["rules"]:
                names.add(r["alert"])
                self.assertIn(r["labels"]["severity"], ("critical", "warning"))
                self.assertTrue(r["annotations"]["summary"])
                self.assertLessEqual(metric_names(r["expr"]), METRICS, r["alert"])
        self.assertGreaterEqual(names, {"XtradingDown", "XtradingNotReady", "XtradingAckLatencyHigh",
                                        "XtradingRejectRateHigh", "XtradingMarketDataLagHigh",
                                        "XtradingJournalFsyncSlow", "XtradingSlowConsumerDisconnects",
                                        "XtradingNoRecentSnapshot"})

    def test_promtool(self):
        if not shutil.which("promtool"):
            self.skipTest("promtool not installed (Debian package prometheus)")
        r = sh("promtool", "check", "rules", path("deploy", "prometheus", "alerts.yml"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # the rules' unit tests: the alerts fire (and stay quiet) as intended
        r = sh("promtool", "test", "rules", "alerts_test.yml", cwd=path("deploy", "prometheus"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_grafana_dashboard(self):
        dash = json.loads(read("deploy", "grafana", "xtrading.json"))
        titles = {p["title"] for p in dash["panels"]}
        self.assertGreaterEqual(titles, {"Order rate by type", "Order ack latency", "Rejects by reason",
                                         "Connections by protocol", "Market-data lag", "Journal fsync latency"})
        used = set()
        ids = [p["id"] for p in dash["panels"]]
        self.assertEqual(len(ids), len(set(ids)))
        for p in dash["panels"]:
            self.assertTrue(p["targets"], p["title"])
            for t in p["targets"]:
                used |= metric_names(t["expr"])
        self.assertEqual(used, METRICS, "every metric on the dashboard, and only those")


class ServedMetrics(unittest.TestCase):
    """What the rules, the dashboard and docs/deploy.md's table name, against
    the /metrics text of a running server (test_md_ws.start, test_http's scrape): a metric or
    label renamed in src/server/md_http.c fails here, not in production."""

    @classmethod
    def setUpClass(cls):
        srv = W.start()
        try:
            vals, cls.types = H.parse_metrics(H.scrape(srv.md_port))
            srv.stop()
        finally:
            srv.cleanup()
        cls.labels = {}  # family -> {label: {values}}
        for name, labels in vals:
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            fam = base if base in cls.types else name
            for k, v in labels:
                cls.labels.setdefault(fam, {}).setdefault(k, set()).add(v)
            cls.labels.setdefault(fam, {})

    def test_every_metric_is_served_with_its_type(self):
        for name in METRICS:
            self.assertIn(name, self.types, name)
            self.assertEqual(self.types[name] == "histogram", name in HISTOGRAMS, name)

    def test_labels_and_values_used_are_served(self):
        for where, expr in expressions():
            names = metric_names(expr)
            for n in names:
                self.assertIn(n, self.types, f"{where}: {n} is not served")
            for sel, body in re.findall(r"\b((?:xt|process)_[a-z0-9_]+)\{([^}]*)\}", expr):
                fam = metric_names(sel).pop()
                for label, op, value in re.findall(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"', body):
                    if label in TARGET_LABELS:
                        continue
                    served = self.labels[fam].get(label)
                    self.assertIsNotNone(served, f"{where}: {fam} has no label {label}")
                    for alt in value.split("|") if op in ("=~", "!~") else [value]:
                        if re.fullmatch(r"[\w.+-]+", alt):  # a literal, not a pattern
                            self.assertIn(alt, served, f"{where}: {fam}{{{label}}} never has the value {alt}")
            for group in re.findall(r"\bby\s*\(([^)]*)\)", expr):
                for label in (x.strip() for x in group.split(",")):
                    if label and label not in TARGET_LABELS:
                        self.assertTrue(any(label in self.labels[n] for n in names),
                                        f"{where}: grouped by {label}, which none of {sorted(names)} has")

    def test_deploy_md_table(self):
        """docs/deploy.md's table of what the alerts and the dashboard use:
        exactly METRICS, each with its served type and labels."""
        doc = read("docs", "deploy.md").split("## Monitoring", 1)[1].split("\n## ", 1)[0]
        rows = re.findall(r"(?m)^\| `((?:xt|process)_[a-z0-9_]+)(?:\{([a-z_,]+)\})?` \| (\w+) \|", doc)
        self.assertEqual({r[0] for r in rows}, METRICS)
        for name, labels, typ in rows:
            self.assertEqual(self.types[name], typ, name)
            for label in filter(None, labels.split(",")):
                self.assertIn(label, self.labels[name], name)


if __name__ == "__main__":
    XT, SRC = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    TS.XT = XT
    del sys.argv[1:3]
    unittest.main(verbosity=2)
