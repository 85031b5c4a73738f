"""Drive the real `pitterm` process in a pseudo-terminal and read its screen like a person would.

``Terminal.start`` spawns the installed console script (or ``python -m pitterm``) under a
pty of a fixed size with ``pexpect``; a reader thread feeds everything the process writes to
a ``pyte`` terminal emulator, so ``text()`` is the screen as a person would see it now.
``send`` types keys by name (F-keys, Escape, Enter, Tab, arrows, ctrl+x), ``type`` types
text, and ``wait_for`` polls the emulated screen until a text (or pattern) shows, failing
with the whole screen when it does not. Nothing here sleeps to let the app "catch up": every
step waits for what the screen should show next.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pexpect
import pyte

COLUMNS = 120
ROWS = 40
DEFAULT_TIMEOUT = 15.0
"""Seconds a screen may take to show what a test waits for (a loaded CI machine is slow)."""

ESCAPE_GAP = 0.15
"""Textual tells a lone Escape from the start of an escape sequence by the pause after it
(its parser waits ~0.1 s); the next key goes out only after this gap."""

KEYS: dict[str, str] = {
    "enter": "\r",
    "tab": "\t",
    "shift+tab": "\x1b[Z",
    "escape": "\x1b",
    "esc": "\x1b",
    "space": " ",
    "backspace": "\x7f",
    "delete": "\x1b[3~",
    "up": "\x1b[A",
    "down": "\x1b[B",
    "right": "\x1b[C",
    "left": "\x1b[D",
    "home": "\x1b[H",
    "end": "\x1b[F",
    "ctrl+home": "\x1b[1;5H",
    "ctrl+end": "\x1b[1;5F",
    "pageup": "\x1b[5~",
    "pagedown": "\x1b[6~",
    "f1": "\x1bOP",
    "f2": "\x1bOQ",
    "f3": "\x1bOR",
    "f4": "\x1bOS",
    "f5": "\x1b[15~",
    "f6": "\x1b[17~",
    "f7": "\x1b[18~",
    "f8": "\x1b[19~",
    "f9": "\x1b[20~",
    "f10": "\x1b[21~",
    "f11": "\x1b[23~",
    "f12": "\x1b[24~",
}
"""What an xterm sends for each named key."""


def key_bytes(name: str) -> str:
    """The characters a named key sends: 'f7', 'enter', 'ctrl+u', or one literal character."""
    lowered = name.lower()
    if lowered in KEYS:
        return KEYS[lowered]
    if lowered.startswith("ctrl+") and len(lowered) == 6 and lowered[5].isalpha():
        return chr(ord(lowered[5]) - ord("a") + 1)
    if len(name) == 1:
        return name
    raise ValueError(f"unknown key name {name!r}; use one character or one of {sorted(KEYS)}")


WRAP = r"[\s│█▌▎▊▏]+"
"""Between two words of a wrapped text: spaces, the line break, and a dialog's side borders."""


def phrase(text: str) -> str:
    """A pattern for ``text`` that still matches when the screen wraps it inside a dialog."""
    return WRAP.join(re.escape(word) for word in text.split())


def pitterm_command() -> list[str]:
    """The installed console script beside this interpreter, else ``python -m pitterm``."""
    script = Path(sys.executable).with_name("pitterm")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "pitterm"]


def demo_environment(data_dir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment in demo mode on ``data_dir``, with no stray pitterm settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PITTERM_", "TEXTUAL")) and key not in {"COLUMNS", "LINES"}
    }
    env.update(
        {
            "TERM": "xterm-256color",
            "COLORTERM": "truecolor",
            "PITTERM_DATA_DIR": str(data_dir),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
        }
    )
    env.update(extra or {})
    return env


def seed_demo(data_dir: Path, timeout: float = 120.0) -> Path:
    """Build a fresh demo database in ``data_dir`` with the real ``pitterm demo --reset``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    output, status = pexpect.run(
        shlex.join([*pitterm_command(), "demo", "--reset"]),
        env=demo_environment(data_dir),
        timeout=timeout,
        withexitstatus=True,
        encoding="utf-8",
    )
    if status != 0:
        raise AssertionError(f"pitterm demo --reset failed ({status}):\n{output}")
    return data_dir / "demo.sqlite3"


def copy_demo(seeded: Path, data_dir: Path) -> Path:
    """A private copy of a seeded demo database, as ``data_dir``'s demo database."""
    data_dir.mkdir(parents=True, exist_ok=True)
    target = data_dir / "demo.sqlite3"
    shutil.copyfile(seeded, target)
    return target


class ScreenTimeout(AssertionError):
    """The screen did not show what a test waited for; the message holds the whole screen."""


@dataclass
class Terminal:
    """One running `pitterm` in a pty, and the emulated screen it draws on."""

    child: pexpect.spawn
    screen: pyte.Screen
    columns: int = COLUMNS
    rows: int = ROWS

    def __post_init__(self) -> None:
        self._stream = pyte.ByteStream(self.screen)
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._last_key_at = 0.0
        self._last_was_escape = False
        self.transcript = bytearray()
        """Everything the process wrote, for a post-mortem when a test fails."""
        self.waits: list[tuple[str, float]] = []
        """Each wait that succeeded, in order: what it waited for and for how many seconds."""
        self._reader = threading.Thread(target=self._read, name="pty-reader", daemon=True)
        self._reader.start()

    @classmethod
    def start(
        cls,
        args: Sequence[str] = (),
        *,
        env: Mapping[str, str],
        columns: int = COLUMNS,
        rows: int = ROWS,
        cwd: Path | None = None,
    ) -> Terminal:
        """Spawn ``pitterm ARGS`` in a ``columns`` × ``rows`` pty with ``env``."""
        command = [*pitterm_command(), *args]
        child = pexpect.spawn(
            command[0],
            command[1:],
            env=dict(env),
            dimensions=(rows, columns),
            cwd=str(cwd) if cwd else None,
            echo=False,
        )
        screen = pyte.Screen(columns, rows)
        return cls(child, screen, columns, rows)

    # -- reading ---------------------------------------------------------------------------

    def _read(self) -> None:
        while not self._done.is_set():
            try:
                chunk = self.child.read_nonblocking(65536, timeout=0.05)
            except pexpect.TIMEOUT:
                continue
            except (pexpect.EOF, OSError, ValueError):
                break
            with self._lock:
                self.transcript += chunk
                self._stream.feed(chunk)
        self._done.set()

    def text(self) -> str:
        """The screen now, one line per row (trailing blanks trimmed)."""
        with self._lock:
            return "\n".join(line.rstrip() for line in self.screen.display)

    def line_with(self, needle: str) -> str:
        """The first screen line holding ``needle`` (fails showing the screen if none does)."""
        for line in self.text().splitlines():
            if needle in line:
                return line
        raise ScreenTimeout(f"no line holds {needle!r}; the screen:\n{self.framed()}")

    def panel(self, anchor: str, lines: int = 6) -> str:
        """The text of a side panel: ``lines`` rows from the one holding ``anchor``, each cut
        from the anchor's column on, joined with spaces (undoing the panel's wrapping)."""
        rows = self.text().splitlines()
        for index, row in enumerate(rows):
            column = row.find(anchor)
            if column >= 0:
                return " ".join(
                    part[column:].strip() for part in rows[index : index + lines]
                ).strip()
        raise ScreenTimeout(f"no line holds {anchor!r}; the screen:\n{self.framed()}")

    def framed(self) -> str:
        border = "+" + "-" * self.columns + "+"
        body = "\n".join(f"|{line.ljust(self.columns)}|" for line in self.text().splitlines())
        alive = "running" if self.child.isalive() else f"exited ({self.child.exitstatus})"
        return f"{border}\n{body}\n{border}\n(process {alive})"

    def wait_until(
        self,
        check: Callable[[str], object],
        description: str,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> object:
        """Poll the screen until ``check(text)`` is truthy; return its value or fail."""
        started = time.monotonic()
        deadline = started + timeout
        while True:
            found = check(self.text())
            if found:
                self.waits.append((description, time.monotonic() - started))
                return found
            if self._done.is_set() and not self.child.isalive():
                raise ScreenTimeout(
                    f"pitterm exited while waiting for {description}; the screen:\n"
                    f"{self.framed()}\n{self.tail()}"
                )
            if time.monotonic() > deadline:
                done = "; ".join(f"{what} ({took:.1f} s)" for what, took in self.waits[-3:])
                raise ScreenTimeout(
                    f"waited {timeout:g} s for {description} (after: {done or 'nothing'});"
                    f" the screen:\n{self.framed()}"
                )
            time.sleep(0.05)

    def wait_for(self, wanted: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait until the screen shows ``wanted``; fail showing the screen if it does not."""
        self.wait_until(lambda text: wanted in text, repr(wanted), timeout)

    def wait_match(
        self, pattern: str | re.Pattern[str], timeout: float = DEFAULT_TIMEOUT
    ) -> re.Match[str]:
        """Wait until the screen matches ``pattern``; return the match."""
        compiled = re.compile(pattern) if isinstance(pattern, str) else pattern
        found = self.wait_until(compiled.search, f"/{compiled.pattern}/", timeout)
        assert isinstance(found, re.Match)
        return found

    def cursor_line(self) -> str:
        """The screen line the terminal cursor is on.

        Textual puts the terminal's cursor in the focused text field, so this is the line of
        the field that has focus (while a text field has it).
        """
        with self._lock:
            return self.screen.display[self.screen.cursor.y].rstrip()

    def wait_focus(self, marker: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait until the cursor is in the field on the line holding ``marker`` (its label).

        Enter in a form moves focus by a message handled after the key, so text typed at
        once could land in the old field: type only once the cursor has moved.
        """
        self.wait_until(
            lambda _: marker in self.cursor_line(), f"the cursor on the {marker!r} line", timeout
        )

    def wait_gone(self, unwanted: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait until ``unwanted`` no longer shows (a dialog closed)."""
        self.wait_until(lambda text: unwanted not in text, f"{unwanted!r} to go", timeout)

    def tail(self, size: int = 2000) -> str:
        """The last bytes the process wrote, for a crash that left the alternate screen."""
        with self._lock:
            return bytes(self.transcript[-size:]).decode("utf-8", "replace")

    # -- typing ----------------------------------------------------------------------------

    def _write(self, data: str, *, escape: bool) -> None:
        if self._last_was_escape:
            # Textual waits briefly after a lone ESC to tell it from an escape sequence.
            gap = ESCAPE_GAP - (time.monotonic() - self._last_key_at)
            if gap > 0:
                time.sleep(gap)
        self.child.send(data)
        self._last_key_at = time.monotonic()
        self._last_was_escape = escape

    def send(self, *keys: str) -> None:
        """Press keys by name: ``send("f7")``, ``send("down", "enter")``, ``send("y")``."""
        for key in keys:
            data = key_bytes(key)
            self._write(data, escape=data == "\x1b")

    def type(self, text: str) -> None:
        """Type text as it is (letters, digits, spaces, punctuation)."""
        if text:
            self._write(text, escape=False)

    # -- ending ----------------------------------------------------------------------------

    def close(self) -> None:
        """End the process (politely, then by force) and stop reading."""
        try:
            if self.child.isalive():
                self.child.kill(signal.SIGTERM)
                deadline = time.monotonic() + 3
                while self.child.isalive() and time.monotonic() < deadline:
                    time.sleep(0.05)
            if self.child.isalive():
                self.child.kill(signal.SIGKILL)
        finally:
            self._done.set()
            self._reader.join(timeout=2)
            self.child.close(force=True)
