"""A web server on loopback for the relay tests, and ffmpeg's HLS segmenter writing into it.

The server serves a folder (an HLS playlist and its segments, written live by the segmenter) and
a few misbehaviours on request: a path that answers 404, a slow answer, a file streamed at the
pace of a live stream (for a sample-rate change mid-stream), and bytes that are not audio. It
counts requests per path, to check that nobody hammers a dead URL.
"""

import collections
import http.server
import shutil
import subprocess
import threading
import time
from pathlib import Path

from tests.icecast import BEEPING_TONE
from tests.mosquitto import free_port

CHUNK = 2048


class StreamServer:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.requests: collections.Counter[str] = collections.Counter()
        self.delay_s = 0.0
        """Wait this long before answering anything (a slow server)."""
        self.live: dict[str, tuple[Path, str, int]] = {}
        """Path -> (file, content type, bytes per second): streamed at that pace, then the
        connection is held open silent (a live stream whose source hangs)."""
        self.garbage: dict[str, bytes] = {}
        """Path -> bytes repeated forever as audio/mpeg (a page that is not audio)."""
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args: object, **kwargs: object) -> None:
                super().__init__(*args, directory=str(folder), **kwargs)  # type: ignore[arg-type]

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                server.requests[path] += 1
                time.sleep(server.delay_s)
                try:
                    if path in server.live:
                        self._stream(*server.live[path])
                    elif path in server.garbage:
                        self._garbage(server.garbage[path])
                    else:
                        super().do_GET()
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _stream(self, file: Path, kind: str, pace: int) -> None:
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.end_headers()
                data = file.read_bytes()
                began = time.monotonic()
                for at in range(0, len(data), CHUNK):
                    due = began + at / pace
                    time.sleep(max(0.0, due - time.monotonic()))
                    self.wfile.write(data[at : at + CHUNK])
                    self.wfile.flush()
                time.sleep(30)

            def _garbage(self, data: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "audio/mpeg")
                self.end_headers()
                for _repeat in range(200):
                    self.wfile.write(data)
                    self.wfile.flush()
                    time.sleep(0.05)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def start(self) -> "StreamServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Segmenter:
    """ffmpeg writing the beeping tone live as HLS (AAC, 2 s segments, 5 in the playlist)."""

    def __init__(self, folder: Path, name: str = "vov1") -> None:
        self.folder = folder
        self.playlist = folder / f"{name}.m3u8"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 15.0) -> "Segmenter":
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                *(shutil.which("ffmpeg") or "ffmpeg", "-nostdin", "-loglevel", "error", "-re"),
                *("-f", "lavfi", "-i", BEEPING_TONE.format(rate=44100), "-ac", "1"),
                *("-c:a", "aac", "-b:a", "64k", "-f", "hls", "-hls_time", "2"),
                *("-hls_list_size", "5", "-hls_flags", "delete_segments", str(self.playlist)),
            ],
            stdin=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:  # three segments: where a player starts
            if self.playlist.exists() and self.playlist.read_text().count("#EXTINF") >= 3:
                return self
            time.sleep(0.1)
        raise RuntimeError("the segmenter wrote no playlist")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None
