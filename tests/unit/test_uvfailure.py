"""uv's failure texts, captured from real runs of uv 0.13.9 (see tests/integration/test_uv_failures.py
for the same failures produced by the real uv), classified into our errors."""

from __future__ import annotations

from lambdapack.errors import BuildError, InputError
from lambdapack.facts.runtimes import Arch, get_runtime
from lambdapack.resolve.uvfailure import MAX_CHARS, bounded_lines, classify_uv_failure, uv_cause
from lambdapack.target.tags import Target

T312 = Target(get_runtime("python3.12"), Arch.X86_64)
USING = "Using CPython 3.11.7 interpreter at: /work/wt/uv/.venv/bin/python\n"

MALFORMED = (
    "error: Couldn't parse requirement in `malformed.txt` at position 4\n"
    "  cause: Expected one of `@`, `(`, `<`, `=`, `>`, `~`, `!`, `;`, found `b`\n"
    "         foo bar baz\n             ^\n"
)
NUL = (
    "error: Couldn't parse requirement in `nul.txt` at position 4\n"
    "  cause: Expected one of `@`, `(`, `<`, `=`, `>`, `~`, `!`, `;`, found ``\n         foo\n\n"
)
INCLUDED = (
    "error: Error parsing included file in `main.txt` at position 4\n"
    "  cause: Couldn't parse requirement in `sub/inc.txt` at position 1\n"
    "  cause: Expected one of `@`, `(`, `<`, `=`, `>`, `~`, `!`, `;`, found `b`\n         foo bar\n             ^\n"
)
OPTION = "error: Unexpected '-', expected '-c', '-e', '-r' or the start of a requirement: opt.txt:1:1\n"
UNREACHABLE = (
    USING + "error: Failed to fetch: http://127.0.0.1:9/simple/six/\n"
    "  cause: error sending request for url (http://127.0.0.1:9/simple/six/)\n"
    "  cause: client error (Connect)\n  cause: tcp connect error\n  cause: Connection refused (os error 111)\n"
)
STALLED = (
    USING + "error: Request failed after 1 retry in 5.6s\n"
    "  cause: Failed to fetch: http://127.0.0.1:45245/simple/six/\n"
    "  cause: error sending request for url (http://127.0.0.1:45245/simple/six/)\n  cause: operation timed out\n"
)
GIT = (
    USING + "   Updating https://127.0.0.1:9/x.git (HEAD)\n"
    "error: Failed to download and build `pkg @ git+https://127.0.0.1:9/x.git`\n"
    "  cause: Git operation failed\n  cause: failed to clone into: /root/.cache/uv/git-v2/db/643f48818ad0f691\n"
    "  cause: process didn't exit successfully: `/usr/bin/git fetch --force --update-head-ok "
    "'https://127.0.0.1:9/x.git' '+HEAD:refs/remotes/origin/HEAD'` (exit status: 128)\n"
    "         --- stderr\n"
    "         fatal: unable to access 'https://127.0.0.1:9/x.git/': Failed to connect to 127.0.0.1 port 9 "
    "after 0 ms: Couldn't connect to server\n"
)
HASH = (
    USING + "Resolved 1 package in 75ms\nerror: Failed to download `six==1.17.0`\n"
    "  cause: Hash mismatch for `six==1.17.0`\n\n         Expected:\n"
    "           sha256:0000000000000000000000000000000000000000000000000000000000000000\n\n"
    "         Computed:\n           sha256:4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274\n"
)
NOT_FOUND = (
    USING + "error: No solution found when resolving dependencies\n  cause: Because six was not found in the "
    "package registry and you require six, we can conclude that your requirements are unsatisfiable.\n"
)


def _huge_name_failure(name: str) -> str:
    """uv's text for a requirement whose name makes an invalid URL (uv repeats the URL twice)."""
    url = f"https://pypi.org/simple/{name}/"
    return f"{USING}error: Failed to fetch: {url}\n  cause: builder error for url ({url})\n" \
        "  cause: Parsed Url is not a valid Uri\n"


def test_a_malformed_line_is_input_naming_file_and_line() -> None:
    e = classify_uv_failure(MALFORMED, T312, sources={"/work/x/malformed.txt": b"six\nfoo bar baz\n"})
    assert isinstance(e, InputError)
    assert e.message.startswith("malformed.txt, line 2: invalid requirement: Expected one of")
    assert e.message.endswith("found `b`")  # uv's echo of the line and its caret are left out
    assert e.hint and "PEP 508" in e.hint


def test_a_nul_byte_is_named() -> None:
    e = classify_uv_failure(NUL, T312, sources={"nul.txt": b"six\nfo\0o\n"})
    assert isinstance(e, InputError) and "nul.txt, line 2" in e.message and "NUL byte" in e.message
    assert "\0" not in e.message


def test_positions_are_bytes_and_includes_name_the_included_file() -> None:
    # uv counts bytes: an "é" before the bad line must not shift the line number.
    text = "six\n# é\nfoo bar\n".encode()
    e = classify_uv_failure(MALFORMED.replace("at position 4", f"at position {text.index(b'foo')}"), T312,
                            sources={"malformed.txt": text})
    assert "malformed.txt, line 3:" in e.message
    e = classify_uv_failure(INCLUDED, T312, sources={"/p/main.txt": b"six\n-r sub/inc.txt\n",
                                                       "/p/sub/inc.txt": b"\nfoo bar\n"})
    assert isinstance(e, InputError) and e.message.startswith("sub/inc.txt, line 2: invalid requirement")


def test_without_the_file_the_byte_position_is_named() -> None:
    e = classify_uv_failure(MALFORMED, T312)
    assert isinstance(e, InputError) and "malformed.txt (byte 4)" in e.message


def test_an_unknown_option_line() -> None:
    e = classify_uv_failure(OPTION, T312, sources={"opt.txt": b"--hash=foo\n"})
    assert isinstance(e, InputError) and e.message.startswith("opt.txt, line 1: invalid requirement")


def test_a_1_mib_name_is_input_naming_the_line_and_bounded() -> None:
    name = "a" * (1 << 20)
    stderr = _huge_name_failure(name)
    assert len(stderr) > 2_000_000
    e = classify_uv_failure(stderr, T312, sources={"big.txt": f"six\n{name}\n".encode()})
    assert isinstance(e, InputError)
    assert e.message.startswith("big.txt, line 2: invalid requirement (the line is 1048576 bytes long)")
    assert len(e.message) < MAX_CHARS + 200 and len(e.hint or "") < 300


def test_an_unrequestable_index_url_without_a_matching_line() -> None:
    url = "ftp://x/six/"
    stderr = f"{USING}error: Failed to fetch: {url}\n  cause: builder error for url ({url})\n" \
        "  cause: URL scheme is not allowed\n"
    e = classify_uv_failure(stderr, T312, sources={"r.txt": b"six\n--index-url ftp://x\n"})
    assert isinstance(e, InputError) and "ftp://x/six/" in e.message and "URL scheme is not allowed" in e.message


def test_unreachable_index_names_the_url() -> None:
    e = classify_uv_failure(UNREACHABLE, T312)
    assert type(e) is BuildError
    assert e.message.startswith("the package index could not be reached at http://127.0.0.1:9/simple/six/: ")
    assert "Connection refused" in e.message


def test_a_stalled_index_names_the_url_and_the_timeout() -> None:
    e = classify_uv_failure(STALLED, T312, network_timeout=2)
    assert type(e) is BuildError
    assert e.message == "the package index at http://127.0.0.1:45245/simple/six/ did not answer within 2 s"
    assert e.hint and "--network-timeout" in e.hint


def test_a_git_failure_is_not_an_index_failure() -> None:
    e = classify_uv_failure(GIT, T312)
    assert type(e) is BuildError
    assert e.message.startswith("fetching https://127.0.0.1:9/x.git with git failed: fatal: unable to access")
    assert "index" not in e.message


def test_hash_advice_depends_on_the_input_kind() -> None:
    req = classify_uv_failure(HASH, T312, "requirements")
    assert isinstance(req, InputError) and "six==1.17.0" in req.message and "--hash" in (req.hint or "")
    lock = classify_uv_failure(HASH, T312, "lock")
    assert isinstance(lock, InputError) and "lock's hashes do not match the index" in lock.message
    assert "uv lock" in (lock.hint or "") and "--hash" not in (lock.hint or "")
    other = classify_uv_failure(HASH, T312, "pyproject")
    assert type(other) is BuildError and "--hash" not in (other.hint or "")


def test_not_found_stays_a_missing_package() -> None:
    e = classify_uv_failure(NOT_FOUND, T312)
    assert isinstance(e, InputError) and e.message == "package six does not exist on the package index"


def test_every_message_is_one_line() -> None:
    for text in (MALFORMED, NUL, INCLUDED, OPTION, UNREACHABLE, STALLED, GIT, HASH, NOT_FOUND):
        e = classify_uv_failure(text, T312, sources={"malformed.txt": b"six\nfoo bar baz\n"})
        assert "\n" not in e.message and e.hint, text


def test_bounded_lines_keeps_the_first_and_last_lines() -> None:
    lines = [f"line {i}" for i in range(1000)]
    out = bounded_lines(lines)
    assert len(out) == 20
    assert out[0] == "line 0" and out[-1] == "line 999"
    assert "… 981 lines omitted …" in out


def test_bounded_lines_clips_long_lines_and_escapes_control_characters() -> None:
    out = bounded_lines(["x" * 1_000_000, "a\x1b[31mb"])
    assert sum(len(ln) for ln in out) <= MAX_CHARS + 100
    assert out[0].endswith("characters omitted …")
    assert out[1] == "a\\x1b[31mb"
    assert bounded_lines(["short"]) == ["short"]


def test_uv_cause_of_a_huge_text_is_bounded() -> None:
    text = "error: first\n" + "".join(f"  cause: reason {i}\n" for i in range(100_000)) + "  cause: last\n"
    cause = uv_cause(text)
    assert cause.startswith("first ") and cause.endswith(" last") and len(cause) <= MAX_CHARS
    assert "lines omitted" in cause
