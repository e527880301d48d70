"""A real S3-compatible server for tests: moto's, in a thread of the test process, on a free
local port. The studio reaches it through s3fs and HTTP, as it would reach AWS or MinIO."""

from __future__ import annotations

import socket
import uuid

import boto3
from moto.server import ThreadedMotoServer

REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class S3Server:
    def __init__(self):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()

    def env(self) -> dict[str, str]:
        """The AWS variables the studio reads (botocore reads AWS_ENDPOINT_URL itself)."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "test-key",
            "AWS_SECRET_ACCESS_KEY": "test-secret",
            "AWS_DEFAULT_REGION": REGION,
        }

    def client(self):
        env = self.env()
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name=REGION,
        )


class Bucket:
    """A fresh bucket on the server, listed with boto3 (not with the code under test)."""

    def __init__(self, server: S3Server):
        self.server = server
        self.name = f"studio-{uuid.uuid4().hex[:12]}"
        server.client().create_bucket(Bucket=self.name)

    def url(self, prefix: str) -> str:
        return f"s3://{self.name}/{prefix}"

    def keys(self, prefix: str = "") -> list[str]:
        """Every object key under `prefix`, relative to it, sorted."""
        pages = self.server.client().get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix)
        keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
        return sorted(key[len(prefix):].lstrip("/") for key in keys)
