"""`s3://` globs through s3fs (DuckDB's httpfs extension would need a download at run time).

Credentials, region and endpoint come from the standard AWS configuration: environment
variables, shared config/credentials files and profiles, `AWS_ENDPOINT_URL` included, so
MinIO and other S3-compatible stores work unchanged.
"""

from __future__ import annotations

from typing import Any

from monitor.core.errors import SourceError


def filesystem(**kwargs: Any) -> Any:
    """A fresh s3fs filesystem: no instance cache and no listings cache, so every read lists
    the bucket again (a cached listing would hide new files from a long-running serve)."""
    try:
        import s3fs
    except ImportError:
        raise SourceError("s3:// globs need s3fs: pip install 'fresh-monitor[s3]'") from None
    return s3fs.S3FileSystem(skip_instance_cache=True, use_listings_cache=False, **kwargs)


def glob_mtimes(fs: Any, glob: str) -> list[tuple[str, int]]:
    """(s3:// URL, LastModified in ns) of every object matching `glob`."""
    _, _, rest = glob.partition("://")
    try:
        found = fs.glob(rest, detail=True)
    except FileNotFoundError:
        return []
    except PermissionError as exc:
        raise SourceError(f"cannot list {glob}: access denied ({exc})") from None
    except Exception as exc:  # botocore / aiohttp errors: report, never crash the check
        raise SourceError(f"cannot list {glob}: {type(exc).__name__}: {exc}") from None
    if not found:
        bucket = rest.split("/", 1)[0]
        if not _exists(fs, bucket):
            raise SourceError(f"cannot list {glob}: bucket {bucket!r} does not exist")
    out = []
    for key, info in found.items():
        if info.get("type") != "file":
            continue
        modified = info.get("LastModified")
        if modified is None:
            continue
        out.append((f"s3://{key}", int(modified.timestamp() * 1_000_000_000)))
    return out


def _exists(fs: Any, bucket: str) -> bool:
    try:
        return bool(fs.exists(bucket))
    except Exception:  # access denied to the bucket itself: listing was allowed, say nothing
        return True
