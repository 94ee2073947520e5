"""System libraries that sdists compile against, by the header, tool or library name a failed
build mentions, and what a user can do instead of building them for Lambda.

Amazon Linux's Lambda images carry none of these libraries' headers, and few of the libraries
themselves (facts/systemlibs has the list); a native build for Lambda cannot use the build
machine's copies (lambdapack refuses their directories). The wheel alternatives are the
packages' own binary distributions on PyPI that bundle the library (their project pages:
psycopg2-binary, psycopg[binary], mysqlclient's PyMySQL as pure Python, lxml's manylinux
wheels, ...); checked by name on PyPI on 2026-12-04.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["SYSTEM_LIBRARIES", "SystemLibrary", "library_for"]


@dataclass(frozen=True)
class SystemLibrary:
    name: str  # what users call it: "libpq"
    clues: tuple[str, ...]  # header paths, config tools and -l names a failed build mentions
    alternative: str  # one line: a binary wheel that bundles it, or another package


SYSTEM_LIBRARIES: tuple[SystemLibrary, ...] = (
    SystemLibrary("libpq (PostgreSQL's client library)", ("libpq-fe.h", "pg_config", "postgresql", "-lpq", "'pq'"),
                  "psycopg2-binary (or psycopg[binary]) ships libpq inside its wheels"),
    SystemLibrary("libxml2", ("libxml/", "xml2-config", "libxml2", "-lxml2"),
                  "a release of lxml with a wheel for the target (lxml publishes manylinux wheels)"),
    SystemLibrary("libxslt", ("libxslt/", "xslt-config", "-lxslt"),
                  "a release of lxml with a wheel for the target"),
    SystemLibrary("libmemcached", ("libmemcached/", "-lmemcached"),
                  "pymemcache (pure Python) instead of pylibmc"),
    SystemLibrary("MySQL/MariaDB client library", ("mysql.h", "mysql_config", "mariadb_config", "-lmysqlclient"),
                  "PyMySQL (pure Python) instead of mysqlclient"),
    SystemLibrary("libcurl", ("curl/curl.h", "curl-config", "-lcurl"), "requests or urllib3 (pure Python) instead of pycurl"),
    SystemLibrary("OpenSSL", ("openssl/", "-lssl", "-lcrypto"), "a release with a manylinux wheel (cryptography ships one)"),
    SystemLibrary("libffi", ("ffi.h", "-lffi"), "a release of cffi with a wheel for the target"),
    SystemLibrary("libyaml", ("yaml.h", "-lyaml"), "PyYAML's wheels, which bundle libyaml"),
    SystemLibrary("libjpeg / zlib (imaging)", ("jpeglib.h", "zlib.h", "-ljpeg", "-lz"),
                  "a release of Pillow with a wheel for the target"),
    SystemLibrary("OpenLDAP", ("ldap.h", "lber.h", "-lldap"), "ldap3 (pure Python) instead of python-ldap"),
    SystemLibrary("libsnappy", ("snappy-c.h", "-lsnappy"), "cramjam, whose wheels include snappy"),
)


def _mentions(text: str, clue: str) -> bool:
    if clue.startswith("-l"):  # a whole -l name: -lz is not -lzstd
        return re.search(re.escape(clue) + r"(?![\w+.-])", text) is not None
    return clue in text


def library_for(text: str) -> SystemLibrary | None:
    """The library a header, tool or -l name in `text` belongs to, or None."""
    for lib in SYSTEM_LIBRARIES:
        if any(_mentions(text, clue) for clue in lib.clues):
            return lib
    return None
