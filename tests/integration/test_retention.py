"""Retention on the local directory: results saved under the downloads directory go after their time (the
record keeps where they were and says when they went, the job stays done), a file the caller chose is never
touched, and the loop a worker or gateway runs sweeps by itself."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from vidgate.client import AsyncClient
from vidgate.emulator import EmulatorServer
from vidgate.engine.polling import PollPolicy
from vidgate.engine.retention import retention_loop, sweep
from vidgate.storage import LocalStorage
from vidgate.store import open_store


def test_old_results_go_the_callers_files_stay(
    emulator: EmulatorServer, fast_policy: PollPolicy, tmp_path: Path
) -> None:
    files, mine = tmp_path / "files", tmp_path / "mine.mp4"

    async def go() -> None:
        async with AsyncClient(base_url=emulator.url, api_key=emulator.api_key, poll_policy=fast_policy, env={},
                               store=open_store(tmp_path / "j.db"), storage=files) as c:  # fmt: skip
            kept = await c.generate("a heron kept in storage", model="relay/sora-2")
            chosen = await c.generate("a heron of my own", model="relay/sora-2", out=mine)
            core, storage = c.engine.core, LocalStorage(files)
            assert kept.video and kept.video.path == str(files.resolve() / f"{kept.id}.mp4")
            assert sweep(core, storage, retention_s=60) == 0
            later = core.now() + timedelta(minutes=5)
            assert sweep(core, storage, retention_s=60, now=later) == 1
            swept = c.job(kept.id)
            assert swept.done and swept.video and swept.video.removed_at == later
            assert swept.video.path == kept.video.path and not Path(kept.video.path).exists()
            assert mine.exists() and c.job(chosen.id).video.removed_at is None  # type: ignore[union-attr]
            third = await c.generate("a heron swept by the loop", model="relay/sora-2")
            stop = asyncio.Event()
            loop = asyncio.ensure_future(retention_loop(core, storage, 0.001, stop, every_s=0.01))
            for _ in range(500):
                if c.job(third.id).video.removed_at is not None:  # type: ignore[union-attr]
                    break
                await asyncio.sleep(0.01)
            stop.set()
            await loop
            assert c.job(third.id).video.removed_at is not None  # type: ignore[union-attr]
            assert storage.keys() == []

    asyncio.run(go())
