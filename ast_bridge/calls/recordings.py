"""Call recordings (Record, reference §5.14).

Asterisk records with MixMonitor into `asterisk_recordings_dir` (the folder as
Asterisk sees it; `recordings_dir` is the same folder as the bridge sees it).
A recording ends when the recorded channel hangs up (MixMonitor sends no stop
event then), so the bridge watches Hangup events, waits for the file to be
complete, converts it to mp3 when asked (`lame`), and posts `RecordCompleted`
with `RecordURL` to the client's `FinishedUrl` through the outbox. The bridge
serves the files at `RecordURL` to authenticated clients only.
"""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import time
import wave
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ast_bridge.asterisk.actions import start_mixmonitor
from ast_bridge.asterisk.ami import AmiClient
from ast_bridge.asterisk.message import AmiMessage as Message
from ast_bridge.calls.model import Call, ChannelInfo
from ast_bridge.notify.outbox import Outbox

log = logging.getLogger(__name__)
FILE_NAME_RE = re.compile(r"[A-Za-z0-9]{1,32}-[0-9]{1,6}\.(wav|mp3)")


@dataclass
class Recording:
    call_id: str
    channel: str
    uniqueid: str
    name: str  # file name without extension
    format: str
    finished_url: str | None
    caller: str
    callee: str
    started: float


class Recordings:
    def __init__(self, ami: AmiClient, outbox: Outbox, recordings_dir: Path, asterisk_recordings_dir: str,
                 public_url: str) -> None:
        self._ami = ami
        self._outbox = outbox
        self.directory = Path(recordings_dir)
        self._asterisk_dir = asterisk_recordings_dir.rstrip("/")
        self._public_url = public_url.rstrip("/")
        self._active: dict[str, Recording] = {}  # by recorded channel's Uniqueid
        self._tasks: set[asyncio.Task] = set()

    def url_for(self, file_name: str) -> str:
        return f"{self._public_url}/recordings/{file_name}"

    def path_for(self, file_name: str) -> Path | None:
        """The file behind a RecordURL, or None for anything that is not one of ours."""
        if not FILE_NAME_RE.fullmatch(file_name):
            return None
        path = self.directory / file_name
        return path if path.is_file() else None

    async def start(self, call: Call, channel: ChannelInfo, fmt: str, finished_url: str | None) -> Recording:
        name = f"{call.call_id}-{int(time.time() * 1000) % 1_000_000:06d}"
        recording = Recording(call.call_id, channel.name, channel.uniqueid, name, fmt, finished_url,
                              call.source, call.destination, time.time())
        self._active[channel.uniqueid] = recording
        try:
            await start_mixmonitor(self._ami, channel.name, f"{self._asterisk_dir}/{name}.wav")
        except Exception:
            self._active.pop(channel.uniqueid, None)
            raise
        return recording

    def on_hangup(self, event: Message) -> None:
        recording = self._active.pop(event.get("uniqueid", ""), None)
        if recording is not None:
            task = asyncio.create_task(self._finish(recording))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in list(self._tasks):
            await asyncio.wait({task}, timeout=5)

    async def _finish(self, recording: Recording) -> None:
        wav = self.directory / f"{recording.name}.wav"
        if not await _settled(wav):
            log.error("recording %s of call %s: no file at %s", recording.name, recording.call_id, wav)
            return
        duration = _wav_seconds(wav)
        final = wav
        if recording.format == "mp3":
            final = await _to_mp3(wav)
        log.info("recording %s of call %s done (%.1f s, %s)", recording.name, recording.call_id, duration,
                 final.name)
        if recording.finished_url:
            self._outbox.submit(recording.finished_url, {
                "NotificationName": "RecordCompleted",
                "CallId": recording.call_id,
                "RecordURL": self.url_for(final.name),
                "Format": final.suffix.lstrip("."),
                "Duration": f"{duration:.3f}",
                "Caller": recording.caller,
                "Callee": recording.callee,
                "Time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            }, call_id=recording.call_id)


async def _settled(path: Path, attempts: int = 40) -> bool:
    """Wait until Asterisk has finished writing the file (its size stops changing)."""
    last = -1
    for _ in range(attempts):
        size = path.stat().st_size if path.exists() else -1
        if size > 44 and size == last:
            return True
        last = size
        await asyncio.sleep(0.1)
    return path.exists()


def _wav_seconds(path: Path) -> float:
    try:
        with wave.open(str(path)) as audio:
            return audio.getnframes() / float(audio.getframerate())
    except (wave.Error, EOFError, OSError):
        return 0.0


async def _to_mp3(wav: Path) -> Path:
    lame = shutil.which("lame")
    if lame is None:
        log.error("mp3 asked for but `lame` is not installed: keeping %s as wav", wav.name)
        return wav
    mp3 = wav.with_suffix(".mp3")
    process = await asyncio.create_subprocess_exec(lame, "--quiet", "-V", "5", str(wav), str(mp3))
    if await process.wait() != 0 or not mp3.exists():
        log.error("lame failed on %s: keeping the wav", wav.name)
        return wav
    wav.unlink(missing_ok=True)
    return mp3
