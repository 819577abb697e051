"""Run a function in a forked helper process that can be killed on a deadline.

Why a process: decord can loop forever inside native code while holding the
GIL (dmlc/decord#373), so neither a signal handler nor a watchdog thread in the
decoding process can stop it. A helper process can be killed with SIGKILL by
its parent; the parent then reports a timeout and forks a fresh helper for the
next call.

The helper is forked (POSIX only), so ``fn`` may be any callable, closures and
bound methods included; nothing but the call arguments and the result crosses
the pipe (pickled). The helper serves calls one at a time until its parent
closes the pipe, so the fork is paid once per process, not once per call.

Used by :class:`~mmiivcl.datasets.UnlabeledVideoDataset` (``decode_timeout``)
and by ``tools/check_videos.py``.
"""
import os
import pickle
import signal
import time
from multiprocessing.connection import Connection, wait
from typing import Any, Callable, List, Optional, Sequence, Tuple


class CallTimeout(Exception):
    """The helper did not answer within ``timeout`` seconds and was killed."""

    def __init__(self, timeout: float) -> None:
        self.timeout = float(timeout)
        super().__init__(f'call did not finish within {timeout:g} s; the '
                         'helper process was killed')


class HelperDied(RuntimeError):
    """The helper exited without answering (e.g. a crash in native code)."""


class RemoteError(RuntimeError):
    """An exception raised in the helper that could not be unpickled."""

    def __init__(self, type_name: str, message: str) -> None:
        self.type_name = type_name
        super().__init__(f'{type_name}: {message}' if message else type_name)


def _encode_error(exc: BaseException) -> bytes:
    try:
        blob = pickle.dumps(exc, protocol=pickle.HIGHEST_PROTOCOL)
        pickle.loads(blob)  # some exception types do not round-trip
        return pickle.dumps(('err', blob), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001
        first = next((ln.strip() for ln in str(exc).splitlines()
                      if ln.strip()), '')
        return pickle.dumps(('raw_err', type(exc).__name__, first[:500]),
                            protocol=pickle.HIGHEST_PROTOCOL)


def _serve(fn: Callable, conn: Connection) -> None:
    """Helper main loop: one request in, one answer out, until EOF."""
    while True:
        try:
            args = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            return
        try:
            out = ('ok', fn(*args))
            payload = pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - sent to the parent
            payload = _encode_error(exc)
        conn.send_bytes(payload)


class KillableWorker:
    """A lazily forked helper that runs ``fn(*args)`` with a deadline.

    Args:
        fn: the function to run in the helper.
        timeout: seconds a call may take (``None``: no limit).
        on_start: called in the helper right after the fork (e.g. to limit
            threads).

    Example::

        >>> w = KillableWorker(decode, timeout=30)
        >>> frames = w(path, indices)   # raises CallTimeout on a hang
    """

    def __init__(self, fn: Callable, timeout: Optional[float] = None,
                 on_start: Optional[Callable[[], None]] = None) -> None:
        if timeout is not None and timeout <= 0:
            raise ValueError(f'timeout must be > 0 or None, got {timeout}')
        self.fn = fn
        self.timeout = timeout
        self.on_start = on_start
        self.pid: Optional[int] = None
        self.owner: Optional[int] = None
        self.conn: Optional[Connection] = None
        self.deadline: Optional[float] = None  # of the call in flight
        self.num_started = 0

    # ------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        return self.pid is not None and self.owner == os.getpid()

    def start(self) -> None:
        """Fork the helper (no-op when one of this process is running)."""
        if self.alive:
            return
        if self.owner is not None and self.owner != os.getpid():
            # a copy inherited through fork: the helper belongs to the parent
            self.pid = self.conn = None
        parent_fd, child_fd = os.pipe(), os.pipe()
        # two one-way pipes wrapped as one duplex Connection each side
        pid = os.fork()
        if pid == 0:  # helper
            code = 0
            try:
                os.close(parent_fd[1])
                os.close(child_fd[0])
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                if self.on_start is not None:
                    self.on_start()
                conn = _DuplexFd(parent_fd[0], child_fd[1])
                _serve(self.fn, conn)
            except BaseException:  # noqa: BLE001
                code = 1
            finally:
                os._exit(code)
        os.close(parent_fd[0])
        os.close(child_fd[1])
        self.conn = _DuplexFd(child_fd[0], parent_fd[1])
        self.pid, self.owner = pid, os.getpid()
        self.num_started += 1

    def kill(self) -> None:
        """SIGKILL the helper and reap it."""
        if not self.alive:
            self.pid = self.conn = None
            return
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._reap()

    def close(self) -> None:
        """Ask the helper to exit (EOF), wait briefly, then kill it."""
        if not self.alive:
            self.pid = self.conn = None
            return
        try:
            self.conn.close()
        except OSError:
            pass
        for _ in range(50):
            try:
                done, _ = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                done = self.pid
            if done:
                self.pid = self.conn = None
                return
            time.sleep(0.01)
        self.kill()

    def _reap(self) -> None:
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        try:
            self.conn.close()
        except OSError:
            pass
        self.pid = self.conn = None
        self.deadline = None

    # ------------------------------------------------------------------
    # asynchronous use (a pool polls several workers)
    def submit(self, *args) -> None:
        """Send one call; collect it with :meth:`result`."""
        self.start()
        self.conn.send_bytes(pickle.dumps(args,
                                          protocol=pickle.HIGHEST_PROTOCOL))
        self.deadline = None if self.timeout is None else \
            time.monotonic() + self.timeout

    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() > self.deadline

    def result(self) -> Any:
        """Answer of the call in flight (blocks until it is ready)."""
        try:
            msg = pickle.loads(self.conn.recv_bytes())
        except (EOFError, OSError) as exc:
            self._reap()
            raise HelperDied('the helper process exited without answering '
                             '(crash in native code?)') from exc
        self.deadline = None
        if msg[0] == 'ok':
            return msg[1]
        if msg[0] == 'err':
            raise pickle.loads(msg[1])
        raise RemoteError(msg[1], msg[2])

    def __call__(self, *args) -> Any:
        """Run ``fn(*args)`` in the helper.

        Raises:
            CallTimeout: no answer within ``timeout`` (the helper is killed;
                the next call forks a new one).
            HelperDied: the helper exited without answering.
            Exception: whatever ``fn`` raised.
        """
        self.submit(*args)
        if not self.conn.poll(self.timeout):
            self.kill()
            raise CallTimeout(self.timeout)
        return self.result()

    def __del__(self) -> None:  # pragma: no cover - best effort
        try:
            if self.alive:
                self.close()
        except Exception:  # noqa: BLE001
            pass


class _DuplexFd(Connection):
    """A :class:`Connection` reading one fd and writing another."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        super().__init__(read_fd, readable=True, writable=False)
        self._wconn = Connection(write_fd, readable=False, writable=True)

    def send_bytes(self, buf, offset=0, size=None) -> None:  # noqa: D102
        self._wconn.send_bytes(buf, offset, size)

    def close(self) -> None:  # noqa: D102
        try:
            self._wconn.close()
        finally:
            super().close()


def run_pool(fn: Callable, jobs: Sequence[tuple], workers: int,
             timeout: Optional[float],
             on_result: Optional[Callable[[int, str, Any], None]] = None,
             on_start: Optional[Callable[[], None]] = None
             ) -> List[Tuple[str, Any]]:
    """Run ``fn(*job)`` for every job on ``workers`` killable helpers.

    A job that exceeds ``timeout`` is answered ``('timeout', timeout)`` and
    its helper is replaced; one that raises is answered ``('error', exc)``;
    otherwise ``('ok', value)``. ``on_result(index, status, value)`` is called
    as each job finishes (e.g. to advance a progress bar).

    Returns:
        list: ``(status, value)`` per job, in job order.
    """
    workers = max(1, min(int(workers), len(jobs) or 1))
    pool = [KillableWorker(fn, timeout, on_start) for _ in range(workers)]
    results: List[Optional[Tuple[str, Any]]] = [None] * len(jobs)
    busy = {}  # worker index -> job index
    todo = iter(range(len(jobs)))

    def finish(j: int, status: str, value: Any) -> None:
        results[j] = (status, value)
        if on_result is not None:
            on_result(j, status, value)

    def feed(w: int) -> None:
        j = next(todo, None)
        if j is not None:
            busy[w] = j
            pool[w].submit(*jobs[j])

    try:
        for w in range(workers):
            feed(w)
        while busy:
            deadlines = [pool[w].deadline for w in busy
                         if pool[w].deadline is not None]
            wait_s = None if not deadlines else max(
                0.0, min(deadlines) - time.monotonic())
            ready = wait([pool[w].conn for w in busy], timeout=wait_s)
            for w in list(busy):
                worker, j = pool[w], busy[w]
                if worker.conn in ready:
                    del busy[w]
                    try:
                        finish(j, 'ok', worker.result())
                    except Exception as exc:  # noqa: BLE001
                        finish(j, 'error', exc)
                    feed(w)
                elif worker.expired():
                    del busy[w]
                    worker.kill()
                    finish(j, 'timeout', timeout)
                    feed(w)
    finally:
        for worker in pool:
            worker.close()
    return results  # type: ignore[return-value]
