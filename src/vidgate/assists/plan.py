"""Plan: a chat model proposes shots for an idea; vidgate makes them fit the video model or refuses.

What the chat model is asked (``ask``) already carries the video model's limits: how many shots (one for a
model without a storyboard mode), how long in total (a length the catalog allows), how long a scene may be
(the prompt limit over the storyboard grammar ``Shot N:\\nduration: Xsec\\nScene: ...``, seed-relay-api.md
"Storyboard"), and the ``@mentions`` to keep. Models get sums wrong, so ``settle`` repairs what can be
repaired, each change written down with its reason (empty scenes dropped, shots merged for a model without a
storyboard, durations rescaled to the total in 0.5 s steps, missing mentions put back), then the catalog's
own ``check`` runs on the request the plan would send; anything it still refuses is a ``PlanRefusedError``
with the catalog's reasons. A plan is never sent as the chat model wrote it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from vidgate.catalog import ModelSpec
from vidgate.catalog.validate import check
from vidgate.errors import ValidationError
from vidgate.mentions import mentioned_usernames
from vidgate.problems import Problem
from vidgate.types import AssistRecord, Shot, VideoRequest

MIN_SHOT_S = 1.0  # shorter shots are not a scene a model can render
STEP_S = 0.5  # shot lengths are written in half seconds, as the seed's example (7.5sec)
MAX_SHOTS = 6  # vidgate's own cap: the relay documents no maximum number of shots
DEFAULT_MAX_CHARS = 2000  # a scene budget for models without a published prompt limit
SHOT_OVERHEAD_CHARS = len("Shot 10:\nduration: 10.5sec\nScene: \n\n")


class PlanRefusedError(ValidationError):
    """The chat model's plan cannot be made to fit the video model; ``problems`` say why, ``answer`` is what
    the chat model wrote. Nothing was sent to the video model."""

    def __init__(self, problems: list[Problem], model: str, answer: Any = None) -> None:
        super().__init__(problems, model)
        self.answer = answer


class PlannedShot(BaseModel):
    seconds: float = Field(gt=0)
    scene: str = Field(min_length=1)


class Plan(BaseModel):
    """Shots that fit ``model``: ``request()`` is what ``generate --plan`` sends."""

    idea: str
    model: str = Field(description="Video catalog key the plan was made for")
    duration: float
    aspect_ratio: str | None = None
    storyboard: bool = Field(description="Sent as storyboard shots (else one prompt)")
    shots: list[PlannedShot]
    characters: list[str] = Field(default_factory=list, description="@usernames the idea mentions, kept")
    repairs: list[str] = Field(default_factory=list, description="What vidgate changed in the answer, and why")
    warnings: list[str] = Field(default_factory=list)
    chat_model: str = ""
    record: AssistRecord | None = None

    def request(self, **fields: Any) -> VideoRequest:
        """The video request this plan makes (``fields`` add options such as images)."""
        base: dict[str, Any] = {
            "model": self.model,
            "duration": self.duration,
            "aspect_ratio": self.aspect_ratio,
            "characters": self.characters,
        }
        if self.storyboard:
            base |= {"prompt": "", "shots": [Shot(duration=s.seconds, scene=s.scene) for s in self.shots]}
        else:
            base["prompt"] = self.shots[0].scene
        return VideoRequest.model_validate(base | fields)

    def save(self, path: str | Path) -> Path:
        target = Path(path)
        target.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")
        return target

    @classmethod
    def load(cls, path: str | Path) -> Plan:
        """A plan file written by ``save`` / ``vidgate plan --out``; a bad file is a clear ``ValidationError``."""
        try:
            return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ValidationError([Problem("plan", str(path), f"cannot be read ({exc.strerror})")]) from None
        except ValueError as exc:
            raise ValidationError(
                [
                    Problem(
                        "plan",
                        str(path),
                        f"is not a vidgate plan ({str(exc).splitlines()[0]})",
                        suggestion="write one with `vidgate plan IDEA --out PLAN.json`",
                    )
                ]
            ) from None


# ---------------------------------------------------------------- what the chat model is asked


def target_duration(spec: ModelSpec, duration: float | None) -> float:
    """The total length: the one asked for when the catalog allows it (else refused), or the default."""
    if duration is None:
        candidates = spec.duration.candidates()
        duration = spec.duration.default or (candidates[0] if candidates else None)
    if duration is None or not math.isfinite(duration) or not spec.duration.allows(duration):
        raise PlanRefusedError(
            [
                Problem(
                    "duration",
                    duration,
                    f"no plan can fit: {spec.key} makes videos of {spec.duration.describe()}",
                    allowed=spec.duration.describe(),
                    suggestion="plan for one of those lengths, or pick a longer model (`vidgate models`)",
                )
            ],
            spec.key,
        )
    return spec.duration.canonical(duration)


def max_shots(spec: ModelSpec, duration: float) -> int:
    return 1 if not spec.storyboard else max(1, min(MAX_SHOTS, int(duration // MIN_SHOT_S)))


def scene_budget(spec: ModelSpec, shots: int) -> int:
    """Characters one scene may have so the whole storyboard stays within the model's prompt limit."""
    limit = spec.prompt.max_chars or DEFAULT_MAX_CHARS
    if shots == 1 and not spec.storyboard:
        return limit
    return max(40, (limit - SHOT_OVERHEAD_CHARS * shots) // shots)


def answer_schema(spec: ModelSpec, duration: float) -> dict[str, Any]:
    """The JSON schema the chat model must answer in (OpenAI strict mode: every property required)."""
    shot = {
        "type": "object",
        "properties": {
            "seconds": {"type": "number", "minimum": MIN_SHOT_S, "maximum": duration},
            "scene": {"type": "string", "description": "What is seen and heard in this shot"},
        },
        "required": ["seconds", "scene"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {"shots": {"type": "array", "minItems": 1, "maxItems": max_shots(spec, duration), "items": shot}},
        "required": ["shots"],
        "additionalProperties": False,
    }


def instructions(spec: ModelSpec, duration: float, characters: list[str]) -> str:
    n = max_shots(spec, duration)
    shape = f"Split it into 1 to {n} shots" if n > 1 else "Describe it as exactly 1 shot (this model has no storyboard)"
    lines = [
        f"You plan videos for the model {spec.key}. {shape} whose seconds add up to exactly {_s(duration)}.",
        f"Each scene says in at most {scene_budget(spec, n)} characters what is seen and heard; write it in the "
        "language of the idea.",
    ]
    if characters:
        mentions = " ".join("@" + c for c in characters)
        lines.append(f"Keep these character mentions exactly as written, with a space on each side: {mentions}.")
    if spec.prompt.rules:
        lines.append("The video model refuses: " + " ".join(spec.prompt.rules))
    lines.append('Answer only with JSON: {"shots": [{"seconds": number, "scene": string}]}.')
    return "\n".join(lines)


# ---------------------------------------------------------------- making the answer fit


def settle(
    answer: Any,
    spec: ModelSpec,
    *,
    idea: str,
    duration: float,
    aspect_ratio: str | None = None,
    chat_model: str = "",
) -> Plan:
    """A plan that the catalog accepts for ``spec``, from what the chat model answered; else PlanRefusedError."""
    repairs: list[str] = []
    characters = mentioned_usernames(idea)
    shots = _shots_of(answer, spec, repairs)
    if not spec.storyboard and len(shots) > 1:
        merged = " Then ".join(s.scene.rstrip(". ") + "." for s in shots)
        repairs.append(f"{len(shots)} shots were merged into one prompt: {spec.key} has no storyboard mode")
        shots = [PlannedShot(seconds=duration, scene=merged)]
    limit = max(1, int(duration // MIN_SHOT_S))
    if len(shots) > limit:
        repairs.append(
            f"the last {len(shots) - limit + 1} shots were merged: {_s(duration)} has room for {limit} "
            f"shots of at least {_s(MIN_SHOT_S)}"
        )
        tail = " Then ".join(s.scene for s in shots[limit - 1 :])
        shots = [*shots[: limit - 1], PlannedShot(seconds=sum(s.seconds for s in shots[limit - 1 :]), scene=tail)]
    shots = _rescale(shots, duration, repairs)
    shots = _keep_mentions(shots, characters, repairs)
    plan = Plan(
        idea=idea,
        model=spec.key,
        duration=duration,
        aspect_ratio=aspect_ratio,
        storyboard=spec.storyboard,
        shots=shots,
        characters=characters,
        repairs=repairs,
        chat_model=chat_model,
    )
    problems, warnings = _catalog_problems(plan, spec)
    if problems:
        raise PlanRefusedError(problems, spec.key, answer)
    plan.warnings = warnings
    return plan


def _shots_of(answer: Any, spec: ModelSpec, repairs: list[str]) -> list[PlannedShot]:
    raw = answer.get("shots") if isinstance(answer, dict) else None
    if not isinstance(raw, list) or not raw:
        raise PlanRefusedError(
            [
                Problem(
                    "shots",
                    _short(answer),
                    "the chat model's answer has no shots",
                    suggestion="try again, or write the shots yourself with --shot",
                )
            ],
            spec.key,
            answer,
        )
    shots: list[PlannedShot] = []
    for i, item in enumerate(raw):
        scene = str(item.get("scene", "")).strip() if isinstance(item, dict) else ""
        given = item.get("seconds") if isinstance(item, dict) else None
        if not scene:
            repairs.append(f"shot {i + 1} was dropped: it had no scene")
            continue
        usable = isinstance(given, int | float) and not isinstance(given, bool) and math.isfinite(given) and given > 0
        if not usable:
            repairs.append(f"shot {i + 1} had no usable length ({given!r}); it gets a share of the total")
        seconds = float(given) if usable else 0.0  # type: ignore[arg-type]
        shots.append(PlannedShot.model_construct(seconds=seconds, scene=scene))
    if not shots:
        raise PlanRefusedError(
            [Problem("shots", _short(answer), "every shot in the chat model's answer is empty")], spec.key, answer
        )
    return shots


def _rescale(shots: list[PlannedShot], duration: float, repairs: list[str]) -> list[PlannedShot]:
    """Shot lengths that add up to ``duration`` exactly, in STEP_S steps, each at least MIN_SHOT_S, keeping the
    proportions the chat model gave (largest remainder)."""
    total = sum(s.seconds for s in shots)
    known = [s.seconds for s in shots if s.seconds > 0]
    fill = (sum(known) / len(known)) if known else 1.0
    weights = [s.seconds if s.seconds > 0 else fill for s in shots]
    step = STEP_S if (duration / STEP_S).is_integer() else 0.1
    units = round(duration / step)
    least = math.ceil(MIN_SHOT_S / step)
    raw = [units * w / sum(weights) for w in weights]
    alloc = [math.floor(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - alloc[i], reverse=True)[: units - sum(alloc)]:
        alloc[i] += 1
    for i in range(len(alloc)):  # every shot at least MIN_SHOT_S, taken from the longest (settle left room)
        while alloc[i] < least:
            longest = max(range(len(alloc)), key=lambda k: alloc[k])
            alloc[longest] -= 1
            alloc[i] += 1
    lengths = [round(a * step, 3) for a in alloc]
    if any(abs(a - b) > 1e-6 for a, b in zip(lengths, (s.seconds for s in shots), strict=True)):
        repairs.append(
            f"shot lengths {[_s(s.seconds) for s in shots]} (total {_s(total)}) became {[_s(x) for x in lengths]} "
            f"to add up to {_s(duration)} in {step:g} s steps"
        )
    return [PlannedShot(seconds=x, scene=s.scene) for x, s in zip(lengths, shots, strict=True)]


def _keep_mentions(shots: list[PlannedShot], characters: list[str], repairs: list[str]) -> list[PlannedShot]:
    present = {u for s in shots for u in mentioned_usernames(s.scene)}
    missing = [c for c in characters if c not in present]
    if not missing:
        return shots
    repairs.append(f"the answer lost {' '.join('@' + c for c in missing)}; put back into shot 1")
    first = shots[0]
    scene = first.scene.rstrip() + " " + " ".join("@" + c for c in missing)
    return [PlannedShot(seconds=first.seconds, scene=scene), *shots[1:]]


def storyboard_chars(shots: list[PlannedShot]) -> int:
    """Length of the prompt the storyboard grammar makes of ``shots`` (seed-relay-api.md "Storyboard")."""
    blocks = [f"Shot {i}:\nduration: {s.seconds:g}sec\nScene: {s.scene.strip()}" for i, s in enumerate(shots, 1)]
    return len("\n\n".join(blocks))


def _catalog_problems(plan: Plan, spec: ModelSpec) -> tuple[list[Problem], list[str]]:
    report = check(plan.request(), spec)
    problems = list(report.problems)
    limit = spec.prompt.max_chars
    if plan.storyboard and limit is not None and storyboard_chars(plan.shots) > limit:
        problems.append(
            Problem(
                "shots",
                f"{len(plan.shots)} shots, {storyboard_chars(plan.shots)} characters as a storyboard",
                f"the storyboard prompt is over the {limit}-character limit of {spec.key}",
                allowed=f"<= {limit} characters",
                suggestion="plan a shorter idea or fewer shots",
            )
        )
    return problems, list(report.warnings)


def _s(x: float) -> str:
    return f"{int(x)} s" if float(x).is_integer() else f"{x:g} s"


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= 80 else text[:77] + "..."
