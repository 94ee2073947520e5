"""moto in server mode: a real S3 and Lambda API over HTTP on 127.0.0.1, for the deploy and
remote-cache tests. boto3 (ours, and any tool a test runs) talks to it through --endpoint-url or
AWS_ENDPOINT_URL, exactly as it would talk to AWS.

Run as a script, this file is the server: moto's own WSGI application behind a thin layer
that appends one JSON line per request to a log file (method, path, query, service), so a test
can assert which calls were made, e.g. that a no-change deploy made no mutating one.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
READS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: str
    service: str  # from the SigV4 credential scope: "lambda", "s3", "iam"; "" when unsigned

    @property
    def mutating(self) -> bool:
        return self.method not in READS


@dataclass
class MotoServer:
    port: int
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """The environment a child process (lambdapack, the AWS CLI) needs to use this server."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
                "AWS_EC2_METADATA_DISABLED": "true"}

    def client(self, service: str, **kw: Any) -> Any:
        import boto3

        args: dict[str, Any] = {"endpoint_url": self.endpoint, "region_name": REGION,
                                "aws_access_key_id": "testing", "aws_secret_access_key": "testing", **kw}
        return boto3.client(service, **args)

    def requests(self) -> list[Request]:
        """Every request served since the last reset (or start), in order."""
        if not self.log.exists():
            return []
        return [Request(**json.loads(line)) for line in self.log.read_text().splitlines() if line]

    def mutations(self, service: str | None = None) -> list[Request]:
        return [r for r in self.requests() if r.mutating and (service is None or r.service == service)
                and not r.path.startswith("/moto-api")]

    def clear_log(self) -> None:
        self.log.write_text("")

    def reset(self) -> None:
        """Forget every bucket, function and layer (moto's reset), and the request log."""
        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST"),
                               timeout=30).read()
        self.clear_log()


@contextmanager
def moto_server(tmp: Path, auth_free_actions: int | None = None) -> Iterator[MotoServer]:
    """Start the server in a child process on an ephemeral port; stopped when the block ends.

    `auth_free_actions`: moto's INITIAL_NO_AUTH_ACTION_COUNT: after that many requests, every
    request is checked against the IAM policies of its caller (for access-denied tests)."""
    tmp.mkdir(parents=True, exist_ok=True)
    port_file, log = tmp / "port", tmp / "requests.jsonl"
    env = {**os.environ}
    if auth_free_actions is not None:
        env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(auth_free_actions)
    proc = subprocess.Popen([sys.executable, __file__, str(port_file), str(log)], env=env,
                            stdout=subprocess.DEVNULL, stderr=open(tmp / "server.log", "wb"))  # noqa: SIM115
    try:
        deadline = time.monotonic() + 60
        while not port_file.exists() or not port_file.read_text().strip():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"moto server did not start: {(tmp / 'server.log').read_text()[-2000:]}")
            time.sleep(0.05)
        server = MotoServer(int(port_file.read_text()), log, proc)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def dead_endpoint() -> str:
    """An http://127.0.0.1:PORT URL where nothing listens (connections are refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def _serve(port_file: Path, log: Path) -> None:
    import threading

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def logged(environ: dict[str, Any], start_response: Any) -> Any:
        auth = environ.get("HTTP_AUTHORIZATION", "")
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/") if "Credential=" in auth else []
        entry = {"method": environ["REQUEST_METHOD"], "path": environ.get("PATH_INFO", ""),
                 "query": environ.get("QUERY_STRING", ""), "service": scope[3] if len(scope) > 3 else ""}
        with lock, open(log, "a") as f:
            f.write(json.dumps(entry) + "\n")
        return app(environ, start_response)

    server = make_server("127.0.0.1", 0, logged, threaded=True, request_handler=MotoRequestHandler)
    tmp = port_file.with_suffix(".tmp")
    tmp.write_text(str(server.server_address[1]))
    os.replace(tmp, port_file)
    server.serve_forever()


if __name__ == "__main__":
    _serve(Path(sys.argv[1]), Path(sys.argv[2]))
