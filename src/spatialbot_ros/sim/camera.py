"""A virtual RealSense D435 in MuJoCo: RGB, aligned depth in mm, camera_info, optional noise."""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.core.intrinsics import CameraIntrinsics
from spatialbot_ros.sim.scene import OPTICAL_FRAME, CameraSpec

__all__ = ["DepthNoise", "VirtualRealSense", "intrinsics_of", "zbuffer_to_depth_m"]


def intrinsics_of(camera: CameraSpec) -> CameraIntrinsics:
    """Intrinsics that match MuJoCo's rendering: square pixels, fy from fovy, centred."""
    f = camera.fy_px
    return CameraIntrinsics(
        width=camera.width,
        height=camera.height,
        fx=f,
        fy=f,
        cx=(camera.width - 1) / 2.0,
        cy=(camera.height - 1) / 2.0,
        distortion_model="plumb_bob",
        distortion=(0.0,) * 5,
    )


def zbuffer_to_depth_m(
    zbuffer: npt.NDArray[np.float32], znear_m: float, zfar_m: float
) -> npt.NDArray[np.float64]:
    """OpenGL depth-buffer values in [0, 1] to planar z in metres (what RealSense reports).

    The buffer is non-linear: z_ndc = 2 d - 1, z = 2 n f / (f + n - z_ndc (f - n)), which
    simplifies to n / (1 - d (1 - n / f)). Far-plane pixels (d = 1) come out as zfar.
    """
    d = np.asarray(zbuffer, dtype=np.float64)
    return znear_m / (1.0 - d * (1.0 - znear_m / zfar_m))


@dataclass(frozen=True)
class DepthNoise:
    """D435-like depth error: noise growing with z squared, holes at edges and at random."""

    sigma_at_1m_mm: float = 2.0  # RMS error at 1 m; scales with z^2 as for stereo sensors
    edge_hole_prob: float = 0.5  # chance a pixel on a depth edge (> 15 mm jump) reads 0
    random_hole_prob: float = 0.003  # small dropout blobs seeded per pixel
    max_range_mm: int = 10000  # beyond this the D435 gives no data

    def apply(
        self, depth_mm: npt.NDArray[np.float64], rng: np.random.Generator
    ) -> npt.NDArray[np.float64]:
        """Noisy copy of `depth_mm` (float, mm); 0 marks holes."""
        import cv2

        z_m = depth_mm * 1e-3
        noisy = depth_mm + rng.normal(0.0, 1.0, depth_mm.shape) * self.sigma_at_1m_mm * z_m * z_m
        grad = np.maximum(
            np.abs(cv2.Sobel(depth_mm, cv2.CV_64F, 1, 0, ksize=3)),
            np.abs(cv2.Sobel(depth_mm, cv2.CV_64F, 0, 1, ksize=3)),
        )
        holes = (grad > 8 * 15.0) & (rng.random(depth_mm.shape) < self.edge_hole_prob)
        seeds = (rng.random(depth_mm.shape) < self.random_hole_prob).astype(np.uint8)
        holes |= cv2.dilate(seeds, np.ones((3, 3), np.uint8)).astype(bool)
        noisy[holes] = 0.0
        noisy[depth_mm >= self.max_range_mm] = 0.0
        return noisy


class VirtualRealSense:
    """Renders the scene camera of a SimWorld as a RealSense would publish it (rgb8 + 16UC1 mm)."""

    def __init__(self, world: Any, noise: DepthNoise | None = None, seed: int = 0) -> None:
        """Set up offscreen rendering at the camera's resolution (EGL unless MUJOCO_GL is set)."""
        import mujoco

        self.world = world
        self.camera = world.scene.camera
        self.intrinsics = intrinsics_of(self.camera)
        self.noise = noise
        self._rng = np.random.default_rng(seed)
        self._renderer = mujoco.Renderer(world.model, self.camera.height, self.camera.width)
        self._depth_renderer = mujoco.Renderer(world.model, self.camera.height, self.camera.width)
        self._depth_renderer.enable_depth_rendering()
        extent = float(world.model.stat.extent)
        self.znear_m = float(world.model.vis.map.znear) * extent
        self.zfar_m = float(world.model.vis.map.zfar) * extent

    def __enter__(self) -> VirtualRealSense:
        """Use as a context manager to free the GL contexts."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Free the renderers."""
        self.close()

    def close(self) -> None:
        """Free the GL contexts."""
        self._renderer.close()
        self._depth_renderer.close()

    def render_rgb(self) -> npt.NDArray[np.uint8]:
        """Colour image, HxWx3 uint8 RGB."""
        self._renderer.update_scene(self.world.data, camera=self.world.camera_id)
        return np.asarray(self._renderer.render(), dtype=np.uint8)

    def render_depth_m(self) -> npt.NDArray[np.float64]:
        """Planar depth in metres (float64); the far plane marks "nothing there"."""
        self._depth_renderer.update_scene(self.world.data, camera=self.world.camera_id)
        # mujoco.Renderer already linearises the z-buffer with the model's znear/zfar (the
        # formula in zbuffer_to_depth_m); a test checks it against a plane at a known distance.
        return np.asarray(self._depth_renderer.render(), dtype=np.float64)

    def render_depth_mm(self) -> npt.NDArray[np.uint16]:
        """Depth in mm as RealSense z16 at 1 mm scale: rounded, 0 where no data, noise if set."""
        depth_mm = self.render_depth_m() * 1000.0
        depth_mm[depth_mm >= self.zfar_m * 1000.0 * 0.999] = 0.0
        if self.noise is not None:
            depth_mm = self.noise.apply(depth_mm, self._rng)
        return np.clip(np.rint(depth_mm), 0, 65535).astype(np.uint16)

    def render_segmentation(self) -> npt.NDArray[np.int32]:
        """Geom id per pixel (-1 for background): ground truth for evaluation only."""
        self._renderer.enable_segmentation_rendering()
        try:
            self._renderer.update_scene(self.world.data, camera=self.world.camera_id)
            seg = np.asarray(self._renderer.render()[:, :, 0], dtype=np.int32)
        finally:
            self._renderer.disable_segmentation_rendering()
        return seg

    def visible_centroids_base_m(self) -> dict[str, npt.NDArray[np.float64]]:
        """Per object, the centroid of its visible surface (base_link, m), from clean depth.

        This is the ground truth of what a depth-based grounding reports as an object's 3D
        point: the mean of the object's visible points.
        """
        import mujoco

        from spatialbot_ros.core.camera_model import deproject_depth

        seg = self.render_segmentation()
        self._depth_renderer.update_scene(self.world.data, camera=self.world.camera_id)
        depth_mm = np.clip(np.rint(self._depth_renderer.render() * 1000.0), 0, 65535)
        depth_mm = depth_mm.astype(np.uint16)
        T = self.camera.T_base_camera
        out: dict[str, npt.NDArray[np.float64]] = {}
        for name in self.world.object_bodies:
            gid = mujoco.mj_name2id(self.world.model, mujoco.mjtObj.mjOBJ_GEOM, f"{name}_geom")
            mask = seg == gid
            if np.count_nonzero(mask) >= 10:
                pts = deproject_depth(self.intrinsics, depth_mm, mask)
                out[name] = T.apply(pts).mean(axis=0)
        return out

    def capture(self, stamp_ns: int = 0) -> RGBDFrame:
        """One RGB-D frame with matching intrinsics, in camera_color_optical_frame."""
        return RGBDFrame(
            rgb=self.render_rgb(),
            depth_mm=self.render_depth_mm(),
            intrinsics=self.intrinsics,
            stamp_ns=stamp_ns,
            frame_id=OPTICAL_FRAME,
        )
