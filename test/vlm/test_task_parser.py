"""Tests for the English task parser shared by the engines."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spatialbot_ros.core.errors import SpatialBotRosError
from spatialbot_ros.vlm.task_parser import (
    COLOR_WORDS,
    ParsedTask,
    TaskParseError,
    parse_object_phrase,
    parse_task,
)


@pytest.mark.parametrize(
    ("text", "verb", "phrase", "category", "colors", "relations", "ordinal", "ordinal_from"),
    [
        (
            "grasp the middle teacup",
            "grasp",
            "middle teacup",
            "teacup",
            (),
            ("middle",),
            None,
            None,
        ),
        (
            "Pick up the red cup on the left.",
            "grasp",
            "red cup on the left",
            "cup",
            ("red",),
            ("left",),
            None,
            None,
        ),
        (
            "grab the second cup from the left",
            "grasp",
            "second cup from the left",
            "cup",
            (),
            (),
            2,
            "left",
        ),
        (
            "take the 3rd red mug from the right",
            "grasp",
            "3rd red mug from the right",
            "mug",
            ("red",),
            (),
            3,
            "right",
        ),
        (
            "point to the cup closest to the camera",
            "point",
            "cup closest to the camera",
            "cup",
            (),
            ("nearest",),
            None,
            None,
        ),
        (
            "Where is the biggest bowl?",
            "locate",
            "biggest bowl",
            "bowl",
            (),
            ("biggest",),
            None,
            None,
        ),
        (
            "find the grey box at the far left",
            "locate",
            "grey box at the far left",
            "box",
            ("gray",),
            ("leftmost",),
            None,
            None,
        ),
        (
            "lift the tallest bottle",
            "grasp",
            "tallest bottle",
            "bottle",
            (),
            ("tallest",),
            None,
            None,
        ),
        (
            "could you please pick up the smallest blue cup",
            "grasp",
            "smallest blue cup",
            "cup",
            ("blue",),
            ("smallest",),
            None,
            None,
        ),
        (
            "grasp the one closest to the camera",
            "grasp",
            "one closest to the camera",
            "one",
            (),
            ("nearest",),
            None,
            None,
        ),
        (
            "get the second nearest cup",
            "grasp",
            "second nearest cup",
            "cup",
            (),
            ("nearest",),
            2,
            None,
        ),
        (
            "show me the rightmost green can",
            "point",
            "rightmost green can",
            "can",
            ("green",),
            ("rightmost",),
            None,
            None,
        ),
        (
            "which cup is the farthest",
            "locate",
            "farthest cup",
            "cup",
            (),
            ("farthest",),
            None,
            None,
        ),
        ("the leftmost cup", "locate", "leftmost cup", "cup", (), ("leftmost",), None, None),
        ("pick the cup up", "grasp", "cup", "cup", (), (), None, None),
        ("pick up the stapler", "grasp", "stapler", "stapler", (), (), None, None),
        (
            "lift the last cup on the right",
            "grasp",
            "last cup on the right",
            "cup",
            (),
            ("rightmost",),
            None,
            None,
        ),
    ],
)
def test_commands(
    text: str,
    *,
    verb: str,
    phrase: str,
    category: str | None,
    colors: tuple[str, ...],
    relations: tuple[str, ...],
    ordinal: int | None,
    ordinal_from: str | None,
) -> None:
    task = parse_task(text)
    assert task.verb == verb
    assert task.kind == ("grasp" if verb == "grasp" else "point")
    assert task.object_phrase == phrase
    assert task.category == category
    assert task.colors == colors
    assert task.relations == relations
    assert task.ordinal == ordinal
    assert task.ordinal_from == ordinal_from
    assert task.question_type is None
    assert task.objects == (phrase,)


@pytest.mark.parametrize(
    ("text", "qtype", "objects", "comparison"),
    [
        (
            "Which is closer to the camera, the red cup or the blue cup?",
            "proximity",
            ("red cup", "blue cup"),
            "nearest",
        ),
        ("Which one is farther: the mug or the bowl?", "proximity", ("mug", "bowl"), "farthest"),
        (
            "Is the red cup closer than the blue cup?",
            "proximity",
            ("red cup", "blue cup"),
            "nearest",
        ),
        (
            "Is the red cup to the left of the blue cup?",
            "position",
            ("red cup", "blue cup"),
            "left",
        ),
        ("Is the bowl right of the bottle?", "position", ("bowl", "bottle"), "right"),
        ("Is the cup behind the box?", "position", ("cup", "box"), "behind"),
        ("Is the cup on the left?", "position", ("cup",), "left"),
        ("Is there a yellow mug in the image?", "existence", ("yellow mug",), None),
        ("Are there any cups on the table?", "existence", ("cups",), None),
        ("How many cups are there?", "counting", ("cups",), None),
        ("How many red blocks are on the table?", "counting", ("red blocks",), None),
        ("What is the depth of the blue cup?", "depth", ("blue cup",), None),
        ("How far is the green box from the camera?", "depth", ("green box",), None),
        ("Can the gripper reach the red cup?", "reach", ("red cup",), "reach"),
        ("Is the gripper touching the cup?", "reach", ("cup",), "touching"),
        ("Is the bottle touching the bowl?", "reach", ("bottle", "bowl"), "touching"),
        ("Which is bigger, the bowl or the cup?", "size", ("bowl", "cup"), "biggest"),
        ("Is the red cup taller than the blue one?", "size", ("red cup", "blue one"), "tallest"),
        ("How big is the red cup?", "size", ("red cup",), None),
    ],
)
def test_questions(text: str, qtype: str, objects: tuple[str, ...], comparison: str | None) -> None:
    task = parse_task(text)
    assert task.verb == "question"
    assert task.kind == "question"
    assert task.question_type == qtype
    assert task.objects == objects
    assert task.comparison == comparison
    assert len(task.refs) == len(objects)


@pytest.mark.parametrize("verb", ["get me", "give me", "hand me", "fetch me", "bring me"])
def test_verbs_with_me_keep_me_out_of_the_phrase(verb: str) -> None:
    task = parse_task(f"{verb} the red mug please")
    assert task.verb == "grasp"
    assert task.object_phrase == "red mug"


def test_counting_phrase_is_singular_category_and_plural() -> None:
    task = parse_task("how many boxes are there")
    assert task.category == "box"
    assert task.ref is not None
    assert task.ref.plural


def test_depth_question_at_a_point() -> None:
    task = parse_task("What is the depth value at point <0.5,0.2>? Answer directly from depth map.")
    assert task.question_type == "depth"
    assert task.points_norm == ((0.5, 0.2),)
    assert task.refs == ()
    assert task.object_phrase == ""


def test_anchored_relation() -> None:
    task = parse_task("grasp the cup to the right of the blue bowl")
    assert task.ref is not None
    assert task.ref.anchor_relation == "right_of"
    assert task.ref.anchor is not None
    assert task.ref.anchor.category == "bowl"
    assert task.ref.anchor.colors == ("blue",)


def test_anchor_does_not_swallow_camera_relation() -> None:
    ref = parse_object_phrase("the cup closest to the camera")
    assert ref.anchor is None
    assert ref.relations == ("nearest",)


def test_combination_of_ordinal_colour_and_direction() -> None:
    task = parse_task("Grasp the second red cup from the right")
    assert (task.ordinal, task.ordinal_from, task.colors, task.category) == (
        2,
        "right",
        ("red",),
        "cup",
    )


def test_modifiers_the_parser_cannot_use_are_reported() -> None:
    ref = parse_object_phrase("ceramic cup")
    assert ref.category == "cup"
    assert ref.unknown_words == ("ceramic",)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("???", "expected words"),
        ("grasp", "needs an object"),
        ("pick up the", "needs an object"),
        ("asdkjh qwe", "expected a command"),
        ("hello world", "expected a command"),
        ("x" * 501, "at most 500 characters, got 501"),
    ],
)
def test_unparseable_tasks_raise_clear_errors(text: str, fragment: str) -> None:
    with pytest.raises(TaskParseError, match=fragment):
        parse_task(text)


def test_max_chars_is_configurable() -> None:
    text = "grasp the red cup"
    assert parse_task(text, max_chars=len(text)).category == "cup"
    with pytest.raises(TaskParseError, match="at most 5"):
        parse_task(text, max_chars=5)


def test_error_is_a_project_error() -> None:
    with pytest.raises(SpatialBotRosError):
        parse_task("")
    with pytest.raises(TaskParseError, match="as a str"):
        parse_task(42)  # type: ignore[arg-type]


def test_parsed_task_is_frozen() -> None:
    task = parse_task("grasp the cup")
    assert isinstance(task, ParsedTask)
    with pytest.raises(AttributeError):
        task.verb = "point"  # type: ignore[misc]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_arbitrary_text_only_raises_task_parse_error(text: str) -> None:
    try:
        task = parse_task(text)
    except TaskParseError as exc:
        message = str(exc)
    else:
        message = ""
        assert task.verb in ("grasp", "point", "locate", "question")
    assert message or task


_WORDS = st.sampled_from(
    [
        "grasp",
        "the",
        "red",
        "cup",
        "left",
        "of",
        "second",
        "from",
        "right",
        "which",
        "is",
        "or",
        "closer",
        "how",
        "many",
        "there",
        "?",
        ",",
        "<0.5,0.2>",
        "than",
        "bigger",
        "nearest",
        "touching",
        "gripper",
        "can",
        "reach",
        "depth",
        "what",
        "middle",
        "3rd",
        "last",
        "one",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_WORDS, max_size=14))
def test_vocabulary_soup_only_raises_task_parse_error(words: list[str]) -> None:
    with contextlib.suppress(TaskParseError):
        parse_task(" ".join(words))


_VERBS = {
    "grasp": "grasp",
    "pick up": "grasp",
    "grab": "grasp",
    "take": "grasp",
    "lift": "grasp",
    "point to": "point",
    "show me": "point",
    "where is": "locate",
    "find": "locate",
}
_CATEGORIES = ["cup", "teacup", "mug", "bowl", "bottle", "box", "block", "can"]
_ORDINAL_WORDS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "2nd": 2, "5th": 5}
_SUPERLATIVES = {
    "leftmost": "leftmost",
    "rightmost": "rightmost",
    "nearest": "nearest",
    "closest": "nearest",
    "farthest": "farthest",
    "biggest": "biggest",
    "largest": "biggest",
    "smallest": "smallest",
    "tallest": "tallest",
    "shortest": "shortest",
    "middle": "middle",
}


@settings(max_examples=200, deadline=None)
@given(
    verb=st.sampled_from(sorted(_VERBS)),
    color=st.one_of(st.none(), st.sampled_from(sorted(COLOR_WORDS))),
    category=st.sampled_from(_CATEGORIES),
    form=st.sampled_from(["ordinal", "superlative", "side", "plain"]),
    ordinal=st.sampled_from(sorted(_ORDINAL_WORDS)),
    side=st.sampled_from(["left", "right"]),
    superlative=st.sampled_from(sorted(_SUPERLATIVES)),
)
def test_generated_templates_round_trip(
    *,
    verb: str,
    color: str | None,
    category: str,
    form: str,
    ordinal: str,
    side: str,
    superlative: str,
) -> None:
    color_part = f"{color} " if color else ""
    if form == "ordinal":
        phrase = f"{ordinal} {color_part}{category} from the {side}"
    elif form == "superlative":
        phrase = f"{superlative} {color_part}{category}"
    elif form == "side":
        phrase = f"{color_part}{category} on the {side}"
    else:
        phrase = f"{color_part}{category}"
    task = parse_task(f"{verb} the {phrase}")
    assert task.verb == _VERBS[verb]
    assert task.object_phrase == phrase
    assert task.category == category
    assert task.colors == ((COLOR_WORDS[color],) if color else ())
    if form == "ordinal":
        assert (task.ordinal, task.ordinal_from) == (_ORDINAL_WORDS[ordinal], side)
        assert task.relations == ()
    elif form == "superlative":
        assert task.relations == (_SUPERLATIVES[superlative],)
        assert task.ordinal is None
    elif form == "side":
        assert task.relations == (side,)
    else:
        assert task.relations == ()


@pytest.mark.parametrize(
    "text",
    [
        "what is the depth at <0.5,0.2>?",
        "What is the depth of <0.5, 0.2>?",
        "What is the depth value at point <0.5,0.2>?",
    ],
)
def test_depth_question_at_a_bare_point(text: str) -> None:
    # the word "point" is stripped from the phrase, never from the point's placeholder
    parsed = parse_task(text)
    assert parsed.question_type == "depth"
    assert parsed.points_norm == ((0.5, 0.2),)
