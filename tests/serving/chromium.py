"""Drive headless Chromium over the DevTools protocol on a pipe: no port, no websocket, no network.

`--remote-debugging-pipe` makes Chromium read commands from fd 3 and write replies and events to fd 4, as JSON
messages ended by NUL. With no debugging port, Chromium can also run in a network namespace of its own that has no
interface at all (`unshare --net`), where nothing can leave the machine whatever the page tries; where unshare is not
permitted, a dead proxy and a resolver that resolves nothing stand in. Either way every request the page makes is
recorded through the Network domain, so a test can assert that none was attempted.

    python -m tests.serving.chromium screenshot report.html out.png [width] [height] [top]
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",  # root in a container: the setuid sandbox is unavailable
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-domain-reliability",
    "--metrics-recording-only",
    "--mute-audio",
    # A belt to the namespace's braces: even with a network, no host resolves and every proxied request fails.
    "--proxy-server=http://127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--remote-debugging-pipe",
]


def _unshare_prefix() -> list[str]:
    """`unshare --net` when this machine lets us make a network namespace (root with CAP_SYS_ADMIN), else nothing."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    probe = subprocess.run([unshare, "--net", "true"], capture_output=True, check=False)
    return [unshare, "--net"] if probe.returncode == 0 else []


@dataclass
class PageLog:
    """What a page did while loading: console errors, uncaught exceptions, log errors and every request."""

    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    log_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    def record(self, event: dict[str, Any]) -> None:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            args = params.get("args", [])
            self.console_errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in args))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.exceptions.append(details.get("exception", {}).get("description") or details.get("text", ""))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            self.log_errors.append(f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}".strip())
        elif method == "Network.requestWillBeSent":
            self.requests.append(params.get("request", {}).get("url", ""))
        elif method == "Network.loadingFailed":
            self.failed_requests.append(f"{params.get('errorText')} ({params.get('requestId')})")


class Chromium:
    """One headless Chromium with one page, driven through the DevTools protocol on a pipe."""

    def __init__(self, binary: Path = CHROMIUM, timeout: float = 30.0) -> None:
        self.binary = binary
        self.timeout = timeout
        self.isolated = False
        self._next_id = 0
        self._messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._events: list[dict[str, Any]] = []
        self._session: str | None = None

    def __enter__(self) -> Chromium:
        self._profile = tempfile.TemporaryDirectory(prefix="opmetrics-chromium-")
        cmd_read, self._cmd_write = os.pipe()
        self._out_read, out_write = os.pipe()
        prefix = _unshare_prefix()
        self.isolated = bool(prefix)

        def child_fds() -> None:
            # In the child, before exec: Chromium reads fd 3 and writes fd 4. Copy both ends above 10 first, so
            # neither dup2 can land on itself (a no-op that would keep close-on-exec); dup2 makes them inheritable.
            high_in = fcntl.fcntl(cmd_read, fcntl.F_DUPFD, 10)
            high_out = fcntl.fcntl(out_write, fcntl.F_DUPFD, 10)
            os.dup2(high_in, 3)
            os.dup2(high_out, 4)

        self._process = subprocess.Popen(
            [*prefix, str(self.binary), *FLAGS, f"--user-data-dir={self._profile.name}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            close_fds=False,  # fds 3 and 4 must survive exec; every other fd Python opens is close-on-exec anyway
            preexec_fn=child_fds,
        )
        os.close(cmd_read)
        os.close(out_write)
        self._stderr: list[str] = []
        threading.Thread(target=self._read_messages, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self._session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True}, session=False)[
            "sessionId"
        ]
        return self

    def __exit__(self, *exc: object) -> None:
        with suppress(Exception):
            self.send("Browser.close", session=False, wait=False)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)
        with suppress(OSError):
            os.close(self._cmd_write)
        self._profile.cleanup()

    def _read_messages(self) -> None:
        buffer = b""
        with os.fdopen(self._out_read, "rb", buffering=0) as pipe:
            while chunk := pipe.read(1 << 16):
                buffer += chunk
                *messages, buffer = buffer.split(b"\0")
                for message in messages:
                    self._messages.put(json.loads(message))
        self._messages.put(None)  # Chromium went away

    def _read_stderr(self) -> None:
        assert self._process.stderr is not None
        for line in self._process.stderr:
            self._stderr.append(line.decode(errors="replace").rstrip())

    @property
    def stderr(self) -> str:
        return "\n".join(self._stderr[-40:])

    def send(
        self, method: str, params: dict[str, Any] | None = None, session: bool = True, wait: bool = True
    ) -> dict[str, Any]:
        """Send one command and return its result; events that arrive meanwhile are kept for `events()`."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session and self._session:
            message["sessionId"] = self._session
        os.write(self._cmd_write, json.dumps(message).encode() + b"\0")
        if not wait:
            return {}
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._get(deadline, f"a reply to {method}")
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self._events.append(reply)

    def _get(self, deadline: float, what: str) -> dict[str, Any]:
        try:
            message = self._messages.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise TimeoutError(f"Chromium sent no {what} within {self.timeout}s\n{self.stderr}") from None
        if message is None:
            raise RuntimeError(f"Chromium exited while waiting for {what}\n{self.stderr}")
        return message

    def wait_for_event(self, method: str) -> dict[str, Any]:
        """Block until an event named `method` arrives (or has arrived); returns it."""
        for event in self._events:
            if event.get("method") == method:
                return event
        deadline = time.monotonic() + self.timeout
        while True:
            message = self._get(deadline, f"{method} event")
            if "method" in message:
                self._events.append(message)
                if message["method"] == method:
                    return message

    def events(self) -> list[dict[str, Any]]:
        """Every event received so far (draining what is queued)."""
        while True:
            try:
                message = self._messages.get_nowait()
            except queue.Empty:
                return list(self._events)
            if message is not None and "method" in message:
                self._events.append(message)

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression in the page (promises awaited)."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"evaluation failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, url: str, width: int = 1300, height: int = 900) -> None:
        """Load `url` with console, log and network recording on, and wait for its load event."""
        for domain in ("Runtime", "Log", "Network", "Page"):
            self.send(f"{domain}.enable")
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        self.send("Page.navigate", {"url": url})
        self.wait_for_event("Page.loadEventFired")

    def page_log(self) -> PageLog:
        log = PageLog()
        for event in self.events():
            log.record(event)
        return log

    def screenshot(self, path: Path, width: int = 1300, height: int | None = None, top: int = 0) -> None:
        """A PNG of the page from `top`, `height` pixels tall (default: to the end of the page)."""
        full = self.evaluate("document.documentElement.scrollHeight")
        clip = {"x": 0, "y": top, "width": width, "height": min(height or full, full - top), "scale": 1}
        data = self.send("Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True})
        path.write_bytes(base64.b64decode(data["data"]))


@contextmanager
def chromium(timeout: float = 30.0) -> Iterator[Chromium]:
    with Chromium(timeout=timeout) as browser:
        yield browser


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[0] != "screenshot":
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    page, out = Path(argv[1]).resolve(), Path(argv[2])
    width = int(argv[3]) if len(argv) > 3 else 1300
    height = int(argv[4]) if len(argv) > 4 else None
    top = int(argv[5]) if len(argv) > 5 else 0
    with chromium() as browser:
        browser.open(page.as_uri(), width=width)
        browser.evaluate("new Promise(r => setTimeout(r, 500))")  # let plotly finish its layout passes
        browser.screenshot(out, width=width, height=height, top=top)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
