#!/usr/bin/env bash
# Issue 15's whole-cluster restart target, measured: a viewleader and three servers on data directories
# (--fsync always) load 1,000,000 keys with setr, all three servers are SIGKILLed at once and started again on
# their directories. Prints how long until each recovered its directory and until a getr sweep over the whole key
# space meets no refusal (every range served), then reads keys at random for 30 s: every read must find its key.
# Needs release binaries (swift build -c release). Usage: scripts/bench-support/restart-1m.sh
set -euo pipefail
bin="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/.build/release"
dir="$(mktemp -d "${TMPDIR:-/tmp}/kv-restart-1m.XXXXXX")"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"' EXIT
now_ms() { date +%s%3N; }

"$bin/viewleader" --port 0 --lease 1.5 --state-dir "$dir/state" >"$dir/viewleader.out" 2>"$dir/viewleader.log" &
pids+=($!)
until grep -q '^listening on ' "$dir/viewleader.out" 2>/dev/null; do sleep 0.05; done
viewleader="127.0.0.1:$(grep -m1 '^listening on ' "$dir/viewleader.out" | sed 's/.*://')"

# start_servers LIFE: three servers on data0..2; their logs are sN.LIFE.log.
start_servers() {
    server_pids=()
    for i in 0 1 2; do
        "$bin/server" --port 0 --viewleader "$viewleader" --heartbeat-interval 0.25 --data-dir "$dir/data$i" \
            >"$dir/s$i.$1.out" 2>"$dir/s$i.$1.log" &
        server_pids+=($!)
        pids+=($!)
    done
}

start_servers 1
sleep 3
started="$(now_ms)"
"$bin/client" --viewleader "$viewleader" bench --op getr --keys 1000000 --duration 0.5 --warmup 0 --json \
    >"$dir/load.json" 2>&1
echo "loaded 1,000,000 keys with setr in $(( ($(now_ms) - started) / 1000 )) s;" \
    "each data directory holds $(du -sh "$dir/data0" | cut -f1)"

kill -9 "${server_pids[@]}"
wait "${server_pids[@]}" 2>/dev/null || true
restarted="$(now_ms)"
start_servers 2
for i in 0 1 2; do until grep -q 'recovered' "$dir/s$i.2.log" 2>/dev/null; do sleep 0.01; done; done
recovered="$(now_ms)"
until "$bin/client" --viewleader "$viewleader" bench --op getr --keys 1000000 --no-prefill --connections 8 \
        --duration 0.3 --warmup 0 --json 2>/dev/null | grep -q '"error_count":0'; do
    sleep 0.05
done
served="$(now_ms)"
echo "after the restart: all three recovered in $(( recovered - restarted )) ms;" \
    "every range served in $(( served - restarted )) ms (target: 5000 ms)"
grep -h 'recovered' "$dir"/s*.2.log
"$bin/client" --viewleader "$viewleader" bench --op getr --keys 1000000 --no-prefill --connections 50 \
    --duration 30 --warmup 0 --seed 7 --json >"$dir/read.json" 2>&1
python3 -c "import json, sys; d = json.load(open(sys.argv[1])); print('read back at random for 30 s:', \
d['operations'], 'reads,', d['outcomes']['not_found'], 'not found,', d['error_count'], 'errors')" "$dir/read.json"
