"""Referring-expression relations over described objects, from the camera's viewpoint.

Pure functions: no images, no parsing.  Objects come in as `Candidate`s (image position,
camera distance, size, height, colour name); a referring expression comes in as colour
words, relation words, an ordinal and its direction, as `spatialbot_ros.vlm.task_parser`
produces them.  `select` returns the chosen index with notes, or raises `RelationError`.

Semantics (camera viewpoint; "left" is image left):

- colour words filter the candidates (an object matches any of the colours named);
- picker relations order the candidates and take the first: leftmost, rightmost, nearest,
  farthest, biggest, smallest, tallest, shortest, top, bottom; "left"/"right" pick like
  leftmost/rightmost when no other picker is named; "middle" takes the median in image x
  (with an even count, the one of the two central objects nearer the group's centre, noted);
- with several relations, the first picker in word order picks and the others filter first:
  "left"/"right"/"nearest"/... keep the half of the candidates on that side ("the biggest cup
  on the left" = the biggest among the left half);
- an ordinal counts along `ordinal_from` (left, right, front = nearest first, back), else along
  the picker relation ("second biggest"), else from the left (noted);
- an anchor ("the cup left of the bowl") first restricts candidates to those in that relation
  to the anchor object, then picks with the other relations, or the one nearest the anchor.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from spatialbot_ros.core.errors import SpatialBotRosError

__all__ = [
    "ANCHOR_RELATIONS",
    "PICKER_RELATIONS",
    "Candidate",
    "RelationError",
    "Selection",
    "filter_by_anchor",
    "order",
    "select",
]

_ORDINAL_WORDS = (
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
)  # fmt: skip


class RelationError(SpatialBotRosError, ValueError):
    """A referring expression that no object (or no single object) satisfies."""


@dataclass(frozen=True)
class Candidate:
    """What relations need to know about one object."""

    index: int
    image_x: float  # horizontal image position, growing to the right (px)
    image_y: float  # vertical image position, growing downwards (px)
    distance_m: float  # distance from the camera
    size: float  # any volume-like measure, compared between objects only
    height_m: float  # height above the support surface
    color: str | None = None
    xyz_camera_m: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Selection:
    """The chosen object's index and notes on how it was chosen (ties, assumptions)."""

    index: int
    notes: tuple[str, ...] = ()


# relation -> (key, descending, noun for messages, tie tolerance on the key)
_Key = Callable[[Candidate], float]
_ORDERINGS: dict[str, tuple[_Key, bool, str, float]] = {
    "leftmost": (lambda c: c.image_x, False, "image x", 4.0),
    "rightmost": (lambda c: c.image_x, True, "image x", 4.0),
    "nearest": (lambda c: c.distance_m, False, "camera distance", 0.01),
    "farthest": (lambda c: c.distance_m, True, "camera distance", 0.01),
    "biggest": (lambda c: c.size, True, "size", 0.0),
    "smallest": (lambda c: c.size, False, "size", 0.0),
    "tallest": (lambda c: c.height_m, True, "height", 0.008),
    "shortest": (lambda c: c.height_m, False, "height", 0.008),
    "top": (lambda c: c.image_y, False, "image y", 4.0),
    "bottom": (lambda c: c.image_y, True, "image y", 4.0),
}
_SIDE_WORDS = {"left": "leftmost", "right": "rightmost"}
_FROM = {"left": "leftmost", "right": "rightmost", "front": "nearest", "back": "farthest"}
PICKER_RELATIONS: frozenset[str] = frozenset(_ORDERINGS) | {"middle", "left", "right"}
ANCHOR_RELATIONS: frozenset[str] = frozenset(
    {"left_of", "right_of", "next_to", "behind", "in_front_of", "above", "below", "between"}
)


def _ordinal_word(n: int) -> str:
    return _ORDINAL_WORDS[n - 1] if 1 <= n <= len(_ORDINAL_WORDS) else f"#{n}"


def order(candidates: Sequence[Candidate], relation: str) -> list[Candidate]:
    """Candidates sorted so the first one best satisfies `relation` (a picker relation)."""
    relation = _SIDE_WORDS.get(relation, relation)
    if relation not in _ORDERINGS:
        raise RelationError(
            f"expected an ordering relation ({', '.join(sorted(_ORDERINGS))}), got {relation!r}"
        )
    key, descending, _, _ = _ORDERINGS[relation]
    return sorted(candidates, key=key, reverse=descending)


def _tie_note(ranked: Sequence[Candidate], k: int, relation: str) -> str | None:
    """A note when the chosen object is nearly tied with a neighbour in the ranking."""
    key, _, noun, tol = _ORDERINGS[relation]
    chosen = key(ranked[k])
    for j in (k - 1, k + 1):
        if 0 <= j < len(ranked):
            other = key(ranked[j])
            tied = (
                abs(chosen - other) <= 0.1 * max(abs(chosen), abs(other))
                if tol == 0.0
                else abs(chosen - other) <= tol
            )
            if tied:
                return (
                    f"objects {ranked[k].index} and {ranked[j].index} are nearly tied on {noun} "
                    f"({chosen:.3g} vs {other:.3g}); the choice for '{relation}' is uncertain"
                )
    return None


def _half(candidates: list[Candidate], relation: str) -> list[Candidate]:
    """The half of the candidates on the side a filter relation names (at least one)."""
    if relation == "middle":
        if len(candidates) <= 2:
            return candidates
        ranked = order(candidates, "leftmost")
        return ranked[1:-1]
    ranked = order(candidates, relation)
    return ranked[: max(1, math.ceil(len(ranked) / 2))]


def filter_by_anchor(
    candidates: Sequence[Candidate], anchor: Candidate, relation: str
) -> list[Candidate]:
    """Candidates (anchor excluded) in `relation` to the anchor, nearest to the anchor first."""
    if relation not in ANCHOR_RELATIONS:
        raise RelationError(
            f"expected an anchor relation ({', '.join(sorted(ANCHOR_RELATIONS))}), got {relation!r}"
        )
    others = [c for c in candidates if c.index != anchor.index]
    tests: dict[str, Callable[[Candidate], bool]] = {
        "left_of": lambda c: c.image_x < anchor.image_x,
        "right_of": lambda c: c.image_x > anchor.image_x,
        "next_to": lambda c: True,
        "between": lambda c: True,
        "behind": lambda c: c.distance_m > anchor.distance_m,
        "in_front_of": lambda c: c.distance_m < anchor.distance_m,
        "above": lambda c: c.image_y < anchor.image_y,
        "below": lambda c: c.image_y > anchor.image_y,
    }
    test = tests[relation]
    kept = [c for c in others if test(c)]
    return sorted(kept, key=lambda c: math.dist(c.xyz_camera_m, anchor.xyz_camera_m))


def select(
    candidates: Sequence[Candidate],
    *,
    colors: Sequence[str] = (),
    relations: Sequence[str] = (),
    ordinal: int | None = None,
    ordinal_from: str | None = None,
    anchor: Candidate | None = None,
    anchor_relation: str | None = None,
    noun: str = "object",
) -> Selection:
    """Pick the candidate a referring expression means; raises RelationError if none can be."""
    notes: list[str] = []
    pool = list(candidates)
    if not pool:
        raise RelationError(f"expected at least one {noun} in the scene, got none")
    if colors:
        wanted = set(colors)
        seen = sorted({c.color or "unknown" for c in pool})
        pool = [c for c in pool if c.color in wanted]
        if not pool:
            raise RelationError(
                f"expected a {' or '.join(colors)} {noun}, got none among {len(candidates)} "
                f"(colours seen: {', '.join(seen)})"
            )
    if anchor is not None and anchor_relation is not None:
        pool = filter_by_anchor(pool, anchor, anchor_relation)
        if not pool:
            raise RelationError(
                f"expected a {noun} {anchor_relation.replace('_', ' ')} object {anchor.index}, "
                "got none"
            )
    unknown = [r for r in relations if r not in PICKER_RELATIONS]
    if unknown:
        raise RelationError(
            f"expected relations from {', '.join(sorted(PICKER_RELATIONS))}, got {unknown}"
        )
    rels = list(dict.fromkeys(relations))
    picker: str | None = None
    if ordinal_from is not None:
        if ordinal_from not in _FROM:
            raise RelationError(
                f"expected ordinal_from in {', '.join(sorted(_FROM))}, got {ordinal_from!r}"
            )
        picker = _FROM[ordinal_from]
        filters = rels
    else:
        strong = [r for r in rels if r not in _SIDE_WORDS]
        if strong:
            picker = strong[0]
            filters = [r for r in rels if r != picker]
        elif rels:
            picker = _SIDE_WORDS[rels[0]]
            filters = rels[1:]
        else:
            filters = []
    for rel in filters:
        pool = _half(pool, rel)
    if picker is None:
        if ordinal is not None:
            picker = "leftmost"
            notes.append("no direction given for the ordinal; counted from the left")
        elif anchor is not None or len(pool) == 1:
            return Selection(pool[0].index, tuple(notes))
        else:
            picker = "nearest"
            notes.append(
                f"{len(pool)} {noun}s match and no relation tells them apart; "
                "chose the nearest to the camera"
            )
    if picker == "middle":
        return _middle(pool, ordinal, noun, notes)
    ranked = order(pool, picker)
    k = (ordinal or 1) - 1
    if k < 0:
        raise RelationError(f"expected an ordinal >= 1, got {ordinal}")
    if k >= len(ranked):
        direction = f" from the {ordinal_from}" if ordinal_from else f" by '{picker}'"
        raise RelationError(
            f"expected at least {k + 1} matching {noun}s to take the {_ordinal_word(k + 1)}"
            f"{direction}, got {len(ranked)}"
        )
    tie = _tie_note(ranked, k, picker)
    if tie:
        notes.append(tie)
    return Selection(ranked[k].index, tuple(notes))


def _middle(pool: list[Candidate], ordinal: int | None, noun: str, notes: list[str]) -> Selection:
    """The median object in image x; with an even count the central one nearer the centre."""
    if ordinal is not None:
        notes.append("an ordinal with 'middle' is ignored")
    ranked = order(pool, "leftmost")
    n = len(ranked)
    if n % 2 == 1:
        if n == 1:
            notes.append(f"only one matching {noun}; it is the middle one")
        else:
            tie = _tie_note(ranked, n // 2, "leftmost")
            if tie:
                notes.append(tie)
        return Selection(ranked[n // 2].index, tuple(notes))
    centre = sum(c.image_x for c in ranked) / n
    a, b = ranked[n // 2 - 1], ranked[n // 2]
    chosen = a if abs(a.image_x - centre) <= abs(b.image_x - centre) else b
    notes.append(
        f"{n} matching {noun}s have no single middle one; chose object {chosen.index}, the "
        "central one nearer the group's centre"
    )
    return Selection(chosen.index, tuple(notes))
