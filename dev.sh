#!/usr/bin/env bash
# Set-up and the two everyday commands. Needs only Python 3.10+ on the PATH.
#   ./dev.sh run    create .venv if needed, then run the sentiment flow on the bundled sample
#   ./dev.sh test   create .venv if needed, then run the test suite
#   ./dev.sh setup  only create/refresh .venv (pinned versions from constraints.txt)
#   ./dev.sh screenshot [--demo | --api-url URL --flow-run-id ID]  PNG of a run's Artifacts tab
#                   in the Prefect UI (installs chromium with apt-get when it is missing)
# GPU users: TORCH_INDEX_URL=https://download.pytorch.org/whl/cu126 ./dev.sh setup
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}

setup() {
  if [ -x .venv/bin/python ] && [ .venv/.installed -nt constraints.txt ] && [ .venv/.installed -nt pyproject.toml ]; then
    return
  fi
  echo "Setting up .venv (pinned versions from constraints.txt)..." >&2
  "$PYTHON" -m venv .venv
  if [ -n "${TORCH_INDEX_URL:-}" ]; then
    .venv/bin/python -m pip install -q "torch==$(grep '^torch==' constraints.txt | cut -d= -f3)" --index-url "$TORCH_INDEX_URL"
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
  screenshot)
    setup
    if ! command -v chromium >/dev/null 2>&1 && [ -z "${CHROMIUM:-}" ]; then
      echo "Installing chromium (headless browser for the screenshot)..." >&2
      SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
      $SUDO apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
    fi
    exec .venv/bin/python scripts/ui_screenshot.py "$@" ;;
  *) sed -n '2,9p' "$0"; exit 1 ;;
esac
