"""Seeded tabletop scene descriptions (objects, camera pose), independent of the simulator."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import numpy.typing as npt

from spatialbot_ros.core.transforms import RigidTransform

__all__ = [
    "COLORS_RGBA",
    "CameraSpec",
    "SceneObject",
    "SceneSpec",
    "generate_scene",
    "look_at_camera",
    "three_teacups_scene",
]

ObjectKind = Literal["cup", "box", "ball"]

# Colours far apart in hue so that colour tasks are well posed; names match the task parser.
COLORS_RGBA: dict[str, tuple[float, float, float, float]] = {
    "red": (0.85, 0.12, 0.10, 1.0),
    "green": (0.15, 0.70, 0.20, 1.0),
    "blue": (0.12, 0.30, 0.85, 1.0),
    "yellow": (0.92, 0.85, 0.12, 1.0),
    "orange": (0.95, 0.50, 0.08, 1.0),
    "purple": (0.55, 0.20, 0.70, 1.0),
    "pink": (0.95, 0.45, 0.70, 1.0),
    "cyan": (0.10, 0.80, 0.85, 1.0),
}

OPTICAL_FRAME = "camera_color_optical_frame"
BASE_FRAME = "base_link"


@dataclass(frozen=True)
class SceneObject:
    """One object on the table; position of its base centre in base_link (table top z = 0).

    cup: a cylinder (radius_m, height_m); box: half extents (radius_m, radius_m, height_m / 2);
    ball: a sphere of radius_m (height_m = 2 radius_m).
    """

    name: str
    kind: ObjectKind
    color: str
    x_m: float
    y_m: float
    radius_m: float
    height_m: float
    mass_kg: float = 0.15

    @property
    def rgba(self) -> tuple[float, float, float, float]:
        """Colour as RGBA in [0, 1]."""
        return COLORS_RGBA[self.color]

    @property
    def center_base_m(self) -> npt.NDArray[np.float64]:
        """Centre of the object's volume in base_link, metres."""
        return np.array([self.x_m, self.y_m, self.height_m / 2.0])


@dataclass(frozen=True)
class CameraSpec:
    """The virtual RealSense: pose (T_base_camera of the colour optical frame) and image size."""

    T_base_camera: RigidTransform
    width: int = 640
    height: int = 480
    fovy_deg: float = 42.5  # D435 colour at 640x480: fy ~ 615 px

    @property
    def fy_px(self) -> float:
        """Focal length in pixels, from the vertical field of view (square pixels)."""
        return (self.height / 2.0) / math.tan(math.radians(self.fovy_deg) / 2.0)


def look_at_camera(
    eye_base_m: npt.ArrayLike,
    target_base_m: npt.ArrayLike,
    width: int = 640,
    height: int = 480,
    fovy_deg: float = 42.5,
) -> CameraSpec:
    """A camera at `eye` looking at `target` (base_link, m), image x to the right, y down."""
    eye = np.asarray(eye_base_m, dtype=np.float64)
    z = np.asarray(target_base_m, dtype=np.float64) - eye
    z /= np.linalg.norm(z)
    up = np.array([0.0, 0.0, 1.0])
    x = np.cross(z, up)  # optical x: right in the image
    if np.linalg.norm(x) < 1e-6:
        x = np.array([0.0, -1.0, 0.0])
    x /= np.linalg.norm(x)
    y = np.cross(z, x)  # optical y: down in the image
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = x, y, z, eye
    return CameraSpec(RigidTransform(m, BASE_FRAME, OPTICAL_FRAME), width, height, fovy_deg)


# The camera faces the robot across the table, high enough that the arm's base stays out of view.
DEFAULT_CAMERA_EYE = (0.98, 0.0, 0.72)
DEFAULT_CAMERA_TARGET = (0.58, 0.0, 0.0)


@dataclass(frozen=True)
class SceneSpec:
    """A whole scene: seed, objects and camera."""

    seed: int
    objects: tuple[SceneObject, ...]
    camera: CameraSpec = field(
        default_factory=lambda: look_at_camera(DEFAULT_CAMERA_EYE, DEFAULT_CAMERA_TARGET)
    )

    @property
    def cups(self) -> tuple[SceneObject, ...]:
        """The cups, in the order they were generated."""
        return tuple(o for o in self.objects if o.kind == "cup")

    def object(self, name: str) -> SceneObject:
        """The object called `name`."""
        for obj in self.objects:
            if obj.name == name:
                return obj
        raise KeyError(f"expected an object name in {[o.name for o in self.objects]}, got {name!r}")

    def with_camera(self, camera: CameraSpec) -> SceneSpec:
        """The same objects seen from another camera."""
        return replace(self, camera=camera)


def _place(
    rng: np.random.Generator,
    radii: list[float],
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    gap_m: float,
) -> list[tuple[float, float]] | None:
    placed: list[tuple[float, float, float]] = []
    for r in radii:
        for _ in range(200):
            x, y = rng.uniform(*x_range), rng.uniform(*y_range)
            if all(math.hypot(x - px, y - py) >= r + pr + gap_m for px, py, pr in placed):
                placed.append((x, y, r))
                break
        else:
            return None
    return [(x, y) for x, y, _ in placed]


def generate_scene(
    seed: int,
    n_cups: int | None = None,
    n_other: int | None = None,
    camera: CameraSpec | None = None,
    gap_m: float = 0.06,
) -> SceneSpec:
    """A random tabletop from `seed`: 2-6 cups (graspable sizes) and 0-2 boxes or balls.

    Objects stand in front of the robot (x 0.38-0.68 m, y -0.28-0.28 m) at least `gap_m`
    apart so that the gripper fingers fit between neighbours.
    """
    rng = np.random.default_rng(seed)
    n_cups = int(rng.integers(2, 7)) if n_cups is None else n_cups
    n_other = int(rng.integers(0, 3)) if n_other is None else n_other
    if not 1 <= n_cups <= 6:
        raise ValueError(f"expected 1-6 cups, got {n_cups}")
    colors = list(rng.permutation(list(COLORS_RGBA)))
    cup_radii = [float(rng.uniform(0.026, 0.036)) for _ in range(n_cups)]
    other_kinds: list[ObjectKind] = [
        ("box", "ball")[int(rng.integers(0, 2))] for _ in range(n_other)
    ]
    other_radii = [float(rng.uniform(0.02, 0.03)) for _ in range(n_other)]
    for _ in range(50):
        xy = _place(rng, cup_radii + other_radii, (0.38, 0.68), (-0.28, 0.28), gap_m)
        if xy is not None:
            break
    else:
        raise RuntimeError(f"could not place {n_cups + n_other} objects for seed {seed}")
    objects: list[SceneObject] = []
    for i, r in enumerate(cup_radii):
        objects.append(
            SceneObject(
                name=f"cup_{i}",
                kind="cup",
                color=str(colors[i % len(colors)]),
                x_m=xy[i][0],
                y_m=xy[i][1],
                radius_m=r,
                height_m=float(rng.uniform(0.07, 0.11)),
                mass_kg=float(rng.uniform(0.08, 0.2)),
            )
        )
    for j, (kind, r) in enumerate(zip(other_kinds, other_radii, strict=True)):
        k = n_cups + j
        objects.append(
            SceneObject(
                name=f"{kind}_{j}",
                kind=kind,
                color=str(colors[k % len(colors)]),
                x_m=xy[k][0],
                y_m=xy[k][1],
                radius_m=r,
                height_m=2 * r if kind == "ball" else float(rng.uniform(0.03, 0.06)),
                mass_kg=0.1,
            )
        )
    return SceneSpec(seed=seed, objects=tuple(objects), camera=camera or SceneSpec(0, ()).camera)


def three_teacups_scene(seed: int = 0) -> SceneSpec:
    """The demo: three teacups in a row across the table, slightly jittered by `seed`."""
    rng = np.random.default_rng(seed)
    colors = ("red", "green", "blue")
    objects = []
    for i, y in enumerate((-0.15, 0.0, 0.15)):
        objects.append(
            SceneObject(
                name=f"cup_{i}",
                kind="cup",
                color=colors[i],
                x_m=0.52 + float(rng.uniform(-0.03, 0.03)),
                y_m=y + float(rng.uniform(-0.02, 0.02)),
                radius_m=float(rng.uniform(0.028, 0.034)),
                height_m=float(rng.uniform(0.08, 0.095)),
                mass_kg=0.12,
            )
        )
    return SceneSpec(seed=seed, objects=tuple(objects))
