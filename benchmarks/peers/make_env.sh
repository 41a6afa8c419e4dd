#!/usr/bin/env bash
# Make the virtual environment of one peer library: benchmarks/peers/.venv-<peer>.
#
#   benchmarks/peers/make_env.sh lenskit          # creates benchmarks/peers/.venv-lenskit
#   PYTHON=python3.12 benchmarks/peers/make_env.sh lenskit
#
# Each peer gets its own environment so that its pins never touch skrec's; the
# benchmarks talk to it through its runner (run_<peer>.py, see README.md). The
# packages are listed in requirements-<peer>.txt (exact pins, so a rerun measures
# the same code). Rerunning the script reinstalls into the existing environment.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 PEER   (one of: $(cd "$(dirname "$0")" && ls requirements-*.txt | sed 's/requirements-\(.*\)\.txt/\1/' | tr '\n' ' '))" >&2
    exit 2
fi
peer="$1"
here="$(cd "$(dirname "$0")" && pwd)"
requirements="$here/requirements-$peer.txt"
if [ ! -f "$requirements" ]; then
    echo "no $requirements: unknown peer '$peer'" >&2
    exit 2
fi
venv="$here/.venv-$peer"
python="${PYTHON:-python3}"

"$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q -r "$requirements"
"$venv/bin/python" "$here/run_$peer.py" --check
echo "ready: $venv"
