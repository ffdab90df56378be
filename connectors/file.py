"""The ``file`` source: imports JSONL or CSV exports and follows a growing file.

The cursor is the byte offset after the last complete record, so a restart resumes exactly
where the last committed page ended; a half-written last line waits for its newline. A CSV
field may span lines inside quotes; an invalid UTF-8 byte becomes U+FFFD instead of costing
the record.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, ValidationError

from repbot.errors import TransientError
from repbot.models import Mention, Page
from repbot.platforms import Platform
from repbot.records import record_to_mention
from repbot.sandbox import SandboxConfig, SandboxConnector

log = logging.getLogger(__name__)
MAX_CSV_RECORD_LINES = 200


class FileConfig(SandboxConfig):
    """Options of the ``file`` source."""

    path: Path = Field(description="The JSONL or CSV file to import (relative to the config).")
    format: Literal["auto", "jsonl", "csv"] = "auto"
    platform: str = Field("file", description="Platform for records that do not name one.")
    mapping: dict[str, str] = Field(
        default_factory=dict,
        description="Mention field -> record field (dotted for nested JSON), e.g. text: body.",
    )
    batch_size: int = Field(2000, ge=1, le=100_000, description="Records per fetch.")


class FileConnector(SandboxConnector):
    """Reads one mention per record from a JSONL or CSV file, following it as it grows."""

    type_name: ClassVar[str] = "file"
    platform: ClassVar[str] = "file"
    platforms: ClassVar[tuple[Platform, ...]] = (Platform("file"),)
    can_reply: ClassVar[bool] = False  # an import reaches no platform: a human posts the reply
    Config: ClassVar[type[FileConfig]] = FileConfig  # type: ignore[assignment]
    config: FileConfig

    def file_path(self) -> Path:
        """The file, resolved against the config's folder."""
        return self.base_dir / self.config.path

    def file_format(self) -> str:
        """``jsonl`` or ``csv``."""
        if self.config.format != "auto":
            return self.config.format
        return "csv" if self.file_path().suffix.lower() == ".csv" else "jsonl"

    async def fetch(self, cursor: str | None) -> Page:
        offset = int(cursor or 0)
        path = self.file_path()
        try:
            with path.open("rb") as handle:
                header = handle.readline() if self.file_format() == "csv" else b""
                offset = max(offset, len(header))
                handle.seek(offset)
                return self._read(handle, offset, header)
        except FileNotFoundError as exc:
            raise TransientError(f"{path}: file not found (waiting for it)") from exc
        except OSError as exc:
            raise TransientError(f"{path}: {exc.strerror}") from exc

    def _read(self, handle: io.BufferedReader, offset: int, header: bytes) -> Page:
        mentions: list[Mention] = []
        malformed = 0
        columns = next(csv.reader([header.decode("utf-8-sig", "replace")])) if header else []
        full = False
        for count in range(self.config.batch_size + 1):
            if count == self.config.batch_size:
                full = True
                break
            line = _next_line(handle, len(columns))
            if line is None:
                break
            position = offset
            offset += len(line)
            if not line.strip():
                continue
            try:
                record = self._record(line, columns)
                mentions.append(self.to_mention(record))
            except Exception as exc:  # noqa: BLE001 - any record that does not map is malformed
                malformed += 1
                log.warning(
                    "skipped malformed record source=%s file=%s byte=%d error=%s",
                    self.name,
                    self.config.path,
                    position,
                    _short(exc),
                )
        more = full and bool(handle.peek(1))
        return Page(mentions=mentions, cursor=str(offset), malformed=malformed, has_more=more)

    def _record(self, line: bytes, columns: list[str]) -> dict[str, Any]:
        text = line.decode("utf-8", "replace")  # a bad byte costs one character, not the record
        if columns:
            values = _csv_values(text)
            if len(values) != len(columns):
                raise ValueError(f"expected {len(columns)} columns, got {len(values)}")
            return dict(zip(columns, values, strict=True))
        record = json.loads(text)
        if not isinstance(record, dict):
            raise ValueError("record is not a JSON object")
        return record

    def to_mention(self, record: dict[str, Any]) -> Mention:
        """A Mention from one record, applying the field mapping."""
        return record_to_mention(record, self.config.mapping, self.config.platform)


def _next_line(handle: io.BufferedReader, columns: int) -> bytes | None:
    """The next complete record (a CSV record may span lines inside quotes), or None to wait.

    A quote that does not close within ``MAX_CSV_RECORD_LINES`` lines or before the end of the
    file, or lines that do not parse as one record of ``columns`` values, make the first line a
    record of its own (it is then malformed): one stray quote costs one line, never the lines
    after it. A quoted line that is the last complete line waits for the next one.
    """
    start = handle.tell()
    line = handle.readline()
    if not line.endswith(b"\n"):
        return None
    if not columns or line.count(b'"') % 2 == 0:
        return line
    record = line
    for _ in range(MAX_CSV_RECORD_LINES):
        more = handle.readline()
        if not more.endswith(b"\n"):
            if record == line:
                handle.seek(start)  # the rest of the record may still be being written
                return None
            break  # complete lines follow and none closes the quote: a stray quote
        record += more
        if record.count(b'"') % 2 == 0:
            if _parses_as(record, columns):
                return record
            break
    handle.seek(start + len(line))
    return line


def _parses_as(record: bytes, columns: int) -> bool:
    try:
        return len(_csv_values(record.decode("utf-8", "replace"))) == columns
    except csv.Error:
        return False


def _csv_values(text: str) -> list[str]:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if len(rows) != 1:
        raise ValueError(f"expected one CSV record, got {len(rows)}")
    return rows[0]


def _short(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
            for e in exc.errors(include_input=False, include_url=False)
        )
    return str(exc)[:200]
