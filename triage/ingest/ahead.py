"""Read one large log in a second process while this one scores and stores what it read.

On a large log read directly (``stream.stream_direct``), reading (parsing, normalising,
the per-file passes) and storing (scoring, linking, inserts) each take about half the
time. With two cores or more they overlap: a forked reader process runs
``stream_direct`` and sends each chunk of whole files down a pipe as soon as it is read,
while this process stores the chunks before. The pipe holds 1 MiB, so the reader is at
most a few chunks ahead and memory stays bounded by a few chunks.

What the store receives is what ``stream_direct`` gives in one process: the scan's
header, the same chunks (``stream.CHUNK_FINDINGS``, whole files) in the same order, the
final header. Every problem the reader meets comes back as the same exception here
(``BadInputError`` and the other ``TriageError`` classes with their message and hint,
``NotContiguous``); a reader that crashes is an internal error whose note carries the
reader's traceback. The reader writes nothing: no database, no temporary file. It ends
with this process: the kernel stops it when this process dies, a reader whose pipe closed
stops at its next message, and one that is not needed any more is terminated. When no
process can be started, the log is read here.

``TRIAGE_READER_PROCESS=0`` keeps reading in this process, ``=1`` asks for the reader
process; by default it is used on Linux (fork) when at least two CPUs are available to
this process (its affinity and its cgroup's CPU quota) and no other thread runs (a
forked thread-holding process may inherit a lock that no thread will release).
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import gc
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from triage.errors import BadInputError, ConfigError, DatabaseError, TriageError
from triage.ingest import stream
from triage.ingest.paths import PathNormaliser
from triage.ingest.sarif import Progress
from triage.model import NotContiguous, ReadAgain

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    from triage.model import Finding, ScanInput


PIPE_BYTES = 1 << 20
"""The pipe's room (Linux's default is 64 KiB; an unprivileged process may ask for 1 MiB)."""


def enabled() -> bool:
    """Whether a large log is read in a reader process (``TRIAGE_READER_PROCESS``)."""
    if not sys.platform.startswith("linux"):
        return False  # fork is the only start method that shares what is loaded
    choice = os.environ.get("TRIAGE_READER_PROCESS", "")
    if choice in ("0", "1"):
        return choice == "1"
    return cpus() >= 2 and threading.active_count() == 1


def cpus() -> float:
    """The CPUs this process may use: its affinity, capped by its cgroup's CPU quota."""
    try:
        count: float = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    try:
        # cgroup v2: "max 100000" (no quota) or "150000 100000" (1.5 CPUs).
        quota, period = Path(CPU_MAX).read_text().split()[:2]
        if quota != "max":
            count = min(count, int(quota) / int(period))
    except (OSError, ValueError, ZeroDivisionError):
        pass
    return count


CPU_MAX = "/sys/fs/cgroup/cpu.max"


@dataclass
class AheadScan:
    """A scan read in a reader process: ``StreamedScan``'s parts, chunks as prepared there."""

    scan: ScanInput
    """Tool, logs, health and notes as the run's members before its results give them."""
    chunks: Callable[[], Iterator[Any]]
    """Each chunk of whole files, after ``prepare``, in log order."""
    header: Callable[[], ScanInput]
    """The scan's final header, once every chunk was taken."""
    close: Callable[[], None]
    """Stops the reader when its chunks are not all taken (the same log again, an error)."""


def stream_direct_ahead(
    path: Path,
    normaliser: PathNormaliser,
    now: dt.datetime,
    progress: Progress | None = None,
    prepare: Callable[[list[Finding]], Any] = lambda chunk: chunk,
    *,
    one_pass: bool = True,
) -> AheadScan | None:
    """``stream.stream_direct`` run in a reader process; the same result, read ahead.

    ``prepare`` runs there on each chunk before it is sent (scoring, say): work this
    process then does not do. It may use anything loaded before the call (the process is
    forked) but must not touch a database connection.
    """
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_read, args=(os.getpid(), receive, send, path, normaliser, now,
                                           progress is not None, prepare, one_pass),
                       name="triage-reader", daemon=True)
    # Ctrl-C before the reader ignores it would print its traceback: the reader starts
    # with SIGINT blocked, and this process hears a Ctrl-C of that moment right after.
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        proc.start()
    except OSError:
        # No process to be had (memory, process limits): read here, as with one core.
        receive.close()
        send.close()
        return stream_direct_here(path, normaliser, now, progress, prepare, one_pass=one_pass)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    send.close()  # the reader holds the only write end: its exit is this end's EOF
    import fcntl  # Linux only, as the reader process is

    with contextlib.suppress(OSError):
        fcntl.fcntl(receive.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    link = _Link(proc, receive, path, progress)
    try:
        first = link.next()
    except BaseException:
        link.close()
        raise
    if first[0] == "none":
        link.close()
        return None
    return AheadScan(scan=first[1], chunks=link.chunks, header=link.header, close=link.close)


def stream_direct_here(
    path: Path,
    normaliser: PathNormaliser,
    now: dt.datetime,
    progress: Progress | None = None,
    prepare: Callable[[list[Finding]], Any] = lambda chunk: chunk,
    *,
    one_pass: bool = True,
) -> AheadScan | None:
    """The same scan as ``stream_direct_ahead``, read and prepared in this process."""
    direct = stream.stream_direct(path, normaliser, now, progress, one_pass=one_pass)
    if direct is None:
        return None
    found = direct

    def chunks() -> Iterator[Any]:
        return (prepare(chunk) for chunk in found.chunks())

    return AheadScan(scan=direct.scan, chunks=chunks,
                     header=direct.header or (lambda: found.scan), close=direct.close)


class _Link:
    """The storing process's end of the pipe from a reader process."""

    def __init__(self, proc: BaseProcess, conn: Connection, path: Path,
                 progress: Progress | None) -> None:
        self.proc, self.conn, self.path, self.progress = proc, conn, path, progress
        self.final: ScanInput | None = None
        self.closed = False

    def next(self) -> tuple[Any, ...]:
        """The reader's next message other than progress; its errors raised here."""
        while True:
            try:
                message: tuple[Any, ...] = pickle.loads(self.conn.recv_bytes())
            except EOFError:
                self.proc.join(5)
                raise RuntimeError(
                    f"{self.path.name}: the reader process ended without a word "
                    f"(exit code {self.proc.exitcode})") from None
            kind = message[0]
            if kind == "progress":
                if self.progress:
                    self.progress(message[1], message[2])
            elif kind == "error":
                raise _ERRORS.get(message[1], TriageError)(message[2], hint=message[3])
            elif kind == "apart":
                raise NotContiguous(message[1])
            elif kind == "again":
                raise ReadAgain(message[1])
            elif kind == "crash":
                error = RuntimeError(f"{self.path.name}: the reader process failed: "
                                     f"{message[1]}")
                error.add_note(f"the reader process's traceback:\n{message[2]}")
                raise error
            else:
                return message

    def chunks(self) -> Iterator[Any]:
        """The chunks as the reader sends them; the reader ends when they do."""
        try:
            while True:
                message = self.next()
                if message[0] == "end":
                    self.final = message[1]
                    return
                yield message[1]
        finally:
            self.close()

    def header(self) -> ScanInput:
        """The scan's final header, which the reader sends after the last chunk."""
        if self.final is None:
            raise RuntimeError(f"{self.path.name}: the scan's header was asked for before "
                               "its last chunk was read")
        return self.final

    def close(self) -> None:
        """Stop the reader (when it is still at work) and wait for it."""
        if self.closed:
            return
        self.closed = True
        self.conn.close()
        self.proc.join(0 if self.final is None else 5)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(5)
            if self.proc.is_alive():
                self.proc.kill()
                self.proc.join()


def _read(parent: int, receive: Connection, send: Connection, path: Path,
          normaliser: PathNormaliser, now: dt.datetime, with_progress: bool,
          prepare: Callable[[list[Finding]], Any], one_pass: bool) -> None:
    """The reader process: ``stream_direct_here``, each chunk and problem sent as a message."""
    # The read end is the parent's alone: once the parent is gone, a send fails here.
    receive.close()
    # Ctrl-C reaches the whole process group; the parent decides, and stops this process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    _die_with_parent(parent)
    # What is read holds no reference cycles: reference counting frees each chunk.
    gc.disable()

    def put(*message: Any) -> None:
        send.send_bytes(pickle.dumps(message, pickle.HIGHEST_PROTOCOL))

    # A parent that stopped listening leaves nothing more to do.
    with contextlib.closing(send), contextlib.suppress(BrokenPipeError, ConnectionResetError):
        try:
            read = stream_direct_here(
                path, normaliser, now,
                (lambda done, total: put("progress", done, total)) if with_progress else None,
                prepare, one_pass=one_pass)
            if read is None:
                put("none")
                return
            try:
                put("scan", read.scan)
                for chunk in read.chunks():
                    put("chunk", chunk)
                put("end", read.header())
            finally:
                read.close()
        except TriageError as e:
            put("error", type(e).__name__, str(e), e.hint)
        except NotContiguous as e:
            put("apart", str(e))
        except ReadAgain as e:
            put("again", str(e))
        except Exception as e:  # noqa: BLE001 - a bug: the parent reports it, exit 70
            put("crash", f"{type(e).__name__}: {e}", traceback.format_exc())


def _die_with_parent(parent: int) -> None:
    """Ask the kernel to kill this process when its parent dies (prctl PR_SET_PDEATHSIG).

    Without it a reader whose parent was killed would stop only at its next message.
    """
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # 1: PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(0)  # the parent died before the request took hold


_ERRORS: dict[str, type[TriageError]] = {
    cls.__name__: cls for cls in (TriageError, BadInputError, ConfigError, DatabaseError)}
