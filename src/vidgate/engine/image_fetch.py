"""Images given as URLs to models that only take bytes: download them (through the SSRF guard) and check again.

The catalog says how a model takes images (``ImageSpec.transports``). When it has no ``url`` transport but
takes inline bytes (base64, data URI, multipart, inline), an http(s) URL the user passed is fetched here,
before any provider request, with the model's byte limit as the cap; the bytes are then sniffed and checked
against the model like a local file. A refused or failed download is a ``ValidationError`` naming the
image: nothing reaches the provider.
"""

from __future__ import annotations

from dataclasses import replace

from vidgate.errors import ValidationError
from vidgate.media import ImageProblem, LoadedImage, check_against_spec, load_image, needs_fetch
from vidgate.net.ssrf import DEFAULT_ACCEPT, FetchFailed, FetchPolicy, FetchRefused, fetch
from vidgate.net.steps import Steps
from vidgate.problems import Problem
from vidgate.providers import get_dialect
from vidgate.providers._base import Prepared
from vidgate.types import ImageInput

_WHY = "the model takes images as bytes, not URLs, so "
_ALLOW_HINT = "pass the image file itself, or allow that host explicitly (allow_image_hosts=[...], --allow-image-host)"


def pending(prepared: Prepared) -> list[int]:
    """Positions of the images that must be downloaded before sending."""
    return [i for i, img in enumerate(prepared.images) if needs_fetch(img, prepared.spec.images)]


def _problem(img: LoadedImage, exc: FetchRefused | FetchFailed) -> Problem:
    field = f"images[{img.index}]"
    if isinstance(exc, FetchRefused):
        return Problem(
            field,
            img.url,
            f"{_WHY}vidgate refused to download it: {exc.reason}",
            allowed="public http(s) URLs, local files, data URIs or base64",
            suggestion=_ALLOW_HINT,
        )
    return Problem(
        field,
        img.url,
        f"{_WHY}vidgate could not download it: {exc.reason}",
        suggestion="check the URL, or download the image and pass the local file",
    )


def _loaded(img: LoadedImage, data: bytes, prepared: Prepared) -> tuple[LoadedImage | None, list[Problem]]:
    try:
        fresh = load_image(ImageInput(source=data, role=img.role), img.index)
    except ImageProblem as exc:
        return None, [Problem(exc.field, img.url, exc.message, exc.allowed, exc.suggestion)]
    fresh = replace(fresh, description=img.description)
    problems = [
        Problem(p.field, img.url, p.message, p.allowed, p.suggestion)
        for p in check_against_spec(fresh, prepared.spec.images)
    ]
    return fresh, problems


def _finish(prepared: Prepared, got: dict[int, bytes], problems: list[Problem]) -> Prepared:
    images = list(prepared.images)
    for i, data in got.items():
        fresh, found = _loaded(images[i], data, prepared)
        problems.extend(found)
        if fresh is not None:
            images[i] = fresh
    if not problems and got:  # the dialect's own checks, now that the downloaded images have dimensions
        dialect = get_dialect(prepared.spec.dialect)
        problems.extend(dialect.preflight(prepared.request, prepared.spec, images))
    if problems:
        raise ValidationError(problems, prepared.spec.key)
    return replace(prepared, images=images)


def fetch_images(prepared: Prepared, policy: FetchPolicy) -> Steps[Prepared]:
    """``prepared`` with every URL image the model cannot take by URL replaced by its checked bytes."""
    todo = pending(prepared)
    if not todo:
        return prepared
    got: dict[int, bytes] = {}
    problems: list[Problem] = []
    for i in todo:
        img = prepared.images[i]
        assert img.url is not None
        try:
            fetched = yield from fetch(img.url, policy, max_bytes=prepared.spec.images.max_bytes, accept=DEFAULT_ACCEPT)
        except (FetchRefused, FetchFailed) as exc:
            problems.append(_problem(img, exc))
        else:
            got[i] = fetched.data
    return _finish(prepared, got, problems)
