#!/usr/bin/env bash
# Snapkeep's benchmarks (`make bench`): wasm size, server start-up, SSR latency, and the
# scanner against du. Run after `make build`. Prints the figures README.md records.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=target/release/snapkeep
WASM=target/site/pkg/snapkeep.wasm
[ -x "$BIN" ] && [ -f "$WASM" ] || { echo "run make build first" >&2; exit 1; }

raw=$(stat -c %s "$WASM"); gz=$(gzip -9 -c "$WASM" | wc -c)
echo "wasm: $raw bytes raw, $gz bytes gzip -9 (goal ≤ 400 KB gzip)"

state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT
# Pages and the API need a signed-in user: a viewer with an API token.
echo "bench password 1" | "$BIN" user add bench --role viewer --password-stdin --state-dir "$state" >/dev/null
token=$("$BIN" token create bench --state-dir "$state")
python3 - "$BIN" "$state" "$token" <<'PY'
import http.client, statistics, subprocess, sys, time
binary, state, token = sys.argv[1], sys.argv[2], sys.argv[3]
t0 = time.perf_counter()
p = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", "--state-dir", state],
                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
url = p.stdout.readline().strip().removeprefix("listening on http://")
host, port = url.split(":")
while True:
    try:
        c = http.client.HTTPConnection(host, int(port), timeout=2)
        c.request("GET", "/healthz")
        if c.getresponse().status == 200:
            break
    except OSError:
        time.sleep(0.005)
print(f"start to first /healthz 200: {(time.perf_counter() - t0) * 1000:.0f} ms")
c = http.client.HTTPConnection(host, int(port), timeout=5)
lat = []
for _ in range(1000):
    t = time.perf_counter()
    c.request("GET", "/", headers={"Authorization": f"Bearer {token}"})
    r = c.getresponse(); r.read()
    assert r.status == 200
    lat.append((time.perf_counter() - t) * 1000)
lat.sort()
print(f"SSR GET / over 1000 requests: p50 {lat[499]:.2f} ms, p99 {lat[989]:.2f} ms")
p.terminate(); p.wait()
PY
if [ "${SNAPKEEP_BENCH_SCAN:-1}" != 0 ]; then cargo bench --bench scan; fi
cargo bench --bench snapshots
cargo bench --bench restore
cargo bench --bench reports
cargo bench --bench store
cargo bench --bench schedules
cargo bench --bench metrics
# Side by side with cassandra-medusa 0.31 (PyPI) on a dev node and versitygw.
python3 server/benches/medusa.py
