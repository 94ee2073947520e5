"""Import names read as packages: which PyPI distribution a module comes from, and
whether a module name is a compiled extension."""

from __future__ import annotations

from lambdapack.facts.sdk import INCLUDED

__all__ = ["distribution", "is_native_name", "top_level"]


def top_level(module: str) -> str:
    return module.split(".", 1)[0]


# Import names that are not their distribution's name. What the runtime ships comes from
# its catalog (dateutil is python-dateutil); the rest are the common cases on PyPI.
_PYPI_NAME = {
    **{m: p.distribution for p in INCLUDED for m in p.modules if m != p.distribution},
    "_cffi_backend": "cffi",
    "yaml": "PyYAML",
    "psycopg2": "psycopg2-binary",
    "PIL": "Pillow",
    "cv2": "opencv-python-headless",
    "sklearn": "scikit-learn",
    "grpc": "grpcio",
    "Crypto": "pycryptodome",
    "Cryptodome": "pycryptodomex",
    "nacl": "PyNaCl",
    "jwt": "PyJWT",
    "dotenv": "python-dotenv",
    "bs4": "beautifulsoup4",
    "attr": "attrs",
    "magic": "python-magic",
    "MySQLdb": "mysqlclient",
}


def distribution(module: str) -> str:
    top = top_level(module)
    return _PYPI_NAME.get(top, top.replace("_", "-"))


# Extension modules whose names do not start with "_" and would otherwise read as
# ordinary submodules; the loader reports them as missing when their .so is unloadable.
_KNOWN_NATIVE = frozenset(
    {
        "orjson.orjson",
        "lxml.etree",
        "lxml.objectify",
        "charset_normalizer.md",
        "rpds.rpds",
        "jiter.jiter",
        "zstandard.backend_c",
        "pyarrow.lib",
        "msgpack._cmsgpack",
        "grpc._cython.cygrpc",
        "bcrypt._bcrypt",
        "pymssql._pymssql",
        "Levenshtein.levenshtein_cpp",
        "rapidfuzz.fuzz_cpp",
        "tokenizers.tokenizers",
        "safetensors._safetensors_rust",
        "psycopg_binary.pq",
        "shapely.lib",
        "regex._regex",
        "yaml._yaml",
    }
)


def is_native_name(module: str) -> bool:
    if module in _KNOWN_NATIVE:
        return True
    parts = module.split(".")
    if len(parts) == 1:
        # `_cffi_backend`, `_brotli`, `_argon2_cffi_bindings`: top-level compiled modules.
        # Exactly one leading underscore: dunder names are Python machinery, not wheels.
        return parts[0].startswith("_") and not parts[0].startswith("__")
    return any(p.startswith("_") and not p.startswith("__") for p in parts[1:])
