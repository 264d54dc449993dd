#!/usr/bin/env python3
"""Snapkeep side by side with cassandra-medusa 0.31 (from PyPI) on the same dev node and the
same versitygw server on loopback, in the same run (`make bench`, after `make build` and
`server/scripts/ensure-tools.sh test`):

1. first backup of a table of SNAPKEEP_BENCH_MEDUSA_MB MiB (snapshot + upload; Medusa's
   `backup-node`, which also snapshots and uploads),
2. a second backup of the unchanged data: the bytes each adds to its bucket,
3. restoring that one table from the store after it was truncated and its snapshots cleared:
   Snapkeep's approval-gated in-place restore from the store (request, approve, execute,
   verified) against Medusa's `restore-node --table` (which stops and restarts the node).

Medusa runs from a virtualenv in ~/.cache/snapkeep/medusa-0.31.0; its `nodetool` is a wrapper
around the node's own NodeTool class, its start and stop commands are `snapkeep dev-node`.
Prints one line per figure for README.md.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "target" / "release" / "snapkeep"
MB = int(os.environ.get("SNAPKEEP_BENCH_MEDUSA_MB", "256"))
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "snapkeep"
VENV = CACHE / "medusa-0.31.0"
KEY, SECRET = "benchkey", "benchsecret-0123456789"


def run(*argv, env=None, check=True, capture=False, stdin=None):
    r = subprocess.run([str(a) for a in argv], env=env, text=True, input=stdin,
                       stdout=subprocess.PIPE if capture else None,
                       stderr=subprocess.PIPE if capture else None)
    if check and r.returncode != 0:
        sys.exit(f"{' '.join(map(str, argv))} failed ({r.returncode}): {r.stdout or ''}{r.stderr or ''}")
    return r


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def du(path):
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size
            except FileNotFoundError:
                pass
    return total


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return json.dumps(str(v))


def toml_table(header, d):
    lines = [header]
    lines += [f"{k} = {toml_value(v)}" for k, v in d.items() if not isinstance(v, dict)]
    return "\n".join(lines) + "\n"


def medusa_venv():
    if not (VENV / "bin" / "medusa").exists():
        run(sys.executable, "-m", "venv", VENV)
        run(VENV / "bin" / "pip", "install", "-q", "cassandra-medusa==0.31.0")
    return VENV / "bin" / "medusa"


class Api:
    def __init__(self, url, token):
        self.url, self.token = url, token

    def call(self, method, path, body=None):
        req = urllib.request.Request(self.url + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {self.token}",
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read() or b"null")


def wait_restore(api, rid):
    while True:
        r = api.call("GET", f"/api/v1/restores/{rid}")
        if r["state"] != "running":
            return r
        time.sleep(0.1)


def main():
    if not BIN.exists():
        sys.exit("run `make build` first")
    versitygw = Path(run("go", "env", "GOPATH", capture=True).stdout.strip()) / "bin" / "versitygw"
    if not versitygw.exists():
        sys.exit("run `server/scripts/ensure-tools.sh test` first (builds versitygw)")
    medusa = medusa_venv()
    work = Path(tempfile.mkdtemp(prefix="snapkeep-medusa-"))
    procs = []
    node_dir = work / "node"
    try:
        # The node, and the S3 server with one bucket each.
        run(BIN, "dev-node", "start", "--dir", node_dir)
        dev = json.loads((node_dir / "node.json").read_text())
        cfg = tomllib.loads((node_dir / "snapkeep.toml").read_text())
        node = cfg["nodes"][0]
        s3_root = work / "s3"
        for b in ("snapkeep", "medusa"):
            (s3_root / b).mkdir(parents=True)
        s3_port = free_port()
        procs.append(subprocess.Popen([versitygw, "--access", KEY, "--secret", SECRET, "--port",
                                       f"127.0.0.1:{s3_port}", "--quiet", "posix", s3_root],
                                      stdout=subprocess.DEVNULL))
        while socket.socket().connect_ex(("127.0.0.1", s3_port)) != 0:
            time.sleep(0.05)

        # The data: one table, uncompressible values, flushed.
        py = VENV / "bin" / "python"
        load = f"""
import os
from cassandra.cluster import Cluster
from cassandra.concurrent import execute_concurrent_with_args
s = Cluster(['{dev['listen']}'], port={dev['cql_port']}).connect()
s.execute("CREATE KEYSPACE IF NOT EXISTS bench WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}")
s.execute("CREATE TABLE IF NOT EXISTS bench.t (id int PRIMARY KEY, v blob)")
ins = s.prepare("INSERT INTO bench.t (id, v) VALUES (?, ?)")
rows = {MB} * 64
for start in range(0, rows, 2048):
    execute_concurrent_with_args(s, ins, [(i, os.urandom(16384)) for i in range(start, min(rows, start + 2048))], concurrency=64)
"""
        run(py, "-c", load)
        nodetool = node["nodetool"] + ["-h", dev["listen"], "-p", str(dev["jmx_port"])]
        run(*nodetool, "flush", "bench", "t")

        # Medusa's configuration: its nodetool wraps the node's own NodeTool class.
        wrapper = work / "bin" / "nodetool"
        wrapper.parent.mkdir()
        wrapper.write_text("#!/bin/sh\nexec " + " ".join(f"'{a}'" for a in node["nodetool"]) + ' "$@"\n')
        wrapper.chmod(0o755)
        creds = work / "medusa-credentials"
        creds.write_text(f"[default]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\n")
        ini = work / "medusa.ini"
        ini.write_text(f"""[cassandra]
config_file = {node_dir / 'conf' / 'cassandra.yaml'}
start_cmd = {BIN} dev-node start --dir {node_dir}
stop_cmd = {BIN} dev-node stop --dir {node_dir}
check_running = {wrapper} -h {dev['listen']} -p {dev['jmx_port']} version
nodetool_executable = {wrapper}
nodetool_host = {dev['listen']}
nodetool_port = {dev['jmx_port']}
nodetool_flags =
resolve_ip_addresses = False
use_sudo = False

[storage]
storage_provider = s3_compatible
bucket_name = medusa
key_file = {creds}
host = 127.0.0.1
port = {s3_port}
secure = False
region = us-east-1
fqdn = {dev['listen']}
use_sudo_for_restore = False
concurrent_transfers = 4
transfer_max_bandwidth = 10GB/s
multi_part_upload_threshold = 8MB
multipart_chunksize = 8MB

[grpc]
enabled = False

[kubernetes]
enabled = False

[logging]
enabled = false
""")
        menv = dict(os.environ, PATH=f"{wrapper.parent}:{VENV / 'bin'}:{os.environ['PATH']}")

        # Snapkeep: the node with an S3 store (no encryption, as Medusa's), served.
        state = work / "state"
        node["store"] = "bench"
        os.environ["BENCH_S3_KEY"], os.environ["BENCH_S3_SECRET"] = KEY, SECRET
        store = {"name": "bench", "kind": "s3", "endpoint": f"http://127.0.0.1:{s3_port}",
                 "bucket": "snapkeep", "region": "us-east-1", "path_style": True,
                 "access_key_id_env": "BENCH_S3_KEY", "secret_access_key_env": "BENCH_S3_SECRET",
                 "encrypt": False}
        conf = work / "snapkeep.toml"
        conf.write_text(toml_value_lines(state) + toml_table("[[nodes]]", node)
                        + toml_table("[[stores]]", store))
        for user, role in (("op", "operator"), ("ap", "approver")):
            run(BIN, "user", "add", user, "--role", role, "--password-stdin", "--config", conf,
                stdin="bench password 1\n", capture=True)
        tokens = {u: run(BIN, "token", "create", u, "--config", conf, capture=True).stdout.strip()
                  for u in ("op", "ap")}
        server = subprocess.Popen([BIN, "serve", "--config", conf, "--listen", "127.0.0.1:0"],
                                  stdout=subprocess.PIPE, text=True,
                                  stderr=None if os.environ.get("SNAPKEEP_BENCH_LOG") else subprocess.DEVNULL)
        procs.append(server)
        url = server.stdout.readline().strip().removeprefix("listening on ")
        op, ap = Api(url, tokens["op"]), Api(url, tokens["ap"])
        cli = lambda *a: run(BIN, *a, "--server", url, env=dict(os.environ, SNAPKEEP_TOKEN=tokens["op"]),
                             capture=True)

        def snapkeep_backup(tag):
            before = du(s3_root / "snapkeep")
            t = time.perf_counter()
            cli("snapshot", "create", "--table", "bench.t", "--tag", tag)
            taken = time.perf_counter() - t
            cli("snapshot", "upload", tag, "--store", "bench")
            took = time.perf_counter() - t
            print(f"Snapkeep backup {tag}: snapshot {taken:.1f} s, upload {took - taken:.1f} s")
            return took, du(s3_root / "snapkeep") - before

        def medusa_backup(name):
            before = du(s3_root / "medusa")
            t = time.perf_counter()
            run(medusa, "--config-file", ini, "backup-node", "--backup-name", name, env=menv, capture=True)
            return time.perf_counter() - t, du(s3_root / "medusa") - before

        sk1, sk1_bytes = snapkeep_backup("sk-1")
        md1, md1_bytes = medusa_backup("md-1")
        sk2, sk2_bytes = snapkeep_backup("sk-2")
        md2, md2_bytes = medusa_backup("md-2")
        table_bytes = du(next((node_dir / "data" / "bench").glob("t-*")) / "snapshots" / "sk-1")
        print(f"medusa bench: table bench.t {table_bytes / 2**20:.0f} MiB on disk")
        print(f"first backup (snapshot + upload): Snapkeep {sk1:.1f} s, {sk1_bytes / 2**20:.0f} MiB to the bucket; "
              f"Medusa backup-node {md1:.1f} s, {md1_bytes / 2**20:.0f} MiB")
        print(f"second backup, data unchanged: Snapkeep {sk2:.1f} s, {sk2_bytes / 2**10:.0f} KiB added to the bucket; "
              f"Medusa {md2:.1f} s, {md2_bytes / 2**10:.0f} KiB added")

        # Restore of the one table, after it was truncated and its snapshots cleared.
        def wipe():
            run(py, "-c", f"from cassandra.cluster import Cluster; "
                          f"Cluster(['{dev['listen']}'], port={dev['cql_port']}).connect().execute('TRUNCATE bench.t')")
            run(*nodetool, "clearsnapshot", "--all", "--", "bench")

        def count():
            out = run(py, "-c", f"from cassandra.cluster import Cluster; "
                                f"print(Cluster(['{dev['listen']}'], port={dev['cql_port']}).connect()"
                                f".execute('SELECT COUNT(*) FROM bench.t', timeout=120).one()[0])",
                      capture=True).stdout
            return int(out.strip())

        rows = MB * 64
        wipe()
        t = time.perf_counter()
        req = op.call("POST", "/api/v1/restores", {"snapshot": "sk-1", "tables": ["bench.t"], "target": "in_place",
                                                   "source": {"store": "bench"}, "reason": "bench"})
        ap.call("POST", f"/api/v1/restores/{req['id']}/approve", {"comment": "bench"})
        op.call("POST", f"/api/v1/restores/{req['id']}/execute")
        done = wait_restore(op, req["id"])
        sk_restore = time.perf_counter() - t
        if done["state"] != "done" or count() != rows:
            sys.exit(f"the Snapkeep restore did not bring every row back: {done['state']} {done.get('error')}")

        wipe()
        t = time.perf_counter()
        run(medusa, "--config-file", ini, "restore-node", "--backup-name", "md-1", "--table", "bench.t", "--in-place",
            env=menv, capture=True)
        while True:
            try:
                n = count()
                break
            except SystemExit:
                time.sleep(1)
        md_restore = time.perf_counter() - t
        if n != rows:
            sys.exit(f"the Medusa restore brought back {n} of {rows} rows")
        print(f"restore of bench.t from the store ({rows} rows, every one back): Snapkeep in place, approval-gated, "
              f"verified {sk_restore:.1f} s; Medusa restore-node --table (node stopped and started) {md_restore:.1f} s")
    finally:
        for p in procs:
            p.terminate()
        run(BIN, "dev-node", "stop", "--dir", node_dir, check=False, capture=True)
        shutil.rmtree(work, ignore_errors=True)


def toml_value_lines(state):
    return f"state_dir = {toml_value(str(state))}\n"


if __name__ == "__main__":
    main()
