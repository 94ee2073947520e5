"""The progress model and the renderer's pure parts: the frame strings for a given stage and
width, the redraw bytes, and the non-terminal output (one line per finished stage, no ANSI)."""

from __future__ import annotations

import io
import re

import pytest

from lambdapack.cli.progress import Console, end_line, fit_rows, live_line, redraw, seconds
from lambdapack.progress import Snapshot, Stage, StageStart, staged

ANSI = re.compile(r"\x1b\[")


def _compiling(done: int, secs: float, *, ended: bool = False, ok: bool = True) -> Snapshot:
    return Snapshot("compiling", 1995, "module", "to unchecked-hash bytecode with Python 3.12", done, secs, ended, ok)


def test_live_line_has_the_counter_the_words_and_the_elapsed_time() -> None:
    line = live_line(_compiling(812, 12.44), 120)
    assert line == "compiling 812/1,995 modules to unchecked-hash bytecode with Python 3.12  12.4 s"


def test_a_narrow_terminal_shortens_the_words_never_the_counter_or_the_time() -> None:
    for width in (60, 40, 30, 12):
        line = live_line(_compiling(812, 12.44), width)
        assert len(line) <= width - 1, line  # never wraps: the cursor-up redraw depends on it
        assert line.endswith("  12.4 s"), line
        if width >= 40:
            assert line.startswith("compiling 812/1,995 modules"), line
    assert live_line(_compiling(812, 12.44), 60) == "compiling 812/1,995 modules to unchecked-hash byte…  12.4 s"
    assert live_line(_compiling(812, 12.44), 30) == "compiling 812/1,995 …  12.4 s"


def test_a_project_build_labels_each_line_with_its_artifact() -> None:
    line = live_line(_compiling(3, 0.25), 120, "api (python3.12 arm64)")
    assert line.startswith("api (python3.12 arm64): compiling 3/1,995 modules")


def test_a_stage_without_a_total_shows_elapsed_time_only() -> None:
    s = Snapshot("resolving and installing with uv", None, "", "", 0, 75.0)
    assert live_line(s, 120) == "resolving and installing with uv  1 min 15 s"
    assert end_line(s) == "• resolving and installing with uv: 1 min 15 s"


def test_end_line_keeps_the_total_and_says_a_stopped_stage() -> None:
    assert end_line(_compiling(1995, 36.2, ended=True)) == (
        "• compiling 1,995 modules to unchecked-hash bytecode with Python 3.12: 36.2 s")
    assert end_line(_compiling(40, 1.5, ended=True, ok=False)).endswith(": stopped after 1.5 s")
    assert end_line(Snapshot("packing", 1, "file", "", 1, 0.04, True)) == "• packing 1 file: 0.0 s"


@pytest.mark.parametrize(("s", "text"), [(0.04, "0.0 s"), (59.94, "59.9 s"), (60.0, "1 min 00 s"),
                                         (3725.0, "62 min 05 s")])
def test_seconds(s: float, text: str) -> None:
    assert seconds(s) == text


def test_redraw_moves_up_over_the_old_block_erases_and_writes_the_new_one() -> None:
    assert redraw(0, [], ["a"]) == "\x1b[Ja\n"
    assert redraw(2, ["• done: 1.0 s"], ["b"]) == "\r\x1b[2A\x1b[J• done: 1.0 s\nb\n"
    assert redraw(1, [], []) == "\r\x1b[1A\x1b[J"  # the last stage ended: the block is gone


def test_stage_counts_from_threads_never_past_its_total_and_ends_once() -> None:
    clock = iter([10.0, 11.0, 12.5, 99.0]).__next__
    st = Stage("packing", 3, "file", clock=clock)
    ends: list[Snapshot] = []
    st.on_end(lambda s: ends.append(s.snapshot()))
    st.advance(2)
    assert st.snapshot() == Snapshot("packing", 3, "file", "", 2, 1.0)
    st.advance(5)
    st.end()
    st.end()
    assert ends == [Snapshot("packing", 3, "file", "", 3, 2.5, True, True)]


def test_a_stage_start_is_its_text_for_callers_that_know_no_stages() -> None:
    said: list[str] = []
    with staged(said.append, "compiling", 2, "module", "to checked-hash bytecode") as st:
        st.advance()
    assert said == ["compiling 2 modules to checked-hash bytecode"]
    assert isinstance(said[0], StageStart) and said[0].stage is st and st.snapshot().ended


def test_a_failing_block_ends_its_stage_as_stopped_and_a_refusing_callable_starts_none() -> None:
    said: list[str] = []
    with pytest.raises(ValueError), staged(said.append, "packing", 1, "file") as st:
        raise ValueError("disk full")
    assert not st.snapshot().ok

    def stop(_msg: str) -> None:
        raise KeyboardInterrupt  # a project build's wrapper after Ctrl-C

    with pytest.raises(KeyboardInterrupt), staged(stop, "compiling", 1, "module"):
        pytest.fail("the block must not run once the build is stopping")


def test_not_a_terminal_one_line_per_stage_when_it_ends_and_no_ansi() -> None:
    out = io.StringIO()
    console = Console(out, live=False)
    say = console.reporter()
    say("dependencies: using requirements.txt")
    with staged(say, "compiling", 3, "module") as st:
        for _ in range(3):
            st.advance()
        assert out.getvalue() == "• dependencies: using requirements.txt\n"  # nothing while it runs
    with staged(say, "packing", 5, "file", "into fn.zip"):
        pass
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 and not ANSI.search(out.getvalue())
    assert re.fullmatch(r"• compiling 3 modules: \d+\.\d s", lines[1])
    assert re.fullmatch(r"• packing 5 files into fn\.zip: \d+\.\d s", lines[2])


def test_on_a_terminal_each_artifact_has_its_live_line_and_finished_stages_stay() -> None:
    out = io.StringIO()
    console = Console(out, live=True, width=lambda: 100)
    a, b = console.reporter("a (python3.12 x86_64)"), console.reporter("layer deps (python3.12 x86_64)")
    with staged(a, "compiling", 10, "module") as sa, staged(b, "packing", 4, "file"):
        sa.advance(4)
        console._emit([])  # what the ticker does ten times a second
        screen = _screen(out.getvalue())
        assert screen[-2:] == ["a (python3.12 x86_64): compiling 4/10 modules  0.0 s",
                               "layer deps (python3.12 x86_64): packing 0/4 files  0.0 s"]
    screen = _screen(out.getvalue())
    assert [ln.split(": ", 1)[0] for ln in screen] == ["• layer deps (python3.12 x86_64)", "• a (python3.12 x86_64)"]
    assert all(ln.endswith(" s") for ln in screen)


def test_quiet_prints_nothing() -> None:
    out = io.StringIO()
    say = Console(out, quiet=True, live=True).reporter()
    say("a note")
    with staged(say, "compiling", 1, "module") as st:
        st.advance()
    assert out.getvalue() == ""


def _screen(written: str) -> list[str]:
    """What a terminal shows after `written`: lines, with cursor-up and erase-below applied."""
    rows: list[str] = []
    row = 0
    for token in re.split(r"(\r|\n|\x1b\[\d*A|\x1b\[J)", written):
        if not token:
            continue
        if token == "\r":
            continue
        if token == "\n":
            row += 1
        elif token == "\x1b[J":
            del rows[row:]
        elif token.startswith("\x1b["):
            row -= int(token[2:-1] or 1)
        else:
            while len(rows) <= row:
                rows.append("")
            rows[row] = token
    return [r for r in rows if r]


def test_a_stage_counted_in_bytes_reads_as_sizes() -> None:
    s = Snapshot("packing", 261_400_000, "byte", "of 3,340 files into fn.zip", 126_143_283, 3.5)
    assert s.text == "packing 249.3 MiB of 3,340 files into fn.zip"
    assert live_line(s, 120) == "packing 120.3/249.3 MiB of 3,340 files into fn.zip  3.5 s"
    assert live_line(Snapshot("packing", 261_400_000, "byte", "", 5_000, 0.1), 120) == (
        "packing 4.9 KiB/249.3 MiB  0.1 s")


def test_a_block_taller_than_the_screen_is_cut_to_fit_with_a_count_of_the_rest() -> None:
    lines = [f"f{i}: compiling" for i in range(12)]
    assert fit_rows(lines, 30) == lines
    assert fit_rows(lines, 5) == ["f0: compiling", "f1: compiling", "f2: compiling", "… and 9 more running"]
    assert fit_rows(lines, 1) == ["… and 12 more running"]
