"""``media.fit_image``: crop fills and cuts, pad fits and adds bars; the size is exact and the format kept."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from vidgate.media import fit_image, fitted, load_image
from vidgate.types import ImageInput


def two_halves(size: tuple[int, int], fmt: str = "PNG") -> bytes:
    """Left half red, right half blue."""
    im = Image.new("RGB", size, (255, 0, 0))
    im.paste((0, 0, 255), (size[0] // 2, 0, size[0], size[1]))
    buf = io.BytesIO()
    im.save(buf, format=fmt)
    return buf.getvalue()


def opened(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
@pytest.mark.parametrize("mode", ["crop", "pad"])
def test_exact_size_and_format_kept(fmt: str, mode: str) -> None:
    data, out_fmt = fit_image(two_halves((300, 200), fmt), 128, 72, mode)  # type: ignore[arg-type]
    im = opened(data)
    assert im.size == (128, 72) and im.format == fmt and out_fmt == fmt.lower()


def test_crop_keeps_the_centre_and_cuts_the_sides() -> None:
    im = opened(fit_image(two_halves((400, 100)), 100, 100, "crop")[0]).convert("RGB")
    assert im.getpixel((10, 50))[0] > 200 and im.getpixel((90, 50))[2] > 200  # both halves survive, centred
    assert im.getpixel((50, 0)) != (0, 0, 0)  # no bars


def test_pad_keeps_everything_and_adds_bars() -> None:
    im = opened(fit_image(two_halves((400, 100)), 100, 100, "pad")[0]).convert("RGB")
    assert im.getpixel((50, 2)) == (0, 0, 0) and im.getpixel((50, 97)) == (0, 0, 0)  # letterbox bars
    assert im.getpixel((5, 50))[0] > 200 and im.getpixel((95, 50))[2] > 200


def test_fitted_updates_the_loaded_image() -> None:
    img = load_image(ImageInput(source=two_halves((64, 36))), 0)
    out = fitted(img, 1280, 720, "crop")
    assert (out.width, out.height, out.format) == (1280, 720, "png") and out.data != img.data
    url = load_image(ImageInput(source="https://example.com/a.png"), 0)
    with pytest.raises(ValueError, match="only local images"):
        fitted(url, 10, 10, "pad")


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        fit_image(two_halves((10, 10)), 0, 10, "crop")
    with pytest.raises(ValueError):
        fit_image(two_halves((10, 10)), 10, 10, "stretch")  # type: ignore[arg-type]
