"""A real S3-compatible server for tests and benchmarks: moto's server mode, in a child process.

The server listens on 127.0.0.1 on a port the operating system picks, so tests of several
engineers on one machine never collide; it runs in its own process (as a real server would),
so its work does not slow the process under test. ``S3Server`` gives the ``storage_options``
that s3fs needs (endpoint, dummy credentials) and the same as environment variables, for
child processes and for code that takes its options from the environment.

Run alone (``python -m tests.s3server``) it prints its endpoint and serves until stdin closes.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from typing import Any

_SERVE = """
import logging, sys
logging.getLogger("werkzeug").setLevel(logging.ERROR)
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
host, port = server.get_host_and_port()
print(f"http://{host}:{port}", flush=True)
sys.stdin.read()  # until the parent closes our stdin (or dies)
server.stop()
"""

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "labkit-test", "AWS_SECRET_ACCESS_KEY": "labkit-test"}


class S3Server:
    """moto's S3 server in a child process; ``with S3Server() as s3: ...``."""

    def __init__(self) -> None:
        self.endpoint = ""
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> S3Server:
        env = {**os.environ, **CREDENTIALS, "AWS_DEFAULT_REGION": "us-east-1"}
        self._process = subprocess.Popen(
            [sys.executable, "-c", _SERVE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline().strip()
        if not line.startswith("http://"):
            self.stop()
            raise RuntimeError(f"moto's S3 server did not start (it said {line!r})")
        self.endpoint = line
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> S3Server:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def storage_options(self) -> dict[str, Any]:
        """What s3fs needs to talk to this server."""
        return {
            "endpoint_url": self.endpoint,
            "key": CREDENTIALS["AWS_ACCESS_KEY_ID"],
            "secret": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        }

    @property
    def environment(self) -> dict[str, str]:
        """The same as environment variables (botocore reads AWS_ENDPOINT_URL)."""
        return {**CREDENTIALS, "AWS_ENDPOINT_URL": self.endpoint, "AWS_DEFAULT_REGION": "us-east-1"}

    def new_bucket(self, prefix: str = "lab") -> str:
        """A new, empty bucket; returns its name."""
        import s3fs

        name = f"{prefix}-{secrets.token_hex(4)}"
        fs = s3fs.S3FileSystem(**self.storage_options, skip_instance_cache=True)
        fs.mkdir(name)
        return name


if __name__ == "__main__":
    with S3Server() as server:
        print(server.endpoint, flush=True)
        sys.stdin.read()
