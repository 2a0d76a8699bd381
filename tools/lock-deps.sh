#!/usr/bin/env bash
# Pins the runtime dependencies of the image: installs the project into a fresh virtualenv
# and writes the exact versions to deploy/constraints.txt (the Dockerfile installs with -c).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install -q --disable-pip-version-check .
{
    echo "# Exact versions of the runtime dependencies the image installs (pip install -c)."
    echo "# Regenerate: tools/lock-deps.sh"
    "$tmp/venv/bin/python" -m pip freeze --exclude-editable | grep -vi '^liudong'
} > deploy/constraints.txt
echo "deploy/constraints.txt: $(grep -vc '^#' deploy/constraints.txt) packages pinned"
