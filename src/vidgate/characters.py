"""Characters (cameos): the request that creates one, and the local registry of created characters.

A character is created on a provider once (``Client.create_character``) and then mentioned in prompts as
``@username`` (see ``vidgate.mentions``). vidgate remembers every character it created in a small JSON
file, ``$VIDGATE_HOME/characters.json`` (``~/.vidgate`` by default), so prompts can name characters by a
local name (``{cat}``) and a mention of an unknown character is caught before anything is sent.
The file holds no secret: ids, usernames, links and the local names.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from vidgate.errors import ConfigurationError
from vidgate.mentions import check_mentions, find_mentions, mentioned_usernames, render
from vidgate.problems import Problem
from vidgate.types import Character, Shot, VideoRequest

HOME_ENV = "VIDGATE_HOME"
REGISTRY_FILE = "characters.json"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]{0,63}")


def vidgate_home(env: Mapping[str, str] | None = None) -> Path:
    """``$VIDGATE_HOME``, else ``~/.vidgate``."""
    env = os.environ if env is None else env
    value = env.get(HOME_ENV)
    return Path(value).expanduser() if value else Path.home() / ".vidgate"


class CharacterRequest(BaseModel):
    """What to make a character from: a video URL *or* a finished task, and the seconds it appears in."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str | None = Field(None, description="A video showing the character (with sound; no real people)")
    from_task: str | None = Field(None, description="The provider's id of an already generated video task")
    timestamps: str = Field(description='"start,end" in seconds, e.g. "1,3"')
    name: str | None = Field(None, description="Local name for prompt templates, e.g. cat for {cat}")


def parse_timestamps(value: str) -> tuple[float, float] | None:
    parts = value.split(",")
    if len(parts) != 2:
        return None
    try:
        return float(parts[0]), float(parts[1])
    except ValueError:
        return None


def character_problems(request: CharacterRequest, *, min_span_s: float, max_span_s: float) -> list[Problem]:
    """Every problem with a character request for a provider whose window is ``min_span_s..max_span_s``."""
    problems: list[Problem] = []
    given = [k for k in ("url", "from_task") if getattr(request, k)]
    if len(given) != 1:
        problems.append(
            Problem(
                "url/from_task",
                "both" if given else "neither",
                "exactly one of url and from_task must be set",
                allowed="url=<video URL> or from_task=<task id>, not both",
                suggestion="pass --url for a video of the character, or --from-task for a video you generated",
            )
        )
    if request.url is not None and not re.match(r"^https?://[^\s/]+", request.url):
        problems.append(Problem("url", request.url, "not an http(s) URL", allowed="an http:// or https:// video URL"))
    span = f"{min_span_s:g} to {max_span_s:g} s"
    bounds = parse_timestamps(request.timestamps)
    if bounds is None:
        problems.append(
            Problem(
                "timestamps",
                request.timestamps,
                'must be "start,end" in seconds',
                allowed=f'"start,end" with end - start from {span}, e.g. "1,3"',
                suggestion='write e.g. --timestamps "1,3"',
            )
        )
    else:
        start, end = bounds
        if start < 0 or end <= start or not min_span_s - 1e-9 <= end - start <= max_span_s + 1e-9:
            problems.append(
                Problem(
                    "timestamps",
                    request.timestamps,
                    f"the character window is {end - start:g} s long (start {start:g}, end {end:g})",
                    allowed=f"start >= 0 and end - start from {span}",
                    suggestion=f'choose a window of {span}, e.g. "{max(start, 0):g},{max(start, 0) + min_span_s:g}"',
                )
            )
    if request.name is not None and (not _NAME.fullmatch(request.name)):
        problems.append(
            Problem(
                "name",
                request.name,
                "a local name is a letter or _ followed by letters, digits, _ or - (it is used as {name})",
                allowed="e.g. cat, hero_2",
            )
        )
    return problems


class _RegistryFile(BaseModel):
    version: int = 1
    characters: list[Character] = Field(default_factory=list)


class CharacterRegistry:
    """The characters this machine created, in ``<home>/characters.json``. Writes are atomic."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    @classmethod
    def at_home(cls, env: Mapping[str, str] | None = None) -> CharacterRegistry:
        return cls(vidgate_home(env) / REGISTRY_FILE)

    def all(self) -> list[Character]:
        if not self.path.exists():
            return []
        try:
            data: Any = json.loads(self.path.read_text(encoding="utf-8"))
            return _RegistryFile.model_validate(data).characters
        except (OSError, json.JSONDecodeError, PydanticValidationError) as exc:
            raise ConfigurationError(
                f"The character registry {self.path} cannot be read ({exc.__class__.__name__}: {exc}). "
                "Fix or move the file; vidgate recreates it on the next `vidgate characters create`."
            ) from None

    def find(self, key: str) -> Character | None:
        """By local name, username (with or without @) or id; the newest entry wins."""
        key = key.removeprefix("@")
        for c in reversed(self.all()):
            if key in (c.name, c.username, c.id):
                return c
        return None

    def aliases(self) -> dict[str, str]:
        return {c.name: c.username for c in self.all() if c.name}

    def usernames(self) -> set[str]:
        return {c.username for c in self.all()}

    def add(self, character: Character) -> Character:
        """Store (or replace, same provider and id) a character. A local name moves to the newest owner."""
        kept = [
            c if not (character.name and c.name == character.name) else c.model_copy(update={"name": None})
            for c in self.all()
            if not (c.provider == character.provider and c.id == character.id)
        ]
        kept.append(character)
        self._write(_RegistryFile(characters=kept))
        return character

    def _write(self, data: _RegistryFile) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".characters-", suffix=".json", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(data.model_dump_json(indent=2))
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def apply_to_request(
    request: VideoRequest, registry: CharacterRegistry | None, known: Iterable[str] | None = None
) -> tuple[VideoRequest, list[Problem]]:
    """Resolve local names, fill the prompt template, and list every character the prompt mentions.

    With ``characters`` given, the prompt (or, for a storyboard, each scene) is a template for
    ``vidgate.mentions.render``. Mentions of known characters written literally are added to
    ``characters`` so that ``catalog.check`` accepts them. ``known``: the usernames that may be mentioned
    (default: the registry's); a character that is not among them is a problem, never sent. Nothing here
    touches the network.
    """
    aliases = registry.aliases() if registry is not None else {}
    usable = set(known) if known is not None else (registry.usernames() if registry is not None else set())
    listed = [aliases.get(c.removeprefix("@"), c.removeprefix("@")) for c in request.characters]
    problems: list[Problem] = [
        Problem(
            "characters",
            name,
            f"there is no character {name!r} here",
            allowed=", ".join(sorted(usable)) or "none yet",
            suggestion="create it first (`vidgate characters create`), or check its name (`vidgate characters list`)",
        )
        for name in dict.fromkeys(listed)
        if name not in usable
    ]
    prompt, shots = request.prompt, list(request.shots)
    if listed:
        if shots:
            rendered: list[Shot] = []
            for i, shot in enumerate(shots):
                scene, found = render(shot.scene, listed, aliases, append=False)
                problems += [_at(p, f"shots[{i}].scene") for p in found]
                rendered.append(shot.model_copy(update={"scene": scene}))
            shots = _append_missing(rendered, listed)
        else:
            prompt, found = render(prompt, listed, aliases)
            problems += found
    texts = [prompt] + [s.scene for s in shots]
    mentioned = [u for t in texts for u in mentioned_usernames(t)]
    characters = list(dict.fromkeys(listed + [u for u in mentioned if u in usable]))
    update: dict[str, Any] = {"prompt": prompt, "shots": shots, "characters": characters}
    return request.model_copy(update=update), problems


def apply_characters(
    request: VideoRequest, supported: bool, env: Mapping[str, str], known: Iterable[str] | None = None
) -> tuple[VideoRequest, list[Problem]]:
    """Fill the prompt template and resolve character names through the registry (models with characters).
    ``known``: the usernames the caller may mention instead of the local registry's (a gateway key's own)."""
    if not supported:
        return request, []
    texts = [request.prompt] + [s.scene for s in request.shots]
    if not request.characters and not any(find_mentions(t) for t in texts):
        return request, []
    return apply_to_request(request, None if known is not None else CharacterRegistry.at_home(env), known)


def request_mention_problems(request: VideoRequest) -> list[Problem]:
    """Glued or unknown mentions in the prompt and the storyboard scenes (known = ``request.characters``)."""
    problems = check_mentions(request.prompt, request.characters)
    for i, shot in enumerate(request.shots):
        problems += check_mentions(shot.scene, request.characters, field=f"shots[{i}].scene")
    return problems


def _append_missing(shots: list[Shot], characters: list[str]) -> list[Shot]:
    mentioned = {u for s in shots for u in mentioned_usernames(s.scene)}
    missing = [c for c in characters if c not in mentioned]
    if not missing or not shots:
        return shots
    first = shots[0]
    scene = first.scene.rstrip(" ") + " " + " ".join("@" + c for c in missing)
    return [first.model_copy(update={"scene": scene}), *shots[1:]]


def _at(problem: Problem, field: str) -> Problem:
    return Problem(field, problem.value, problem.message, problem.allowed, problem.suggestion)
