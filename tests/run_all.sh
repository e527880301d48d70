#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian/Ubuntu machine, then runs it.
#   bash tests/run_all.sh            (extra arguments go to pytest)
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages: Chromium for the real-browser test, fonts for the OCR accuracy set.
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need+=(fonts-noto-cjk)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
fc-list 2>/dev/null | grep -qi "Liberation Sans" || need+=(fonts-liberation)
if [ ${#need[@]} -gt 0 ]; then
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"
fi

# Python packages in a project venv (Python 3.11; see requirements.txt for the torch pin).
PYTHON=${PYTHON:-python3.11}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/pip install -q -r requirements.txt

# Import contracts first (.importlinter): pages call core.services, pure packages stay pure.
.venv/bin/lint-imports

export HF_HUB_OFFLINE=1
exec .venv/bin/python -m pytest tests -q -p no:cacheprovider --durations=15 "$@"
