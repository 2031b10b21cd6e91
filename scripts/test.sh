#!/usr/bin/env bash
# Lint, type-check and run the whole test suite in the set-up venv.
#   VENV=<dir> (default .venv); extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
export MUJOCO_GL=${MUJOCO_GL:-egl}
export PYOPENGL_PLATFORM=${PYOPENGL_PLATFORM:-$MUJOCO_GL}
"$VENV/bin/ruff" check src test bench launch
"$VENV/bin/ruff" format --check src test bench launch
"$VENV/bin/mypy"
"$VENV/bin/python" -m pytest "$@"
