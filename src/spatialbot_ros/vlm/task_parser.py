"""English task parser shared by every engine: verb, object phrase, relations, ordinals, colours.

A task is a command ("grasp the middle teacup", "pick up the red cup on the left") or a
question ("which is closer, the red cup or the blue cup?", "how many cups are there?").
`parse_task` turns it into a frozen `ParsedTask`; text it cannot read raises `TaskParseError`
with a message saying what was expected.  The parser is rule-based on purpose: the same text
always parses the same way, so both engines see the same object phrase.

Relations are words from the camera's viewpoint (image left/right, nearest = smallest camera
distance).  Relation vocabulary (canonical names): middle, left, right, leftmost, rightmost,
nearest, farthest, biggest, smallest, tallest, shortest, top, bottom.  An ordinal ("second",
"3rd") counts from `ordinal_from` ("left" | "right" | "front" | "back"); without a direction it
ranks along the superlative named ("second biggest"), or, with none, from the left (the
resolver notes that).  Questions set `question_type` (depth, proximity, position, existence,
counting, reach, size), `objects` (one phrase per compared object, `refs` parsed), `comparison`
(the compared relation) and `yes_no`; "<x,y>" points in the text land in `points_norm`.

Unparseable: empty text, text over `max_chars` (500), a verb without an object ("grasp"), or
text with neither a known verb/question form nor a known object word ("hello world").
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Literal

from spatialbot_ros.core.errors import SpatialBotRosError

__all__ = [
    "CATEGORY_WORDS",
    "COLOR_WORDS",
    "DEFAULT_MAX_CHARS",
    "GENERIC_CATEGORIES",
    "RELATION_WORDS",
    "ObjectRef",
    "ParsedTask",
    "QuestionType",
    "TaskParseError",
    "parse_object_phrase",
    "parse_task",
]

DEFAULT_MAX_CHARS = 500

Verb = Literal["grasp", "point", "locate", "question"]
Kind = Literal["grasp", "point", "question"]
QuestionType = Literal["depth", "proximity", "position", "existence", "counting", "reach", "size"]
OrdinalFrom = Literal["left", "right", "front", "back"]


class TaskParseError(SpatialBotRosError, ValueError):
    """A task text the parser cannot read (empty, too long, no object, no known form)."""


# Canonical colour names; aliases map onto them.
COLOR_WORDS: dict[str, str] = {
    "red": "red",
    "green": "green",
    "blue": "blue",
    "yellow": "yellow",
    "orange": "orange",
    "purple": "purple",
    "violet": "purple",
    "pink": "pink",
    "magenta": "pink",
    "white": "white",
    "black": "black",
    "gray": "gray",
    "grey": "gray",
    "brown": "brown",
    "cyan": "cyan",
    "turquoise": "cyan",
}

# Object nouns the project knows; any other head noun is still accepted as the category.
CATEGORY_WORDS: frozenset[str] = frozenset(
    {
        "cup",
        "teacup",
        "mug",
        "glass",
        "bowl",
        "bottle",
        "can",
        "box",
        "block",
        "cube",
        "ball",
        "plate",
        "jar",
        "tin",
        "carton",
        "cylinder",
        "container",
        "toy",
        "apple",
        "banana",
        "orange_fruit",
        "object",
        "thing",
        "item",
        "one",
    }
)

# Categories that say nothing beyond "a tabletop object" for a depth-only segmenter: the
# weight-free engine treats every segmented object as one of these.
GENERIC_CATEGORIES: frozenset[str] = frozenset(
    {
        "cup",
        "teacup",
        "mug",
        "glass",
        "object",
        "thing",
        "item",
        "one",
    }
)

# Single words that name a relation, mapped to the canonical relation.
RELATION_WORDS: dict[str, str] = {
    "middle": "middle",
    "center": "middle",
    "centre": "middle",
    "central": "middle",
    "left": "left",
    "right": "right",
    "leftmost": "leftmost",
    "rightmost": "rightmost",
    "nearest": "nearest",
    "closest": "nearest",
    "nearer": "nearest",
    "closer": "nearest",
    "near": "nearest",
    "front": "nearest",
    "frontmost": "nearest",
    "farthest": "farthest",
    "furthest": "farthest",
    "farther": "farthest",
    "further": "farthest",
    "far": "farthest",
    "back": "farthest",
    "rear": "farthest",
    "backmost": "farthest",
    "biggest": "biggest",
    "largest": "biggest",
    "bigger": "biggest",
    "larger": "biggest",
    "big": "biggest",
    "large": "biggest",
    "huge": "biggest",
    "smallest": "smallest",
    "smaller": "smallest",
    "small": "smallest",
    "little": "smallest",
    "tiny": "smallest",
    "tallest": "tallest",
    "taller": "tallest",
    "tall": "tallest",
    "highest": "tallest",
    "shortest": "shortest",
    "shorter": "shortest",
    "short": "shortest",
    "lowest": "shortest",
    "top": "top",
    "upper": "top",
    "bottom": "bottom",
    "lower": "bottom",
}

_ORDINALS: dict[str, int] = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
}
_ORDINAL_NUM_RE = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)$")

_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}

# Multi-word relation phrases, longest first (matched before single words).
_RELATION_PHRASES: tuple[tuple[str, str], ...] = (
    (
        r"(?:that is |which is )?(?:closest|nearest) to (?:the )?(?:camera|viewer|me|us|you)",
        "nearest",
    ),
    (
        r"(?:that is |which is )?(?:farthest|furthest) from (?:the )?(?:camera|viewer|me|us|you)",
        "farthest",
    ),
    (r"(?:on|at|to) the (?:far|very) left", "leftmost"),
    (r"(?:on|at|to) the (?:far|very) right", "rightmost"),
    (r"far left|left[- ]most", "leftmost"),
    (r"far right|right[- ]most", "rightmost"),
    (
        r"(?:on|at|to|in) the left(?: side| hand side| end)?"
        r"(?: of the (?:image|table|picture|scene))?",
        "left",
    ),
    (
        r"(?:on|at|to|in) the right(?: side| hand side| end)?"
        r"(?: of the (?:image|table|picture|scene))?",
        "right",
    ),
    (
        r"(?:in|at) the (?:middle|center|centre)(?: of the (?:image|table|picture|scene|row))?",
        "middle",
    ),
    (r"(?:in|at) the (?:front|foreground)", "nearest"),
    (r"in front", "nearest"),
    (r"(?:in|at) the (?:back|rear|background)", "farthest"),
    (r"(?:at|on) the top(?: of the (?:image|picture))?", "top"),
    (r"(?:at|on) the bottom(?: of the (?:image|picture))?", "bottom"),
)
_RELATION_PHRASE_RES = tuple(
    (re.compile(r"(?<![\w-])" + p + r"(?![\w-])"), rel) for p, rel in _RELATION_PHRASES
)

# "second from the left", "2nd from right", "third one from the camera".
_ORDINAL_FROM_RE = re.compile(
    r"(?<![\w-])from (?:the )?(left|right|front|back|camera|viewer|rear)(?: side| end)?(?![\w-])"
)
_FROM_MAP: dict[str, OrdinalFrom] = {
    "left": "left",
    "right": "right",
    "front": "front",
    "camera": "front",
    "viewer": "front",
    "back": "back",
    "rear": "back",
}

# Anchored relations: "the cup left of the bowl", "the cup next to the red cup".
_ANCHOR_RE = re.compile(
    r"(?<![\w-])(?:that is |which is )?(to the left of|left of|on the left of|to the right of|"
    r"right of|on the right of|next to|beside|near to|close to|closest to|nearest to|behind|"
    r"in front of|on top of|above|below|under|between)\s+(.+)$"
)
_ANCHOR_MAP = {
    "to the left of": "left_of",
    "left of": "left_of",
    "on the left of": "left_of",
    "to the right of": "right_of",
    "right of": "right_of",
    "on the right of": "right_of",
    "next to": "next_to",
    "beside": "next_to",
    "near to": "next_to",
    "close to": "next_to",
    "closest to": "next_to",
    "nearest to": "next_to",
    "behind": "behind",
    "in front of": "in_front_of",
    "on top of": "above",
    "above": "above",
    "below": "below",
    "under": "below",
    "between": "between",
}

_FILLER = frozenset(
    {
        "the",
        "a",
        "an",
        "that",
        "which",
        "is",
        "are",
        "of",
        "please",
        "me",
        "for",
        "to",
        "its",
        "some",
        "any",
        "this",
        "these",
        "those",
        "it",
        "there",
        "in",
        "on",
        "at",
        "image",
        "picture",
        "scene",
        "table",
        "photo",
        "view",
        "side",
        "and",
        "with",
        "from",
        "one",
        "ones",
        "object",
        "objects",
        "thing",
        "things",
        "item",
        "items",
        "all",
        "just",
        "now",
        "exactly",
        "only",
        "visible",
        "you",
        "see",
        "position",
        "row",
        "located",
        "placed",
        "standing",
        "sitting",
        "lying",
        "most",
        "more",
        "colored",
        "coloured",
        "color",
        "colour",
        "other",
        "really",
        "very",
        "light",
        "dark",
        "bright",
        "pale",
    }
)
# Filler words that are still a valid (generic) head noun when nothing else is left.
_GENERIC_HEADS = {
    "one": "one",
    "ones": "one",
    "object": "object",
    "objects": "object",
    "thing": "thing",
    "things": "thing",
    "item": "item",
    "items": "item",
}

_POINT_RE = re.compile(r"[<(\[]\s*([01](?:\.\d+)?|\.\d+)\s*,\s*([01](?:\.\d+)?|\.\d+)\s*[>)\]]")
_WORD_RE = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")


@dataclass(frozen=True)
class ObjectRef:
    """One referring expression: what to look for and how to pick it among candidates."""

    phrase: str
    category: str | None = None
    colors: tuple[str, ...] = ()
    relations: tuple[str, ...] = ()
    ordinal: int | None = None
    ordinal_from: OrdinalFrom | None = None
    anchor_relation: str | None = None  # left_of | right_of | next_to | behind | ... | None
    anchor: ObjectRef | None = None
    plural: bool = False
    unknown_words: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParsedTask:
    """A parsed task; the top-level object fields describe the primary object (refs[0])."""

    text: str
    verb: Verb
    kind: Kind
    object_phrase: str
    category: str | None = None
    colors: tuple[str, ...] = ()
    relations: tuple[str, ...] = ()
    ordinal: int | None = None
    ordinal_from: OrdinalFrom | None = None
    question_type: QuestionType | None = None
    objects: tuple[str, ...] = ()
    refs: tuple[ObjectRef, ...] = field(default=(), repr=False)
    points_norm: tuple[tuple[float, float], ...] = ()  # "<0.5,0.2>" points in the text
    comparison: str | None = None  # the compared relation for proximity/size/position questions
    yes_no: bool = False  # a question answered yes or no ("is ...", "can ...")

    @property
    def ref(self) -> ObjectRef | None:
        """The primary object reference, or None (e.g. a depth question about a point)."""
        return self.refs[0] if self.refs else None


# ---------------------------------------------------------------------------------------------
# Object phrases


def _singular(word: str) -> tuple[str, bool]:
    """Singular form of a noun and whether it was plural (English rules good enough here)."""
    irregular = {
        "glasses": "glass",
        "boxes": "box",
        "dishes": "dish",
        "knives": "knife",
        "mice": "mouse",
        "people": "person",
        "tomatoes": "tomato",
        "potatoes": "potato",
        "matches": "match",
        "benches": "bench",
    }
    if word in irregular:
        return irregular[word], True
    if len(word) > 3 and word.endswith("ies"):
        return word[:-3] + "y", True
    if len(word) > 3 and word.endswith(("sses", "shes", "ches", "xes")):
        return word[:-2], True
    if len(word) > 2 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1], True
    return word, False


def _ordinal_value(word: str) -> int | None:
    if word in _ORDINALS:
        return _ORDINALS[word]
    m = _ORDINAL_NUM_RE.match(word)
    if m:
        n = int(m.group(1))
        return n if n >= 1 else None
    return None


def _clean_phrase(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip(" ,.;:!?\"'")
    text = re.sub(r"^(?:(?:the|a|an|any|some|that|this|of)(?:\s+|$))+", "", text)
    text = re.sub(r"\s+(?:please|for me|now|in the (?:image|picture|scene|photo))$", "", text)
    return text.strip(" ,.;:!?\"'")


def parse_object_phrase(phrase: str, _depth: int = 0) -> ObjectRef:
    """Parse an object phrase ("second red cup from the left") into an ObjectRef.

    Raises TaskParseError when the phrase is empty.
    """
    cleaned = _clean_phrase(phrase.lower())
    if not cleaned or not _WORD_RE.search(cleaned):
        raise TaskParseError(f"expected an object phrase such as 'the red cup', got {phrase!r}")
    work = cleaned
    anchor: ObjectRef | None = None
    anchor_relation: str | None = None
    # "closest to the camera" is a plain relation, not an anchor: take those phrases first,
    # then an anchored tail ("... left of the bowl"), then the other relation phrases.
    # Matches are blanked with spaces of equal length so positions keep the word order.
    relations: list[tuple[int, str]] = []

    def take(rx: re.Pattern[str], rel: str, text: str) -> str:
        for found in rx.finditer(text):
            relations.append((found.start(), rel))
        return rx.sub(lambda found: " " * len(found.group()), text)

    for rx, rel in _RELATION_PHRASE_RES[:2]:
        work = take(rx, rel, work)
    if _depth == 0:
        am = _ANCHOR_RE.search(work)
        if am:
            rest = _clean_phrase(am.group(2))
            if rest and _WORD_RE.search(rest):
                anchor_relation = _ANCHOR_MAP[am.group(1)]
                anchor = parse_object_phrase(rest, _depth + 1)
                work = work[: am.start()]
    for rx, rel in _RELATION_PHRASE_RES[2:]:
        work = take(rx, rel, work)
    ordinal_from: OrdinalFrom | None = None
    m_from = _ORDINAL_FROM_RE.search(work)
    if m_from:
        ordinal_from = _FROM_MAP[m_from.group(1)]
        work = work[: m_from.start()] + " " + work[m_from.end() :]
    ordinal: int | None = None
    colors: list[str] = []
    heads: list[tuple[str, bool]] = []
    generic_heads: list[str] = []
    unknown: list[str] = []
    words = _WORD_RE.findall(work)
    pos = 0
    for word in words:
        pos = work.find(word, pos)
        w = word.replace("-", "")
        if w in COLOR_WORDS:
            colors.append(COLOR_WORDS[w])
        elif w in RELATION_WORDS:
            relations.append((pos, RELATION_WORDS[w]))
        elif _ordinal_value(w) is not None and ordinal is None:
            ordinal = _ordinal_value(w)
        elif w == "last":
            # "the last cup on the right": the extreme one along the named direction.
            relations.append((pos, "last"))
        elif word in _GENERIC_HEADS:
            generic_heads.append(_GENERIC_HEADS[word])
        elif word in _FILLER or w.isdigit():
            pass
        else:
            heads.append(_singular(word))
        pos += len(word)
    # Head noun: the last content word; earlier content words are modifiers we cannot use.
    category: str | None = None
    plural = False
    if heads:
        category, plural = heads[-1]
        unknown = [h for h, _ in heads[:-1]]
    elif generic_heads:
        category = generic_heads[-1]
    if category is not None:
        plural = plural or any(word in ("ones", "objects", "things", "items") for word in words)
    # A "first"..."tenth" with "last": "last" names the far end along the direction given.
    rel_names = [rel for _, rel in sorted(relations)]
    if "last" in rel_names:
        rel_names.remove("last")
        if ordinal_from is None:
            # "the last cup on the right" = rightmost; "last from the left" handled below.
            for side, extreme in (("left", "leftmost"), ("right", "rightmost")):
                if side in rel_names:
                    rel_names = [extreme if r == side else r for r in rel_names]
                    break
            else:
                rel_names.append("rightmost")
        else:
            opposite = {
                "left": "rightmost",
                "right": "leftmost",
                "front": "farthest",
                "back": "nearest",
            }[ordinal_from]
            rel_names.append(opposite)
            ordinal_from = None
    # "second on the left" / "second left" reads as "second from the left".
    if ordinal is not None and ordinal_from is None:
        for r in list(rel_names):
            if r in ("left", "right", "leftmost", "rightmost"):
                ordinal_from = "left" if r.startswith("left") else "right"
                rel_names.remove(r)
                break
    deduped = tuple(dict.fromkeys(rel_names))
    if category is None and not colors and not deduped and ordinal is None and anchor is None:
        raise TaskParseError(
            f"expected an object phrase such as 'the red cup on the left', got {phrase!r}"
        )
    return ObjectRef(
        phrase=cleaned,
        category=category,
        colors=tuple(dict.fromkeys(colors)),
        relations=deduped,
        ordinal=ordinal,
        ordinal_from=ordinal_from,
        anchor_relation=anchor_relation,
        anchor=anchor,
        plural=plural,
        unknown_words=tuple(unknown),
    )


# ---------------------------------------------------------------------------------------------
# Task forms

_POLITE_PREFIX = re.compile(
    r"^(?:(?:hey|ok|okay|hi|robot|spatialbot|please|now|then|so)[,!]?\s+)*"
    r"(?:(?:can|could|would|will) you (?:please )?|i want you to |i'd like you to |"
    r"i would like you to |go and |go |try to |please )?"
)

_GRASP_RE = re.compile(
    r"^(?:grasp|grab|pick up|pickup|pick|take|get me|get|lift|fetch me|fetch|hold|seize|collect|"
    r"retrieve|bring me|bring|give me|hand me|pass me)\b\s*(.*)$"
)
_POINT_VERB_RE = re.compile(
    r"^(?:point (?:to|at|out)|point|show me|show|highlight|indicate|mark|touch)\b\s*(.*)$"
)
_LOCATE_RE = re.compile(
    r"^(?:where (?:is|are)|where's|find|locate|look for|detect|identify|segment|"
    r"give me the (?:bounding box|box|location|position) of|"
    r"(?:please )?provide the bounding box(?: coordinate)? of(?: the object this sentence "
    r"describes:?)?)\b\s*(.*)$"
)
_WHICH_RE = re.compile(r"^which (?:of (?:these|them|the objects) )?(.+)$")

_COMPARE_WORDS: dict[str, tuple[QuestionType, str]] = {
    "closer": ("proximity", "nearest"),
    "nearer": ("proximity", "nearest"),
    "farther": ("proximity", "farthest"),
    "further": ("proximity", "farthest"),
    "bigger": ("size", "biggest"),
    "larger": ("size", "biggest"),
    "smaller": ("size", "smallest"),
    "taller": ("size", "tallest"),
    "shorter": ("size", "shortest"),
    "higher": ("size", "tallest"),
    "lower": ("size", "shortest"),
    "wider": ("size", "biggest"),
    "narrower": ("size", "smallest"),
}
_CMP = "|".join(_COMPARE_WORDS)
_WHICH_CMP_RE = re.compile(
    rf"^which(?: one| object| item| thing| of (?:these|them|the two|the following)(?: objects)?)?"
    rf"(?: (?:[a-z]+))? (?:is|appears|looks|seems)(?: to be)? (?:the )?({_CMP})"
    rf"(?: to (?:the )?(?:camera|viewer|me|us|you)| from (?:the )?(?:camera|viewer|me|us|you))?"
    rf"\s*[,:;-]?\s*(.+?)\s*,?\s+or\s+(.+)$"
)
_IS_CMP_RE = re.compile(
    rf"^(?:is|are) (.+?) ({_CMP})(?: to (?:the )?(?:camera|viewer|me|us|you)"
    rf"| from (?:the )?(?:camera|viewer|me|us|you))? than (.+)$"
)
_POSITION_RE = re.compile(
    r"^(?:is|are) (.+?) (?:located |placed |positioned )?"
    r"(to the left of|on the left of|on the left side of|left of|to the right of|"
    r"on the right of|on the right side of|right of|above|below|under|over|on top of|"
    r"behind|in front of|beneath)\s+(.+)$"
)
_POSITION_ABS_RE = re.compile(
    r"^(?:is|are) (.+?) (?:located |placed |positioned )?"
    r"(?:on|at|to|in) the (left|right|middle|center|centre|top|bottom)"
    r"(?: side| half| part)?(?: of the (?:image|picture|table|scene))?$"
)
_RELATIVE_RE = re.compile(
    r"^(?:where is|what is the (?:position|location) of|what's the (?:position|location) of)"
    r" (.+?) (?:relative to|with respect to|compared to|in relation to) (.+)$"
)
_POSITION_MAP = {
    "to the left of": "left",
    "on the left of": "left",
    "on the left side of": "left",
    "left of": "left",
    "to the right of": "right",
    "on the right of": "right",
    "on the right side of": "right",
    "right of": "right",
    "above": "above",
    "over": "above",
    "on top of": "above",
    "below": "below",
    "under": "below",
    "beneath": "below",
    "behind": "behind",
    "in front of": "in_front_of",
}
_DEPTH_RE = re.compile(
    r"^(?:what is|what's|tell me|give me|estimate|report|measure)(?: the)? "
    r"(?:depth|distance|depth value|distance value)(?: value)?"
    r"(?: of| at| to| for| from the camera to| between the camera and)?\s*(.*)$"
)
_HOW_FAR_RE = re.compile(
    r"^how (?:far|far away|deep|distant) (?:is|are)\s+(.+?)"
    r"(?: from (?:the )?(?:camera|viewer|me|us|you)| away)?$"
)
_COUNT_RE = re.compile(
    r"^(?:how many|count(?: the)?|what is the number of|what's the number of|"
    r"what number of)\s+(.+?)"
    r"(?: (?:are|is) (?:there|visible|present|shown|on the table|in the (?:image|picture|scene))"
    r"(?: on the table| in the (?:image|picture|scene))?| (?:can|do) you see"
    r"(?: on the table| in the (?:image|picture|scene))?| (?:are )?(?:on the table|in the "
    r"(?:image|picture|scene)))?$"
)
_EXIST_RE = re.compile(
    r"^(?:(?:is|are) there|does (?:the )?(?:image|picture|scene|table) (?:contain|have|show)|"
    r"(?:do|can) you see|is there any|are there any)\s+(.+?)"
    r"(?: (?:in|on) the (?:image|picture|scene|table|photo))?$"
)
_REACH_RE = re.compile(
    r"^(?:can|could|is|will|does) (?:the )?(gripper|robot|arm|hand|end effector|robot arm|"
    r"robotic arm)(?: currently| already| able to)? "
    r"(reach|grasp|touch|get to|touching|in contact with|holding|hold|contact|grip|reaching)"
    r"\s+(.+)$"
)
_TOUCH_RE = re.compile(r"^(?:is|are|do|does) (.+?) (?:touching|in contact with|touch) (.+)$")
_SIZE_RE = re.compile(
    r"^(?:how (?:big|large|tall|high|wide|small) (?:is|are)|"
    r"what (?:is|are) the (?:size|height|width|dimensions?|volume|extent) of|"
    r"what's the (?:size|height|width) of)\s+(.+)$"
)


def _ref_tuple(*phrases: str) -> tuple[ObjectRef, ...]:
    return tuple(parse_object_phrase(p) for p in phrases)


def _task(
    text: str,
    verb: Verb,
    kind: Kind,
    refs: tuple[ObjectRef, ...],
    *,
    question_type: QuestionType | None = None,
    points: tuple[tuple[float, float], ...] = (),
    comparison: str | None = None,
) -> ParsedTask:
    primary = refs[0] if refs else None
    return ParsedTask(
        text=text,
        verb=verb,
        kind=kind,
        object_phrase=primary.phrase if primary else "",
        category=primary.category if primary else None,
        colors=primary.colors if primary else (),
        relations=primary.relations if primary else (),
        ordinal=primary.ordinal if primary else None,
        ordinal_from=primary.ordinal_from if primary else None,
        question_type=question_type,
        objects=tuple(r.phrase for r in refs),
        refs=refs,
        points_norm=points,
        comparison=comparison,
    )


def _question(
    original: str,
    points: tuple[tuple[float, float], ...],
    refs: tuple[ObjectRef, ...],
    question_type: QuestionType,
    comparison: str | None = None,
) -> ParsedTask:
    return _task(
        original,
        "question",
        "question",
        refs,
        question_type=question_type,
        points=points,
        comparison=comparison,
    )


def _which_phrase(rest: str) -> str:
    """'cup is the tallest' -> 'tallest cup'; 'cup is on the left' -> 'cup on the left'."""
    rest = re.sub(r"^(?:is|are)\s+", "", rest)
    parts = re.split(r"\s+(?:is|are)\s+", rest, maxsplit=1)
    if len(parts) == 1:
        return rest
    head, pred = parts[0], _clean_phrase(parts[1])
    pred_words = pred.split()
    if 0 < len(pred_words) <= 2 and all(
        w in RELATION_WORDS or w in COLOR_WORDS or w == "most" for w in pred_words
    ):
        return f"{pred} {head}"
    return f"{head} {pred}"


def _extract_points(text: str) -> tuple[str, tuple[tuple[float, float], ...]]:
    points: list[tuple[float, float]] = []

    def repl(m: re.Match[str]) -> str:
        points.append((float(m.group(1)), float(m.group(2))))
        return f" point{len(points)} "

    return _POINT_RE.sub(repl, text), tuple(points)


_YES_NO_STARTS = frozenset(
    {"is", "are", "does", "do", "can", "could", "will", "would", "was", "were", "has", "have"}
)


def parse_task(text: str, max_chars: int = DEFAULT_MAX_CHARS) -> ParsedTask:
    """Parse an English task or question; raise TaskParseError when it cannot be read."""
    if not isinstance(text, str):
        raise TaskParseError(f"expected the task as a str, got {type(text).__name__}")
    original = text.strip()
    if not original:
        raise TaskParseError("expected a task such as 'grasp the middle cup', got empty text")
    if len(original) > max_chars:
        raise TaskParseError(
            f"expected a task of at most {max_chars} characters, got {len(original)}"
        )
    work, points = _extract_points(original.lower())
    work = work.replace("’", "'").replace("‘", "'")
    # Question marks and final punctuation carry no meaning for the forms below.
    work = re.sub(r"[?!.;]+\s*$", "", work)
    work = re.sub(r"[\"“”]", "", work)
    work = re.sub(r"\s+", " ", work).strip(" ,")
    work = re.sub(r"\banswer directly from depth map\b.*$", "", work).strip(" ,.")
    # Keep only the first sentence of a multi-sentence prompt that starts with a question.
    work = _POLITE_PREFIX.sub("", work, count=1).strip()
    if not _WORD_RE.search(work):
        raise TaskParseError(f"cannot parse task {original!r}: expected words, got none")
    try:
        parsed = _parse_forms(original, work, points)
    except TaskParseError as exc:
        raise TaskParseError(f"cannot parse task {original!r}: {exc}") from None
    if parsed.kind == "question" and work.split(maxsplit=1)[0] in _YES_NO_STARTS:
        parsed = dataclasses.replace(parsed, yes_no=True)
    return parsed


def _parse_forms(original: str, work: str, points: tuple[tuple[float, float], ...]) -> ParsedTask:
    # Depth questions, with or without a point.
    m = _DEPTH_RE.match(work)
    if m:
        target = _clean_phrase(m.group(1))
        target = re.sub(r"^(?:the )?(?:point|pixel|location|position)\b\s*", "", target)
        if re.fullmatch(r"(?:point\d+\s*(?:and\s*)?)*", target.strip()) and points:
            return _question(original, points, (), "depth")
        return _question(original, points, _ref_tuple(target), "depth")
    m = _HOW_FAR_RE.match(work)
    if m:
        target = _clean_phrase(m.group(1))
        if re.fullmatch(r"(?:the )?(?:point|pixel)?\s*point\d+", target) and points:
            return _question(original, points, (), "depth")
        return _question(original, points, _ref_tuple(target), "depth")
    m = _WHICH_CMP_RE.match(work)
    if m:
        qtype, rel = _COMPARE_WORDS[m.group(1)]
        return _question(original, points, _ref_tuple(m.group(2), m.group(3)), qtype, rel)
    m = _REACH_RE.match(work)
    if m:
        touching = m.group(2) in ("touch", "touching", "in contact with", "contact")
        return _question(
            original, points, _ref_tuple(m.group(3)), "reach", "touching" if touching else "reach"
        )
    m = _IS_CMP_RE.match(work)
    if m:
        qtype, rel = _COMPARE_WORDS[m.group(2)]
        return _question(original, points, _ref_tuple(m.group(1), m.group(3)), qtype, rel)
    m = _TOUCH_RE.match(work)
    if m:
        return _question(original, points, _ref_tuple(m.group(1), m.group(2)), "reach", "touching")
    m = _RELATIVE_RE.match(work)
    if m:
        return _question(original, points, _ref_tuple(m.group(1), m.group(2)), "position")
    m = _POSITION_RE.match(work)
    if m:
        refs = _ref_tuple(m.group(1), m.group(3))
        return _question(original, points, refs, "position", _POSITION_MAP[m.group(2)])
    m = _POSITION_ABS_RE.match(work)
    if m:
        side = RELATION_WORDS[m.group(2)]
        return _question(original, points, _ref_tuple(m.group(1)), "position", side)
    m = _COUNT_RE.match(work)
    if m:
        return _question(original, points, _ref_tuple(m.group(1)), "counting")
    m = _EXIST_RE.match(work)
    if m:
        return _question(original, points, _ref_tuple(m.group(1)), "existence")
    m = _SIZE_RE.match(work)
    if m:
        return _question(original, points, _ref_tuple(m.group(1)), "size")
    # Commands.
    commands: tuple[tuple[re.Pattern[str], Verb, Kind], ...] = (
        (_GRASP_RE, "grasp", "grasp"),
        (_POINT_VERB_RE, "point", "point"),
        (_LOCATE_RE, "locate", "point"),
    )
    for rx, verb, kind in commands:
        m = rx.match(work)
        if m:
            phrase = re.sub(r"\s+up$", "", m.group(1)) if verb == "grasp" else m.group(1)
            if not _clean_phrase(phrase):
                raise TaskParseError(
                    f"the verb needs an object, e.g. '{work.split(maxsplit=1)[0]} the red cup'"
                )
            return _task(original, verb, kind, _ref_tuple(phrase))
    m = _WHICH_RE.match(work)
    if m:
        # "which cup is on the left" -> locate the object the rest of the question describes.
        return _task(original, "locate", "point", _ref_tuple(_which_phrase(m.group(1))))
    # A bare object phrase ("the red cup on the left") is a locate request when it names
    # something we know; anything else is not a task we can read.
    try:
        ref = parse_object_phrase(work)
    except TaskParseError:
        ref = None
    if (
        ref is not None
        and (ref.category in CATEGORY_WORDS or ref.colors or ref.relations or ref.ordinal)
        and not ref.unknown_words
    ):
        return _task(original, "locate", "point", (ref,))
    raise TaskParseError(
        "expected a command (grasp/pick up/point to/where is ... <object>) or a question "
        "(depth, which is closer, is A left of B, is there, how many, can the gripper reach, "
        "which is bigger)"
    )
