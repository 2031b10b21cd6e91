"""MuJoCo tabletop simulation: the project's UR5 and gripper, cups, a virtual RealSense.

MuJoCo picks its OpenGL backend when first imported, so the headless default (EGL through
Mesa) is set here, before any submodule imports it; a MUJOCO_GL set by the user wins.
"""

import os

__all__: list[str] = []  # submodules are imported by name: mujoco loads only on use

os.environ.setdefault("MUJOCO_GL", "egl")
if os.environ["MUJOCO_GL"] == "egl":
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
