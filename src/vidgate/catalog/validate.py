"""Check a request against a model's capabilities before any network call, and snap it on request.

``check()`` collects *every* problem at once (field, given value, allowed values, what to do) and
loads the images it needs to check, so the dialect never reads them twice. ``fit()`` snaps
duration / aspect ratio / resolution / size to the nearest allowed value and reports each change;
nothing is ever changed silently.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from vidgate.catalog.loader import is_retired, sunset_warning
from vidgate.catalog.schema import ChoiceSpec, ModelSpec
from vidgate.media import ImageProblem, LoadedImage, check_against_spec, load_image
from vidgate.problems import Fix, Problem
from vidgate.problems import show_value as _show
from vidgate.types import ImageRole, VideoRequest

STORYBOARD_TOLERANCE_S = 0.05
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # C0 controls but tab, newline, carriage return
_RAW_SHOT = re.compile(r"^\s*Shot\s+\d+\s*:\s*\n\s*duration\s*:\s*([0-9]+(?:\.[0-9]+)?)\s*sec", re.M | re.I)


@dataclass(frozen=True)
class Change:
    field: str
    old: Any
    new: Any
    reason: str

    def explain(self) -> str:
        return f"{self.field}: {_show(self.old)} -> {_show(self.new)} ({self.reason})"


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    images: list[LoadedImage] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def effective_duration(request: VideoRequest, spec: ModelSpec) -> float | None:
    if request.duration is not None:
        return request.duration
    if request.shots:
        return round(sum(s.duration for s in request.shots), 3)
    return spec.duration.default


def assign_roles(images: list[LoadedImage], spec: ModelSpec) -> list[ImageRole]:
    """Explicit roles win; otherwise two images on a first/last model are [first, last], else the default."""
    roles_known = spec.images.roles
    if all(img.role is None for img in images):
        if len(images) == 2 and ImageRole.first_frame in roles_known and ImageRole.last_frame in roles_known:
            return [ImageRole.first_frame, ImageRole.last_frame]
        return [spec.images.default_role for _ in images]
    return [img.role or spec.images.default_role for img in images]


def check(
    request: VideoRequest,
    spec: ModelSpec,
    *,
    options_model: type[BaseModel] | None = None,
    allow_retired: bool = False,
    today: date | None = None,
) -> Report:
    report = Report()
    add = report.problems.append

    _check_sunset(spec, report, allow_retired, today)
    _check_prompt(request, spec, report)
    duration = _check_duration(request, spec, report)
    _check_choice("aspect_ratio", request.aspect_ratio, spec.aspect_ratio, spec, report)
    _check_choice("resolution", request.resolution, spec.resolution, spec, report)
    _check_choice("size", request.size, spec.size, spec, report)
    if request.hd:
        if not spec.hd.supported:
            add(
                Problem(
                    "hd",
                    True,
                    f"{spec.key} has no hd option",
                    allowed="hd=false",
                    suggestion=_hd_suggestion(spec),
                )
            )
        elif duration is not None and any(abs(duration - d) < 1e-6 for d in spec.hd.ignored_at_durations):
            report.warnings.append(f"hd has no effect at {_show(duration)} s on {spec.key}; it is sent but ignored.")
    _check_images(request, spec, report)
    _check_storyboard(request, spec, report, duration)
    if request.characters and not spec.characters.supported:
        add(Problem("characters", request.characters, f"{spec.key} has no character feature", allowed="none"))
    elif spec.characters.supported:
        from vidgate.characters import request_mention_problems  # imports this module: load it lazily

        report.problems += request_mention_problems(request)
    if request.webhook_url is not None:
        parts = urlsplit(request.webhook_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            add(
                Problem(
                    "webhook_url",
                    request.webhook_url,
                    "not an http(s) URL",
                    allowed="http:// or https:// URL",
                )
            )
    _check_options(request, spec, report, options_model)
    _check_constraints(request, spec, report, duration)
    return report


def validate(request: VideoRequest, spec: ModelSpec, **kwargs: Any) -> list[Problem]:
    """Every problem with ``request`` for ``spec`` (empty when it can be sent)."""
    return check(request, spec, **kwargs).problems


def _hd_suggestion(spec: ModelSpec) -> str:
    if spec.family == "sora":
        return "drop --hd, or use sora-2-pro, the only Sora model with hd"
    return "drop --hd"


def _check_sunset(spec: ModelSpec, report: Report, allow_retired: bool, today: date | None) -> None:
    warning = sunset_warning(spec, today)
    if is_retired(spec, today) and not allow_retired:
        assert spec.sunset is not None
        report.problems.append(
            Problem(
                "model",
                spec.key,
                f"retired on {spec.sunset.date.isoformat()} ({spec.sunset.note})",
                allowed="a current model (see `vidgate models`)",
                suggestion="pick a current model, or pass allow_retired=True / --allow-retired if your endpoint "
                "still serves it",
            )
        )
    elif warning:
        report.warnings.append(warning)


def _check_prompt(request: VideoRequest, spec: ModelSpec, report: Report) -> None:
    prompt = request.prompt
    if not prompt.strip() and not request.shots:
        if spec.prompt.required or not request.images:
            report.problems.append(
                Problem("prompt", prompt, "the prompt is empty", suggestion="describe the video you want")
            )
        return
    texts = [("prompt", prompt)] + [(f"shots[{i}].scene", shot.scene) for i, shot in enumerate(request.shots)]
    for field_name, text in texts:
        control = _CONTROL.search(text)
        if control:
            report.problems.append(
                Problem(
                    field_name,
                    f"...{text[max(0, control.start() - 20) : control.start()]}{control.group()!r}...",
                    f"contains the control character {control.group()!r} (U+{ord(control.group()):04X}), which no "
                    "model reads and some refuse",
                    allowed="text, tabs and line breaks",
                    suggestion="remove it",
                )
            )
    if spec.prompt.max_chars is not None and len(prompt) > spec.prompt.max_chars:
        report.problems.append(
            Problem(
                "prompt",
                prompt,
                f"{len(prompt)} characters is over the {spec.prompt.max_chars}-character limit of {spec.key}",
                allowed=f"<= {spec.prompt.max_chars} characters",
                suggestion="shorten the prompt",
            )
        )
    if spec.prompt.max_tokens is not None:
        estimate = math.ceil(len(prompt.encode("utf-8")) / 3)
        if estimate > spec.prompt.max_tokens:
            report.warnings.append(
                f"prompt: about {estimate} tokens (estimated) may exceed {spec.key}'s "
                f"{spec.prompt.max_tokens}-token limit; the provider will refuse it if it does."
            )


def _check_duration(request: VideoRequest, spec: ModelSpec, report: Report) -> float | None:
    d = request.duration
    ds = spec.duration
    if d is None:
        return effective_duration(request, spec)
    if not math.isfinite(d) or d <= 0:
        report.problems.append(Problem("duration", d, "must be a positive number of seconds"))
        return None
    if not ds.allows(d):
        fixed = ds.field is None and not ds.values and ds.min is None
        candidates = ds.candidates()
        nearest = min(candidates, key=lambda c: abs(c - d)) if candidates else None
        msg = (
            f"{spec.key} makes fixed-length clips and has no duration parameter"
            if fixed
            else f"not allowed for {spec.key}"
        )
        fix = Fix("duration", nearest, fit=True) if nearest is not None else None  # worded per surface
        report.problems.append(Problem("duration", d, msg, allowed=ds.describe(), fix=fix))
        return None
    return ds.canonical(d)


def exact(request: VideoRequest, spec: ModelSpec) -> VideoRequest:
    """``request`` with a duration within rounding of an allowed one replaced by it: 10.0000001 is sent as 10."""
    d = request.duration
    if d is None or not math.isfinite(d) or not spec.duration.allows(d):
        return request
    canonical = spec.duration.canonical(d)
    return request if canonical == d else request.model_copy(update={"duration": canonical})


def _check_choice(name: str, value: str | None, choice: ChoiceSpec, spec: ModelSpec, report: Report) -> None:
    if value is None:
        return
    if not choice.supported:
        report.problems.append(
            Problem(
                name,
                value,
                f"{spec.key} has no {name.replace('_', ' ')} parameter",
                allowed="none",
                suggestion=f"drop {name}, or choose a model that has one",
            )
        )
    elif value not in choice.values:
        near = _nearest_choice(name, value, choice.values)
        report.problems.append(
            Problem(
                name,
                value,
                f"not allowed for {spec.key}",
                allowed=", ".join(choice.values),
                fix=Fix(name, near, fit=True) if near else None,
            )
        )


def _ratio(value: str) -> float | None:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*[:x×/]\s*(\d+(?:\.\d+)?)\s*", value)
    if not m:
        return None
    a, b = float(m.group(1)), float(m.group(2))
    return a / b if a > 0 and b > 0 else None


def _pixels(value: str) -> float | None:
    low = value.strip().lower()
    if low in ("4k", "2160p"):
        return 2160.0
    m = re.fullmatch(r"(\d+)\s*p", low)
    if m:
        return float(m.group(1))
    m = re.fullmatch(r"(\d+)\s*[x×]\s*(\d+)", low)
    if m:
        return math.sqrt(float(m.group(1)) * float(m.group(2)))
    return None


def _nearest_choice(name: str, value: str, allowed: list[str]) -> str | None:
    if not allowed:
        return None
    ratio, pixels = _ratio(value), _pixels(value)

    def ratio_distance(a: str) -> float:
        assert ratio is not None
        return abs(math.log(ratio / (_ratio(a) or ratio)))

    def pixel_distance(a: str) -> float:
        assert pixels is not None
        return abs((_pixels(a) or 0) - pixels)

    if name == "aspect_ratio" and ratio is not None:
        return min(allowed, key=ratio_distance)
    if name == "resolution" and pixels is not None:
        return min(allowed, key=pixel_distance)
    if name == "size" and ratio is not None and pixels is not None:
        return min(allowed, key=lambda a: (ratio_distance(a), pixel_distance(a)))
    return None


def _check_images(request: VideoRequest, spec: ModelSpec, report: Report) -> None:
    add = report.problems.append
    n = len(request.images)
    ispec = spec.images
    if n and not ispec.supported:
        add(
            Problem(
                "images",
                f"{n} image(s)",
                f"{spec.key} takes no images",
                allowed="0 images",
                suggestion=_image_model_hint(spec),
            )
        )
        return
    if n > ispec.max_count:
        add(
            Problem(
                "images",
                f"{n} images",
                f"too many images for {spec.key}",
                allowed=f"at most {ispec.max_count}",
                suggestion=f"pass at most {ispec.max_count}, or use a model that takes more",
            )
        )
    if n < ispec.min_count:
        add(
            Problem(
                "images",
                f"{n} images",
                f"{spec.key} needs at least {ispec.min_count} image(s)",
                allowed=f"{ispec.min_count} to {ispec.max_count} images",
                suggestion="add --image, or use a text-to-video model",
            )
        )
    loaded: list[LoadedImage] = []
    for i, img in enumerate(request.images):
        try:
            li = load_image(img, i)
        except ImageProblem as exc:
            add(_from_image_problem(exc))
            continue
        for problem in check_against_spec(li, ispec):
            add(_from_image_problem(problem))
        loaded.append(li)
    report.images = loaded
    if not request.images or not ispec.supported or n > ispec.max_count:
        return  # role checks would only repeat the count problem
    roles = assign_roles(loaded, spec) if len(loaded) == n else [i.role for i in request.images]
    for i, role in enumerate(roles):
        if role is not None and ispec.roles and role not in ispec.roles:
            add(
                Problem(
                    f"images[{i}].role",
                    role.value,
                    f"{spec.key} does not take a {role.value} image",
                    allowed=", ".join(r.value for r in ispec.roles),
                )
            )
    if roles.count(ImageRole.first_frame) > 1:
        add(Problem("images", "roles", "more than one first_frame image", allowed="one first_frame"))
    if roles.count(ImageRole.last_frame) > 1:
        add(Problem("images", "roles", "more than one last_frame image", allowed="one last_frame"))
    if ImageRole.last_frame in roles and ImageRole.first_frame not in roles:
        add(
            Problem(
                "images",
                "last_frame only",
                "a last frame needs a first frame",
                allowed="first_frame + last_frame",
                suggestion="add the first frame image before the last frame",
            )
        )


def _from_image_problem(p: ImageProblem) -> Problem:
    return Problem(p.field, p.value, p.message, p.allowed, p.suggestion)


def _image_model_hint(spec: ModelSpec) -> str:
    if spec.family == "veo":
        return "use a *-frames model for first/last frames or a *-components model for reference images"
    return "drop the images, or choose an image-to-video model"


def _check_storyboard(request: VideoRequest, spec: ModelSpec, report: Report, duration: float | None) -> None:
    if request.shots:
        if not spec.storyboard:
            report.problems.append(
                Problem(
                    "shots",
                    f"{len(request.shots)} shots",
                    f"{spec.key} has no storyboard mode",
                    allowed="none",
                )
            )
            return
        if request.prompt.strip():
            report.problems.append(
                Problem(
                    "prompt",
                    request.prompt,
                    "a storyboard has no place for a separate prompt",
                    allowed="an empty prompt with shots",
                    suggestion="put the description into each shot's scene",
                )
            )
        total = round(sum(s.duration for s in request.shots), 3)
        if request.duration is not None and abs(total - request.duration) > STORYBOARD_TOLERANCE_S:
            # Not an error: the relay's own storyboard example sends two 7.5 s shots with "duration": "10"
            # (seed-relay-api.md "Storyboard"), so the relay does not require the shots to add up.
            report.warnings.append(
                f"the shots add up to {_show(total)} s but duration is {_show(request.duration)} s; the relay "
                "does not check this (its own example sends 7.5 s + 7.5 s shots with duration 10), so both are "
                "sent as given (which one the relay follows is not documented)."
            )
        elif request.duration is None and not spec.duration.allows(total):
            report.problems.append(
                Problem(
                    "shots",
                    f"{len(request.shots)} shots totalling {_show(total)} s",
                    f"the shots add up to a length {spec.key} cannot make",
                    allowed=f"a total of {spec.duration.describe()}",
                    suggestion="change the shot durations to add up to an allowed length",
                )
            )
        return
    found = [float(x) for x in _RAW_SHOT.findall(request.prompt)]
    if found and duration is not None and abs(sum(found) - duration) > STORYBOARD_TOLERANCE_S:
        report.warnings.append(
            f"the storyboard in the prompt adds up to {_show(sum(found))} s but duration is {_show(duration)} s; "
            "the prompt is sent as written (use shots=[...] to have vidgate check it)."
        )


def _check_options(
    request: VideoRequest, spec: ModelSpec, report: Report, options_model: type[BaseModel] | None
) -> None:
    for name, value in request.options.items():
        if name not in spec.options:
            report.problems.append(
                Problem(
                    f"options.{name}",
                    value,
                    f"{spec.key} has no option {name!r}",
                    allowed=", ".join(spec.options) or "no options",
                )
            )
    if options_model is None:
        return
    known = {k: v for k, v in request.options.items() if k in spec.options}
    try:
        options_model.model_validate(known)
    except PydanticValidationError as exc:
        for err in exc.errors():
            loc = ".".join(str(x) for x in err["loc"])
            report.problems.append(Problem(f"options.{loc}", err.get("input"), err["msg"]))


def field_value(request: VideoRequest, name: str, duration: float | None) -> Any:
    """The value of a constraint field: request fields, derived image facts, or an option."""
    if name == "duration":
        return duration
    if name == "image_count":
        return len(request.images)
    if name == "has_images":
        return bool(request.images)
    if name == "has_reference_images":
        return any(i.role == ImageRole.reference for i in request.images)
    if name == "has_last_frame":
        return any(i.role == ImageRole.last_frame for i in request.images)
    if name in ("aspect_ratio", "resolution", "size", "hd"):
        return getattr(request, name)
    return request.options.get(name)


def matches(value: Any, allowed: list[Any]) -> bool:
    for a in allowed:
        if isinstance(a, int | float) and not isinstance(a, bool) and isinstance(value, int | float):
            if abs(float(value) - float(a)) < 1e-6:
                return True
        elif value == a:
            return True
    return False


def _check_constraints(request: VideoRequest, spec: ModelSpec, report: Report, duration: float | None) -> None:
    for c in spec.constraints:
        if all(matches(field_value(request, k, duration), v) for k, v in c.when.items()):
            for k, allowed in c.require.items():
                value = field_value(request, k, duration)
                if not matches(value, allowed):
                    report.problems.append(
                        Problem(
                            k,
                            value,
                            c.message,
                            allowed=", ".join(_show(a) for a in allowed),
                        )
                    )


def fit(request: VideoRequest, spec: ModelSpec) -> tuple[VideoRequest, list[Change]]:
    """Snap duration, aspect ratio, resolution and size to the nearest allowed values; report each change."""
    changes: list[Change] = []
    updates: dict[str, Any] = {}
    d = request.duration
    if d is not None and math.isfinite(d) and d > 0 and not spec.duration.allows(d):  # nonsense is refused, not snapped
        cands = spec.duration.candidates()
        if cands:
            new = min(cands, key=lambda c: (abs(c - d), -c))
            if spec.duration.field is None:
                updates["duration"] = None
                changes.append(Change("duration", d, None, f"{spec.key} has a fixed {_show(new)} s length"))
            else:
                updates["duration"] = new
                changes.append(Change("duration", d, new, f"nearest allowed ({spec.duration.describe()})"))
    for name, choice in (
        ("aspect_ratio", spec.aspect_ratio),
        ("resolution", spec.resolution),
        ("size", spec.size),
    ):
        value = getattr(request, name)
        if value is None or value in choice.values:
            continue
        if not choice.supported:
            updates[name] = None
            changes.append(Change(name, value, None, f"{spec.key} has no {name} parameter; dropped"))
            continue
        near = _nearest_choice(name, value, choice.values)
        if near is not None:
            updates[name] = near
            changes.append(Change(name, value, near, f"nearest allowed ({', '.join(choice.values)})"))
    if request.hd and not spec.hd.supported:
        updates["hd"] = None
        changes.append(Change("hd", True, None, f"{spec.key} has no hd option; dropped"))
    return request.model_copy(update=updates), changes
