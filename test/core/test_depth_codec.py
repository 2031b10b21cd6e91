"""SpatialBot depth codec: bit-exact with the reference formula, lossless, explicit range policy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from spatialbot_ros.core import depth_codec
from spatialbot_ros.core.depth_codec import (
    MAX_DEPTH_MM,
    decode_depth,
    depth_m_to_mm,
    depth_to_mm,
    encode_depth,
)
from spatialbot_ros.core.errors import DepthRangeError, InvalidImageError

ALL_UINT16 = np.arange(65536, dtype=np.uint16).reshape(256, 256)


def reference_encode(depth_mm: np.ndarray) -> np.ndarray:
    """DESIGN.md §1 written out plainly: // and % on int64, the uint8 wrap of G as % 256."""
    d = depth_mm.astype(np.int64)
    r = (d // 1024) * 4
    g = ((d // 32) * 8) % 256
    b = (d % 32) * 8
    return np.stack([r, g, b], axis=-1).astype(np.uint8)


def reference_decode(image: np.ndarray) -> np.ndarray:
    """d = (R/4)*1024 + (G/8)*32 + B/8 in int64."""
    rgb = image.astype(np.int64)
    return (rgb[..., 0] // 4) * 1024 + (rgb[..., 1] // 8) * 32 + rgb[..., 2] // 8


@pytest.fixture(params=["opencv", "numpy"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with the OpenCV interleave and with the numpy-only fallback."""
    if request.param == "numpy":
        monkeypatch.setattr(depth_codec, "_CV2_STATE", [None])
    else:
        assert depth_codec._cv2() is not None, "OpenCV is installed in this environment"
    return str(request.param)


def test_encode_equals_reference_for_every_uint16(backend: str) -> None:
    np.testing.assert_array_equal(encode_depth(ALL_UINT16), reference_encode(ALL_UINT16))


def test_decode_inverts_encode_for_every_uint16(backend: str) -> None:
    decoded = decode_depth(encode_depth(ALL_UINT16))
    assert decoded.dtype == np.uint16
    np.testing.assert_array_equal(decoded, ALL_UINT16)


def test_decode_equals_reference_decode_formula(backend: str) -> None:
    encoded = reference_encode(ALL_UINT16)
    np.testing.assert_array_equal(decode_depth(encoded), reference_decode(encoded))
    np.testing.assert_array_equal(decode_depth(encoded, strict=False), ALL_UINT16)


def test_g_channel_wraps_like_the_reference() -> None:
    # 1024 mm: d // 32 = 32, times 8 = 256 wraps to 0 in uint8.
    assert encode_depth(np.array([[1024, 1023, 65535]], dtype=np.uint16)).tolist() == [
        [[4, 0, 0], [0, 248, 248], [252, 248, 248]]
    ]


def test_encode_output_layout() -> None:
    out = encode_depth(np.zeros((3, 5), dtype=np.uint16))
    assert out.shape == (3, 5, 3)
    assert out.dtype == np.uint8
    assert out.flags.c_contiguous


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (3, 3), (7, 1), (5, 9), (480, 640)])
def test_round_trip_odd_shapes_both_backends(shape: tuple[int, int], backend: str) -> None:
    # Sizes that are not multiples of 8 pixels exercise the strict check's tail path.
    rng = np.random.default_rng(sum(shape))
    depth = rng.integers(0, 65536, size=shape, dtype=np.uint16)
    encoded = encode_depth(depth)
    np.testing.assert_array_equal(encoded, reference_encode(depth))
    np.testing.assert_array_equal(decode_depth(encoded), depth)


def test_non_contiguous_inputs() -> None:
    rng = np.random.default_rng(3)
    depth = rng.integers(0, 65536, size=(40, 60), dtype=np.uint16)
    view = depth[::2, 1::3]
    np.testing.assert_array_equal(encode_depth(view), reference_encode(view))
    encoded = encode_depth(depth)
    np.testing.assert_array_equal(decode_depth(encoded[::3, ::2]), depth[::3, ::2])
    np.testing.assert_array_equal(decode_depth(np.asfortranarray(encoded)), depth)


def test_big_endian_and_uint8_depth_encode_by_value() -> None:
    depth = np.array([[0, 1, 1024, 65535]], dtype=np.uint16)
    np.testing.assert_array_equal(encode_depth(depth.astype(">u2")), reference_encode(depth))
    small = np.array([[0, 7, 255]], dtype=np.uint8)
    np.testing.assert_array_equal(encode_depth(small), reference_encode(small))


# --- out-of-range policy --------------------------------------------------------------------

BAD_VALUES = {
    "nan": np.nan,
    "+inf": np.inf,
    "-inf": -np.inf,
    "negative": -5.0,
    "65536": 65536.0,
    "huge": 1e12,
}


@pytest.mark.parametrize("kind", list(BAD_VALUES))
def test_no_data_policy_maps_unencodable_values_to_zero(kind: str) -> None:
    depth = np.array([[BAD_VALUES[kind], 500.0, 65535.0]], dtype=np.float64)
    decoded = decode_depth(encode_depth(depth, invalid="no_data"))
    assert decoded.tolist() == [[0, 500, 65535]]


@pytest.mark.parametrize("kind", list(BAD_VALUES))
def test_reject_policy_raises_and_names_the_kind(kind: str) -> None:
    depth = np.array([[BAD_VALUES[kind], 500.0]], dtype=np.float64)
    with pytest.raises(DepthRangeError, match=r"expected 0\.\.65535 mm") as info:
        encode_depth(depth, invalid="reject")
    expected = {
        "nan": "NaN 1",
        "+inf": "inf 1",
        "-inf": "inf 1",
        "negative": "negative 1",
        "65536": ">= 65536 mm 1",
        "huge": ">= 65536 mm 1",
    }[kind]
    assert expected in str(info.value)
    assert str(info.value).startswith("depth has 1 values")


def test_values_above_range_never_wrap() -> None:
    # The reference would turn 65536 + 700 into 700 mm: a wrong, near depth.
    depth = np.array([[65536 + 700, 70000, 131072]], dtype=np.int64)
    assert decode_depth(encode_depth(depth)).tolist() == [[0, 0, 0]]
    with pytest.raises(DepthRangeError):
        encode_depth(depth, invalid="reject")


def test_in_range_float_and_int_inputs_round_to_nearest_mm() -> None:
    depth = np.array([[0.4, 0.6, 1.5, 65534.6]], dtype=np.float32)
    assert decode_depth(encode_depth(depth, invalid="reject")).tolist() == [[0, 1, 2, 65535]]
    ints = np.array([[0, 65535]], dtype=np.int32)
    assert decode_depth(encode_depth(ints, invalid="reject")).tolist() == [[0, 65535]]


def test_unknown_policy_is_rejected_even_for_clean_data() -> None:
    with pytest.raises(ValueError, match="'no_data' or 'reject'"):
        encode_depth(np.ones((2, 2), dtype=np.float32), invalid="clamp")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'no_data' or 'reject'"):
        depth_to_mm(np.ones((2, 2), dtype=np.float32), invalid="wrap")  # type: ignore[arg-type]


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((4,), dtype=np.uint16),
        np.zeros((2, 2, 1), dtype=np.uint16),
        [[1, 2], [3, 4]],
    ],
    ids=["1d", "3d", "list"],
)
def test_encode_rejects_wrong_shape(bad: object) -> None:
    with pytest.raises(InvalidImageError, match="HxW"):
        encode_depth(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("dtype", [np.bool_, np.complex64, np.object_])
def test_encode_rejects_wrong_dtype(dtype: type) -> None:
    with pytest.raises(InvalidImageError, match="numeric"):
        encode_depth(np.zeros((2, 2), dtype=dtype))


def test_encode_rejects_empty() -> None:
    with pytest.raises(InvalidImageError, match="empty"):
        encode_depth(np.zeros((0, 4), dtype=np.uint16))


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (np.zeros((2, 2), dtype=np.uint8), "HxWx3"),
        (np.zeros((2, 2, 4), dtype=np.uint8), "HxWx3"),
        (np.zeros((2, 2, 3), dtype=np.uint16), "uint8"),
        (np.zeros((0, 2, 3), dtype=np.uint8), "empty"),
    ],
    ids=["2d", "4ch", "uint16", "empty"],
)
def test_decode_rejects_bad_arrays(bad: np.ndarray, match: str) -> None:
    with pytest.raises(InvalidImageError, match=match):
        decode_depth(bad)


@pytest.mark.parametrize(("channel", "value"), [(0, 1), (0, 2), (0, 255), (1, 4), (2, 1)])
@pytest.mark.parametrize("position", [0, 37, 99])  # in the 8-pixel words and in the tail
def test_decode_strict_rejects_bits_the_encoder_never_sets(
    channel: int, value: int, position: int
) -> None:
    image = encode_depth(np.full((10, 10), 1234, dtype=np.uint16))
    image.reshape(-1, 3)[position, channel] = value
    with pytest.raises(InvalidImageError, match="not a SpatialBot depth image"):
        decode_depth(image)


@pytest.mark.parametrize("position", [0, 1000, 4095, 4100, 4899])
@pytest.mark.parametrize("channel", [0, 1, 2])
def test_strict_check_covers_every_region_of_a_large_image(position: int, channel: int) -> None:
    # 70x70 px: the first 4096 px are OR-folded in rows of 256 word triples, the next 800 px
    # are reduced as leftover words, the last 4 px form the byte tail.
    image = encode_depth(np.full((70, 70), 40000, dtype=np.uint16))
    image.reshape(-1, 3)[position, channel] |= 2
    with pytest.raises(InvalidImageError, match="not a SpatialBot depth image"):
        decode_depth(image)


def test_strict_check_allows_bits_the_encoder_does_set() -> None:
    depth = np.random.default_rng(9).integers(0, 65536, size=(70, 70), dtype=np.uint16)
    np.testing.assert_array_equal(decode_depth(encode_depth(depth)), depth)


def test_decode_lenient_ignores_stray_low_bits() -> None:
    depth = np.array([[0, 1, 1024, 40000, 65535]], dtype=np.uint16)
    noisy = encode_depth(depth) | np.array([3, 7, 7], dtype=np.uint8)
    np.testing.assert_array_equal(decode_depth(noisy, strict=False), depth)


# --- unit conversion ------------------------------------------------------------------------


def test_depth_m_to_mm_rounds_and_maps_nan_to_no_data() -> None:
    depth_m = np.array([[0.0, 0.1234, 1.0, np.nan, 70.0, -0.5]], dtype=np.float32)
    assert depth_m_to_mm(depth_m).tolist() == [[0, 123, 1000, 0, 0, 0]]
    with pytest.raises(DepthRangeError):
        depth_m_to_mm(depth_m, invalid="reject")


def test_depth_to_mm_scales() -> None:
    raw = np.array([[1, 2, 1000]], dtype=np.uint16)
    assert depth_to_mm(raw, scale_m=0.0001).tolist() == [[0, 0, 100]]  # 0.1 mm units
    assert depth_to_mm(raw, scale_m=0.01).tolist() == [[10, 20, 10000]]
    same = depth_to_mm(raw)
    assert same is raw or np.shares_memory(same, raw)  # already mm: no copy


@pytest.mark.parametrize("scale", [0.0, -1.0, float("nan"), float("inf")])
def test_depth_to_mm_rejects_bad_scale(scale: float) -> None:
    with pytest.raises(ValueError, match="scale_m"):
        depth_to_mm(np.ones((2, 2), dtype=np.uint16), scale_m=scale)


def test_depth_to_mm_rejects_non_numeric_and_wrong_shape() -> None:
    with pytest.raises(InvalidImageError, match="numeric"):
        depth_to_mm(np.zeros((2, 2), dtype=np.bool_))
    with pytest.raises(InvalidImageError, match="HxW"):
        depth_to_mm(np.zeros((2, 2, 2), dtype=np.float32))


# --- properties -----------------------------------------------------------------------------

depth_maps = hnp.arrays(
    np.uint16,
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=24),
    elements=st.integers(0, MAX_DEPTH_MM),
)


@settings(max_examples=150, deadline=None)
@given(depth_maps)
def test_property_round_trip_and_reference(depth: np.ndarray) -> None:
    encoded = encode_depth(depth)
    np.testing.assert_array_equal(encoded, reference_encode(depth))
    np.testing.assert_array_equal(decode_depth(encoded), depth)


@settings(max_examples=150, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=12),
        elements=st.floats(allow_nan=True, allow_infinity=True, width=64),
    )
)
def test_property_no_data_policy_never_wraps(depth: np.ndarray) -> None:
    decoded = decode_depth(encode_depth(depth)).astype(np.int64)
    with np.errstate(invalid="ignore"):
        rounded = np.rint(depth)
        encodable = np.isfinite(rounded) & (rounded >= 0) & (rounded <= MAX_DEPTH_MM)
    np.testing.assert_array_equal(decoded[~encodable], 0)
    np.testing.assert_array_equal(decoded[encodable], rounded[encodable].astype(np.int64))


@settings(max_examples=100, deadline=None)
@given(
    hnp.arrays(
        np.uint8,
        st.tuples(st.integers(1, 9), st.integers(1, 9), st.just(3)),
        elements=st.integers(0, 255),
    )
)
def test_property_lenient_decode_matches_reference_and_strict_agrees(image: np.ndarray) -> None:
    np.testing.assert_array_equal(decode_depth(image, strict=False), reference_decode(image))
    clean = not ((image[..., 0] % 4).any() or (image[..., 1:] % 8).any())
    if clean:
        np.testing.assert_array_equal(decode_depth(image), reference_decode(image))
    else:
        with pytest.raises(InvalidImageError):
            decode_depth(image)


def test_conversions_leave_the_caller_array_untouched() -> None:
    depth_m = np.array([[np.nan, 1.2, -2.0, 80.0]], dtype=np.float64)
    before = depth_m.copy()
    depth_m_to_mm(depth_m)
    depth_to_mm(depth_m, scale_m=1.0)
    encode_depth(depth_m * 1000.0)
    encode_depth(depth_m)
    np.testing.assert_array_equal(depth_m, before)
