"""Grasping in MuJoCo straight from the parked pose (arm folded out of the camera's view).

The planner used to pick the joint-nearest IK branch from there, which flipped the shoulder:
the straight joint move dragged the upper arm through the table and the cups (the arm got
stuck with a tracking error, the cup was knocked over).  Now the plan keeps the arm's branch
and its swept path is checked, so the pipeline GraspExecutor can start from the parked pose.
"""

from __future__ import annotations

import numpy as np
import pytest

from spatialbot_ros.core.kinematics import URKinematics
from spatialbot_ros.pipeline.grasp_executor import GraspExecutor
from spatialbot_ros.pipeline.motion import make_gripper_backend, make_motion_backend
from spatialbot_ros.sim.motion_backend import SimSession
from spatialbot_ros.sim.recorder import HIDDEN_ARM_Q
from spatialbot_ros.sim.scene import generate_scene
from spatialbot_ros.sim.world import build_world


@pytest.mark.parametrize(("seed", "name"), [(16, "cup_3"), (13, "cup_0")])
def test_pipeline_grasp_from_the_parked_pose_lifts_the_cup_and_leaves_the_rest(
    seed: int, name: str
) -> None:
    scene = generate_scene(seed, n_other=0)
    world = build_world(scene)
    world.set_arm_q(HIDDEN_ARM_Q)
    session = SimSession(world)
    arm = make_motion_backend("sim", {"session": session})
    gripper = make_gripper_backend("sim", {"session": session})
    kinematics = URKinematics("ur5")
    cup = scene.object(name)
    rng = np.random.default_rng(seed)
    th = rng.uniform(0.0, 2.0 * np.pi, 800)
    z = rng.uniform(0.0, cup.height_m, 800)
    points = np.column_stack(
        (cup.x_m + cup.radius_m * np.cos(th), cup.y_m + cup.radius_m * np.sin(th), z)
    )
    others = {o.name: world.object_position(o.name).copy() for o in scene.objects if o is not cup}
    z0 = world.object_position(name)[2]
    result = GraspExecutor(arm, gripper, kinematics=kinematics).grasp_points(points)
    assert result.outcome == "succeeded", result.reason
    assert world.object_position(name)[2] - z0 >= 0.05
    assert result.plan is not None
    parked = kinematics.configuration(np.asarray(HIDDEN_ARM_Q))
    assert kinematics.configuration(result.plan.q_pre).shoulder == parked.shoulder
    for other, xyz in others.items():
        assert np.linalg.norm(world.object_position(other)[:2] - xyz[:2]) < 0.01, other


@pytest.mark.slow
def test_closed_loop_from_the_parked_pose_with_depth_contact_and_lift_check() -> None:
    """Seeded scenes with distractors, everything from rendered depth: points, contact, lift."""
    import mujoco

    from spatialbot_ros.core.camera_model import deproject_depth
    from spatialbot_ros.core.grasp import HandEye
    from spatialbot_ros.pipeline.grasp_executor import depth_contact_source, depth_object_observer
    from spatialbot_ros.sim.camera import VirtualRealSense

    kinematics = URKinematics("ur5")
    for seed in range(8):
        scene = generate_scene(seed)
        world = build_world(scene)
        world.set_arm_q(HIDDEN_ARM_Q)
        session = SimSession(world)
        arm = make_motion_backend("sim", {"session": session})
        gripper = make_gripper_backend("sim", {"session": session})
        hand_eye = HandEye("eye_to_hand", scene.camera.T_base_camera, camera_to_optical=None)
        cup = scene.cups[seed % len(scene.cups)]
        with VirtualRealSense(world) as camera:
            frame = camera.capture()
            gid = mujoco.mj_name2id(world.model, mujoco.mjtObj.mjOBJ_GEOM, f"{cup.name}_geom")
            mask = (camera.render_segmentation() == gid) & (frame.depth_mm > 0)
            points = scene.camera.T_base_camera.apply(
                deproject_depth(frame.intrinsics, frame.depth_mm, mask)
            )
            vs, us = np.nonzero(mask)
            box = (float(us.min()), float(vs.min()), float(us.max()), float(vs.max()))

            def latest() -> tuple[np.ndarray, object]:
                return camera.render_depth_mm(), camera.intrinsics

            centre = np.median(points[:, :2], axis=0)
            footprint_m = float(np.hypot(*(points[:, :2] - centre).T).max()) + 0.01
            observe = depth_object_observer(
                latest,
                arm.current_joint_state,
                kinematics,
                hand_eye,
                (float(centre[0]), float(centre[1])),
                radius_m=footprint_m,
            )
            contact = depth_contact_source(
                latest,
                arm.current_joint_state,
                kinematics,
                hand_eye,
                opening_m=0.085,
                object_region=box,
            )
            others = {
                o.name: world.object_position(o.name).copy() for o in scene.objects if o is not cup
            }
            z0 = world.object_position(cup.name)[2]
            result = GraspExecutor(arm, gripper, kinematics=kinematics).grasp_points(
                points, contact=contact, observe_object=observe
            )
        lifted = world.object_position(cup.name)[2] - z0
        assert result.outcome == "succeeded", (seed, result.reason)
        assert lifted >= 0.05, seed
        assert result.rise_m is not None
        assert 0.05 <= result.rise_m <= lifted + 0.02, (seed, result.rise_m, lifted)
        for other, xyz in others.items():
            assert np.linalg.norm(world.object_position(other)[:2] - xyz[:2]) < 0.01, (seed, other)
