"""A moto server on a loopback port: Parameter Store and Secrets Manager for local runs.

Tests and ``lambdaops local`` point boto3 at it through ``AWS_ENDPOINT_URL_SSM`` /
``AWS_ENDPOINT_URL_SECRETS_MANAGER`` (see :meth:`MotoServer.env`), so the code under test
makes real HTTP calls with real botocore retries and timeouts, not in-process mocks.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from lambdaops.local._service import Service

__all__ = ["MotoServer"]

#: Dummy credentials: moto accepts anything, and real ones must never be used by accident.
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
}
_PARAMETER_TYPES = ("String", "StringList", "SecureString")


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class MotoServer(Service):
    """``python -m moto.server`` as a subprocess; ``seed()`` fills it, ``stop()`` ends it.

    Use as a context manager, or ``start()``/``stop()``. ``env()`` gives the variables a
    boto3 process needs to talk to it (endpoints, dummy credentials, region).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        region: str = "us-east-1",
        python: str = sys.executable,
        start_timeout_s: float = 30.0,
    ) -> None:
        self.host = host
        self.port = port
        self.region = region
        self.python = python
        self.start_timeout_s = start_timeout_s
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._clients: dict[str, Any] = {}

    # -- lifecycle -------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        """``http://host:port`` once started."""
        if self._proc is None:
            raise RuntimeError("MotoServer is not running; call start() first")
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> MotoServer:
        """Spawn the server and wait until it answers; retries once on a port clash."""
        if self.running:
            return self
        fixed = self.port
        last = ""
        for _ in range(1 if fixed else 3):
            port = fixed or _free_port(self.host)
            self._log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server
            proc = subprocess.Popen(
                [self.python, "-m", "moto.server", "-H", self.host, "-p", str(port)],
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **DUMMY_CREDENTIALS, "AWS_DEFAULT_REGION": self.region},
                start_new_session=True,
            )
            self._proc, self.port = proc, port
            if self._wait_ready(proc):
                return self
            last = self._output()
            self.stop()
            self.port = fixed
        raise RuntimeError(f"moto server did not start:\n{last[-2000:]}")

    def _wait_ready(self, proc: subprocess.Popen[bytes]) -> bool:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(
                    f"http://{self.host}:{self.port}/moto-api/data.json", timeout=1.0
                ) as response:
                    if response.status == 200:
                        return True
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.05)
        return False

    def _output(self) -> str:
        if self._log is None:
            return ""
        try:
            self._log.seek(0)
            return self._log.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""

    def stop(self) -> None:
        """Terminate the server (SIGTERM, then SIGKILL) and forget its clients."""
        proc, self._proc = self._proc, None
        self._clients.clear()
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5.0)
        if self._log is not None:
            self._log.close()
            self._log = None

    # -- use -------------------------------------------------------------------------
    def env(self, endpoint: str | None = None) -> dict[str, str]:
        """Variables for a process whose boto3 should use this server (or ``endpoint``)."""
        url = endpoint or self.endpoint
        return {
            **DUMMY_CREDENTIALS,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ENDPOINT_URL_SSM": url,
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": url,
        }

    def client(self, service: str) -> Any:
        """A boto3 client talking to the server directly (for seeding and checks)."""
        client = self._clients.get(service)
        if client is None:
            import boto3

            client = boto3.session.Session(
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                region_name=self.region,
            ).client(service, endpoint_url=self.endpoint)
            self._clients[service] = client
        return client

    def reset(self) -> None:
        """Drop every resource the server holds (moto's own reset endpoint)."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=5.0):
            pass

    def seed(self, data: str | os.PathLike[str] | Mapping[str, Any]) -> None:
        """Create parameters and secrets from a JSON file or a dict.

        ``{"parameters": {"/name": "value" | {"value": ..., "type": "SecureString"}},
        "secrets": {"id": "text" | {"value": ...} | {"binary": b"..."}}}``. A parameter's
        value may be a list (StringList) or a dict (stored as JSON); existing names are
        overwritten.
        """
        if not isinstance(data, Mapping):
            data = json.loads(Path(data).read_text(encoding="utf-8"))
            if not isinstance(data, Mapping):
                raise ValueError("a seed file must hold a JSON object")
        unknown = set(data) - {"parameters", "secrets"}
        if unknown:
            raise ValueError(f"unknown seed section(s) {sorted(unknown)}; use parameters, secrets")
        for name, spec in dict(data.get("parameters") or {}).items():
            self.put_parameter(name, *_parameter_spec(name, spec))
        for secret_id, spec in dict(data.get("secrets") or {}).items():
            if isinstance(spec, Mapping) and "binary" in spec:
                binary = spec["binary"]
                self.put_secret(
                    secret_id, binary=binary if isinstance(binary, bytes) else str(binary).encode()
                )
            else:
                value = spec.get("value") if isinstance(spec, Mapping) else spec
                if not isinstance(value, str):
                    value = json.dumps(value)
                self.put_secret(secret_id, value)

    def put_parameter(self, name: str, value: str, type_: str = "String") -> None:
        """Create or overwrite one parameter."""
        if type_ not in _PARAMETER_TYPES:
            raise ValueError(f"parameter {name!r}: type {type_!r} is not one of {_PARAMETER_TYPES}")
        self.client("ssm").put_parameter(Name=name, Value=value, Type=type_, Overwrite=True)

    def put_secret(
        self, secret_id: str, value: str | None = None, *, binary: bytes | None = None
    ) -> None:
        """Create a secret, or put a new current version if it exists."""
        client = self.client("secretsmanager")
        payload: dict[str, Any] = (
            {"SecretBinary": binary} if binary is not None else {"SecretString": value or ""}
        )
        try:
            client.create_secret(Name=secret_id, **payload)
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code != "ResourceExistsException":
                raise
            client.put_secret_value(SecretId=secret_id, **payload)


def _parameter_spec(name: str, spec: Any) -> tuple[str, str]:
    """A seed entry as (value, type)."""
    type_ = "String"
    if isinstance(spec, Mapping):
        type_ = str(spec.get("type", "String"))
        spec = spec.get("value")
    if isinstance(spec, list):
        return ",".join(map(str, spec)), "StringList" if type_ == "String" else type_
    if isinstance(spec, (dict, bool, int, float)) or spec is None:
        if spec is None:
            raise ValueError(f"parameter {name!r} has no value")
        return json.dumps(spec), type_
    return str(spec), type_
