#!/usr/bin/python3
"""Writes the seed corpora of the config and credentials fuzz targets
(tests/fuzz/corpus/config/, tests/fuzz/corpus/creds/): the shipped examples
(etc/xtrading.conf, etc/credentials.example), a few valid variations (every
section, instruments with bands, time zones, paths, fsync forms, off
switches) and a few refused files (unknown keys and sections, values out of
range, duplicates, bad instruments, lines too long, NUL bytes, bad keys).

usage: make_config_seeds.py   (from anywhere; deterministic)
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
KEY = "a4c4e155eeb156726f9109dd9b61371876b9d8af841bbb3b86dc8a08a74687a0"

config_seeds = {
    "minimal.conf": "[server]\nlisten = 127.0.0.1:0\n",
    "empty.conf": "",
    "comments.conf": "# a comment\n; another\n\n[server]\n  listen =  *:9001  \n",
    "sections.conf": """[server]
listen = localhost:9001
max_connections = 100
max_frame = 104
heartbeat_ms = 100
admin_socket = off
gateway_cpus = 0
engine_cpus = 0-1
[journal]
dir = ./data//x/
fsync = interval=50
segment_bytes = 1048576
preallocate = off
keep_all_segments = on
[limits]
rate = 1
burst = 1
[engine]
max_instruments = 8
[md]
listen = 127.0.0.1:0
tcp_listen = off
history = off
[log]
level = debug
format = json
file = log/x.log
[rest]
[debug]
commit_delay_us = 0
""",
    "instruments.conf": """[instrument 600519.SH]
tick = 0.01
lot = 100
ref = 1700.00
band = 10
tz = Asia/Shanghai
prev_close = ref
[instrument BTC-USDT]
tick = 0.01
lot = 0.0001
min = 0.0002
max = 100
tz = -05:30
""",
    "fsync_forms.conf": "[journal]\nfsync = always\n[journal]\n",
    "paths.conf": "[journal]\ndir = /abs/../x/./y\n[server]\ncredentials = creds.txt\nadmin_socket = a.sock\n",
    "bad_key.conf": "[server]\nno_such_key = 1\n",
    "bad_section.conf": "[nowhere]\nx = 1\n",
    "bad_range.conf": "[server]\nmax_frame = 103\n",
    "bad_number.conf": "[limits]\nrate = -1\n",
    "duplicate.conf": "[server]\nlisten = 127.0.0.1:1\nlisten = 127.0.0.1:2\n",
    "no_equals.conf": "[server]\nlisten\n",
    "bad_instrument.conf": "[instrument X]\ntick = 0\nlot = 1\n",
    "instrument_twice.conf": "[instrument X]\ntick = 1\nlot = 1\n[instrument X]\ntick = 1\nlot = 1\n",
    "bad_tz.conf": "[instrument X]\ntick = 1\nlot = 1\ntz = +25:00\n",
    "long_line.conf": "[server]\nlisten = " + "1" * 5000 + "\n",
    "nul.conf": "[server]\nlisten = 127.0.0.1:9\x001\n",
    "crlf.conf": "[server]\r\nlisten = 127.0.0.1:9001\r\n",
    "unterminated.conf": "[server",
    # found by fuzz_config: a path whose last name ends in a space printed without its "/" (trimmed on reload)
    "trailing_space_path.conf": "[journal]\ndir = \xd3abs/../x /\n[md]\nhistory_dir = /h /./\n",
}

creds_seeds = {
    "one.txt": f"1001 demo1001 {KEY}\n",
    "several.txt": f"# c\n\n1 a {KEY}\n4294967295 A.b_c-0123456789 {KEY.upper()} # tail\n1 b\t{KEY}\n",
    "duplicate.txt": f"7 k {KEY}\n7 k {KEY}\n",
    "empty.txt": "",
    "comments_only.txt": "# nothing\n",
    "bad_account.txt": f"0 k {KEY}\n",
    "big_account.txt": f"4294967296 k {KEY}\n",
    "bad_key_id.txt": f"1 k/1 {KEY}\n",
    "long_key_id.txt": f"1 {'k' * 17} {KEY}\n",
    "short_key.txt": f"1 k {KEY[:63]}\n",
    "two_fields.txt": f"1 {KEY}\n",
    "four_fields.txt": f"1 k {KEY} extra\n",
    "secret_in_key_column.txt": f"1 my-secret-value {KEY}\n1 {KEY[:16]} {KEY}\n1 {KEY[:16]} {KEY}\n",
    "nul.txt": f"1 k {KEY}\x00\n",
}


def write(sub, seeds):
    d = os.path.join(HERE, "corpus", sub)
    os.makedirs(d, exist_ok=True)
    for name, text in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(text.encode())


def main():
    with open(os.path.join(ROOT, "etc", "xtrading.conf")) as f:
        config_seeds["shipped.conf"] = f.read()
    with open(os.path.join(ROOT, "etc", "credentials.example")) as f:
        creds_seeds["shipped.txt"] = f.read()
    write("config", config_seeds)
    write("creds", creds_seeds)


if __name__ == "__main__":
    main()
