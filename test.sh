#!/usr/bin/env bash
# Installs what the test suite needs (a virtualenv with the project, the mosquitto
# binary the broker tests start, the report font and PDF tools), checks lint and types,
# then runs every test.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"

# System packages: mosquitto (the broker tests start their own instances), a CJK
# TrueType font for PDF reports, poppler-utils (the report tests read the PDFs back),
# chromium (the console's browser tests drive it through Playwright).
MISSING=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || MISSING+=(mosquitto)
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || MISSING+=(fonts-wqy-microhei)
command -v pdftoppm >/dev/null 2>&1 || MISSING+=(poppler-utils)
[ -n "${ENVMON_TEST_CHROMIUM:-}" ] || [ -x /usr/bin/chromium ] || MISSING+=(chromium)
if [ ${#MISSING[@]} -gt 0 ]; then
    echo "installing ${MISSING[*]}"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${MISSING[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# grafana-client's HTTP stack (niquests) brings urllib3-future, whose wheel replaces
# urllib3 at interpreter start-up, under requests (which schemathesis drives). Built from
# source with URLLIB3_NO_OVERRIDE it installs beside urllib3 instead.
export URLLIB3_NO_OVERRIDE=1
PIP=(.venv/bin/python -m pip install -q --disable-pip-version-check)
"${PIP[@]}" --no-binary urllib3-future -e '.[dev]'
if compgen -G ".venv/lib/python3*/site-packages/urllib3_future.pth" >/dev/null; then
    echo "separating urllib3-future from urllib3 in .venv"
    rm -f .venv/lib/python3*/site-packages/urllib3_future.pth
    "${PIP[@]}" --force-reinstall --no-deps --no-binary urllib3-future urllib3-future
    "${PIP[@]}" --force-reinstall --no-deps urllib3
fi

# TimescaleDB for the tests' second storage flavour: built from its source into the
# embedded PostgreSQL, once (cached in .cache/). Without a source (and without
# ENVMON_TEST_TIMESCALEDB_URL naming a server) the TimescaleDB tests are skipped.
if [ -n "${ENVMON_TEST_TIMESCALEDB_SOURCE:-}" ]; then
    tools/build-timescaledb.sh "$ENVMON_TEST_TIMESCALEDB_SOURCE" .venv
elif [ -z "${ENVMON_TEST_TIMESCALEDB_URL:-}" ]; then
    echo "TimescaleDB tests will be skipped: set ENVMON_TEST_TIMESCALEDB_SOURCE to its source"
fi

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports --no-cache
.venv/bin/python -m pytest "$@"
