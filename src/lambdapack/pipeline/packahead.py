"""Compressing the dependencies' members while bytecode compiles.

Why: the compilers are child processes that leave part of a core idle (about 1.5 of 2
cores busy during a cold numpy+pandas build), and compressing the shared libraries is
most of the packing stage's work. Compressed ahead into the blob store, they are hits
when the zip is written: the same content-addressed blobs, so the same bytes.

Largest first: those over members.SMALL as blob files of their own, the rest into one
pack (or a blob file each when few are new, as packing decides), committed when the
thread stops. At most one such thread runs per process (a project builds several
artifacts at once: not one more thread each), and it stops at the member it is on once
packing begins. Anything that goes wrong here (a file changed since it was hashed, a
full disk) is left for packing to meet and report.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

from lambdapack.pack.members import PACK_MIN, SMALL, BlobStore, PackWriter, SourceChanged
from lambdapack.staged import StagedFile

__all__ = ["CompressAhead"]

_ONE = threading.Semaphore(1)  # per process


class CompressAhead:
    """Started on construction; `stop()` (idempotent) waits for the member in hand."""

    def __init__(self, store: BlobStore, files: Sequence[StagedFile], level: int, shas: Mapping[str, str],
                 trusted: bool) -> None:
        # Largest first: blob files of their own, then the small ones into one pack.
        todo = sorted((e for e in files if e.distribution is not None and e.arcname in shas), key=lambda e: -e.size)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lambdapack-compress-ahead", daemon=True,
                                        args=(store, todo, level, {e.arcname: shas[e.arcname] for e in todo},
                                              trusted))
        self._thread.start()

    def _run(self, store: BlobStore, todo: list[StagedFile], level: int, shas: dict[str, str],
             trusted: bool) -> None:
        if not _ONE.acquire(blocking=False):
            return  # another build of this process is compressing ahead
        pack: PackWriter | None = None
        try:
            missing = [e for e in todo if store.get(shas[e.arcname], level) is None]  # a warm cache: none
            # As packing decides it: few new members are a blob file each (zipwriter's PACK_MIN).
            packed = len(missing) >= PACK_MIN
            for e in missing:
                if self._stop.is_set():
                    break
                try:
                    # `trusted`: hashed by this build moments ago, so not hashed again.
                    if e.size > SMALL or not packed:
                        store.blob_for(e.path, level, shas[e.arcname], verify=not trusted)
                        continue
                    if pack is None:
                        pack = store.pack_writer()
                    pack.add(e.path, level, shas[e.arcname], verify=not trusted)
                except SourceChanged:
                    continue  # packing meets it again and says so; the others are still good
            if pack is not None:
                pack.commit()  # its blobs are hits for packing from here on
        except Exception:  # packing compresses these members itself and reports what is wrong
            if pack is not None:
                pack.abort()
        finally:
            _ONE.release()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
