#!/usr/bin/env bash
# The main job on the embedded default (no services: in-process bus, chdb store), install included:
#   bash deploy/demo.sh [SESSIONS]
# Installs wardwatch into the project's venv (.venv/ at the repo root, created here; the system Python
# is left alone), generates the synthetic hospital capture (normal clinical/office traffic plus injected
# attacks), runs `wardwatch run` on it (sensor -> detectors -> chdb store), then shows what the store
# found. Everything goes to var/demo/. WARDWATCH_VENV=DIR uses another venv (CI: a fresh one).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
VENV="${WARDWATCH_VENV:-$ROOT/.venv}"
SESSIONS="${1:-400}"
OUT="$ROOT/var/demo"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore

# shellcheck source=deploy/venv.sh
. "$ROOT/deploy/venv.sh"
echo "== cài đặt wardwatch vào $VENV"
echo "== installing wardwatch into $VENV"
make_venv "$VENV" "$PY"
# a plain install, as an operator gets it: the package must bring everything the main job needs
"$VENV/bin/python" -m pip install -q . >/dev/null
WW="$VENV/bin/wardwatch"
rm -rf "$OUT"
mkdir -p "$OUT"

echo "== tạo bản ghi mạng mô phỏng của một bệnh viện ($SESSIONS phiên bình thường, có chèn tấn công)"
echo "== wardwatch synth: a synthetic hospital capture ($SESSIONS normal sessions, attacks injected)"
"$WW" synth --out "$OUT" --sessions "$SESSIONS"

echo "== wardwatch run --pcap $OUT/hospital.pcap --config $OUT/hospital.yaml"
"$WW" run --quiet --pcap "$OUT/hospital.pcap" --config "$OUT/hospital.yaml"

echo
# -P: the venv's copy, not the source folders of the working directory
"$VENV/bin/python" -P -m wardwatch.tools.synth.showcase --config "$OUT/hospital.yaml"
echo
echo "kho dữ liệu: $OUT (truy vấn: $WW query --config $OUT/hospital.yaml \"SELECT ...\")"
echo "store: $OUT (query it: $WW query --config $OUT/hospital.yaml \"SELECT ...\")"
