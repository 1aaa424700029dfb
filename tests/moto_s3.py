"""A moto S3 server in a thread on 127.0.0.1 with test keys, for the remote-store tests."""

import contextlib
import os
from collections.abc import Iterator
from typing import Any

_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@contextlib.contextmanager
def moto_s3(bucket: str) -> Iterator[dict[str, Any]]:
    """Start the server, create `bucket`, yield fsspec storage options; AWS_ENDPOINT_URL points
    at it meanwhile, so code given only an s3:// URL (and child processes) reaches it too."""
    import boto3
    from moto.server import ThreadedMotoServer
    from s3fs import S3FileSystem

    saved = {name: os.environ.get(name) for name in [*_ENV, "AWS_ENDPOINT_URL"]}
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        os.environ.update(_ENV | {"AWS_ENDPOINT_URL": endpoint})
        # fsspec reuses a filesystem per storage options: one made for an earlier server of this
        # process would still point at that server's (closed) port.
        S3FileSystem.clear_instance_cache()
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
        yield {
            "key": "testing",
            "secret": "testing",
            "client_kwargs": {"endpoint_url": endpoint, "region_name": "us-east-1"},
            "skip_instance_cache": True,
        }
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
