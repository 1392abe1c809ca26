"""Audio for Play and Speak, made ready for Asterisk.

Asterisk plays from its own disk, so everything is converted (sox) into 8 kHz
mono 16-bit wav files in `media_dir`, which Asterisk reads as
`asterisk_media_dir`. Sources:
* a file of the configured sound folder (`sounds_dir`): a relative name that
  must stay inside that folder (no `..`, no absolute paths, no links out);
* an http(s) URL, downloaded with a size limit;
* text, synthesised by espeak-ng with a voice (`Language`/`Voice`).
Results are cached by a hash of their source (the file's content, the URL, or
the voice and text), so a prompt is converted once.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import shutil
from pathlib import Path

import aiohttp

log = logging.getLogger(__name__)
VOICE_RE = re.compile(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*(\+[A-Za-z0-9]{1,16})?")


class MediaError(Exception):
    """The audio cannot be had: the parameter is refused (302) or Asterisk cannot play it."""

    def __init__(self, parameter: str, reason: str) -> None:
        super().__init__(reason)
        self.parameter = parameter


class Media:
    def __init__(self, sounds_dir: Path, media_dir: Path, asterisk_media_dir: str, max_bytes: int,
                 download_timeout: float = 10.0) -> None:
        self.sounds_dir = Path(sounds_dir)
        self.media_dir = Path(media_dir)
        self.asterisk_media_dir = asterisk_media_dir.rstrip("/")
        self.max_bytes = max_bytes
        self._timeout = aiohttp.ClientTimeout(total=download_timeout)
        self._locks: dict[str, asyncio.Lock] = {}

    # --- sources -------------------------------------------------------------------------
    async def from_sound_folder(self, name: str) -> str:
        base = self.sounds_dir.resolve()
        candidate = (base / name).resolve()
        if name.startswith(("/", "\\")) or ".." in Path(name).parts or base not in candidate.parents \
                or not candidate.is_file():
            raise MediaError("AudioFile", "not a file of the sound folder")
        digest = hashlib.sha256(candidate.read_bytes()).hexdigest()[:24]
        return await self._converted(digest, lambda out: self._sox(candidate, out))

    async def from_url(self, url: str) -> str:
        digest = hashlib.sha256(url.encode()).hexdigest()[:24]

        async def fetch(out: Path) -> None:
            raw = out.with_suffix(".download")
            size = 0
            try:
                async with aiohttp.ClientSession(timeout=self._timeout) as session:
                    async with session.get(url) as response:
                        if response.status != 200:
                            raise MediaError("AudioFile", f"download answered HTTP {response.status}")
                        with raw.open("wb") as f:
                            async for chunk in response.content.iter_chunked(65536):
                                size += len(chunk)
                                if size > self.max_bytes:
                                    raise MediaError("AudioFile", "download too large")
                                f.write(chunk)
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                raise MediaError("AudioFile", f"download failed: {exc}") from None
            try:
                await self._sox(raw, out, input_type=_type_from_url(url))
            finally:
                raw.unlink(missing_ok=True)

        return await self._converted(digest, fetch)

    async def from_text(self, text: str, voice: str) -> str:
        if not VOICE_RE.fullmatch(voice):
            raise MediaError("Language", "not a voice name")
        digest = hashlib.sha256(f"{voice}\0{text}".encode()).hexdigest()[:24]

        async def speak(out: Path) -> None:
            espeak = shutil.which("espeak-ng")
            if espeak is None:
                raise MediaError("Text", "espeak-ng is not installed")
            raw = out.with_suffix(".tts.wav")
            # the text goes on stdin: never an argument that could be taken for an option
            process = await asyncio.create_subprocess_exec(
                espeak, "-v", voice, "-w", str(raw), "--stdin", stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
            _, err = await process.communicate(text.encode())
            if process.returncode != 0 or not raw.exists():
                raise MediaError("Language", f"espeak-ng failed: {err.decode(errors='replace')[:200]}")
            try:
                await self._sox(raw, out)
            finally:
                raw.unlink(missing_ok=True)

        return await self._converted(digest, speak)

    # --- conversion ------------------------------------------------------------------------
    async def _converted(self, digest: str, make) -> str:
        """The Asterisk path (no extension) of the cached conversion, made once."""
        self.media_dir.mkdir(parents=True, exist_ok=True)
        out = self.media_dir / f"{digest}.wav"
        lock = self._locks.setdefault(digest, asyncio.Lock())
        async with lock:
            if not out.exists():
                partial = self.media_dir / f"{digest}.partial.wav"
                await make(partial)
                partial.chmod(0o644)
                partial.rename(out)
        return f"{self.asterisk_media_dir}/{digest}"

    @staticmethod
    async def _sox(source: Path, out: Path, input_type: str | None = None) -> None:
        sox = shutil.which("sox")
        if sox is None:
            raise MediaError("AudioFile", "sox is not installed")
        args = [sox, "-q"]
        if input_type:
            args += ["-t", input_type]
        args += [str(source), "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "wav", str(out)]
        process = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.DEVNULL,
                                                       stderr=asyncio.subprocess.PIPE)
        _, err = await process.communicate()
        if process.returncode != 0:
            out.unlink(missing_ok=True)
            raise MediaError("AudioFile", f"not audio sox can read: {err.decode(errors='replace')[:200]}")


def _type_from_url(url: str) -> str | None:
    path = url.split("?", 1)[0].lower()
    for ext in ("wav", "mp3", "ogg", "flac", "au"):
        if path.endswith("." + ext):
            return ext
    return None
