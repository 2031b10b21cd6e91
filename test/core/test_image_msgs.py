"""sensor_msgs/Image <-> numpy on rosbags message classes (rclpy's have the same field names)."""

from __future__ import annotations

import array
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spatialbot_ros.core import depth_codec
from spatialbot_ros.core.errors import (
    InvalidImageError,
    SizeMismatchError,
    UnsupportedEncodingError,
)
from spatialbot_ros.core.image_msgs import (
    ENCODINGS,
    compressed_image_to_rgb,
    encoding_layout,
    image_to_depth_mm,
    image_to_numpy,
    image_to_rgb,
    make_image,
    numpy_to_image_fields,
)

SAMPLE_BAG = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "rosbag2_jazzy_sample"


def random_array(encoding: str, height: int = 6, width: int = 5, seed: int = 0) -> np.ndarray:
    """A random array in the layout of `encoding`."""
    rng = np.random.default_rng(seed)
    dtype, channels = encoding_layout(encoding)
    shape = (height, width) if channels == 1 else (height, width, channels)
    if dtype.kind == "f":
        return rng.uniform(-10.0, 10.0, size=shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, int(info.max) + 1, size=shape, dtype=dtype)


def raw_image(
    array_: np.ndarray,
    encoding: str,
    pad_bytes: int = 0,
    big_endian: bool = False,
    data_type: str = "ndarray",
) -> SimpleNamespace:
    """An Image-like object built by hand (not by the code under test), with row padding."""
    stored = array_.astype(array_.dtype.newbyteorder(">" if big_endian else "<"))
    rows = stored.reshape(array_.shape[0], -1).view(np.uint8)
    padded = np.zeros((rows.shape[0], rows.shape[1] + pad_bytes), dtype=np.uint8)
    padded[:, : rows.shape[1]] = rows
    raw = padded.tobytes()
    data: Any = {
        "ndarray": np.frombuffer(bytearray(raw), dtype=np.uint8),
        "bytes": raw,
        "bytearray": bytearray(raw),
        "memoryview": memoryview(raw),
        "array": array.array("B", raw),
        "list": list(raw),
    }[data_type]
    return SimpleNamespace(
        height=array_.shape[0],
        width=array_.shape[1],
        encoding=encoding,
        is_bigendian=int(big_endian),
        step=padded.shape[1],
        data=data,
    )


# --- reading --------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", list(ENCODINGS))
@pytest.mark.parametrize("pad_bytes", [0, 3, 8])
def test_image_to_numpy_every_encoding_with_padding(encoding: str, pad_bytes: int) -> None:
    expected = random_array(encoding, seed=pad_bytes)
    out = image_to_numpy(raw_image(expected, encoding, pad_bytes))
    assert out.dtype == expected.dtype
    assert out.dtype.isnative
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("encoding", ["mono16", "16UC1", "16SC1", "32FC1"])
@pytest.mark.parametrize("pad_bytes", [0, 5])
def test_big_endian_data_is_swapped_to_native(encoding: str, pad_bytes: int) -> None:
    expected = random_array(encoding, seed=7)
    msg = raw_image(expected, encoding, pad_bytes, big_endian=True)
    out = image_to_numpy(msg)
    assert out.dtype == expected.dtype.newbyteorder("=")
    assert out.dtype.isnative
    np.testing.assert_array_equal(out, expected)


def test_big_endian_flag_is_ignored_for_8_bit_data() -> None:
    expected = random_array("rgb8")
    msg = raw_image(expected, "rgb8")
    msg.is_bigendian = 1
    out = image_to_numpy(msg)
    np.testing.assert_array_equal(out, expected)
    assert np.shares_memory(out, msg.data)


@pytest.mark.parametrize("data_type", ["ndarray", "bytes", "bytearray", "memoryview", "array"])
@pytest.mark.parametrize("encoding", ["rgb8", "16UC1", "32FC1"])
def test_image_to_numpy_is_zero_copy_for_native_layouts(encoding: str, data_type: str) -> None:
    """Stated requirement: Image -> numpy at 640x480 without a copy where the layout allows."""
    expected = random_array(encoding, height=480, width=640)
    msg = raw_image(expected, encoding, data_type=data_type)
    out = image_to_numpy(msg)
    np.testing.assert_array_equal(out, expected)
    assert np.shares_memory(out, np.frombuffer(msg.data, dtype=np.uint8))
    assert not out.flags.owndata


@pytest.mark.parametrize("encoding", ["rgb8", "mono16", "32FC1"])
def test_padded_rows_are_a_strided_view_not_a_copy(encoding: str) -> None:
    expected = random_array(encoding, height=48, width=64)
    msg = raw_image(expected, encoding, pad_bytes=3)  # odd padding: unaligned rows for 16/32 bit
    out = image_to_numpy(msg)
    np.testing.assert_array_equal(out, expected)
    assert np.shares_memory(out, msg.data)
    assert out.strides[0] == msg.step


def test_big_endian_16_bit_needs_a_copy() -> None:
    expected = random_array("16UC1")
    msg = raw_image(expected, "16UC1", big_endian=sys.byteorder == "little")
    out = image_to_numpy(msg)
    np.testing.assert_array_equal(out, expected)
    assert not np.shares_memory(out, msg.data)


@pytest.mark.parametrize("data_type", ["bytes", "bytearray", "memoryview", "array", "list"])
def test_every_data_container_gives_the_same_image(data_type: str) -> None:
    expected = random_array("bgra8")
    np.testing.assert_array_equal(
        image_to_numpy(raw_image(expected, "bgra8", 2, data_type=data_type)), expected
    )


def test_strided_1d_data_is_copied_not_refused() -> None:
    expected = random_array("mono8")
    msg = raw_image(expected, "mono8")
    doubled = np.zeros(msg.data.size * 2, dtype=np.uint8)
    doubled[::2] = msg.data
    msg.data = doubled[::2]
    np.testing.assert_array_equal(image_to_numpy(msg), expected)


def test_longer_data_than_step_times_height_is_tolerated() -> None:
    expected = random_array("mono8")
    msg = raw_image(expected, "mono8", data_type="bytes")
    msg.data = msg.data + b"\x00" * 11
    np.testing.assert_array_equal(image_to_numpy(msg), expected)


def test_rosbags_message_round_trip_through_cdr(
    typestore: Any, image_cls: Any, header: Any
) -> None:
    expected = random_array("16UC1", height=12, width=9)
    msg = make_image(image_cls, header, expected, "16UC1")
    raw = typestore.serialize_cdr(msg, image_cls.__msgtype__)
    back = typestore.deserialize_cdr(raw, image_cls.__msgtype__)
    out = image_to_depth_mm(back)
    np.testing.assert_array_equal(out, expected)
    assert np.shares_memory(out, back.data)
    assert back.header.frame_id == "camera_color_optical_frame"


# --- image_to_rgb ---------------------------------------------------------------------------


@pytest.fixture(params=["opencv", "numpy"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a conversion with OpenCV and with the numpy-only fallback."""
    if request.param == "numpy":
        monkeypatch.setattr(depth_codec, "_CV2_STATE", [None])
    return str(request.param)


@pytest.mark.parametrize(
    ("encoding", "to_rgb"),
    [
        ("rgb8", lambda a: a),
        ("bgr8", lambda a: a[..., ::-1]),
        ("rgba8", lambda a: a[..., :3]),
        ("bgra8", lambda a: a[..., 2::-1]),
        ("mono8", lambda a: np.repeat(a[..., None], 3, axis=2)),
        ("mono16", lambda a: np.repeat((a >> 8).astype(np.uint8)[..., None], 3, axis=2)),
    ],
)
def test_image_to_rgb(encoding: str, to_rgb: Any, backend: str) -> None:
    source = random_array(encoding, height=7, width=11)
    rgb = image_to_rgb(raw_image(source, encoding, pad_bytes=4))
    assert rgb.shape == (7, 11, 3)
    assert rgb.dtype == np.uint8
    np.testing.assert_array_equal(rgb, to_rgb(source))


def test_image_to_rgb_rgb8_is_a_view() -> None:
    source = random_array("rgb8", height=480, width=640)
    msg = raw_image(source, "rgb8")
    assert np.shares_memory(image_to_rgb(msg), msg.data)


@pytest.mark.parametrize("encoding", ["16UC1", "32FC1", "8UC3", "16SC1"])
def test_image_to_rgb_refuses_depth_and_ambiguous_encodings(encoding: str) -> None:
    msg = raw_image(random_array(encoding), encoding)
    with pytest.raises(UnsupportedEncodingError, match="colour encoding"):
        image_to_rgb(msg)


def test_bayer_goes_through_rosbags_image_with_padding_removed() -> None:
    from rosbags.image import image_to_cvimage

    bayer = np.random.default_rng(5).integers(0, 256, size=(8, 10), dtype=np.uint8)
    padded = raw_image(bayer, "bayer_rggb8", pad_bytes=6)
    unpadded = raw_image(bayer, "bayer_rggb8")
    expected = image_to_cvimage(unpadded, "rgb8")  # type: ignore[arg-type]
    np.testing.assert_array_equal(image_to_rgb(padded), expected)


def test_bayer_with_short_step_is_rejected() -> None:
    msg = raw_image(np.zeros((4, 6), dtype=np.uint8), "bayer_rggb8")
    msg.step = 5
    with pytest.raises(InvalidImageError, match="step is shorter than a row"):
        image_to_rgb(msg)


# --- image_to_depth_mm ----------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["16UC1", "mono16"])
def test_depth_mm_from_16_bit_is_the_data_itself(encoding: str) -> None:
    depth = random_array(encoding, height=480, width=640)
    msg = raw_image(depth, encoding)
    out = image_to_depth_mm(msg)
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out, depth)
    assert np.shares_memory(out, msg.data)


def test_depth_mm_from_32fc1_metres() -> None:
    depth_m = np.array([[0.0, 0.5, 1.2344], [np.nan, np.inf, 70.0]], dtype=np.float32)
    out = image_to_depth_mm(raw_image(depth_m, "32FC1", pad_bytes=2))
    assert out.tolist() == [[0, 500, 1234], [0, 0, 0]]
    with pytest.raises(depth_codec.DepthRangeError):
        image_to_depth_mm(raw_image(depth_m, "32FC1"), invalid="reject")


@pytest.mark.parametrize("encoding", ["rgb8", "mono8", "16SC1"])
def test_depth_mm_refuses_non_depth_encodings(encoding: str) -> None:
    with pytest.raises(UnsupportedEncodingError, match="depth encoding"):
        image_to_depth_mm(raw_image(random_array(encoding), encoding))


# --- bad messages: each names its problem ---------------------------------------------------


@pytest.mark.parametrize("encoding", ["yuv444_12bit", "", "RGB8", "jpeg"])
def test_unlisted_encoding(encoding: str) -> None:
    msg = raw_image(np.zeros((2, 2), dtype=np.uint8), encoding)
    with pytest.raises(UnsupportedEncodingError, match=repr(encoding)):
        image_to_numpy(msg)
    with pytest.raises(UnsupportedEncodingError, match=repr(encoding)):
        image_to_rgb(msg)


def test_unsupported_encoding_is_an_invalid_image_error() -> None:
    assert issubclass(UnsupportedEncodingError, InvalidImageError)


@pytest.mark.parametrize(("encoding", "step"), [("rgb8", 14), ("16UC1", 9), ("32FC1", 0)])
def test_step_shorter_than_a_row(encoding: str, step: int) -> None:
    msg = raw_image(random_array(encoding, width=5), encoding)
    msg.step = step
    with pytest.raises(InvalidImageError, match="step is shorter than a row") as info:
        image_to_numpy(msg)
    assert f"got {step}" in str(info.value)


@pytest.mark.parametrize("missing", [1, 100])
def test_data_shorter_than_step_times_height(missing: int) -> None:
    msg = raw_image(random_array("rgb8", height=10, width=10), "rgb8", data_type="bytes")
    msg.data = msg.data[:-missing]
    with pytest.raises(SizeMismatchError, match="data is shorter than step \\* height") as info:
        image_to_numpy(msg)
    assert f"got {300 - missing}" in str(info.value)


def test_data_short_only_because_of_padding() -> None:
    msg = raw_image(random_array("mono8", height=4, width=4), "mono8", pad_bytes=4)
    msg.data = msg.data[:-4]  # last row without its padding: still not what step promises
    with pytest.raises(SizeMismatchError):
        image_to_numpy(msg)


@pytest.mark.parametrize(("height", "width"), [(0, 4), (4, 0), (0, 0)])
def test_empty_image(height: int, width: int) -> None:
    msg = SimpleNamespace(
        height=height, width=width, encoding="rgb8", is_bigendian=0, step=width * 3, data=b""
    )
    with pytest.raises(InvalidImageError, match="image is empty"):
        image_to_numpy(msg)


@pytest.mark.parametrize(
    "data",
    ["abc", {"a": 1}, [1, 2, 300], [0.5] * 12, np.zeros((2, 6), dtype=np.uint8)[:, ::2]],
    ids=["str", "dict", "byte-over-255", "floats", "strided-array"],
)
def test_unreadable_data(data: Any) -> None:
    msg = SimpleNamespace(height=2, width=2, encoding="rgb8", is_bigendian=0, step=6, data=data)
    with pytest.raises(InvalidImageError, match="data"):
        image_to_numpy(msg)


# --- writing --------------------------------------------------------------------------------


def cv_bridge_fields(array_: np.ndarray, encoding: str) -> dict[str, Any]:
    """What cv_bridge's cv2_to_imgmsg writes (its rules restated, not its code)."""
    data = array_.tobytes()
    return {
        "height": array_.shape[0],
        "width": array_.shape[1],
        "encoding": encoding,
        "is_bigendian": int(array_.dtype.byteorder == ">"),
        "step": len(data) // array_.shape[0],
        "data": data,
    }


@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_numpy_to_image_fields_matches_cv_bridge(encoding: str) -> None:
    source = random_array(encoding, height=5, width=7, seed=3)
    assert numpy_to_image_fields(source, encoding) == cv_bridge_fields(source, encoding)


def test_fields_for_non_contiguous_and_big_endian_arrays() -> None:
    base = random_array("16UC1", height=10, width=12)
    strided = base[::2, ::3]
    assert numpy_to_image_fields(strided, "16UC1") == cv_bridge_fields(strided, "16UC1")
    big = base.astype(">u2")
    fields = numpy_to_image_fields(big, "16UC1")
    assert fields == cv_bridge_fields(big, "16UC1")
    assert fields["is_bigendian"] == 1
    np.testing.assert_array_equal(image_to_numpy(SimpleNamespace(**fields)), base)


def test_single_channel_accepts_hxwx1() -> None:
    source = random_array("mono8")
    fields = numpy_to_image_fields(source[..., None], "mono8")
    assert fields == cv_bridge_fields(source, "mono8")


@pytest.mark.parametrize(
    ("dtype", "channels", "name"),
    [
        (np.uint8, 1, "8UC1"),
        (np.uint8, 3, "8UC3"),
        (np.uint16, 1, "16UC1"),
        (np.float32, 1, "32FC1"),
    ],
)
def test_passthrough_picks_the_generic_encoding(dtype: type, channels: int, name: str) -> None:
    shape = (3, 4) if channels == 1 else (3, 4, channels)
    assert numpy_to_image_fields(np.zeros(shape, dtype=dtype), "passthrough")["encoding"] == name


def test_passthrough_without_a_listed_encoding() -> None:
    with pytest.raises(UnsupportedEncodingError, match="float64"):
        numpy_to_image_fields(np.zeros((3, 4), dtype=np.float64), "passthrough")


@pytest.mark.parametrize(
    ("array_", "encoding", "match"),
    [
        (
            np.zeros((4, 4, 3), dtype=np.uint16),
            "rgb8",
            "rgb8 needs a HxWx3 uint8 array, got 4x4x3 uint16",
        ),
        (np.zeros((4, 4), dtype=np.uint8), "rgb8", "HxWx3 uint8 array, got 4x4 uint8"),
        (np.zeros((4, 4, 4), dtype=np.uint8), "bgr8", "got 4x4x4 uint8"),
        (np.zeros((4, 4, 3), dtype=np.uint8), "16UC1", "16UC1 needs a HxW uint16"),
        (np.zeros((4, 4), dtype=np.float64), "32FC1", "got 4x4 float64"),
        (np.zeros((4, 4), dtype=np.int16), "mono16", "uint16"),
    ],
    ids=[
        "u16-as-rgb8",
        "2d-as-rgb8",
        "4ch-as-bgr8",
        "rgb-as-16UC1",
        "f64-as-32FC1",
        "i16-as-mono16",
    ],
)
def test_numpy_to_image_fields_wrong_dtype_or_shape(
    array_: np.ndarray, encoding: str, match: str
) -> None:
    with pytest.raises(InvalidImageError, match=match):
        numpy_to_image_fields(array_, encoding)


@pytest.mark.parametrize(
    "array_", [np.zeros((4,), dtype=np.uint8), np.zeros((1, 2, 3, 4), dtype=np.uint8)]
)
def test_numpy_to_image_fields_wrong_ndim(array_: np.ndarray) -> None:
    with pytest.raises(InvalidImageError, match="HxW or HxWxC"):
        numpy_to_image_fields(array_, "mono8")


def test_numpy_to_image_fields_rejects_non_arrays_and_empty_and_unknown() -> None:
    with pytest.raises(InvalidImageError, match="numpy array, got list"):
        numpy_to_image_fields([[1, 2]], "mono8")  # type: ignore[arg-type]
    with pytest.raises(InvalidImageError, match="image is empty"):
        numpy_to_image_fields(np.zeros((0, 5, 3), dtype=np.uint8), "rgb8")
    with pytest.raises(UnsupportedEncodingError, match="'rgb16'"):
        numpy_to_image_fields(np.zeros((2, 2, 3), dtype=np.uint16), "rgb16")


def test_make_image_rosbags_gets_ndarray_data(image_cls: Any, header: Any) -> None:
    source = random_array("bgr8", height=4, width=6)
    msg = make_image(image_cls, header, source, "bgr8")
    assert isinstance(msg, image_cls)
    assert isinstance(msg.data, np.ndarray)
    assert msg.data.dtype == np.uint8
    assert (msg.height, msg.width, msg.step, msg.encoding) == (4, 6, 18, "bgr8")
    assert msg.header is header
    np.testing.assert_array_equal(image_to_rgb(msg), source[..., ::-1])


def test_make_image_rclpy_like_gets_array_array(rclpy_like_image_cls: Any, header: Any) -> None:
    source = random_array("32FC1", height=4, width=6)
    msg = make_image(rclpy_like_image_cls, header, source, "32FC1")
    assert isinstance(msg.data, array.array)
    out = image_to_numpy(msg)
    np.testing.assert_array_equal(out, source)
    assert np.shares_memory(out, np.frombuffer(msg.data, dtype=np.uint8))


@settings(max_examples=60, deadline=None)
@given(
    encoding=st.sampled_from(list(ENCODINGS)),
    height=st.integers(1, 9),
    width=st.integers(1, 9),
    pad_bytes=st.integers(0, 9),
    big_endian=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_property_write_pad_read_round_trip(
    *, encoding: str, height: int, width: int, pad_bytes: int, big_endian: bool, seed: int
) -> None:
    source = random_array(encoding, height, width, seed)
    fields = numpy_to_image_fields(source, encoding)
    np.testing.assert_array_equal(image_to_numpy(SimpleNamespace(**fields)), source)
    padded = raw_image(source, encoding, pad_bytes, big_endian)
    np.testing.assert_array_equal(image_to_numpy(padded), source)


# --- CompressedImage ------------------------------------------------------------------------


def test_compressed_png_decodes_to_rgb(typestore: Any, header: Any) -> None:
    import cv2

    rgb = random_array("rgb8", height=16, width=20)
    ok, png = cv2.imencode(".png", rgb[..., ::-1])
    assert ok
    cls = typestore.types["sensor_msgs/msg/CompressedImage"]
    msg = cls(header=header, format="png", data=png.reshape(-1))
    np.testing.assert_array_equal(compressed_image_to_rgb(msg), rgb)


@pytest.mark.parametrize("payload", [b"", b"not an image at all"])
def test_compressed_garbage_is_rejected(payload: bytes) -> None:
    msg = SimpleNamespace(format="jpeg", data=payload)
    with pytest.raises(InvalidImageError, match="jpeg/png payload"):
        compressed_image_to_rgb(msg)


# --- a bag recorded by real ROS 2 -----------------------------------------------------------


@pytest.mark.skipif(not SAMPLE_BAG.exists(), reason="../shared/data sample bag not present")
def test_sample_bag_images_convert_without_copy(typestore: Any) -> None:
    from rosbags.highlevel import AnyReader

    with AnyReader([SAMPLE_BAG / "sample_mcap_zstd"], default_typestore=typestore) as reader:
        wanted = {
            c.topic: c
            for c in reader.connections
            if c.topic.endswith("image_raw") and c.msgtype == "sensor_msgs/msg/Image"
        }
        assert wanted, "the sample bag has image topics"
        seen = set()
        for connection, _, raw in reader.messages(connections=list(wanted.values())):
            msg = reader.deserialize(raw, connection.msgtype)
            if msg.encoding == "rgb8":
                out = image_to_rgb(msg)
                assert out.shape == (msg.height, msg.width, 3)
            else:
                out = image_to_depth_mm(msg)
                assert out.shape == (msg.height, msg.width)
                assert int(out.max()) > 0
            assert np.shares_memory(out, msg.data)
            seen.add(msg.encoding)
    assert seen == {"rgb8", "16UC1"}
