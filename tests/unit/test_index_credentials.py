"""An index that refuses the request (401/403) is an authentication failure, not a missing
package; and no error names an index URL with its credentials. The uv texts were captured
from uv 0.13.9 against a loopback index answering 401/403 (tests/integration/test_index_auth.py
produces them live)."""

from __future__ import annotations

import pytest

from lambdapack.errors import InputError, UsageError
from lambdapack.facts.runtimes import Arch, get_runtime
from lambdapack.resolve.install import InstallOptions, Limits, check_index_locations, deadline_error
from lambdapack.resolve.uvfailure import classify_uv_failure, hide_credentials, uv_cause
from lambdapack.target.tags import Target

T312 = Target(get_runtime("python3.12"), Arch.X86_64)
_NO_SOLUTION = (
    "Using CPython 3.11.7 interpreter at: /root/.pyenv/versions/3.11.7/bin/python\n"
    "error: No solution found when resolving dependencies\n"
    "  cause: Because six was not found in the package registry and you require six, we can conclude that "
    "your requirements are unsatisfiable.\n\n"
)
UV_401 = _NO_SOLUTION + (
    "hint: An index URL (http://127.0.0.1:38117/simple/) could not be queried due to a lack of valid "
    "authentication credentials (401 Unauthorized)\n"
)
UV_403 = _NO_SOLUTION + (
    "hint: An index (http://127.0.0.1:44397/simple/) returned a 403 Forbidden error. Check that the index URL "
    "is correct and the credentials are valid.\n"
)


@pytest.mark.parametrize(("text", "status"), [(UV_401, "401 Unauthorized"), (UV_403, "403 Forbidden")])
def test_a_refusing_index_is_an_authentication_failure(text: str, status: str) -> None:
    e = classify_uv_failure(text, T312)
    assert isinstance(e, InputError) and e.exit_code == 2  # the user's to fix, as a package that does not exist
    assert e.message.startswith("authentication failed for the package index at http://127.0.0.1:"), e.message
    assert status in e.message and "does not exist" not in e.message
    assert e.hint and "UV_INDEX_" in e.hint and "netrc" in e.hint and "index URL" in e.hint


def test_credentials_in_uvs_text_never_reach_the_message() -> None:
    text = UV_401.replace("http://127.0.0.1:38117/", "https://aws:eyJtb2tlbg@d-1.codeartifact.aws/")
    e = classify_uv_failure(text, T312)
    assert "eyJtb2tlbg" not in e.message and "aws:****@d-1.codeartifact.aws" in e.message
    unreachable = "error: Failed to fetch: https://bob:hunter2@10.0.0.1/simple/six/\n  cause: tcp connect error\n"
    e = classify_uv_failure(unreachable, T312)
    assert "hunter2" not in e.message and "https://bob:****@10.0.0.1/simple/six/" in e.message
    assert "hunter2" not in uv_cause(unreachable)


def test_a_missing_package_without_a_refusal_is_still_missing() -> None:
    e = classify_uv_failure(_NO_SOLUTION, T312)
    assert e.message == "package six does not exist on the package index"


@pytest.mark.parametrize(("url", "shown"), [
    ("https://alice:s3cret@host/simple/", "https://alice:****@host/simple/"),
    ("https://TOKEN@host/simple", "https://****@host/simple"),  # a user name alone is the token
    ("git+https://ghp_x@github.com/o/r.git", "git+https://****@github.com/o/r.git"),
    ("https://u:p@ss@host/", "https://u:****@host/"),  # the netloc ends at its last @
    ("http://127.0.0.1:8080/simple/ (mail me@example.org)", "http://127.0.0.1:8080/simple/ (mail me@example.org)"),
    ("file:///srv/index", "file:///srv/index"),
])
def test_hide_credentials(url: str, shown: str) -> None:
    assert hide_credentials(url) == shown


def test_the_deadline_error_names_the_index_without_its_credentials() -> None:
    e = deadline_error("resolving", Limits(15, 60), "", "https://aws:eyJ0b2tlbg@x.codeartifact.aws/pypi/r/simple/")
    assert "eyJ0b2tlbg" not in e.message
    assert "the package index at https://aws:****@x.codeartifact.aws/pypi/r/simple/ may be stalled" in e.message
    stderr = "error: Failed to fetch: https://aws:eyJ0b2tlbg@x.codeartifact.aws/pypi/r/simple/six/\n"
    assert "eyJ0b2tlbg" not in deadline_error("resolving", Limits(15, 60), stderr).message


def test_a_bad_index_url_is_refused_without_its_credentials() -> None:
    with pytest.raises(UsageError) as got:
        check_index_locations(InstallOptions(index_url="https://bob:hunter2@ bad host/simple"), {})
    assert "hunter2" not in got.value.message and "bob:****@" in got.value.message
    with pytest.raises(UsageError) as got:
        check_index_locations(InstallOptions(), {"UV_INDEX_URL": "ftp+https://bob:hunter2@ x"})
    assert "hunter2" not in got.value.message
