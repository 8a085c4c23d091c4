"""What the numbers were measured on: CPU, cores, memory, OS, Python, package and tool versions, load."""

from __future__ import annotations

import os
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("vidgate", "httpx", "pydantic", "starlette", "uvicorn", "fastapi", "openai", "google-genai", "litellm")


def _first_line(args: list[str]) -> str:
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr).strip() else "?"


def _cpu_model() -> str:
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    m = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    flags = re.search(r"^flags\s*:\s*(.+)$", text, re.M)
    extras = [f for f in ("sha_ni", "avx2", "avx512f") if flags and f in flags.group(1).split()]
    return (m.group(1).strip() if m else platform.processor() or "?") + (f" ({', '.join(extras)})" if extras else "")


def _memory_gib() -> float:
    text = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    m = re.search(r"^MemTotal:\s+(\d+) kB", text, re.M)
    return int(m.group(1)) / (1 << 20) if m else float("nan")


def _os() -> str:
    release = Path("/etc/os-release")
    name = platform.system()
    if release.exists():
        m = re.search(r'^PRETTY_NAME="?([^"\n]+)', release.read_text(), re.M)
        name = m.group(1) if m else name
    return f"{name}, kernel {platform.release()}"


def _postgres() -> str:
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (d / "postgres").exists():
            return _first_line([str(d / "postgres"), "--version"])
    found = shutil.which("postgres")
    return _first_line([found, "--version"]) if found else "not installed"


def describe() -> dict[str, Any]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    build = sysconfig.get_config_var("CONFIG_ARGS") or ""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(_memory_gib(), 1),
        "os": _os(),
        "python": f"{platform.python_implementation()} {sys.version.split()[0]}"
        + ("" if "--enable-optimizations" in build else " (built without PGO: --enable-optimizations)"),
        "packages": versions,
        "tools": {
            "curl": _first_line(["curl", "--version"]),
            "wrk": _first_line(["wrk", "--version"]),
            "postgresql": _postgres(),
            "sqlite": sqlite3.sqlite_version,
        },
        "load_average": os.getloadavg(),
    }
