"""Tests for referring-expression relations from the camera's viewpoint."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spatialbot_ros.core.errors import SpatialBotRosError
from spatialbot_ros.core.relations import (
    Candidate,
    RelationError,
    filter_by_anchor,
    order,
    select,
)


def _row(
    xs: list[float],
    colors: list[str] | None = None,
    dist: list[float] | None = None,
    size: list[float] | None = None,
    height: list[float] | None = None,
) -> list[Candidate]:
    n = len(xs)
    colors = colors or ["red"] * n
    dist = dist or [0.7] * n
    size = size or [1.0] * n
    height = height or [0.1] * n
    return [
        Candidate(
            index=i,
            image_x=xs[i],
            image_y=240.0,
            distance_m=dist[i],
            size=size[i],
            height_m=height[i],
            color=colors[i],
            xyz_camera_m=((xs[i] - 320.0) / 600.0 * dist[i], 0.0, dist[i]),
        )
        for i in range(n)
    ]


# Indices deliberately not in left-to-right order.
THREE = _row(
    [300.0, 100.0, 500.0],
    colors=["red", "blue", "red"],
    dist=[0.8, 0.6, 0.7],
    size=[2.0, 1.0, 3.0],
    height=[0.10, 0.12, 0.08],
)


@pytest.mark.parametrize(
    ("relations", "expected"),
    [
        (["leftmost"], 1),
        (["rightmost"], 2),
        (["left"], 1),
        (["right"], 2),
        (["middle"], 0),
        (["nearest"], 1),
        (["farthest"], 0),
        (["biggest"], 2),
        (["smallest"], 1),
        (["tallest"], 1),
        (["shortest"], 2),
    ],
)
def test_single_relations(relations: list[str], expected: int) -> None:
    assert select(THREE, relations=relations).index == expected


@pytest.mark.parametrize(
    ("ordinal", "ordinal_from", "expected"),
    [(1, "left", 1), (2, "left", 0), (3, "left", 2), (1, "right", 2), (3, "right", 1),
     (1, "front", 1), (2, "front", 2), (1, "back", 0)],
)  # fmt: skip
def test_ordinals(ordinal: int, ordinal_from: str, expected: int) -> None:
    assert select(THREE, ordinal=ordinal, ordinal_from=ordinal_from).index == expected


def test_ordinal_along_a_superlative() -> None:
    assert select(THREE, relations=["biggest"], ordinal=2).index == 0


def test_ordinal_without_direction_counts_from_the_left_and_says_so() -> None:
    sel = select(THREE, ordinal=2)
    assert sel.index == 0
    assert any("from the left" in n for n in sel.notes)


def test_colour_filter_then_relation() -> None:
    assert select(THREE, colors=["red"], relations=["leftmost"]).index == 0
    assert select(THREE, colors=["red"], ordinal=2, ordinal_from="left").index == 2
    assert select(THREE, colors=["blue"]).index == 1


def test_side_word_filters_before_superlative() -> None:
    # "the biggest cup on the left": among the left half (indices 1, 0), the biggest is 0.
    assert select(THREE, relations=["biggest", "left"]).index == 0


def test_missing_colour_names_what_was_seen() -> None:
    with pytest.raises(RelationError, match=r"green.*colours seen: blue, red"):
        select(THREE, colors=["green"])


def test_ordinal_out_of_range() -> None:
    with pytest.raises(RelationError, match=r"at least 5 matching cups.*got 3"):
        select(THREE, ordinal=5, ordinal_from="left", noun="cup")


def test_empty_and_bad_inputs_raise_project_errors() -> None:
    with pytest.raises(SpatialBotRosError, match="got none"):
        select([])
    with pytest.raises(RelationError, match="expected relations"):
        select(THREE, relations=["sideways"])
    with pytest.raises(RelationError, match="ordinal_from"):
        select(THREE, ordinal=1, ordinal_from="up")
    with pytest.raises(RelationError, match="ordering relation"):
        order(THREE, "middle")


def test_even_middle_is_noted() -> None:
    four = _row([100.0, 200.0, 300.0, 500.0])
    sel = select(four, relations=["middle"])
    assert sel.index in (1, 2)
    assert any("no single middle" in n for n in sel.notes)


def test_ambiguous_plain_reference_picks_nearest_with_note() -> None:
    sel = select(THREE)
    assert sel.index == 1
    assert sel.notes


def test_ties_are_noted() -> None:
    tied = _row([100.0, 300.0], size=[1.0, 1.05])
    sel = select(tied, relations=["biggest"])
    assert any("nearly tied" in n for n in sel.notes)


def test_anchor_relations() -> None:
    anchor = THREE[0]  # x = 300
    left = filter_by_anchor(THREE, anchor, "left_of")
    assert [c.index for c in left] == [1]
    right = filter_by_anchor(THREE, anchor, "right_of")
    assert [c.index for c in right] == [2]
    behind = filter_by_anchor(THREE, THREE[1], "behind")
    assert {c.index for c in behind} == {0, 2}
    sel = select(THREE, anchor=anchor, anchor_relation="next_to")
    assert sel.index in (1, 2)
    with pytest.raises(RelationError, match="anchor relation"):
        filter_by_anchor(THREE, anchor, "inside")


@settings(max_examples=100, deadline=None)
@given(
    xs=st.lists(st.floats(0, 640, allow_nan=False), min_size=1, max_size=8, unique=True),
    k=st.integers(1, 8),
)
def test_ordinal_from_left_and_right_are_mirror_images(xs: list[float], k: int) -> None:
    cands = _row(xs)
    n = len(cands)
    if k > n:
        with pytest.raises(RelationError):
            select(cands, ordinal=k, ordinal_from="left")
        return
    from_left = select(cands, ordinal=k, ordinal_from="left").index
    from_right = select(cands, ordinal=n + 1 - k, ordinal_from="right").index
    assert from_left == from_right
    assert (
        select(cands, relations=["leftmost"]).index
        == select(cands, ordinal=1, ordinal_from="left").index
    )
