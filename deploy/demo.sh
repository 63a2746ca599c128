#!/usr/bin/env bash
# The main job on the embedded default, install included:
#   bash deploy/demo.sh [PACKETS]
# Installs wardwatch, generates a synthetic hospital capture (bench/gen_mixed.py) and runs the sensor
# on it, then prints the records per log and a few sample lines. Output goes to var/demo/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
PACKETS="${1:-300000}"
OUT="$ROOT/var/demo"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore PIP_BREAK_SYSTEM_PACKAGES=1

echo "== installing wardwatch"
"$PY" -m pip install -q -e . >/dev/null
mkdir -p "$OUT"

echo "== generating a mixed hospital capture: $PACKETS packets"
"$PY" bench/gen_mixed.py --packets "$PACKETS" --seed 1 --out "$OUT/mixed.pcap"

echo "== wardwatch sensor --pcap $OUT/mixed.pcap --out $OUT/records.json"
if ! "$PY" -m wardwatch.cli sensor --pcap "$OUT/mixed.pcap" --out "$OUT/records.json" 2> "$OUT/sensor.log"; then
    cat "$OUT/sensor.log" >&2
    exit 1
fi
head -1 "$OUT/sensor.log"

"$PY" - "$OUT" <<'PYEOF'
import json, sys
from pathlib import Path

out = Path(sys.argv[1])
summary = json.loads(out.joinpath("sensor.log").read_text().splitlines()[-1])
expected = json.loads(out.joinpath("mixed.pcap.json").read_text())
print("\nrecords per log:")
for log, n in summary["records"].items():
    print(f"  {log:6} {n:8}")
print(f"generator: {expected['dns']['transactions']} DNS transactions, {expected['connections']['total']} connections")
samples: dict[str, list[str]] = {"dns": [], "conn": []}
with out.joinpath("records.json").open() as f:
    for line in f:
        path = line[10:line.index('"', 10)] if line.startswith('{"_path":"') else ""
        if path in samples and len(samples[path]) < 3:
            samples[path].append(line.rstrip())
        if all(len(v) == 3 for v in samples.values()):
            break
for path, lines in samples.items():
    print(f"\nsample {path} records:")
    for line in lines:
        print("  " + line)
print(f"\nall records: {out / 'records.json'}")
PYEOF
