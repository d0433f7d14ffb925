#!/usr/bin/env bash
# Set-up and the two everyday commands. Needs only Python 3.11+ on the PATH.
#   ./dev.sh run    create .venv if needed, then run the sentiment flow on the bundled sample
#   ./dev.sh test   create .venv if needed, then run the test suite
#   ./dev.sh lint   ruff (configured in pyproject.toml), as CI runs it
#   ./dev.sh setup  only create/refresh .venv (pinned versions from constraints.txt)
#   ./dev.sh screenshot [--demo | --api-url URL --flow-run-id ID]  PNG of a run's Artifacts tab
#                   in the Prefect UI (installs chromium with apt-get when it is missing)
# PyTorch is the CPU build unless asked: GPU users run, once,
#   TORCH_INDEX_URL=https://download.pytorch.org/whl/cu126 ./dev.sh setup
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
TORCH_CPU_INDEX=https://download.pytorch.org/whl/cpu

setup() {
  if [ -x .venv/bin/python ] && [ .venv/.installed -nt constraints.txt ] && [ .venv/.installed -nt pyproject.toml ]; then
    return
  fi
  if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "error: Python 3.11 or newer is needed (the pinned numpy and pandas need it); found $("$PYTHON" --version 2>&1)." >&2
    echo "       Set PYTHON=/path/to/python3.11 and run again." >&2
    exit 2
  fi
  if ! "$PYTHON" -c 'import ensurepip, venv; ensurepip.version()' >/dev/null 2>&1; then
    local ver
    ver=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    echo "error: $PYTHON cannot create a virtual environment (no venv/ensurepip); on Debian/Ubuntu: sudo apt-get install python$ver-venv" >&2
    exit 2
  fi
  echo "Setting up .venv (pinned versions from constraints.txt)..." >&2
  "$PYTHON" -m venv .venv
  # PyTorch first, from the index that decides its build: CPU unless TORCH_INDEX_URL names another
  # (a plain `pip install torch` on Linux brings the CUDA build and gigabytes of GPU libraries).
  local torch_version index
  torch_version=$(grep '^torch==' constraints.txt | cut -d= -f3)
  index=${TORCH_INDEX_URL:-$TORCH_CPU_INDEX}
  # --no-deps: only torch comes from that index; its dependencies come with the rest below
  if ! .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --retries 1 --timeout 20 \
      "torch==$torch_version" --index-url "$index"; then
    echo "warning: could not install torch==$torch_version from $index; using the default index instead" >&2
    .venv/bin/python -m pip install -q --disable-pip-version-check "torch==$torch_version"
  fi
  .venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[test]'
  touch .venv/.installed
}

cmd=${1:-help}
shift || true
case "$cmd" in
  setup) setup ;;
  run)
    setup
    exec .venv/bin/lstm-pipeline sentiment train --data data/amazon_polarity_head6459.ft.txt.bz2 --output outputs/sentiment "$@" ;;
  test)
    setup
    exec .venv/bin/python -m pytest "$@" ;;
  lint)
    setup
    exec .venv/bin/ruff check . ;;
  screenshot)
    setup
    if ! command -v chromium >/dev/null 2>&1 && [ -z "${CHROMIUM:-}" ]; then
      echo "Installing chromium (headless browser for the screenshot)..." >&2
      SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
      $SUDO apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
    fi
    exec .venv/bin/python scripts/ui_screenshot.py "$@" ;;
  *) sed -n '2,11p' "$0"; exit 1 ;;
esac
