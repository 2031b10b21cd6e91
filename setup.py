"""ament_python package that also installs with plain pip (extras for the heavy parts)."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = "spatialbot_ros"

setup(
    name=PACKAGE,
    version="0.1.0",
    description="SpatialBot depth-aware grounding and UR5 grasping for ROS 2, with an offline path",
    license="Apache-2.0",
    maintainer="spatialbot_ros developers",
    maintainer_email="spatialbot-ros@example.com",
    python_requires=">=3.10",
    package_dir={"": "src"},
    packages=find_packages("src"),
    package_data={PACKAGE: ["py.typed", "sim/assets/*"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml")),
        (f"share/{PACKAGE}/urdf", glob("urdf/*")),
    ],
    # numpy < 2: the distro's cv_bridge breaks under numpy 2; Humble ships 1.21, Jazzy 1.26.
    install_requires=[
        "numpy>=1.21",
        "scipy>=1.8",
        "opencv-python-headless>=4.5",
        "PyYAML>=5.4",
    ],
    extras_require={
        "vlm": ["torch>=2.1,<3", "transformers>=4.40", "Pillow>=9"],
        "camera": ["pyrealsense2>=2.54"],
        "sim": ["mujoco>=3.1", "matplotlib>=3.5"],
        "replay": ["rosbags>=0.10", "rosbags-image>=0.9", "tqdm>=4.60", "matplotlib>=3.5"],
        "ik": ["ur-analytic-ik>=0.1"],
        "voice": ["torch>=2.1,<3", "transformers>=4.40", "sounddevice>=0.4"],
        "test": [
            "pytest>=7",
            "pytest-cov",
            "hypothesis>=6",
            "ruff>=0.5",
            "mypy>=1.8",
            "types-PyYAML",
            "catkin_pkg>=0.5",
            "yourdfpy>=0.0.56",
            "mcap>=1.1",
            "mcap-ros2-support>=0.5",
            "xacro>=2",
            "urdf-parser-py>=0.0.4",
        ],
    },
    zip_safe=True,
    entry_points={
        "console_scripts": [
            "spatialbot = spatialbot_ros.cli:main",
            # ROS 2 nodes (ros2 run spatialbot_ros <name>); the launch files start them by name.
            "camera_node = spatialbot_ros.ros.camera_node:main",
            "spatialbot_node = spatialbot_ros.ros.spatialbot_node:main",
            "grasp_node = spatialbot_ros.ros.grasp_node:main",
            "voice_node = spatialbot_ros.ros.voice_node:main",
            "send_task = spatialbot_ros.ros.task_cli:main",
        ],
    },
)
