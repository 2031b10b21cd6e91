#!/usr/bin/env bash
# Set up everything the offline path and the tests need, in .venv (idempotent).
#   VENV=<dir>      where to make the virtual environment (default .venv)
#   NUMPY_SPEC=...  pin numpy, e.g. "numpy==1.26.4" to reproduce a ROS Jazzy robot's numpy
#   TORCH_SPEC=...  torch requirement (default torch==2.13.0; a CPU build where one is on disk)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
PY=${PYTHON:-python3}

"$PY" - <<'PYCHECK'
import sys
if sys.version_info < (3, 10):
    sys.exit(f"Python >= 3.10 is needed, this is {sys.version.split()[0]}")
PYCHECK

# System libraries: libusb for pyrealsense2, Mesa EGL/OSMesa for MuJoCo's offscreen renderer.
APT_PKGS="libusb-1.0-0 libegl1 libegl-mesa0 libgl1 libgl1-mesa-dri libosmesa6 libglib2.0-0"
if command -v apt-get >/dev/null 2>&1; then
  missing=""
  for p in $APT_PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  if [ -n "$missing" ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "installing system packages:$missing"
    $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  fi
fi

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP="$VENV/bin/python -m pip"
$PIP install -q --upgrade pip
# torch first and pinned: an unpinned torch pulls a multi-GB CUDA build.
$VENV/bin/python -c "import torch" 2>/dev/null || $PIP install -q "$TORCH_SPEC"
EXTRA_PINS=()
if [ -n "${NUMPY_SPEC:-}" ]; then
  EXTRA_PINS+=("$NUMPY_SPEC")
  # OpenCV 4.11+ wheels are built against numpy 2; older ones keep numpy 1.x working.
  case "$NUMPY_SPEC" in *"==1."*) EXTRA_PINS+=("opencv-python-headless<4.11");; esac
fi
$PIP install -q -e ".[vlm,camera,sim,replay,ik,test]" "${EXTRA_PINS[@]}"
echo "set up: $VENV ($($VENV/bin/python -c 'import numpy, torch; print("numpy", numpy.__version__, "torch", torch.__version__)'))"
