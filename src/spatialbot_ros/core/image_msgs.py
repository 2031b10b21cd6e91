"""sensor_msgs/Image <-> numpy, for any object with the ROS field names (rclpy or rosbags).

Reading honours `step` (row padding) and `is_bigendian`, and returns a view of the message's
buffer, not a copy, whenever the bytes can be used as they are (native byte order; padding is
skipped with strides).  Such a view shares memory with `msg.data`: copy it before writing.
Writing produces exactly what cv_bridge's `cv2_to_imgmsg` does: step = width * channels *
itemsize, `is_bigendian` as the array's byte order, data = the C-order bytes.

Hand-written for the encodings below because rosbags-image ignores `step` (padded rows come
out sheared), reports a short buffer as a bare numpy TypeError and imports OpenCV at import
time.  Encodings outside the table (Bayer, YUV) are handed to rosbags-image, lazily, by
`image_to_rgb`; `compressed_image_to_rgb` decodes CompressedImage with OpenCV directly.
"""

from __future__ import annotations

import array
import dataclasses
import sys
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from spatialbot_ros.core.depth_codec import InvalidPolicy, _cv2, depth_m_to_mm
from spatialbot_ros.core.errors import (
    InvalidImageError,
    SizeMismatchError,
    UnsupportedEncodingError,
)

__all__ = [
    "COLOR_ENCODINGS",
    "DEPTH_ENCODINGS",
    "ENCODINGS",
    "EncodingLayout",
    "compressed_image_to_rgb",
    "encoding_layout",
    "image_to_depth_mm",
    "image_to_numpy",
    "image_to_rgb",
    "make_image",
    "numpy_to_image_fields",
]


class EncodingLayout(NamedTuple):
    """How one pixel of an encoding is stored: numpy dtype (native order) and channel count."""

    dtype: np.dtype[Any]
    channels: int


_U8 = np.dtype(np.uint8)
_U16 = np.dtype(np.uint16)
_I16 = np.dtype(np.int16)
_F32 = np.dtype(np.float32)

#: Every encoding `image_to_numpy` and `numpy_to_image_fields` handle by hand.
ENCODINGS: Mapping[str, EncodingLayout] = {
    "rgb8": EncodingLayout(_U8, 3),
    "bgr8": EncodingLayout(_U8, 3),
    "rgba8": EncodingLayout(_U8, 4),
    "bgra8": EncodingLayout(_U8, 4),
    "mono8": EncodingLayout(_U8, 1),
    "mono16": EncodingLayout(_U16, 1),
    "8UC1": EncodingLayout(_U8, 1),
    "8UC3": EncodingLayout(_U8, 3),
    "8UC4": EncodingLayout(_U8, 4),
    "16UC1": EncodingLayout(_U16, 1),
    "16SC1": EncodingLayout(_I16, 1),
    "32FC1": EncodingLayout(_F32, 1),
}
#: Encodings `image_to_rgb` turns into RGB (channel order known).
COLOR_ENCODINGS = ("rgb8", "bgr8", "rgba8", "bgra8", "mono8", "mono16")
#: Encodings `image_to_depth_mm` reads: 16UC1/mono16 in mm, 32FC1 in metres (REP 118).
DEPTH_ENCODINGS = ("16UC1", "mono16", "32FC1")


def encoding_layout(encoding: str) -> EncodingLayout:
    """The dtype and channel count of a listed encoding; UnsupportedEncodingError otherwise."""
    try:
        return ENCODINGS[encoding]
    except (KeyError, TypeError):
        raise UnsupportedEncodingError(
            f"expected an image encoding in {sorted(ENCODINGS)}, got {encoding!r}"
        ) from None


def _data_bytes(data: Any) -> npt.NDArray[np.uint8]:
    """The message's data as a flat uint8 array, a view where the object exports a buffer."""
    if isinstance(data, np.ndarray):
        if data.dtype == np.uint8 and data.ndim == 1:
            # A strided 1-D view exports no contiguous buffer: only then is a copy needed.
            return data if data.flags.c_contiguous else np.ascontiguousarray(data)
        if data.flags.c_contiguous and data.dtype.kind in "uif":
            return data.reshape(-1).view(np.uint8)
        raise InvalidImageError(
            f"data must be a flat uint8 array, got {data.dtype} of shape {data.shape}"
        )
    if isinstance(data, (bytes, bytearray, memoryview, array.array)):
        try:
            return np.frombuffer(data, dtype=np.uint8)
        except (ValueError, TypeError) as err:  # non-contiguous memoryview, odd itemsize
            raise InvalidImageError(f"data buffer cannot be read as bytes: {err}") from None
    if isinstance(data, (list, tuple)):
        values = np.asarray(data)
        if values.ndim != 1 or (values.size and values.dtype.kind not in "ui"):
            raise InvalidImageError(f"data must be a sequence of ints, got {values.dtype}")
        if values.size and (int(values.min()) < 0 or int(values.max()) > 255):
            raise InvalidImageError(
                f"data bytes must be in 0..255, got {int(values.min())}..{int(values.max())}"
            )
        return values.astype(np.uint8)
    raise InvalidImageError(
        "data must be bytes, bytearray, memoryview, array.array, a list of ints or a uint8 "
        f"array, got {type(data).__name__}"
    )


def image_to_numpy(msg: Any) -> npt.NDArray[Any]:
    """A sensor_msgs/Image as HxWxC (colour, msg's channel order) or HxW (mono, depth) array.

    Returns a view of `msg.data` (no copy) unless the data's byte order is not the machine's,
    in which case it returns a byte-swapped native copy.
    """
    encoding = str(msg.encoding)
    dtype, channels = encoding_layout(encoding)
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height <= 0 or width <= 0:
        raise InvalidImageError(f"image is empty: expected width, height > 0, got {width}x{height}")
    pixel_bytes = channels * dtype.itemsize
    row_bytes = width * pixel_bytes
    if step < row_bytes:
        raise InvalidImageError(
            f"step is shorter than a row: {encoding} {width} px wide needs step >= "
            f"{row_bytes} bytes, got {step}"
        )
    buf = _data_bytes(msg.data)
    if buf.size < step * height:
        raise SizeMismatchError(
            f"data is shorter than step * height: expected {step} * {height} = "
            f"{step * height} bytes, got {buf.size}"
        )
    big = bool(msg.is_bigendian)
    stored = dtype.newbyteorder(">" if big else "<") if dtype.itemsize > 1 else dtype
    shape: tuple[int, ...] = (height, width) if channels == 1 else (height, width, channels)
    strides: tuple[int, ...] = (step, dtype.itemsize)
    if channels > 1:
        strides = (step, pixel_bytes, dtype.itemsize)
    # Build on the buffer directly (not .view): numpy 1.21 can only re-view C-contiguous arrays,
    # and padded rows are not.
    image: npt.NDArray[Any] = np.ndarray(shape, dtype=stored, buffer=buf, offset=0, strides=strides)
    if dtype.itemsize > 1 and big != (sys.byteorder == "big"):
        return image.astype(dtype)
    return image


def image_to_rgb(msg: Any) -> npt.NDArray[np.uint8]:
    """A colour or mono sensor_msgs/Image as HxWx3 uint8 RGB (a view for unpadded rgb8).

    mono16 keeps its high byte.  Encodings outside COLOR_ENCODINGS (Bayer, YUV) are converted
    by rosbags-image when it is installed.
    """
    encoding = str(msg.encoding)
    if encoding not in COLOR_ENCODINGS:
        if encoding in DEPTH_ENCODINGS or encoding in ENCODINGS:
            raise UnsupportedEncodingError(
                f"expected a colour encoding {COLOR_ENCODINGS}, got {encoding!r} "
                "(depth images go through image_to_depth_mm)"
            )
        return _rgb_via_rosbags_image(msg)
    image = image_to_numpy(msg)
    if encoding == "rgb8":
        return image
    cv2 = _cv2()
    if encoding == "mono16":
        image = np.right_shift(image, 8).astype(np.uint8)
        encoding = "mono8"
    if cv2 is not None:
        code = {
            "bgr8": cv2.COLOR_BGR2RGB,
            "rgba8": cv2.COLOR_RGBA2RGB,
            "bgra8": cv2.COLOR_BGRA2RGB,
            "mono8": cv2.COLOR_GRAY2RGB,
        }[encoding]
        return np.asarray(cv2.cvtColor(np.ascontiguousarray(image), code), dtype=np.uint8)
    if encoding == "mono8":
        return np.repeat(image[:, :, None], 3, axis=2)
    order = {"bgr8": [2, 1, 0], "rgba8": [0, 1, 2], "bgra8": [2, 1, 0]}[encoding]
    out = np.empty((image.shape[0], image.shape[1], 3), dtype=np.uint8)
    for dst, src in enumerate(order):
        out[:, :, dst] = image[:, :, src]
    return out


def _rgb_via_rosbags_image(msg: Any) -> npt.NDArray[np.uint8]:
    """Bayer/YUV and other encodings rosbags-image knows, after removing row padding."""
    encoding = str(msg.encoding)
    try:
        from rosbags.image import ImageError, image_to_cvimage  # lazy: an optional extra
        from rosbags.image.image import to_cvtype
    except ImportError:
        raise UnsupportedEncodingError(
            f"expected an image encoding in {sorted(ENCODINGS)}, got {encoding!r} "
            "(install rosbags-image to convert Bayer and YUV images)"
        ) from None
    try:
        _, _, typestr, nchan = to_cvtype(encoding)
    except ImageError:
        raise UnsupportedEncodingError(
            f"expected an image encoding in {sorted(ENCODINGS)} or one rosbags-image knows, "
            f"got {encoding!r}"
        ) from None
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height <= 0 or width <= 0:
        raise InvalidImageError(f"image is empty: expected width, height > 0, got {width}x{height}")
    row_bytes = width * nchan * np.dtype(typestr).itemsize
    if step < row_bytes:
        raise InvalidImageError(
            f"step is shorter than a row: {encoding} {width} px wide needs step >= "
            f"{row_bytes} bytes, got {step}"
        )
    buf = _data_bytes(msg.data)
    if buf.size < step * height:
        raise SizeMismatchError(
            f"data is shorter than step * height: expected {step} * {height} = "
            f"{step * height} bytes, got {buf.size}"
        )
    # rosbags-image assumes step == row bytes, so hand it the rows without their padding.
    rows = np.ascontiguousarray(buf[: step * height].reshape(height, step)[:, :row_bytes])
    unpadded = _ImageFields(height, width, encoding, int(msg.is_bigendian), row_bytes, rows)
    try:
        rgb = image_to_cvimage(unpadded, "rgb8")  # type: ignore[arg-type]
    except (ImageError, ValueError, TypeError) as err:
        raise UnsupportedEncodingError(f"cannot convert {encoding!r} to rgb8: {err}") from None
    return np.asarray(rgb, dtype=np.uint8)


@dataclasses.dataclass(frozen=True)
class _ImageFields:
    height: int
    width: int
    encoding: str
    is_bigendian: int
    step: int
    data: npt.NDArray[np.uint8]


def image_to_depth_mm(msg: Any, invalid: InvalidPolicy = "no_data") -> npt.NDArray[np.uint16]:
    """A depth sensor_msgs/Image as HxW uint16 mm: 16UC1/mono16 as mm, 32FC1 metres converted.

    16UC1/mono16 come back as a view of the message's data where the layout allows; 32FC1 is
    rounded to mm with the codec's out-of-range policy `invalid` (NaN = no data = 0).
    """
    encoding = str(msg.encoding)
    if encoding not in DEPTH_ENCODINGS:
        raise UnsupportedEncodingError(
            f"expected a depth encoding {DEPTH_ENCODINGS}, got {encoding!r}"
        )
    image = image_to_numpy(msg)
    if encoding == "32FC1":
        return depth_m_to_mm(image, invalid=invalid)
    return np.asarray(image, dtype=np.uint16)


def compressed_image_to_rgb(msg: Any) -> npt.NDArray[np.uint8]:
    """A sensor_msgs/CompressedImage (jpeg, png) as HxWx3 uint8 RGB, decoded by OpenCV."""
    cv2 = _cv2()
    if cv2 is None:
        raise UnsupportedEncodingError("decoding CompressedImage needs OpenCV (cv2)")
    buf = _data_bytes(msg.data)
    decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR) if buf.size else None
    if decoded is None:
        raise InvalidImageError(
            f"expected a jpeg/png payload OpenCV can decode, got {buf.size} bytes of "
            f"format {str(getattr(msg, 'format', ''))!r}"
        )
    return np.asarray(cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB), dtype=np.uint8)


def _passthrough_encoding(array_: npt.NDArray[Any]) -> str:
    channels = 1 if array_.ndim == 2 else int(array_.shape[2])
    for name, layout in ENCODINGS.items():
        if name[0].isdigit() and layout == (array_.dtype.newbyteorder("="), channels):
            return name
    raise UnsupportedEncodingError(
        f"no listed encoding holds {channels}-channel {array_.dtype} "
        f"(generic ones: {[n for n in ENCODINGS if n[0].isdigit()]})"
    )


def numpy_to_image_fields(array_: npt.NDArray[Any], encoding: str) -> dict[str, Any]:
    """Image field values (height, width, encoding, is_bigendian, step, data) for an array.

    The same values cv_bridge's cv2_to_imgmsg writes: step = width * channels * itemsize,
    is_bigendian = 1 only for big-endian data, data = the array's C-order bytes.  The array
    must match the encoding: HxW (or HxWx1) for one channel, HxWxC otherwise, same dtype.
    `encoding="passthrough"` picks the generic name (8UC3, 16UC1, 32FC1, ...) as cv_bridge does.
    """
    if not isinstance(array_, np.ndarray):
        raise InvalidImageError(f"expected a numpy array, got {type(array_).__name__}")
    if array_.ndim not in (2, 3):
        raise InvalidImageError(f"expected an HxW or HxWxC array, got shape {array_.shape}")
    if encoding == "passthrough":
        encoding = _passthrough_encoding(array_)
    dtype, channels = encoding_layout(encoding)
    actual_channels = 1 if array_.ndim == 2 else int(array_.shape[2])
    if actual_channels != channels or array_.dtype.newbyteorder("=") != dtype:
        shape = "x".join(map(str, array_.shape))
        expected = "HxW" if channels == 1 else f"HxWx{channels}"
        raise InvalidImageError(
            f"{encoding} needs a {expected} {dtype} array, got {shape} {array_.dtype}"
        )
    height, width = int(array_.shape[0]), int(array_.shape[1])
    if height == 0 or width == 0:
        raise InvalidImageError(f"image is empty: expected width, height > 0, got {width}x{height}")
    byteorder = array_.dtype.byteorder
    big = byteorder == ">" or (byteorder == "=" and sys.byteorder == "big")
    return {
        "height": height,
        "width": width,
        "encoding": encoding,
        "is_bigendian": int(big and dtype.itemsize > 1),
        "step": width * channels * dtype.itemsize,
        "data": array_.tobytes(order="C"),
    }


def make_image(msg_cls: Any, header: Any, array_: npt.NDArray[Any], encoding: str) -> Any:
    """Build a sensor_msgs/Image of class `msg_cls` (rclpy or rosbags) from an array.

    rosbags classes (dataclasses) get `data` as a uint8 array, rclpy ones an array.array('B'),
    the types each library uses for uint8[] fields.
    """
    fields = numpy_to_image_fields(array_, encoding)
    raw: bytes = fields["data"]
    if dataclasses.is_dataclass(msg_cls):
        fields["data"] = np.frombuffer(raw, dtype=np.uint8)
    else:
        fields["data"] = array.array("B", raw)
    return msg_cls(header=header, **fields)
