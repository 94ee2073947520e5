"""lambdapack.inspect.credentials: secrets by content, never their values in the output.

The values below are made up in the formats the services issue (not real credentials);
AWS's documented example keys must never be reported.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from lambdapack.inspect.credentials import (
    SecretHit,
    find_secrets,
    is_private_key,
    mask,
    secret_name,
    worth_scanning,
)

AKID = "AKIAZ3JQWERTYUIOPL12"
SECRET = "k9Jd8sLq2Wv7Xn3Bp5Rt1Yz6Mc4Fg0Hh2Aa9Qe1T"
GHP = "ghp_" + "Xq7Rz2Lm9Kp4Wt6Yb1Nc8Vd3Hf5Gs0Ja2Eu7"
PAT = "github_pat_" + "11ABCDEFG0aZ3kQ9mW2pL7" + "_" + "Hq6Jd2Ks9Lf3Mg7Nc1Pb5Rv8Tw4Xy0Za6Ub2Ec9Fh3Gj7Ik1Ol5Qm8Sn4Tp"
PYPI = "pypi-AgEIcHlwaS5vcmcCJDU" + "3fQ8Lm2Xk9Rz4Wp7Tb1Nv6Yc3Hd8Jf5Gs0Ka2Eu7Mq9Pw4Zt6Rx1Ly3Vb8" + "Nc5Hd2Jf7Gs4"


assert len(PAT) == len("github_pat_") + 82


def kinds(path: str, text: str) -> list[tuple[str, int]]:
    return [(h.kind, h.line) for h in find_secrets(path, text.encode())]


def test_aws_keys_by_content_with_line_and_mask() -> None:
    text = f"import os\n\nKEY = '{AKID}'\naws_secret_access_key = \"{SECRET}\"\n"
    hits = find_secrets("config.py", text.encode())
    assert hits == [SecretHit("AWS access key id", 3, "AKIA…PL12"), SecretHit("AWS secret access key", 4, "k9Jd…Qe1T")]
    assert all(AKID not in str(h) and SECRET not in str(h) for h in hits)


@pytest.mark.parametrize("text", [
    'AWS_SECRET_ACCESS_KEY={s}', '"SecretAccessKey": "{s}"', "secret_access_key: '{s}'", "aws_secret_key => {s}",
])
def test_aws_secret_key_spellings(text: str) -> None:
    assert kinds("x.py", text.format(s=SECRET)) == [("AWS secret access key", 1)]


def test_aws_documented_examples_and_placeholders_are_not_secrets() -> None:
    text = (
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
        "AKIAI44QH8DHBEXAMPLE je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY\n"
        "AKIAXXXXXXXXXXXXXXXX AKIA0000000000000000\n"
        "aws_secret_access_key = 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\n"  # no digit: an identifier
        "XAKIAZ3JQWERTYUIOPL12 AKIAZ3JQWERTYUIOPL12X\n"  # part of a longer word
    )
    assert find_secrets("docs.txt", text.encode()) == []


def test_github_and_pypi_tokens() -> None:
    text = f"a = '{GHP}'\nb = '{PAT}'\nc = \"{PYPI}\"\nd = 'ghp_' + 'x' * 36\ne = 'ghp_{'x' * 36}'\n"
    assert kinds("deploy.py", text) == [("GitHub token", 1), ("GitHub token", 2), ("PyPI token", 3)]


def test_env_like_files_by_key_and_value() -> None:
    text = (
        "# comment\nDEBUG=1\nGITHUB_TOKEN=" + GHP + "\nexport STRIPE_API_KEY=sk_live_4eC39HqLyjWDarjtT1zdp7dc\n"
        "DB_PASSWORD='hunter2hunter2'\nEMPTY_TOKEN=\nAPI_KEY=<your-api-key>\nSESSION_SECRET=${SESSION_SECRET}\n"
        "ADMIN_PASSWORD=changeme\nPASSWORD_MIN_LENGTH=12\nPWD=/home/me\n"
    )
    assert kinds("prod.env", text) == [("GitHub token", 3), ("STRIPE_API_KEY value", 4), ("DB_PASSWORD value", 5)]
    hits = find_secrets("settings.ini", b"[db]\npassword = s3cr3t-Pa55word\n")
    assert hits == [SecretHit("password value", 2, "…")]  # short values are masked entirely
    # In code the same line is an assignment, often of a name or a lookup: not judged.
    assert find_secrets("settings.py", b"DB_PASSWORD = 'hunter2hunter2'\n") == []


def test_netrc_and_pypirc_by_content() -> None:
    netrc = b"machine api.example.com\n  login deploy\n  password Zx81mQp0vL3r\n"
    assert [(h.kind, h.line) for h in find_secrets("creds.txt", netrc)] == [(".netrc password", 3)]
    assert find_secrets("creds.txt", b"machine x login y password <password>\n") == []
    pypirc = b"[distutils]\nindex-servers = pypi\n\n[pypi]\nusername = me\npassword = Zx81mQp0vL3r\n"
    assert [(h.kind, h.line) for h in find_secrets("upload.cfg", pypirc)] == [(".pypirc password", 6)]
    assert find_secrets("upload.cfg", b"[pypi]\nusername = __token__\npassword = ${PYPI_TOKEN}\n") == []


@pytest.fixture(scope="module")
def private_key(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    if shutil.which("openssl"):
        return subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519"], check=True,
                              capture_output=True).stdout
    if shutil.which("ssh-keygen"):
        d = tmp_path_factory.mktemp("key")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "k")], check=True)
        return (d / "k").read_bytes()
    pytest.skip("neither openssl nor ssh-keygen is available to make a real key")


def test_private_key_by_content_not_by_the_marker_alone(private_key: bytes) -> None:
    code = b'"""Reads a key.\n\nThe file starts with -----BEGIN RSA PRIVATE KEY-----\n"""\n'
    assert not is_private_key(code) and find_secrets("loader.py", code) == []
    embedded = b"KEY = b'''" + private_key + b"'''\n"
    assert [(h.kind, h.line) for h in find_secrets("keys.py", b"# x\n" + embedded)] == [("private key", 2)]
    assert is_private_key(private_key)


def test_binaries_are_not_read() -> None:
    assert not worth_scanning("numpy/_core/_multiarray_umath.cpython-312-x86_64-linux-gnu.so", 10_000)
    assert not worth_scanning("libz.so.1", 10_000) and not worth_scanning("a/b.pyc", 10_000)
    assert not worth_scanning("logo.png", 10_000) and not worth_scanning("short.txt", 3)
    assert worth_scanning("config.py", 100) and worth_scanning(".env", 100) and worth_scanning("Makefile", 100)
    assert find_secrets("blob", b"\x7fELF\0\0\0" + AKID.encode()) == []  # NUL: binary


def test_names_and_masks() -> None:
    assert secret_name(".env") and secret_name("conf/.aws/credentials") and secret_name("id_ed25519")
    assert secret_name("_netrc") and secret_name("certs/server.key")
    assert not secret_name(".env.example") and not secret_name("environment.py")
    assert mask(AKID) == "AKIA…PL12" and mask("short") == "…"


def test_a_large_file_is_read_bounded(tmp_path: Path) -> None:
    """Only the first SCAN_BYTES are looked at: a key past them is not found (the bound is real)."""
    from lambdapack.inspect.credentials import SCAN_BYTES

    data = b"x = 1\n" * (SCAN_BYTES // 6 + 1) + AKID.encode()
    assert find_secrets("big.py", data[:SCAN_BYTES]) == []
    assert find_secrets("big.py", data[-100:]) != []
