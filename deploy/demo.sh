#!/usr/bin/env bash
# The main job on the embedded default (no services: in-process bus, chdb store), install included:
#   bash deploy/demo.sh [SESSIONS]
# Installs wardwatch, generates the synthetic hospital capture (normal clinical/office traffic plus
# injected attacks), runs `wardwatch run` on it (sensor -> detectors -> chdb store), then asks the store
# what it found. Everything goes to var/demo/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
SESSIONS="${1:-400}"
OUT="$ROOT/var/demo"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore PIP_BREAK_SYSTEM_PACKAGES=1

echo "== installing wardwatch"
"$PY" -m pip install -q -e . >/dev/null
rm -rf "$OUT"
mkdir -p "$OUT"

echo "== wardwatch synth: a synthetic hospital capture ($SESSIONS normal sessions, attacks injected)"
"$PY" -m wardwatch.cli synth --out "$OUT" --sessions "$SESSIONS"

echo "== wardwatch run --pcap $OUT/hospital.pcap --config $OUT/hospital.yaml"
"$PY" -m wardwatch.cli run --pcap "$OUT/hospital.pcap" --config "$OUT/hospital.yaml"

echo
echo "== alerts by category / cảnh báo theo loại"
"$PY" -m wardwatch.cli query --config "$OUT/hospital.yaml" \
    "SELECT category, severity, count() AS alerts, uniqExact(src_ip) AS hosts FROM alerts GROUP BY category, severity ORDER BY category"
echo
echo "== a few alerts / một vài cảnh báo"
"$PY" -m wardwatch.cli query --config "$OUT/hospital.yaml" \
    "SELECT category, replaceRegexpOne(toString(src_ip), '^::ffff:', '') AS src, indicator, segment, directive, summary['vi'] AS tom_tat FROM alerts ORDER BY ts LIMIT 8"
echo
echo "store: $OUT (query it: wardwatch query --config $OUT/hospital.yaml \"SELECT ...\")"
