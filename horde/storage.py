"""Where images live: a local folder by default, an S3-compatible bucket when configured.

Workers PUT results to an upload URL and clients GET them from a download URL. With the
local store both URLs point at our own endpoint (`/api/v2/results/...`) and carry an
expiry and an HMAC signature; with S3 they are presigned bucket URLs. Upload URLs are
"<constant prefix><job id>.webp?...", so they sort like the job ids (reGen pairs them so).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from pathlib import Path
from typing import Callable
from urllib.parse import urlencode

URL_TTL = 30 * 60
RESULTS_PATH = "/api/v2/results"


class ResultStore:
    def put(self, key: str, data: bytes) -> None:
        raise NotImplementedError

    def get(self, key: str) -> bytes | None:
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        raise NotImplementedError

    def delete(self, keys: list[str]) -> None:
        raise NotImplementedError

    def ready(self) -> bool:
        """Can results be stored right now? (the readiness route)"""
        return True

    def upload_url(self, key: str) -> str:
        raise NotImplementedError

    def download_url(self, key: str) -> str:
        raise NotImplementedError


def _safe_key(key: str) -> str:
    if not key or "/" in key or "\\" in key or key.startswith("."):
        raise ValueError(f"bad storage key {key!r}")
    return key


class LocalStore(ResultStore):
    def __init__(self, root: Path, public_url: str | Callable[[], str], secret: str):
        self.root = root
        # A fixed URL, or a function giving the URL of the current request (horde.public_url).
        self.public_url = public_url if callable(public_url) else (lambda fixed=public_url.rstrip("/"): fixed)
        self.secret = secret.encode()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / _safe_key(key)

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)  # readers never see half a file

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, ValueError):
            return None

    def exists(self, key: str) -> bool:
        try:
            return self._path(key).exists()
        except ValueError:
            return False

    def delete(self, keys: list[str]) -> None:
        for key in keys:
            try:
                self._path(key).unlink(missing_ok=True)
            except ValueError:
                pass

    def ready(self) -> bool:
        return self.root.is_dir() and os.access(self.root, os.W_OK)

    def signature(self, action: str, key: str, expires: int) -> str:
        return hmac.new(self.secret, f"{action}:{key}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]

    def verify(self, action: str, key: str, expires: str, signature: str) -> bool:
        try:
            expiry = int(expires)
        except (TypeError, ValueError):
            return False
        if expiry < time.time():
            return False
        return hmac.compare_digest(self.signature(action, key, expiry), signature or "")

    def _url(self, action: str, key: str) -> str:
        expires = int(time.time()) + URL_TTL
        query = urlencode({"expires": expires, "signature": self.signature(action, key, expires)})
        return f"{self.public_url()}{RESULTS_PATH}/{action}/{key}?{query}"

    def upload_url(self, key: str) -> str:
        return self._url("upload", key)

    def download_url(self, key: str) -> str:
        return self._url("download", key)


class S3Store(ResultStore):
    def __init__(
        self, bucket: str, endpoint_url: str | None, region: str | None, access_key: str | None, secret_key: str | None,
        public_endpoint_url: str | None = None,
    ):
        import boto3
        from botocore.config import Config

        def client(endpoint: str | None):
            return boto3.client(
                "s3",
                endpoint_url=endpoint or None,
                region_name=region or "us-east-1",
                aws_access_key_id=access_key or None,
                aws_secret_access_key=secret_key or None,
                config=Config(signature_version="s3v4", retries={"max_attempts": 3}),
            )

        self.bucket = bucket
        self.client = client(endpoint_url)
        # Presigned URLs name the address workers and clients reach the store at, which
        # differs from ours inside a private network (docker-compose.yml: minio:9000 for us,
        # the host's published port for them). Presigning is local: no connection is made.
        self.presigner = client(public_endpoint_url) if public_endpoint_url else self.client

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=_safe_key(key), Body=data, ContentType="image/webp")

    def get(self, key: str) -> bytes | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=_safe_key(key))["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None
        except Exception as exc:  # botocore ClientError for 404 on some servers
            if "404" in str(exc) or "NoSuchKey" in str(exc):
                return None
            raise

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=_safe_key(key))
            return True
        except Exception:
            return False

    def delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            chunk = [{"Key": k} for k in keys[start : start + 1000]]
            if chunk:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": chunk, "Quiet": True})

    def ready(self) -> bool:
        try:
            self.client.head_bucket(Bucket=self.bucket)
            return True
        except Exception:
            return False

    def upload_url(self, key: str) -> str:
        return self.presigner.generate_presigned_url(
            "put_object", Params={"Bucket": self.bucket, "Key": _safe_key(key)}, ExpiresIn=URL_TTL
        )

    def download_url(self, key: str) -> str:
        return self.presigner.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": _safe_key(key)}, ExpiresIn=URL_TTL
        )


def result_key(job_id: str) -> str:
    return f"{job_id}.webp"


def source_key(request_id: str, name: str) -> str:
    return f"{request_id}_{name}.webp"
