"""The pipeline's GraspExecutor (the one the ROS grasp node runs) on the "sim" backends.

Same objects as on the robot: plan from grounded depth points, safety checks, motion and
gripper through pipeline.motion, contact from live rendered depth via core.contact, lift
verified on live rendered depth (the arm's pixels masked by FK); the physics decides whether the
cup really came up.
"""

from __future__ import annotations

import numpy as np
import pytest

from spatialbot_ros.core.camera_model import deproject_depth
from spatialbot_ros.core.grasp import HandEye
from spatialbot_ros.core.kinematics import URKinematics
from spatialbot_ros.pipeline.grasp_executor import (
    GraspExecutor,
    depth_contact_source,
    depth_object_observer,
)
from spatialbot_ros.pipeline.grasp_planning import HOME_Q
from spatialbot_ros.pipeline.motion import make_gripper_backend, make_motion_backend
from spatialbot_ros.sim.camera import VirtualRealSense
from spatialbot_ros.sim.motion_backend import SimSession
from spatialbot_ros.sim.scene import three_teacups_scene
from spatialbot_ros.sim.world import build_world


@pytest.mark.slow
def test_pipeline_grasp_executor_lifts_the_middle_cup_in_simulation() -> None:
    scene = three_teacups_scene(0)
    world = build_world(scene)
    world.set_arm_q(HOME_Q)
    session = SimSession(world)
    arm = make_motion_backend("sim", {"session": session})
    gripper = make_gripper_backend("sim", {"session": session})
    kinematics = URKinematics("ur5")
    hand_eye = HandEye("eye_to_hand", scene.camera.T_base_camera, camera_to_optical=None)
    with VirtualRealSense(world) as camera:
        frame = camera.capture()
        seg = camera.render_segmentation()
        import mujoco

        gid = mujoco.mj_name2id(world.model, mujoco.mjtObj.mjOBJ_GEOM, "cup_1_geom")
        mask = (seg == gid) & (frame.depth_mm > 0)
        points = scene.camera.T_base_camera.apply(
            deproject_depth(frame.intrinsics, frame.depth_mm, mask)
        )
        vs, us = np.nonzero(mask)
        box = (float(us.min()), float(vs.min()), float(us.max()), float(vs.max()))

        def latest() -> tuple[np.ndarray, object]:
            return camera.render_depth_mm(), camera.intrinsics

        executor = GraspExecutor(arm, gripper, kinematics=kinematics)
        contact = depth_contact_source(
            latest,
            arm.current_joint_state,
            kinematics,
            hand_eye,
            opening_m=0.085,
            object_region=box,
        )
        centre_xy = np.median(points[:, :2], axis=0)
        footprint_m = float(np.hypot(*(points[:, :2] - centre_xy).T).max()) + 0.01
        observe = depth_object_observer(
            latest,
            arm.current_joint_state,
            kinematics,
            hand_eye,
            (float(centre_xy[0]), float(centre_xy[1])),
            radius_m=footprint_m,
        )
        z0 = world.object_position("cup_1")[2]
        result = executor.grasp_points(points, contact=contact, observe_object=observe)
    lifted = world.object_position("cup_1")[2] - z0
    assert result.outcome == "succeeded", result.reason
    assert lifted >= 0.05
    # the depth check saw the cup come up (the arm over it used to hold the estimate at ~5 mm)
    assert result.rise_m is not None
    assert 0.05 <= result.rise_m <= lifted + 0.02
    assert len(world.finger_contacts("cup_1")) == 2
