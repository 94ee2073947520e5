"""The AWS SDK that every Lambda Python runtime provides in /var/runtime.

Source (read 2026-11): https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html
("Runtime-included SDK versions") and .../python-package.html ("Dependency search path
and runtime-included libraries"): each Python runtime ships boto3 and botocore, with
what they install (s3transfer, jmespath, python-dateutil, six, urllib3), on sys.path
after the user's /var/task and /opt paths. AWS picks and updates their versions with
the runtime; the set of distributions is the same for every Python runtime.

This is the one copy of that fact: `rules` (LP206), `slim` (--exclude-runtime-provided)
and `smoke` (what is hidden unless --with-runtime-boto3) read it from here.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "INCLUDED",
    "INCLUDED_DISTRIBUTIONS",
    "INCLUDED_MODULES",
    "SDK_DISTRIBUTIONS",
    "SDK_MODULES",
    "Provided",
]


@dataclass(frozen=True)
class Provided:
    """One distribution in /var/runtime and the top-level names it makes importable."""

    distribution: str  # canonical (PEP 503) name
    modules: tuple[str, ...]
    sdk: bool  # part of the SDK itself (boto3's own closure root), not only what it needs


INCLUDED: tuple[Provided, ...] = (
    Provided("boto3", ("boto3",), sdk=True),
    Provided("botocore", ("botocore",), sdk=True),
    Provided("s3transfer", ("s3transfer",), sdk=True),
    Provided("jmespath", ("jmespath",), sdk=True),
    Provided("python-dateutil", ("dateutil",), sdk=False),
    Provided("six", ("six",), sdk=False),
    Provided("urllib3", ("urllib3",), sdk=False),
)

# The SDK proper: always left out by --exclude-runtime-provided, reported by LP206.
SDK_DISTRIBUTIONS: tuple[str, ...] = tuple(p.distribution for p in INCLUDED if p.sdk)
SDK_MODULES: tuple[str, ...] = tuple(m for p in INCLUDED if p.sdk for m in p.modules)
# Everything the runtime ships with it: left out only when nothing else kept needs it.
INCLUDED_DISTRIBUTIONS: tuple[str, ...] = tuple(p.distribution for p in INCLUDED)
INCLUDED_MODULES: tuple[str, ...] = tuple(m for p in INCLUDED for m in p.modules)
