#!/usr/bin/env bash
# The ROS-free suite on the oldest stack a robot runs: Python 3.10 + numpy 1.21 (ROS 2 Humble).
# torch has no CPU wheel for that stack on disk here, so the tests that run a transformers
# model are left out; everything else (core, pipeline, replay, sim, CLI) runs.
#   PYTHON310=<path to python3.10> (default: first python3.10 found, or pyenv's)
set -euo pipefail
cd "$(dirname "$0")/.."
# A candidate counts only if it runs: pyenv puts a python3.10 shim on PATH that fails
# unless 3.10 is the selected version.
PY=""
for cand in ${PYTHON310:-} "$(command -v python3.10 || true)" \
    $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.10.*/bin/python 2>/dev/null | sort -V -r); do
  if [ -n "$cand" ] && "$cand" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
    PY=$cand
    break
  fi
done
if [ -z "$PY" ]; then
  echo "skipped: no working Python 3.10 on this machine (set PYTHON310=...)"
  exit 0
fi
VENV=${VENV:-.venv-humble}
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP="$VENV/bin/python -m pip"
$PIP install -q --upgrade pip wheel
# numpy and the libraries built against it first, then the rest held to that numpy; one
# resolver run over everything backtracks for many minutes through old lz4/zstandard sdists.
$PIP install -q --prefer-binary "numpy==1.21.6" "scipy<1.12" "opencv-python-headless<4.7" \
  "matplotlib<3.9" PyYAML pytest hypothesis Pillow tqdm
echo "numpy==1.21.6" > "$VENV/numpy-pin.txt"
$PIP install -q --prefer-binary -c "$VENV/numpy-pin.txt" rosbags rosbags-image mcap \
  mcap-ros2-support mujoco ur-analytic-ik xacro catkin_pkg
$PIP install -q --no-deps -e .
export MUJOCO_GL=${MUJOCO_GL:-egl}
"$VENV/bin/python" -c 'import sys, numpy, mujoco; print("python", sys.version.split()[0], "numpy", numpy.__version__, "mujoco", mujoco.__version__)'
"$VENV/bin/python" -m pytest -q -p no:cacheprovider test/core test/pipeline test/replay test/sim \
  test/test_import_isolation.py test/test_cli.py \
  --deselect test/pipeline/test_voice.py::test_transformers_recognizer_runs_a_local_model "$@"
