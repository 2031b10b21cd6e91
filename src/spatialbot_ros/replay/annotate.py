"""Draw a task result onto the colour image: box, label, depth statistics, 3D point, grasp axes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from spatialbot_ros.core.camera_model import project_points
from spatialbot_ros.core.intrinsics import CameraIntrinsics

__all__ = ["annotate_result", "grasp_poses_camera"]

_GREEN = (40, 220, 60)
_RED = (230, 40, 40)
_WHITE = (255, 255, 255)
_AXIS_COLOURS = ((230, 40, 40), (40, 200, 40), (40, 90, 240))  # x red, y green, z blue (RViz)


def _text(img: npt.NDArray[np.uint8], text: str, org: tuple[int, int], scale: float = 0.45) -> None:
    import cv2

    # Hershey fonts are ASCII only.
    text = text.replace("\u00b0", " deg").encode("ascii", "replace").decode("ascii")
    # White on a dark box: readable on any background (an outline stroke widens the glyphs).
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    x, y = org
    cv2.rectangle(img, (x - 2, y - h - 3), (x + w + 2, y + base), (0, 0, 0), cv2.FILLED)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, _WHITE, 1, cv2.LINE_AA)


def grasp_poses_camera(
    grasp: Mapping[str, Any] | None, T_camera_base: npt.NDArray[np.float64] | None
) -> list[tuple[str, npt.NDArray[np.float64]]]:
    """The grasp's TCP poses (4x4, camera frame) from a result's `grasp` dict, by stage.

    Poses are read from keys holding a 4x4 `matrix` or `xyz` + `quat_xyzw`; anything else is
    skipped (a refusal has none).
    """
    if not grasp or grasp.get("refused") or T_camera_base is None:
        return []
    from scipy.spatial.transform import Rotation

    out = []
    for name in ("pre_grasp", "grasp", "lift"):
        pose = grasp.get(name)
        if not isinstance(pose, Mapping):
            continue
        if "matrix" in pose:
            T = np.asarray(pose["matrix"], dtype=np.float64).reshape(4, 4)
        elif "xyz" in pose and ("quat_xyzw" in pose or "quat" in pose):
            T = np.eye(4)
            T[:3, :3] = Rotation.from_quat(pose.get("quat_xyzw", pose.get("quat"))).as_matrix()
            T[:3, 3] = pose["xyz"]
        else:
            continue
        # Draw the TCP (between the pads), where the object is held, not the flange.
        T_tool0_tcp = np.eye(4)
        T_tool0_tcp[2, 3] = float(grasp.get("tcp_offset_m", 0.0) or 0.0)
        out.append((name, T_camera_base @ T @ T_tool0_tcp))
    return out


def annotate_result(
    rgb: npt.NDArray[np.uint8],
    intrinsics: CameraIntrinsics,
    result: Mapping[str, Any],
    T_camera_base: npt.NDArray[np.float64] | None = None,
    axis_length_m: float = 0.05,
) -> npt.NDArray[np.uint8]:
    """A copy of `rgb` (HxWx3 RGB) with the result drawn on it; errors are written as text."""
    import cv2

    img = np.ascontiguousarray(rgb.copy())
    lines = [f"task: {result.get('task', '')}"[:90]]
    target = result.get("target")
    if result.get("status") != "ok":
        lines.append(f"error: {result.get('error', '')}"[:90])
    if target:
        x1, y1, x2, y2 = (round(float(v)) for v in target["bbox_px"])
        cv2.rectangle(img, (x1, y1), (x2, y2), _GREEN, 2)
        _text(img, str(target.get("label", "")), (x1, max(12, y1 - 6)))
        stats = target.get("depth_mm") or {}
        if stats:
            lines.append(
                "depth mm: centre {c:.0f} mean {m:.0f} min {lo:.0f} max {hi:.0f}".format(
                    c=_num(stats.get("center")),
                    m=_num(stats.get("mean")),
                    lo=_num(stats.get("min")),
                    hi=_num(stats.get("max")),
                )
            )
        xyz = target.get("xyz_camera_m")
        if xyz is not None and float(xyz[2]) > 0:
            uv = project_points(intrinsics, np.asarray([xyz], dtype=np.float64))[0]
            cv2.drawMarker(
                img, (round(float(uv[0])), round(float(uv[1]))), _RED, cv2.MARKER_CROSS, 14, 2
            )
            lines.append("xyz cam m: " + " ".join(f"{float(v):+.3f}" for v in xyz))
        base = target.get("xyz_base_m")
        if base is not None:
            lines.append("xyz base m: " + " ".join(f"{float(v):+.3f}" for v in base))
    grasp = result.get("grasp")
    if isinstance(grasp, Mapping) and grasp.get("refused"):
        lines.append(f"grasp refused: {grasp.get('reason', '')}"[:90])
    for _, T in grasp_poses_camera(grasp, T_camera_base):
        _draw_axes(img, intrinsics, T, axis_length_m)
    for i, line in enumerate(lines):
        _text(img, line, (8, 18 + 18 * i))
    return img


def _num(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _draw_axes(
    img: npt.NDArray[np.uint8],
    intrinsics: CameraIntrinsics,
    T_camera_pose: npt.NDArray[np.float64],
    length_m: float,
) -> None:
    import cv2

    origin = T_camera_pose[:3, 3]
    ends = [origin + T_camera_pose[:3, i] * length_m for i in range(3)]
    pts = np.asarray([origin, *ends])
    if np.any(pts[:, 2] <= 1e-3):  # behind the camera: not drawable
        return
    uv = project_points(intrinsics, pts)
    o = (round(float(uv[0, 0])), round(float(uv[0, 1])))
    for i, colour in enumerate(_AXIS_COLOURS):
        e = (round(float(uv[i + 1, 0])), round(float(uv[i + 1, 1])))
        cv2.line(img, o, e, colour, 2, cv2.LINE_AA)
