#!/usr/bin/env bash
# Install everything approvalflow needs on a fresh Debian machine with Python 3.11 (run as root):
# system packages (Graphviz for layout, Noto CJK fonts for measuring Chinese labels, Chromium for the browser test of
# the SVG output), a virtualenv in .venv,
# and the package itself with its development tools.
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends graphviz fonts-noto-cjk chromium >/dev/null
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    apt-get install -y -qq python3-venv >/dev/null
    "$PYTHON" -m venv .venv
  fi
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev,postgres,dask,serve]'
echo "approvalflow installed in .venv"
