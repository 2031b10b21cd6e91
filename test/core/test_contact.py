"""Contact by depth: accuracy on generated cases, states, hysteresis, the image-only variant."""

from __future__ import annotations

import numpy as np
import pytest
from contact_cases import GRIPPER, INTRINSICS, ContactCase, expected_states, make_case

from spatialbot_ros.core.contact import (
    ContactMonitor,
    ContactReading,
    ContactThresholds,
    check_contact,
    image_only_contact,
)
from spatialbot_ros.core.errors import SizeMismatchError
from spatialbot_ros.core.transforms import RigidTransform

TH = ContactThresholds()


def _check(
    case: ContactCase, region: tuple[float, float, float, float] | None = None
) -> ContactReading:
    return check_contact(
        case.depth_mm,
        INTRINSICS,
        case.T_camera_tool0,
        case.opening_m,
        case.mask if region is None else region,
        gripper=GRIPPER,
        thresholds=TH,
    )


@pytest.mark.slow
def test_accuracy_on_generated_cases_at_5mm_tolerance() -> None:
    """Gaps 0-50 mm, sigma 2 mm noise, 10 % holes (pixels or blobs); 20 % partly, 10 % fully
    occluded."""
    rng = np.random.default_rng(20240)
    n, correct = 250, 0
    errors = []
    wrong = []
    for i in range(n):
        occlusion = "full" if i % 10 == 0 else ("partial" if i % 5 == 1 else "none")
        holes = "blobs" if i % 2 else "pixels"
        case = make_case(rng, occlusion, holes=holes)  # type: ignore[arg-type]
        reading = _check(case)
        ok = reading.state in expected_states(case, TH, tolerance_mm=5.0)
        correct += ok
        if not ok:
            wrong.append((i, occlusion, round(case.gap_mm, 1), reading.state, reading.gap_mm))
        if reading.gap_mm is not None:
            errors.append(reading.gap_mm - case.gap_mm)
    accuracy = correct / n
    err = np.abs(np.array(errors))
    print(
        f"\ncontact accuracy {accuracy:.3f} on {n} cases; |gap error| median {np.median(err):.2f}"
        f" mm, p95 {np.percentile(err, 95):.2f} mm; wrong: {wrong}"
    )
    assert accuracy >= 0.98, wrong
    assert np.percentile(err, 95) < 5.0


@pytest.mark.parametrize(("gap_mm", "state"), [(1.0, "contact"), (12.0, "near"), (40.0, "far")])
def test_states_follow_the_gap(gap_mm: float, state: str) -> None:
    case = make_case(np.random.default_rng(int(gap_mm)), "none", gap_mm=gap_mm)
    reading = _check(case)
    assert reading.state == state
    assert reading.gap_mm is not None
    assert reading.gap_mm == pytest.approx(case.gap_mm, abs=4.0)
    near = min(reading.fingertips, key=lambda f: f.gap_mm if f.gap_mm is not None else 1e9)
    assert near.name == "left"
    assert near.visible_fraction > 0.5
    assert near.expected_depth_mm is not None
    assert near.measured_depth_mm is not None


def test_fully_hidden_pads_are_occluded() -> None:
    case = make_case(np.random.default_rng(11), "full", gap_mm=2.0)
    reading = _check(case)
    assert reading.state == "occluded"
    assert reading.gap_mm is None


def test_no_depth_or_out_of_view_is_no_data() -> None:
    case = make_case(np.random.default_rng(5), "none", gap_mm=10.0)
    empty = np.zeros_like(case.depth_mm)
    assert check_contact(
        empty, INTRINSICS, case.T_camera_tool0, case.opening_m, case.mask
    ).state == ("no_data")
    behind = RigidTransform.from_xyz_rpy(
        (0, 0, -0.5), (0, 0, 0), "camera_color_optical_frame", "tool0"
    )
    reading = check_contact(case.depth_mm, INTRINSICS, behind, 0.05, case.mask)
    assert reading.state == "no_data"


def test_box_region_works_when_the_table_is_far_from_the_pads() -> None:
    case = make_case(np.random.default_rng(8), "none", gap_mm=1.0)
    by_box = _check(case, region=case.box_px)
    assert by_box.state == "contact"
    assert by_box.gap_mm == pytest.approx(_check(case).gap_mm, abs=1.0)


def test_size_mismatch_is_an_error() -> None:
    case = make_case(np.random.default_rng(2), "none", gap_mm=10.0)
    with pytest.raises(SizeMismatchError):
        check_contact(case.depth_mm[:100], INTRINSICS, case.T_camera_tool0, 0.05, case.mask)


def test_image_only_variant_reproduces_the_papers_example() -> None:
    depth = np.full((480, 640), 900, dtype=np.uint16)
    depth[200:300, 300:400] = 875  # object
    depth[150:260, 330:380] = 584  # gripper in front of it, overlapping in the image
    far = image_only_contact(depth, (330, 150, 380, 260), (300, 200, 400, 300))
    assert far.state == "far"
    assert far.source == "image_only"
    assert "584 mm vs object 875 mm" in far.detail
    depth[150:260, 330:380] = 870
    assert image_only_contact(depth, (330, 150, 380, 260), (300, 200, 400, 300)).state == "contact"
    apart = image_only_contact(depth, (0, 0, 50, 50), (300, 200, 400, 300))
    assert apart.state == "far"
    assert "do not overlap" in apart.detail
    assert image_only_contact(np.zeros_like(depth), (0, 0, 50, 50), (60, 60, 90, 90)).state == (
        "no_data"
    )


def _reading(state: str, gap: float | None) -> ContactReading:
    return ContactReading(state, gap)  # type: ignore[arg-type]


def test_monitor_hysteresis_and_stall() -> None:
    mon = ContactMonitor(enter_frames=2, exit_frames=3)
    assert mon.update(_reading("far", 30.0)) == "far"
    assert mon.update(_reading("contact", 3.0)) == "far"  # one frame is not enough
    assert mon.update(_reading("contact", 2.0)) == "contact"
    # 6.5 mm is inside the release margin (5 + 3): still contact
    assert mon.update(_reading("near", 6.5)) == "contact"
    assert mon.update(_reading("occluded", None)) == "contact"  # no evidence either way
    assert mon.update(_reading("near", 15.0)) == "contact"
    assert mon.update(_reading("near", 15.0)) == "contact"
    assert mon.update(_reading("near", 15.0)) == "near"
    assert mon.update(_reading("far", 40.0)) == "far"  # far/near switch at once
    assert mon.update(_reading("far", 40.0), stalled=True) == "contact"
    assert mon.in_contact
    mon.reset()
    assert mon.state == "no_data"
    assert mon.update(_reading("occluded", None)) == "occluded"
