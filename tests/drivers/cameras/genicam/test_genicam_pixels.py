"""Pixel formats to arrays: buffers built by hand from the PFNC layouts, decoded through harvesters'
unpackers and labkit's shaping, compared with the values that went in."""

from __future__ import annotations

import numpy as np
import pytest

from labkit import FrameFormatError
from labkit.drivers.cameras.genicam import decode, frame_bytes

pytest.importorskip("harvesters.util.pfnc")

H, W = 6, 8


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(42)


def test_mono8_is_a_uint8_image(rng: np.random.Generator) -> None:
    image = rng.integers(0, 256, (H, W), dtype=np.uint8)
    pixels = decode(image.tobytes(), "Mono8", W, H)
    assert pixels.dtype == np.uint8
    np.testing.assert_array_equal(pixels, image)


@pytest.mark.parametrize(("pixel_format", "bits"), [("Mono10", 10), ("Mono12", 12), ("Mono16", 16)])
def test_deep_mono_formats_are_uint16_images(
    rng: np.random.Generator, pixel_format: str, bits: int
) -> None:
    image = rng.integers(0, 2**bits, (H, W), dtype=np.uint16)
    buffer = image.astype("<u2").tobytes()  # GenICam sends little-endian words
    pixels = decode(buffer, pixel_format, W, H)
    assert pixels.dtype == np.uint16
    np.testing.assert_array_equal(pixels, image)


def test_mono12p_unpacks_two_pixels_from_three_bytes(rng: np.random.Generator) -> None:
    image = rng.integers(0, 4096, (H, W), dtype=np.uint16)
    flat = image.reshape(-1, 2).astype(np.uint32)
    first, second = flat[:, 0], flat[:, 1]
    packed = np.stack(
        [first & 0xFF, (first >> 8) | ((second & 0xF) << 4), second >> 4], axis=1
    ).astype(np.uint8)  # PFNC Mono12p: LSB first, no gaps
    assert frame_bytes("Mono12p", W, H) == packed.size
    np.testing.assert_array_equal(decode(packed.tobytes(), "Mono12p", W, H), image)


def test_rgb_formats_are_height_width_channels_in_rgb_order(rng: np.random.Generator) -> None:
    rgb = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    np.testing.assert_array_equal(decode(rgb.tobytes(), "RGB8", W, H), rgb)
    bgr = rgb[:, :, ::-1]
    np.testing.assert_array_equal(decode(np.ascontiguousarray(bgr).tobytes(), "BGR8", W, H), rgb)
    rgba = rng.integers(0, 256, (H, W, 4), dtype=np.uint8)
    pixels = decode(rgba.tobytes(), "RGBa8", W, H)
    assert pixels.shape == (H, W, 4)
    np.testing.assert_array_equal(pixels, rgba)


def test_line_padding_and_an_offset_are_skipped(rng: np.random.Generator) -> None:
    image = rng.integers(0, 256, (H, W), dtype=np.uint8)
    padded = np.zeros((H, W + 3), dtype=np.uint8)
    padded[:, :W] = image
    buffer = b"\xee" * 5 + padded.tobytes()
    np.testing.assert_array_equal(decode(buffer, "Mono8", W, H, offset=5, padding_x=3), image)


def test_the_image_is_a_copy_independent_of_the_buffer(rng: np.random.Generator) -> None:
    buffer = bytearray(rng.integers(0, 256, H * W, dtype=np.uint8).tobytes())
    pixels = decode(buffer, "Mono8", W, H)
    before = pixels.copy()
    buffer[:] = bytes(len(buffer))  # the camera refills the buffer
    np.testing.assert_array_equal(pixels, before)
    assert pixels.flags.owndata


def test_a_buffer_too_short_for_the_format_is_refused_without_reading_past_it() -> None:
    with pytest.raises(FrameFormatError, match=r"needs 96 bytes.*holds 95") as caught:
        decode(bytes(H * W * 2 - 1), "Mono16", W, H)
    assert caught.value.offset == H * W * 2 - 1


def test_an_unknown_pixel_format_is_a_typed_error_naming_it() -> None:
    with pytest.raises(FrameFormatError, match="NotAFormat"):
        decode(bytes(64), "NotAFormat", W, H)
