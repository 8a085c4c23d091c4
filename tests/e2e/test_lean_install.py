"""``pip install vidgate`` is the library, the CLI and the emulator: nothing of the gateway, PostgreSQL or Google
extras is imported to generate a video, and a command that needs an extra says which one to install.

Each case runs in a fresh interpreter where the extras' packages cannot be imported (as after a lean install).
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXTRA_PACKAGES = ("fastapi", "jinja2", "prometheus_client", "psycopg", "psycopg_pool", "google.auth")
BLOCK = f"""
import importlib.abc, sys
BLOCKED = {EXTRA_PACKAGES!r}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in BLOCKED):
            raise ImportError(f"No module named {{name!r}} (lean install)")
        return None
sys.meta_path.insert(0, Block())
"""


def lean(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {"VIDGATE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-c", BLOCK + code], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120)  # fmt: skip


def cli(args: list[str], then: str = "") -> str:
    """Run the CLI, then ``then`` (a check on the interpreter's state), then exit with the CLI's code."""
    return (
        f"import sys; sys.argv = ['vidgate', *{args!r}]\nfrom vidgate.cli import main\n"
        f"try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code\n{then}\nsys.exit(code)"
    )


def test_the_base_dependencies_leave_the_extras_out() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = " ".join(project["dependencies"]).lower()
    for name in ("fastapi", "jinja2", "prometheus", "psycopg", "google-auth"):
        assert name not in base, f"{name} belongs in an extra, not in `pip install vidgate`"
    extras = project["optional-dependencies"]
    assert {"server", "postgres", "google"} <= set(extras)


def test_the_library_generates_a_video_without_any_extra(tmp_path: Path) -> None:
    roots = sorted({p.split(".")[0] for p in EXTRA_PACKAGES})
    args = ["generate", "a lean lighthouse", "-m", "sora-2", "-d", "10", "--emulator", "--json", "--out", "v.mp4"]
    check = f"loaded = [m for m in sys.modules if m.split('.')[0] in {roots}]\nassert not loaded, loaded"
    done = lean(cli([*args, "--store", "memory://"], then=check), tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert '"ok": true' in done.stdout and (tmp_path / "v.mp4").stat().st_size > 1000


def test_commands_that_need_an_extra_name_it(tmp_path: Path) -> None:
    serve = lean(cli(["serve", "--port", "0"]), tmp_path)
    assert serve.returncode == 2 and "pip install 'vidgate[server]'" in serve.stderr, serve.stderr[-2000:]
    pg = lean(cli(["jobs", "list", "--store", "postgresql://vidgate@127.0.0.1:1/none"]), tmp_path)
    assert pg.returncode == 2 and "pip install 'vidgate[postgres]'" in pg.stderr, pg.stderr[-2000:]
    assert "Traceback" not in serve.stderr + pg.stderr
