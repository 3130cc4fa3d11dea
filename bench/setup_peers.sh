#!/usr/bin/env bash
# Creates bench/.venv and installs the Python peers (mrrc, pymarc) when missing.
# Idempotent and quiet: a second run does nothing but check. The peers are benchmark
# comparisons only, never dependencies of the library.
set -euo pipefail
cd "$(dirname "$0")"

MRRC_VERSION="${MRRC_VERSION:-0.9.2}"
VENV=.venv
PY="$VENV/bin/python"

if [ ! -x "$PY" ]; then
    if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
        echo "setup_peers: python3 -m venv failed; installing python3-venv" >&2
        rm -rf "$VENV"
        if command -v apt-get >/dev/null; then
            apt-get install -y -qq python3-venv >/dev/null
        fi
        python3 -m venv "$VENV"
    fi
fi

have() {
    # have MODULE VERSION-OR-EMPTY: the module imports (and has that exact version if given).
    "$PY" - "$1" "$2" <<'PYEOF' >/dev/null 2>&1
import sys, importlib.metadata as md
name, want = sys.argv[1], sys.argv[2]
__import__(name)
if want and md.version(name) != want:
    sys.exit(1)
PYEOF
}

need=()
have mrrc "$MRRC_VERSION" || need+=("mrrc==$MRRC_VERSION")
have pymarc "" || need+=("pymarc")
if [ "${#need[@]}" -gt 0 ]; then
    echo "setup_peers: installing ${need[*]} into bench/$VENV" >&2
    "$PY" -m pip install -q --disable-pip-version-check "${need[@]}"
fi
