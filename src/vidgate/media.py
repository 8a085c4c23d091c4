"""Images in (load, sniff, check, encode per dialect) and videos out (probe).

Every image input — a local path, bytes, an http(s) URL, a data URI or raw base64 — becomes a
``LoadedImage``. Problems name the image by index and source, the limit and the actual value.
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
import os
import re
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from PIL import Image, UnidentifiedImageError

from vidgate.types import ImageInput, ImageRole, VideoProbe

if TYPE_CHECKING:
    from vidgate.catalog.schema import ImageSpec

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_B64_CHARS = re.compile(r"^[A-Za-z0-9+/=_\-\s]+$")
_DATA_URI = re.compile(r"^data:(?P<mime>[\w.+\-/]*)?(?P<params>(;[^;,]*)*?)(?P<b64>;base64)?,(?P<data>.*)$", re.S)
_MIN_RAW_B64 = 64  # shorter strings of base64 characters are far more likely to be file names

PIL_FORMATS = {"JPEG": "jpeg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "BMP": "bmp", "TIFF": "tiff"}
MIME = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "gif": "image/gif",
    "bmp": "image/bmp",
    "tiff": "image/tiff",
    "heic": "image/heic",
    "heif": "image/heif",
}
EXTENSION = {
    "jpeg": "jpg",
    "png": "png",
    "webp": "webp",
    "gif": "gif",
    "bmp": "bmp",
    "tiff": "tiff",
    "heic": "heic",
    "heif": "heif",
}
_HEIC_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx")  # ISO BMFF major brands of HEVC images


@functools.cache
def _heif_opener() -> bool:
    """Teach Pillow HEIC/HEIF (pillow-heif) the first time an image is opened; False when it is not installed."""
    try:
        import pillow_heif
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


def _format_of(im: Image.Image, data: bytes) -> str | None:
    if im.format == "HEIF":  # pillow-heif names both; the file's brand tells HEIC (HEVC) from other HEIF
        return "heic" if data[8:12] in _HEIC_BRANDS else "heif"
    return PIL_FORMATS.get(im.format or "")


class ImageProblem(Exception):
    """One image cannot be used. ``field`` is e.g. ``images[1]``."""

    def __init__(self, field: str, value: str, message: str, allowed: str = "", suggestion: str = "") -> None:
        self.field = field
        self.value = value
        self.message = message
        self.allowed = allowed
        self.suggestion = suggestion
        super().__init__(f"{field} ({value}): {message}")


@dataclass(frozen=True)
class LoadedImage:
    """An image after loading: either a URL to pass through, or bytes we have read and sniffed."""

    index: int
    origin: Literal["url", "path", "bytes", "data_uri", "base64"]
    description: str
    role: ImageRole | None
    url: str | None = None
    data: bytes | None = None
    format: str | None = None  # jpeg / png / webp ...
    width: int | None = None
    height: int | None = None

    @property
    def mime_type(self) -> str:
        return MIME.get(self.format or "", "application/octet-stream")

    @property
    def size_bytes(self) -> int | None:
        return None if self.data is None else len(self.data)

    @property
    def filename(self) -> str:
        return f"image{self.index}.{EXTENSION.get(self.format or '', 'bin')}"

    def as_base64(self) -> str:
        if self.data is None:
            raise ValueError("URL image has no bytes")
        return base64.b64encode(self.data).decode("ascii")

    def as_data_uri(self) -> str:
        return f"data:{self.mime_type};base64,{self.as_base64()}"


def classify(source: str | bytes) -> Literal["url", "data_uri", "base64", "path", "bytes", "bad_scheme"]:
    if isinstance(source, bytes):
        return "bytes"
    s = source.strip()
    low = s[:16].lower()
    if low.startswith(("http://", "https://")):
        return "url"
    if low.startswith("data:"):
        return "data_uri"
    if _SCHEME.match(s):
        return "bad_scheme"
    if os.path.exists(s):
        return "path"
    if len(s) >= _MIN_RAW_B64 and _B64_CHARS.match(s):
        return "base64"
    return "path"


MAX_PIXELS = 50_000_000  # far above any reference image a model takes (8K is 33 M); past it Pillow would balk


class _TooBig(Exception):
    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height


def _sniff(field: str, desc: str, data: bytes) -> tuple[str, int, int]:
    if not data:
        raise ImageProblem(field, desc, "the image is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the size is checked just below
            _heif_opener()
            with Image.open(io.BytesIO(data)) as im:
                fmt = _format_of(im, data)
                width, height = im.size
                if width * height > MAX_PIXELS:
                    raise _TooBig(width, height)
                im.verify()
    except (_TooBig, Image.DecompressionBombError) as exc:
        if isinstance(exc, _TooBig):
            size = f"{exc.width}x{exc.height} ({exc.width * exc.height:,} pixels)"
        else:  # Pillow refused it before giving the size; its message has the pixel count
            count = re.search(r"\((\d+) pixels\)", str(exc))
            size = f"the image ({int(count.group(1)):,} pixels)" if count else "the image"
        raise ImageProblem(
            field,
            desc,
            f"{size} is more pixels than any model takes (at most {MAX_PIXELS:,} pixels, e.g. 7680x4320 is "
            f"{7680 * 4320:,})",
            allowed=f"images of up to {MAX_PIXELS:,} pixels",
            suggestion="scale the image down first",
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        head = data[:8]
        raise ImageProblem(
            field,
            desc,
            f"not a readable image (first bytes {head!r}; {exc.__class__.__name__})",
            allowed="JPEG, PNG or WebP",
            suggestion="pass a JPEG, PNG or WebP file",
        ) from None
    if fmt is None:
        raise ImageProblem(field, desc, "unsupported image format", allowed="JPEG, PNG or WebP")
    return fmt, width, height


def load_image(image: ImageInput, index: int) -> LoadedImage:
    """Read and sniff one image input. URLs are not fetched (see ``check_url``)."""
    field = f"images[{index}]"
    desc = image.describe()
    kind = classify(image.source)
    src = image.source
    if kind == "bytes":
        assert isinstance(src, bytes)
        data = src
    elif kind == "url":
        assert isinstance(src, str)
        check_url(field, src.strip())
        return LoadedImage(index, "url", desc, image.role, url=src.strip())
    elif kind == "bad_scheme" and is_gcs_uri(str(src).strip()):
        return LoadedImage(index, "url", desc, image.role, url=str(src).strip())  # "gcs" transports pass it on
    elif kind == "bad_scheme":
        scheme = str(src).split("://", 1)[0]
        raise ImageProblem(
            field,
            desc,
            f"URL scheme {scheme!r} is not supported",
            allowed="http:// or https:// URLs, local paths, data URIs or base64",
            suggestion="download the file and pass its local path, or use an http(s) URL",
        )
    elif kind == "data_uri":
        assert isinstance(src, str)
        data = _decode_data_uri(field, desc, src.strip())
    elif kind == "base64":
        assert isinstance(src, str)
        data = _decode_b64(field, desc, src)
    else:
        path = Path(str(src)).expanduser()
        if not path.exists():
            raise ImageProblem(
                field,
                desc,
                "file not found",
                allowed="an existing image file, http(s) URL, data URI or base64",
                suggestion=f"check the path (working directory is {os.getcwd()})",
            )
        if path.is_dir():
            raise ImageProblem(field, desc, "is a directory, not an image file")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ImageProblem(field, desc, f"cannot be read: {exc.strerror}") from None
    fmt, width, height = _sniff(field, desc, data)
    origin: Literal["path", "bytes", "data_uri", "base64"] = "path" if kind == "path" else kind  # type: ignore[assignment]
    return LoadedImage(index, origin, desc, image.role, data=data, format=fmt, width=width, height=height)


def check_url(field: str, url: str) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ImageProblem(field, url, "not a valid http(s) URL", allowed="http:// or https:// with a host")
    if any(c.isspace() for c in url):
        raise ImageProblem(field, url, "URL contains whitespace", suggestion="percent-encode the URL")


def _decode_b64(field: str, desc: str, text: str) -> bytes:
    compact = re.sub(r"\s+", "", text)
    compact = compact.replace("-", "+").replace("_", "/")
    compact += "=" * (-len(compact) % 4)
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImageProblem(
            field, desc, f"invalid base64 ({exc})", suggestion="pass the file path instead, or re-encode it"
        ) from None


def _decode_data_uri(field: str, desc: str, uri: str) -> bytes:
    m = _DATA_URI.match(uri)
    if not m:
        raise ImageProblem(field, desc, "malformed data URI", allowed="data:image/<type>;base64,<data>")
    if not m.group("b64"):
        raise ImageProblem(field, desc, "data URI is not base64-encoded", allowed="data:image/<type>;base64,<data>")
    return _decode_b64(field, desc, m.group("data"))


def check_against_spec(img: LoadedImage, spec: ImageSpec) -> list[ImageProblem]:
    """Limits from the catalog: transport, format, bytes, pixels, minimum side."""
    field = f"images[{img.index}]"
    out: list[ImageProblem] = []
    if img.origin == "url" and is_gcs_uri(img.url or ""):
        if "gcs" not in spec.transports:
            out.append(
                ImageProblem(
                    field,
                    img.description,
                    "this model does not take gs:// (Cloud Storage) URIs",
                    allowed=", ".join(spec.transports) or "none",
                    suggestion="download the object and pass the local file, or use an https URL",
                )
            )
        return out
    if img.origin == "url":
        if "url" not in spec.transports and not takes_bytes(spec):
            out.append(
                ImageProblem(
                    field,
                    img.description,
                    "this model does not take image URLs",
                    allowed=", ".join(spec.transports) or "none",
                    suggestion="download the image and pass the local file",
                )
            )
        # A URL for a model that only takes bytes is fetched by the client (through the SSRF guard,
        # vidgate.net.ssrf) and checked again as bytes before anything is sent.
        return out
    if not ({"base64", "data_uri", "multipart", "inline"} & set(spec.transports)):
        out.append(
            ImageProblem(
                field,
                img.description,
                "this model takes images by URL only",
                allowed="http(s) URLs",
                suggestion="upload the image somewhere public and pass its URL",
            )
        )
    if img.format not in spec.formats:
        out.append(
            ImageProblem(field, img.description, f"format {img.format} not accepted", allowed=", ".join(spec.formats))
        )
    size = img.size_bytes or 0
    if spec.max_bytes is not None and size > spec.max_bytes:
        out.append(
            ImageProblem(
                field,
                img.description,
                f"{_human(size)} is over the {_human(spec.max_bytes)} limit",
                allowed=f"<= {_human(spec.max_bytes)}",
                suggestion="compress or downscale the image",
            )
        )
    if spec.max_pixels is not None and img.width and img.height and img.width * img.height > spec.max_pixels:
        out.append(
            ImageProblem(
                field,
                img.description,
                f"{img.width}x{img.height} is over {spec.max_pixels} pixels",
                allowed=f"<= {spec.max_pixels} pixels",
                suggestion="downscale the image",
            )
        )
    if img.width and img.height and (spec.min_aspect is not None or spec.max_aspect is not None):
        ratio = img.width / img.height
        low, high = spec.min_aspect or 0.0, spec.max_aspect or float("inf")
        if not low - 1e-9 <= ratio <= high + 1e-9:
            out.append(
                ImageProblem(
                    field,
                    img.description,
                    f"{img.width}x{img.height} has an aspect ratio of {ratio:.3g}, outside what the model accepts",
                    allowed=f"width/height from {low:g} to {high:g}",
                    suggestion="crop the image",
                )
            )
    if spec.min_side is not None and img.width and img.height and min(img.width, img.height) < spec.min_side:
        out.append(
            ImageProblem(
                field,
                img.description,
                f"{img.width}x{img.height} is smaller than {spec.min_side} px on a side",
                allowed=f">= {spec.min_side} px per side",
            )
        )
    return out


def needs_fetch(img: LoadedImage, spec: ImageSpec) -> bool:
    """A URL image the model cannot take by URL: the client downloads it and sends the bytes."""
    return (
        img.origin == "url"
        and img.data is None
        and not is_gcs_uri(img.url or "")
        and "url" not in spec.transports
        and takes_bytes(spec)
    )


def is_gcs_uri(value: str) -> bool:
    """``gs://bucket/object``: a Cloud Storage object, passed through to providers that read it themselves."""
    return value[:5].lower() == "gs://" and "/" in value[5:].strip("/")


def takes_bytes(spec: ImageSpec) -> bool:
    return bool({"base64", "data_uri", "multipart", "inline"} & set(spec.transports))


def _human(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n = n / 1024  # type: ignore[assignment]
    return f"{n} B"


def encode_for_json(img: LoadedImage, spec: ImageSpec) -> str:
    """The string a JSON dialect puts in its image field: the URL, a data URI or raw base64."""
    if img.url is not None:
        return img.url
    if spec.base64_form == "raw":
        return img.as_base64()
    return img.as_data_uri()


def probe_video(path: str | os.PathLike[str] | Any) -> VideoProbe:
    """Duration, size and codec read from the container with PyAV (FFmpeg). ``path`` may also be a seekable
    binary file object (a stored result read by ranges: ``vidgate.storage.RangeFile``)."""
    import av

    source = path if hasattr(path, "read") else os.fspath(path)
    with av.open(source, mode="r") as container:
        stream = next(s for s in container.streams if s.type == "video")
        if container.duration is not None:
            duration = container.duration / 1_000_000
        elif stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        else:
            duration = 0.0
        rate = stream.average_rate
        ctx: Any = stream.codec_context
        return VideoProbe(
            duration=round(duration, 3),
            width=ctx.width,
            height=ctx.height,
            codec=ctx.name,
            fps=float(rate) if rate else None,
        )


FitMode = Literal["crop", "pad"]
_SAVE_FORMAT = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}


def fit_image(
    data: bytes,
    width: int,
    height: int,
    mode: FitMode,
    *,
    background: tuple[int, int, int] = (0, 0, 0),
) -> tuple[bytes, str]:
    """Resize an image to exactly ``width`` x ``height``; returns the new bytes and their format.

    ``crop`` scales the image to cover the target and cuts the overflow equally from both sides (nothing
    is distorted, the edges are lost); ``pad`` scales it to fit inside and fills the rest with
    ``background`` (nothing is lost, bars appear). JPEG, PNG and WebP keep their format; others become PNG.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"target size must be positive, got {width}x{height}")
    _heif_opener()
    with Image.open(io.BytesIO(data)) as src:
        fmt = PIL_FORMATS.get(src.format or "", "png")
        fmt = fmt if fmt in _SAVE_FORMAT else "png"
        im = src.convert("RGBA" if fmt != "jpeg" and src.mode in ("RGBA", "LA", "P") else "RGB")
    w, h = im.size
    if mode == "crop":
        scale = max(width / w, height / h)
        scaled = im.resize((max(width, round(w * scale)), max(height, round(h * scale))), Image.Resampling.LANCZOS)
        left = (scaled.width - width) // 2
        top = (scaled.height - height) // 2
        out = scaled.crop((left, top, left + width, top + height))
    elif mode == "pad":
        scale = min(width / w, height / h)
        scaled = im.resize(
            (max(1, min(width, round(w * scale))), max(1, min(height, round(h * scale)))), Image.Resampling.LANCZOS
        )
        out = Image.new(im.mode, (width, height), (*background, 255) if im.mode == "RGBA" else background)
        out.paste(scaled, ((width - scaled.width) // 2, (height - scaled.height) // 2))
    else:
        raise ValueError(f"fit mode must be 'crop' or 'pad', got {mode!r}")
    buf = io.BytesIO()
    options: dict[str, Any] = {"quality": 95} if fmt in ("jpeg", "webp") else {}
    out.save(buf, format=_SAVE_FORMAT[fmt], **options)
    return buf.getvalue(), fmt


def fitted(img: LoadedImage, width: int, height: int, mode: FitMode) -> LoadedImage:
    """``img`` resized by ``fit_image`` (a local image: URLs have no bytes to resize)."""
    if img.data is None:
        raise ValueError(f"images[{img.index}] is a URL; only local images can be resized")
    data, fmt = fit_image(img.data, width, height, mode)
    return replace(img, data=data, format=fmt, width=width, height=height)
