"""host/cores: never more work at once than tokens, whichever thread asks; a stopped wait ends."""

from __future__ import annotations

import threading
import time

import pytest

from lambdapack.host.cores import Cores
from lambdapack.host.processes import Stopped


def test_at_most_n_blocks_run_at_once_across_threads() -> None:
    cores = Cores(2)
    running = peak = 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal running, peak
        with cores.token():
            with lock:
                running += 1
                peak = max(peak, running)
            time.sleep(0.05)
            with lock:
                running -= 1

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == 2 and running == 0


def test_a_wait_ends_with_stopped_once_the_build_is_stopping() -> None:
    cores = Cores(1)
    stop = threading.Event()
    with cores.token():
        threading.Timer(0.2, stop.set).start()
        started = time.monotonic()
        with pytest.raises(Stopped), cores.token(stop.is_set):
            pytest.fail("ran without a token")
        assert time.monotonic() - started < 5
    with cores.token():  # the token held above was given back, the refused one never taken
        pass
