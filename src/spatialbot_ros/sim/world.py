"""The MuJoCo world: the project's URDF robot, a table, the scene's objects and the camera."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from spatialbot_ros.sim.scene import SceneSpec

__all__ = [
    "ARM_JOINTS",
    "FINGER_JOINT",
    "GRIPPER_CLOSED_POS",
    "SimWorld",
    "build_world",
    "default_urdf_path",
]

ARM_JOINTS = (
    "shoulder_pan_joint",
    "shoulder_lift_joint",
    "elbow_joint",
    "wrist_1_joint",
    "wrist_2_joint",
    "wrist_3_joint",
)
FINGER_JOINT = "gripper_left_finger_joint"
MIMIC_JOINT = "gripper_right_finger_joint"
GRIPPER_CLOSED_POS = 0.0425  # prismatic travel of each finger, URDF limit
CAMERA_NAME = "realsense_color"
TABLE_HALF_THICKNESS_M = 0.02

# Contact parameters that let a parallel gripper hold an object by friction alone (no weld):
# high-friction pads with torsional friction (condim 4), a stiff but damped contact.
PAD_FRICTION = (1.5, 0.02, 0.002)
OBJECT_FRICTION = (1.0, 0.01, 0.001)
ROBOT_CONTYPE = 2
WORLD_CONTYPE = 1
WORLD_CONAFFINITY = ROBOT_CONTYPE | WORLD_CONTYPE
CONTACT_SOLREF = (0.004, 1.0)
CONTACT_SOLIMP = (0.95, 0.99, 0.001, 0.5, 2.0)


def default_urdf_path() -> Path:
    """urdf/spatialbot_ur5.urdf: next to src/ in a checkout, under share/ when installed.

    Installed by pip the data files land in <sys.prefix>/share; by colcon in
    <install>/spatialbot_ros/share, a few levels above this file, and on AMENT_PREFIX_PATH.
    """
    import os
    import sys

    here = Path(__file__).resolve()
    share = Path("share") / "spatialbot_ros" / "urdf" / "spatialbot_ur5.urdf"
    candidates = [here.parents[3] / "urdf" / "spatialbot_ur5.urdf"]
    candidates += [parent / share for parent in here.parents]
    candidates.append(Path(sys.prefix) / share)
    candidates += [Path(p) / share for p in os.environ.get("AMENT_PREFIX_PATH", "").split(":") if p]
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"expected the robot URDF at one of {sorted({str(p) for p in candidates})}"
    )


@dataclass
class SimWorld:
    """A compiled model with its data and the ids the simulation needs."""

    model: Any
    data: Any
    scene: SceneSpec
    arm_qpos: npt.NDArray[np.int64]
    arm_dof: npt.NDArray[np.int64]
    arm_actuators: npt.NDArray[np.int64]
    gripper_actuator: int
    finger_qpos: int
    object_bodies: dict[str, int]
    object_qpos: dict[str, int]
    finger_geoms: tuple[int, ...]
    robot_geoms: frozenset[int]
    camera_id: int
    tcp_body: int
    extras: dict[str, Any] = field(default_factory=dict)

    def arm_q(self) -> npt.NDArray[np.float64]:
        """Current arm joint angles (rad)."""
        q: npt.NDArray[np.float64] = np.array(self.data.qpos[self.arm_qpos], dtype=np.float64)
        return q

    def set_arm_q(self, q: npt.ArrayLike) -> None:
        """Teleport the arm (and its position targets) to `q`: for setting up, not for grasping."""
        import mujoco

        q_arr = np.asarray(q, dtype=np.float64)
        self.data.qpos[self.arm_qpos] = q_arr
        self.data.qvel[self.arm_dof] = 0.0
        self.data.ctrl[self.arm_actuators] = q_arr
        mujoco.mj_forward(self.model, self.data)

    def object_position(self, name: str) -> npt.NDArray[np.float64]:
        """World (= base_link) position of an object's body, m."""
        xyz: npt.NDArray[np.float64] = np.array(
            self.data.xpos[self.object_bodies[name]], dtype=np.float64
        )
        return xyz

    def finger_contacts(self, name: str) -> set[int]:
        """Finger geoms currently touching object `name`."""
        body = self.object_bodies[name]
        touching: set[int] = set()
        for i in range(self.data.ncon):
            c = self.data.contact[i]
            g1, g2 = int(c.geom1), int(c.geom2)
            b1, b2 = int(self.model.geom_bodyid[g1]), int(self.model.geom_bodyid[g2])
            if b1 == body and g2 in self.finger_geoms:
                touching.add(g2)
            elif b2 == body and g1 in self.finger_geoms:
                touching.add(g1)
        return touching

    def robot_touches(self, name: str) -> bool:
        """True when any robot geom touches object `name` (physics ground truth of contact)."""
        body = self.object_bodies[name]
        for i in range(self.data.ncon):
            c = self.data.contact[i]
            g1, g2 = int(c.geom1), int(c.geom2)
            b1, b2 = int(self.model.geom_bodyid[g1]), int(self.model.geom_bodyid[g2])
            if (b1 == body and g2 in self.robot_geoms) or (b2 == body and g1 in self.robot_geoms):
                return True
        return False


def _load_robot_spec(urdf_path: Path) -> Any:
    import mujoco

    text = urdf_path.read_text(encoding="utf-8")
    # MuJoCo's URDF import reads a <mujoco> block: keep fixed-joint frames as bodies (tool0,
    # tool_tcp, camera frames) and drop the duplicate visual geoms (collision = visual here).
    ext = (
        '<mujoco><compiler discardvisual="true" fusestatic="false" balanceinertia="true" '
        'strippath="false" angle="radian"/></mujoco>'
    )
    text, n = re.subn(r"(<robot\b[^>]*>)", r"\1" + ext, text, count=1)
    if n != 1:
        raise ValueError(f"expected a <robot> element in {urdf_path}, got none")
    return mujoco.MjSpec.from_string(text)


def _optical_to_mujoco_quat(rotation: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """MuJoCo cameras look along -z with +y up; optical frames look along +z with +y down."""
    from scipy.spatial.transform import Rotation

    r_mj = rotation @ np.diag([1.0, -1.0, -1.0])
    x, y, z, w = Rotation.from_matrix(r_mj).as_quat()
    return np.array([w, x, y, z])


def build_world(
    scene: SceneSpec,
    urdf_path: str | Path | None = None,
    arm_kp: float = 3000.0,
    gripper_force_n: float = 40.0,
) -> SimWorld:
    """Compile the scene: URDF robot at the origin on the table, objects free, camera fixed."""
    import mujoco

    spec = _load_robot_spec(Path(urdf_path) if urdf_path else default_urdf_path())
    spec.option.timestep = 0.002
    spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    spec.option.cone = mujoco.mjtCone.mjCONE_ELLIPTIC
    spec.option.impratio = 10.0  # stiffer friction cone: objects do not creep out of the grip
    spec.visual.global_.offwidth = max(scene.camera.width, 640)
    spec.visual.global_.offheight = max(scene.camera.height, 480)
    spec.visual.quality.shadowsize = 0  # no shadow maps: 3x faster offscreen rendering
    spec.visual.map.znear = 0.005
    spec.visual.map.zfar = 20.0
    spec.stat.extent = 2.0
    spec.stat.center = [0.4, 0.0, 0.2]

    # The arm holds itself up (a real UR compensates gravity in its controller too).
    for body in spec.bodies:
        if body.name not in ("world",):
            body.gravcomp = 1.0
    for jname in ARM_JOINTS:
        joint = spec.joint(jname)
        joint.damping = [40.0, 0.0, 0.0]
        joint.armature = 0.2
    for jname in (FINGER_JOINT, MIMIC_JOINT):
        joint = spec.joint(jname)
        joint.damping = [5.0, 0.0, 0.0]
        joint.armature = 0.01

    finger_names = ("gripper_left_finger", "gripper_right_finger")
    for body in spec.bodies:
        for geom in body.geoms:
            # Robot geoms collide with the world but not with each other: the primitive links
            # overlap at the joints, as meshes of a real arm would not.
            geom.contype, geom.conaffinity = ROBOT_CONTYPE, WORLD_CONTYPE
            if body.name in finger_names:
                geom.friction = list(PAD_FRICTION)
                geom.condim = 4
                geom.solref = list(CONTACT_SOLREF)
                geom.solimp = list(CONTACT_SOLIMP)
                geom.priority = 1  # the pads' friction wins over the object's

    world = spec.worldbody
    # Matte lighting (no specular): highlights would wash colours out towards white.
    no_spec = [0.0, 0.0, 0.0]
    spec.visual.headlight.specular = no_spec
    spec.visual.headlight.diffuse = [0.35, 0.35, 0.35]
    spec.visual.headlight.ambient = [0.25, 0.25, 0.25]
    world.add_light(
        pos=[0.5, 0.0, 2.0], dir=[0.0, 0.0, -1.0], diffuse=[0.55, 0.55, 0.55], specular=no_spec
    )
    world.add_light(
        pos=[1.5, 1.0, 1.5], dir=[-1.0, -0.6, -1.0], diffuse=[0.25, 0.25, 0.25], specular=no_spec
    )
    world.add_geom(
        name="floor",
        type=mujoco.mjtGeom.mjGEOM_PLANE,
        size=[3.0, 3.0, 0.1],
        pos=[0.0, 0.0, -0.75],
        rgba=[0.35, 0.35, 0.38, 1.0],
        contype=WORLD_CONTYPE,
        conaffinity=WORLD_CONAFFINITY,
    )
    world.add_geom(
        name="table",
        type=mujoco.mjtGeom.mjGEOM_BOX,
        size=[0.55, 0.6, TABLE_HALF_THICKNESS_M],
        pos=[0.45, 0.0, -TABLE_HALF_THICKNESS_M],
        rgba=[0.78, 0.72, 0.62, 1.0],
        friction=[0.8, 0.005, 0.0001],
        contype=WORLD_CONTYPE,
        conaffinity=WORLD_CONAFFINITY,
    )
    for obj in scene.objects:
        body = world.add_body(name=obj.name, pos=[obj.x_m, obj.y_m, obj.height_m / 2.0 + 1e-4])
        body.add_freejoint(name=f"{obj.name}_free")
        common: dict[str, Any] = {
            "name": f"{obj.name}_geom",
            "rgba": list(obj.rgba),
            "mass": obj.mass_kg,
            "friction": list(OBJECT_FRICTION),
            "condim": 4,
            "solref": list(CONTACT_SOLREF),
            "solimp": list(CONTACT_SOLIMP),
            "contype": WORLD_CONTYPE,
            "conaffinity": WORLD_CONAFFINITY,
        }
        if obj.kind == "cup":
            body.add_geom(
                type=mujoco.mjtGeom.mjGEOM_CYLINDER,
                size=[obj.radius_m, obj.height_m / 2.0, 0.0],
                **common,
            )
        elif obj.kind == "box":
            body.add_geom(
                type=mujoco.mjtGeom.mjGEOM_BOX,
                size=[obj.radius_m, obj.radius_m, obj.height_m / 2.0],
                **common,
            )
        else:
            body.add_geom(
                type=mujoco.mjtGeom.mjGEOM_SPHERE, size=[obj.radius_m, 0.0, 0.0], **common
            )
    T = scene.camera.T_base_camera.matrix
    world.add_camera(
        name=CAMERA_NAME,
        pos=list(T[:3, 3]),
        quat=list(_optical_to_mujoco_quat(T[:3, :3])),
        fovy=scene.camera.fovy_deg,
    )
    for jname in ARM_JOINTS:
        act = spec.add_actuator(
            name=f"{jname}_pos", target=jname, trntype=mujoco.mjtTrn.mjTRN_JOINT
        )
        act.set_to_position(kp=arm_kp, kv=0.0)
        act.forcerange = [-330.0, 330.0]
        act.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
    grip = spec.add_actuator(
        name="gripper_pos", target=FINGER_JOINT, trntype=mujoco.mjtTrn.mjTRN_JOINT
    )
    grip.set_to_position(kp=4000.0, kv=0.0)
    grip.ctrlrange = [0.0, GRIPPER_CLOSED_POS]
    grip.ctrllimited = mujoco.mjtLimited.mjLIMITED_TRUE
    # A force limit makes "closed" mean "squeeze with this force", as a real gripper does.
    grip.forcerange = [-gripper_force_n, gripper_force_n]
    grip.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE

    model = spec.compile()
    data = mujoco.MjData(model)

    def jid(name: str) -> int:
        return int(mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, name))

    def bid(name: str) -> int:
        return int(mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, name))

    arm_j = [jid(n) for n in ARM_JOINTS]
    finger_bodies = {bid(n) for n in finger_names}
    object_bodies = {o.name: bid(o.name) for o in scene.objects}
    robot_bodies = {b for b in range(1, model.nbody) if b not in object_bodies.values()}
    world_obj = SimWorld(
        model=model,
        data=data,
        scene=scene,
        arm_qpos=np.array([model.jnt_qposadr[j] for j in arm_j], dtype=np.int64),
        arm_dof=np.array([model.jnt_dofadr[j] for j in arm_j], dtype=np.int64),
        arm_actuators=np.array(
            [
                mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_ACTUATOR, f"{n}_pos")
                for n in ARM_JOINTS
            ],
            dtype=np.int64,
        ),
        gripper_actuator=int(mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_ACTUATOR, "gripper_pos")),
        finger_qpos=int(model.jnt_qposadr[jid(FINGER_JOINT)]),
        object_bodies=object_bodies,
        object_qpos={o.name: int(model.jnt_qposadr[jid(f"{o.name}_free")]) for o in scene.objects},
        finger_geoms=tuple(g for g in range(model.ngeom) if model.geom_bodyid[g] in finger_bodies),
        robot_geoms=frozenset(
            g for g in range(model.ngeom) if int(model.geom_bodyid[g]) in robot_bodies
        ),
        camera_id=int(mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, CAMERA_NAME)),
        tcp_body=bid("tool_tcp"),
    )
    mujoco.mj_forward(model, data)
    return world_obj
