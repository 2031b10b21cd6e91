"""SpatialBot's conversation template, image tokens and the Depth API turn (DESIGN.md §1).

Bunny conversation "bunny" (SeparatorStyle.TWO): system, then `USER: ... ASSISTANT: ...`
turns; separator `" "` after a user turn and `"<|endoftext|>"` after an assistant turn.

The Depth API answer is a new user turn in that same template (the reference repository has no
tool-loop code; this is the layout its multi-turn conversations use, and the one the paper's
dialogue shows: the model's turn ends at the call, the system answers, the model continues):

    ... ASSISTANT: <model text> Depth(0.51,0.40)<|endoftext|>USER: API: Depth(0.51,0.40)=875
    ASSISTANT: <model text continues>   (one line in the token stream, joined by a space)

so the text appended after a call is `API_TURN_PREFIX + "API: Depth(x,y)=<mm>" + " ASSISTANT:"`.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "API_TURN_PREFIX",
    "API_TURN_SUFFIX",
    "ASSISTANT_SEP",
    "DIRECT_ANSWER_SUFFIX",
    "GROUNDING_TEMPLATE",
    "IMAGE_SPLIT",
    "IMAGE_SPLIT_RGB_ONLY",
    "IMAGE_TOKEN_IDS",
    "SYSTEM_PROMPT",
    "api_answer_text",
    "api_turn",
    "build_prompt",
    "grounding_question",
    "join_prompt_ids",
]

SYSTEM_PROMPT = (
    "A chat between a curious user and an artificial intelligence assistant. The assistant "
    "gives helpful, detailed, and polite answers to the user's questions."
)
USER_SEP = " "  # conv_bunny.sep, after the system prompt and each user turn
ASSISTANT_SEP = "<|endoftext|>"  # conv_bunny.sep2, closes an assistant turn
IMAGE_SPLIT = "<image 1>\n<image 2>\n"
IMAGE_SPLIT_RGB_ONLY = "<image 1>\n"
IMAGE_TOKEN_IDS = (-201, -202)  # <image 1> (RGB), <image 2> (encoded depth)
GROUNDING_TEMPLATE = (
    "Please provide the bounding box coordinate of the object this sentence describes: {phrase}"
)
DIRECT_ANSWER_SUFFIX = "Answer directly from depth map."
API_TURN_PREFIX = ASSISTANT_SEP + "USER: "
API_TURN_SUFFIX = USER_SEP + "ASSISTANT:"


def build_prompt(question: str, with_depth: bool = True) -> str:
    """The full prompt: system, image tokens (RGB then depth), `question`, then `ASSISTANT:`."""
    images = IMAGE_SPLIT if with_depth else IMAGE_SPLIT_RGB_ONLY
    return f"{SYSTEM_PROMPT}{USER_SEP}USER: {images}{question}{USER_SEP}ASSISTANT:"


def grounding_question(phrase: str) -> str:
    """The reference's bounding-box question for an object phrase."""
    return GROUNDING_TEMPLATE.format(phrase=phrase.strip())


def join_prompt_ids(chunks: Sequence[Sequence[int]], with_depth: bool = True) -> list[int]:
    """Ids of the two prompt chunks joined around the image ids: chunk0 + [-201, -202] + chunk1."""
    if len(chunks) != 2:
        raise ValueError(
            f"expected the prompt split into 2 chunks around the images, got {len(chunks)}"
        )
    images = list(IMAGE_TOKEN_IDS if with_depth else IMAGE_TOKEN_IDS[:1])
    return [*chunks[0], *images, *chunks[1]]


def api_answer_text(call: str, depth_mm: float | None) -> str:
    """`API: Depth(x,y)=<mm>` (integer mm), or `=unknown` where the depth map has no data."""
    value = "unknown" if depth_mm is None else str(round(depth_mm))
    return f"API: {call}={value}"


def api_turn(answer_texts: Sequence[str]) -> str:
    """Text appended after the model's call(s): close its turn, the API's user turn, ASSISTANT:."""
    return API_TURN_PREFIX + " ".join(answer_texts) + API_TURN_SUFFIX
