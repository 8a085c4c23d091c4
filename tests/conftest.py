"""Shared fixtures: a real emulator on loopback and clients pointed at it with a matching time scale."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from tests.pg import pg_server  # noqa: F401  (session fixture: a real PostgreSQL for any test)
from tests.s3 import s3_server  # noqa: F401  (session fixture: a real S3-compatible server, moto, for any test)
from vidgate.client import Client
from vidgate.emulator import EmulatorConfig, EmulatorServer
from vidgate.engine.polling import PollPolicy

# Emulated jobs take the model's typical latency times this; the client polls on the same scale.
FAST = 0.003


@pytest.fixture(scope="session", autouse=True)
def vidgate_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every test (and CLI subprocess) keeps its job store and registries in a temp dir, never in ~/.vidgate.

    HOME moves too: tests that strip every VIDGATE_* variable (to try the defaults) must still not reach the
    real home directory, whose store may belong to another vidgate version.
    """
    import os

    home = tmp_path_factory.mktemp("vidgate-home")
    saved = {name: os.environ.get(name) for name in ("VIDGATE_HOME", "HOME")}
    os.environ["VIDGATE_HOME"] = str(home)
    os.environ["HOME"] = str(tmp_path_factory.mktemp("user-home"))
    os.environ.pop("VIDGATE_DATABASE_URL", None)
    yield home
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(autouse=True)
def nothing_saved_where_the_tests_run() -> Iterator[None]:
    """A test that saves a video without ``out=`` or a downloads directory leaves it in the checkout: refused."""
    here = Path.cwd()
    before = set(here.glob("job_*"))
    yield
    stray = sorted(set(here.glob("job_*")) - before)
    for path in stray:
        path.unlink(missing_ok=True)
    assert not stray, f"the test saved {[p.name for p in stray]} into {here}; give it out= or a downloads_dir"


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(time_scale=FAST)) as server:
        yield server


@pytest.fixture
def emulator(emulator_server: EmulatorServer) -> EmulatorServer:
    """The session's emulator with its jobs and request counters cleared."""
    emulator_server.state.reset()
    return emulator_server


@pytest.fixture
def fast_policy() -> PollPolicy:
    return PollPolicy(time_scale=FAST)


@pytest.fixture
def client(emulator: EmulatorServer, fast_policy: PollPolicy, tmp_path: Path) -> Iterator[Client]:
    # downloads_dir: a generate() without out= saves here, never into the directory the tests run from
    with Client(base_url=emulator.url, api_key=emulator.api_key, poll_policy=fast_policy, env={},
                downloads_dir=tmp_path / "downloads") as c:  # fmt: skip
        yield c


def make_image(path: Path, size: tuple[int, int] = (64, 36), fmt: str = "PNG") -> Path:
    Image.new("RGB", size, (200, 120, 40)).save(path, format=fmt)
    return path


def image_bytes(size: tuple[int, int] = (64, 36), fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (10, 120, 240)).save(buf, format=fmt)
    return buf.getvalue()
