#!/usr/bin/env bash
# Make benchmarks/peers/.venv-ranx: ranx in its own virtual environment, so its
# pins (numba, ...) never touch skrec's. bench_metrics_ranx.py runs ranx there
# through a subprocess.
#
#   bash benchmarks/peers/make_env_ranx.sh            # ranx, the version PyPI resolves
#   RANX_VERSION=0.3.21 bash benchmarks/peers/make_env_ranx.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv-ranx"
python="${PYTHON:-python3}"
spec="ranx${RANX_VERSION:+==$RANX_VERSION}"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q "$spec"
"$venv/bin/python" -c "import ranx, importlib.metadata as m; print('ranx', m.version('ranx'), 'in', '$venv')"
