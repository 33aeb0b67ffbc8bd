#!/bin/sh
# test_python.sh — the Python package as a user gets it: a venv (--system-site-packages,
# for numpy, torch and pytest from Debian), `pip install` of python/ offline, then pytest
# on python/tests with OCTCL_LIBRARY naming the built library.
#
#   sh tests/test_python.sh PYTHON3 LIBOCTCL.so OCTCL-CLI SCRATCH
#
# Exit 77 (skipped) only when the venv cannot be made; any other failure fails.
set -u
PY=$1 LIB=$2 CLI=$3 SCRATCH=$4
SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
VENV=$SCRATCH/venv
mkdir -p "$SCRATCH" || exit 1
if [ ! -x "$VENV/bin/python" ]; then
    if ! "$PY" -m venv --system-site-packages "$VENV" >"$SCRATCH/venv.log" 2>&1; then
        echo "SKIP: cannot make a venv with $PY -m venv (python3-venv missing?):" >&2
        cat "$SCRATCH/venv.log" >&2
        rm -rf "$VENV"
        exit 77
    fi
fi
# Build from a copy, so that setuptools leaves no build/ or egg-info in the source tree.
rm -rf "$SCRATCH/src" && mkdir -p "$SCRATCH/src" || exit 1
cp -R "$SRC_DIR/python/pyproject.toml" "$SRC_DIR/python/octcl" "$SCRATCH/src/" || exit 1
"$VENV/bin/python" -m pip uninstall --quiet --yes octcl >/dev/null 2>&1
"$VENV/bin/python" -m pip install --quiet --no-build-isolation --no-index "$SCRATCH/src" || { echo "FAIL: pip install of python/ into $VENV" >&2; exit 1; }
cd "$SCRATCH" || exit 1
OCTCL_LIBRARY=$LIB OCTCL_CLI=$CLI OCTCL_EXPECT_INSTALLED=$VENV OCTCL_SOURCE_DIR=$SRC_DIR \
    PYTHONDONTWRITEBYTECODE=1 exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$SRC_DIR/python/tests"
