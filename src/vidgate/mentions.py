"""Character mentions in prompts: ``@username`` separated from the surrounding text by spaces.

The relay's rule (seed-relay-api.md, "Character cameo"): a character is used by writing ``@username``
in the prompt, *separated from the surrounding prompt text by spaces*. vidgate therefore

* fills prompt templates: ``"{cat} dances with {dog}"`` with ``characters=["cat", "dog"]`` becomes
  ``"@cat.user dances with @dog.user"``. A placeholder names a character by username, by its local name
  in the registry, or by position (``{0}``). ``{{`` and ``}}`` are literal braces. A mention that would
  touch other text gets a space inserted (``"{cat}, hi"`` -> ``"@cat.user , hi"``). Characters of the
  list that the prompt does not mention at all are appended at the end, space-separated.
* refuses, before any I/O, a mention glued to other text (``hi@cat``, ``@cat,``) and a mention of a
  character that is neither in the request's list nor (through ``Client``) in the local registry.

Only plain ASCII whitespace (space, tab, newline) separates a mention: the docs show ASCII spaces, and a
full-width space or punctuation may be read as part of the username.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from vidgate.problems import Problem

SEPARATORS = frozenset(" \t\r\n")
USERNAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.\-]*[A-Za-z0-9_])?")
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}\s]*)\}")
_WORD_AFTER_AT = re.compile(r"[^ \t\r\n]*")


@dataclass(frozen=True)
class Mention:
    """One ``@`` in a prompt: the text after it up to the next separator, and whether it stands alone."""

    start: int  # index of the "@"
    token: str  # everything after "@" up to whitespace (may include glued punctuation)
    spaced_before: bool

    @property
    def username(self) -> str | None:
        """The username when the token is one, else None (punctuation or other text glued to it)."""
        return self.token if USERNAME.fullmatch(self.token) else None


def find_mentions(text: str) -> list[Mention]:
    found: list[Mention] = []
    for i, ch in enumerate(text):
        if ch != "@":
            continue
        m = _WORD_AFTER_AT.match(text, i + 1)
        token = m.group(0) if m else ""
        found.append(Mention(start=i, token=token, spaced_before=i == 0 or text[i - 1] in SEPARATORS))
    return found


def mentioned_usernames(text: str) -> list[str]:
    """Usernames of the well-formed mentions in ``text``, in order, without repeats."""
    out: list[str] = []
    for m in find_mentions(text):
        name = m.username
        if m.spaced_before and name and name not in out:
            out.append(name)
    return out


def check_mentions(text: str, known: Iterable[str], field: str = "prompt") -> list[Problem]:
    """Every glued or unknown mention in ``text``. ``known`` are the usernames the request may mention."""
    known_set = set(known)
    allowed = ", ".join(f"@{k}" for k in sorted(known_set)) or "no characters (none were given)"
    problems: list[Problem] = []
    for m in find_mentions(text):
        shown = "@" + m.token
        context = _context(text, m)
        glued_prefix = next((k for k in sorted(known_set, key=len, reverse=True) if m.token.startswith(k)), None)
        if not m.token:
            problems.append(
                Problem(
                    field,
                    context,
                    "an @ must be followed directly by a character's username",
                    allowed=allowed,
                    suggestion="write @username with no space after the @, or 'at' if this is not a mention",
                )
            )
            continue
        if not m.spaced_before or m.username is None:
            fixed = _respace(text, m, glued_prefix)
            problems.append(
                Problem(
                    field,
                    context,
                    f"the mention {shown!r} is glued to other text; a character mention must be separated "
                    "from the surrounding text by spaces",
                    allowed="@username with a space (or the start/end of the prompt) on both sides",
                    suggestion=f"write {fixed!r}; if this @ is not a character mention, write 'at' instead",
                )
            )
            continue
        if m.token not in known_set:
            problems.append(
                Problem(
                    field,
                    shown,
                    f"no character {m.token!r} is known: it is neither in the request's characters nor in the "
                    "local character registry",
                    allowed=allowed,
                    suggestion="create it first (`vidgate characters create`), add it to characters=[...], "
                    "or check the spelling (`vidgate characters list`)",
                )
            )
    return problems


def render(
    template: str, characters: Sequence[str], aliases: Mapping[str, str] | None = None, *, append: bool = True
) -> tuple[str, list[Problem]]:
    """Fill ``{key}`` placeholders with correctly spaced ``@username`` mentions; append unmentioned ones.

    ``characters`` are usernames; ``aliases`` maps local names to usernames. Returns the prompt and the
    problems (a placeholder naming no character of the list). ``append=False`` leaves unmentioned out.
    """
    aliases = aliases or {}
    problems: list[Problem] = []
    segments: list[tuple[bool, str]] = []  # (is_mention, text)
    pos = 0
    used: set[str] = set()
    for m in _PLACEHOLDER.finditer(template):
        segments.append((False, template[pos : m.start()]))
        pos = m.end()
        if m.group(0) in ("{{", "}}"):
            segments.append((False, m.group(0)[0]))
            continue
        key = m.group(1) or ""
        username = _resolve(key, characters, aliases)
        if username is None:
            problems.append(
                Problem(
                    "prompt",
                    "{" + key + "}",
                    "the placeholder names none of the characters given",
                    allowed=_describe_keys(characters, aliases),
                    suggestion="use a username, a local name or a position such as {0}; write {{ and }} for "
                    "literal braces",
                )
            )
            segments.append((False, m.group(0)))
            continue
        used.add(username)
        segments.append((True, "@" + username))
    segments.append((False, template[pos:]))
    text = _join(segments)
    already = set(mentioned_usernames(text))
    missing = [c for c in dict.fromkeys(characters) if c not in used and c not in already]
    if missing and append:
        tail = " ".join("@" + c for c in missing)
        text = f"{text.rstrip(' ')} {tail}" if text.strip() else tail
    return text, problems


def _join(segments: list[tuple[bool, str]]) -> str:
    """Concatenate, putting a space between a mention and any text (or mention) that touches it."""
    out = ""
    prev_mention = False
    for is_mention, piece in segments:
        if not piece:
            continue
        touching = bool(out) and out[-1] not in SEPARATORS and piece[0] not in SEPARATORS
        if touching and (is_mention or prev_mention):
            out += " "
        out += piece
        prev_mention = is_mention
    return out


def _resolve(key: str, characters: Sequence[str], aliases: Mapping[str, str]) -> str | None:
    if key in characters:
        return key
    target = aliases.get(key)
    if target is not None and target in characters:
        return target
    if key.isdigit() and int(key) < len(characters):
        return characters[int(key)]
    return None


def _describe_keys(characters: Sequence[str], aliases: Mapping[str, str]) -> str:
    if not characters:
        return "no characters were given"
    names = {v: k for k, v in aliases.items() if v in characters}
    parts = []
    for i, c in enumerate(characters):
        alias = f" or {{{names[c]}}}" if c in names else ""
        parts.append(f"{{{c}}}{alias} or {{{i}}}")
    return "; ".join(parts)


def _context(text: str, m: Mention) -> str:
    start = m.start
    while start > 0 and text[start - 1] not in SEPARATORS and m.start - start < 20:
        start -= 1
    return text[start : m.start + 1 + len(m.token)]


def _respace(text: str, m: Mention, known_prefix: str | None) -> str:
    """How the mention and the word it is glued to should have been written."""
    if known_prefix is not None:
        name, rest = known_prefix, m.token[len(known_prefix) :]
    else:
        found = USERNAME.match(m.token)
        name = found.group(0) if found else m.token
        rest = m.token[len(name) :]
    fixed = "@" + name + (" " + rest if rest else "")
    before = _context(text, m)[: -(len(m.token) + 1)]
    return f"{before} {fixed}" if before else fixed
