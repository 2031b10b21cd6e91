"""Box and Depth-call parsers (property tests) and the prompt/API-turn layout."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spatialbot_ros.vlm.output_parsing import (
    BoxParseError,
    find_depth_calls,
    first_depth_call,
    padded_norm_to_image_norm,
    parse_bbox,
    strip_partial_depth_call,
)
from spatialbot_ros.vlm.prompt import (
    IMAGE_SPLIT,
    api_answer_text,
    api_turn,
    build_prompt,
    grounding_question,
    join_prompt_ids,
)

W, H = 640, 480
unit = st.floats(0.0, 1.0, allow_nan=False)
spaces = st.sampled_from(["", " ", "  ", "\t"])
seps = st.sampled_from([",", ", ", " , ", ";", " "])


Box = tuple[float, float, float, float]


@st.composite
def norm_boxes(draw: st.DrawFn) -> Box:
    x1, x2 = sorted((draw(unit), draw(unit)))
    y1, y2 = sorted((draw(unit), draw(unit)))
    if x2 - x1 < 0.01 or y2 - y1 < 0.01:
        x1, x2, y1, y2 = 0.1, 0.6, 0.2, 0.9
    return x1, y1, x2, y2


def _fmt(values: list[float], sep: str, pad: str, decimals: int) -> str:
    return "[" + pad + sep.join(f"{v:.{decimals}f}" for v in values) + pad + "]"


@settings(max_examples=200, deadline=None)
@given(
    box=norm_boxes(),
    sep=seps,
    pad=spaces,
    decimals=st.integers(2, 4),
    swap_x=st.booleans(),
    swap_y=st.booleans(),
)
def test_normalised_box_round_trips(
    *, box: Box, sep: str, pad: str, decimals: int, swap_x: bool, swap_y: bool
) -> None:
    x1, y1, x2, y2 = box
    values = [
        x2 if swap_x else x1,
        y2 if swap_y else y1,
        x1 if swap_x else x2,
        y1 if swap_y else y2,
    ]
    text = f"The cup is at {_fmt(values, sep, pad, decimals)}."
    parsed = parse_bbox(text, W, H)
    tol = 10.0**-decimals
    assert parsed.units == "normalised"
    assert parsed.bbox_norm == pytest.approx((x1, y1, x2, y2), abs=tol)
    assert parsed.bbox_norm[0] < parsed.bbox_norm[2]
    assert parsed.bbox_norm[1] < parsed.bbox_norm[3]


@settings(max_examples=200, deadline=None)
@given(norm_boxes(), seps)
def test_pixel_box_is_normalised_by_image_size(box: Box, sep: str) -> None:
    x1, y1, x2, y2 = box
    px = [x1 * W, y1 * H, x2 * W, y2 * H]
    if max(px) <= 1.0:  # a pixel box inside [0, 1] is read as normalised by design
        return
    parsed = parse_bbox(_fmt(px, sep, "", 1), W, H)
    assert parsed.units == "pixels"
    assert parsed.bbox_norm == pytest.approx((x1, y1, x2, y2), abs=0.1 / min(W, H) + 1e-9)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-2.0, 3.0, allow_nan=False), min_size=4, max_size=4))
def test_any_parsed_box_is_inside_the_image_with_area(values: list[float]) -> None:
    text = _fmt(values, ", ", "", 3)
    try:
        parsed = parse_bbox(text, W, H)
    except BoxParseError:
        return  # rejected: non-finite, or no area inside the image
    x1, y1, x2, y2 = parsed.bbox_norm
    assert 0.0 <= x1 < x2 <= 1.0
    assert 0.0 <= y1 < y2 <= 1.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[-0.1, 0.2, 0.5, 0.6]", (0.0, 0.2, 0.5, 0.6)),  # clipped normalised
        ("[600, 400, 700, 500]", (600 / W, 400 / H, 1.0, 1.0)),  # clipped pixels
        ("box: [ 0.5 ,0.6,0.1 , 0.2 ]", (0.1, 0.2, 0.5, 0.6)),  # swapped corners, odd spacing
        ("[nan, 0.1, 0.2, 0.3] then [0.1, 0.2, 0.3, 0.4]", (0.1, 0.2, 0.3, 0.4)),  # first usable
        ("[.25 .5 .75 1.]", (0.25, 0.5, 0.75, 1.0)),  # space separated, bare decimals
    ],
)
def test_box_edge_cases(text: str, expected: tuple[float, ...]) -> None:
    assert parse_bbox(text, W, H).bbox_norm == pytest.approx(expected)


def test_clipped_flag() -> None:
    assert parse_bbox("[-0.1, 0.2, 0.5, 0.6]", W, H).clipped
    assert not parse_bbox("[0.1, 0.2, 0.5, 0.6]", W, H).clipped


@pytest.mark.parametrize(
    "text",
    [
        "I cannot see a teacup.",
        "[0.1, 0.2, 0.3]",  # three numbers
        "[nan, 0.1, 0.2, 0.3]",
        "[0.1, inf, 0.2, 0.3]",
        "[0.3, 0.3, 0.3, 0.5]",  # zero width
        "[1.5, 1.5, 1.55, 1.55]",  # pixels, 0.05 px wide: under the degenerate threshold
        "[-5, -5, -1, -1]",  # entirely outside
        "",
    ],
)
def test_unusable_boxes_are_rejected(text: str) -> None:
    with pytest.raises(BoxParseError, match="expected a bounding box"):
        parse_bbox(text, W, H)


def test_box_error_says_why() -> None:
    with pytest.raises(BoxParseError, match="non-finite"):
        parse_bbox("[nan, 0.1, 0.2, 0.3]", W, H)


@settings(max_examples=200, deadline=None)
@given(x=unit, y=unit, pad1=spaces, pad2=spaces, decimals=st.integers(1, 4), angle=st.booleans())
def test_depth_call_round_trips(
    *, x: float, y: float, pad1: str, pad2: str, decimals: int, angle: bool
) -> None:
    xs, ys = f"{x:.{decimals}f}", f"{y:.{decimals}f}"
    inner = f"<{xs},{pad2}{ys}>" if angle else f"{pad1}{xs}{pad1},{pad2}{ys}{pad2}"
    text = f"Let me check Depth({inner}) first."
    call = first_depth_call(text)
    assert call is not None
    assert call.x == pytest.approx(float(xs))
    assert call.y == pytest.approx(float(ys))
    assert call.canonical == f"Depth({xs},{ys})"
    assert text[call.start : call.end] == call.text


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(unit, unit), min_size=0, max_size=5))
def test_find_all_depth_calls_in_order(points: list[tuple[float, float]]) -> None:
    text = " and ".join(f"Depth({x:.2f}, {y:.2f})" for x, y in points)
    calls = find_depth_calls(text)
    got = [v for c in calls for v in (c.x, c.y)]
    assert got == pytest.approx([float(f"{v:.2f}") for p in points for v in p])


@pytest.mark.parametrize(
    "text", ["Depth(0.5", "Depth(0.5,", "Depth(0.5, 0.2", "Depth()", "depth 0.5"]
)
def test_incomplete_calls_are_not_calls(text: str) -> None:
    assert first_depth_call(text) is None


def test_partial_call_is_stripped() -> None:
    assert strip_partial_depth_call("The cup is at Depth(0.5, 0.") == ("The cup is at", True)
    assert strip_partial_depth_call("Depth(0.5,0.2)=875") == ("Depth(0.5,0.2)=875", False)


@settings(max_examples=100, deadline=None)
@given(norm_boxes(), st.integers(10, 900), st.integers(10, 900))
def test_padded_square_box_maps_back_to_the_image(box: Box, w: int, h: int) -> None:
    side = max(w, h)
    ox, oy = (side - w) / 2, (side - h) / 2
    x1, y1, x2, y2 = box
    padded = (
        (x1 * w + ox) / side,
        (y1 * h + oy) / side,
        (x2 * w + ox) / side,
        (y2 * h + oy) / side,
    )
    assert padded_norm_to_image_norm(padded, w, h) == pytest.approx(box, abs=1e-9)


def test_prompt_matches_the_reference_template() -> None:
    q = "What is the depth value of point <0.5,0.2>? Answer directly from depth map."
    expected = (
        "A chat between a curious user and an artificial intelligence assistant. The assistant "
        "gives helpful, detailed, and polite answers to the user's questions. USER: <image 1>\n"
        f"<image 2>\n{q} ASSISTANT:"
    )
    assert build_prompt(q) == expected
    assert len(build_prompt(q).split(IMAGE_SPLIT)) == 2
    assert build_prompt(q, with_depth=False).count("<image") == 1


def test_ids_join_around_both_image_tokens() -> None:
    assert join_prompt_ids([[1, 2], [3]]) == [1, 2, -201, -202, 3]
    assert join_prompt_ids([[1], [3]], with_depth=False) == [1, -201, 3]
    with pytest.raises(ValueError, match="2 chunks"):
        join_prompt_ids([[1]])


def test_grounding_question_and_api_turn() -> None:
    assert grounding_question(" middle teacup ") == (
        "Please provide the bounding box coordinate of the object this sentence describes: "
        "middle teacup"
    )
    answer = api_answer_text("Depth(0.51,0.40)", 875.4)
    assert answer == "API: Depth(0.51,0.40)=875"
    assert api_answer_text("Depth(0.5,0.5)", None) == "API: Depth(0.5,0.5)=unknown"
    assert api_turn([answer]) == "<|endoftext|>USER: API: Depth(0.51,0.40)=875 ASSISTANT:"
    assert math.isfinite(float(answer.rsplit("=", 1)[1]))
