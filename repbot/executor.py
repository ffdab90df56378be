"""A thread pool whose shutdown never waits for a call in progress.

The daemon installs it as its event loop's default executor, so every ``asyncio.to_thread`` (model
inference, blocking clients) runs here. ``concurrent.futures.ThreadPoolExecutor`` joins its
threads on ``shutdown`` and again at interpreter exit, so a stopping daemon would wait for a
batch of inference it is going to discard anyway. Here the workers are daemon threads and
``shutdown`` cancels what is queued and returns: an in-flight result is dropped and the work is
redone after a restart (the item is still in its earlier state).
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")
_Work = tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]
_ids = itertools.count(1)


class DaemonThreadExecutor(ThreadPoolExecutor):
    """Up to ``max_workers`` daemon threads, started on demand.

    It subclasses ``ThreadPoolExecutor`` only because ``loop.set_default_executor`` requires
    one; ``submit`` and ``shutdown`` are its own and no base-class thread is ever started.
    """

    def __init__(self, max_workers: int = 8, name: str = "repbot-worker") -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix=name)
        self._max = max_workers
        self._name = name
        self._queue: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._waiting = 0  # threads blocked on the queue
        self._queued = 0  # submitted, not yet picked up
        self._busy = 0
        self._closed = False

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Queue ``fn(*args, **kwargs)``; raise ``RuntimeError`` after shutdown."""
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("executor is shut down")
            self._queued += 1
            if self._queued > self._waiting and len(self._workers) < self._max:
                thread = threading.Thread(
                    target=self._work, name=f"{self._name}-{next(_ids)}", daemon=True
                )
                self._workers.append(thread)
                thread.start()
            self._queue.put((future, fn, args, kwargs))
        return future

    @property
    def closed(self) -> bool:
        """True once ``shutdown`` was called (``asyncio.run`` does it when its loop ends)."""
        with self._lock:
            return self._closed

    def busy(self) -> int:
        """How many calls are running right now."""
        with self._lock:
            return self._busy

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = True) -> None:
        """Refuse new work, cancel queued work, let running calls finish unobserved.

        ``wait`` and ``cancel_futures`` are accepted for the ``Executor`` interface and
        ignored: a call in progress is never waited for, queued work is always cancelled.
        """
        with self._lock:
            self._closed = True
            threads = len(self._workers)
        while True:
            try:
                work = self._queue.get_nowait()
            except queue.Empty:
                break
            if work is not None:
                work[0].cancel()
        for _ in range(threads):
            self._queue.put(None)

    def _work(self) -> None:
        while True:
            with self._lock:
                self._waiting += 1
            work = self._queue.get()
            with self._lock:
                self._waiting -= 1
                if work is None:
                    return
                self._queued -= 1
            future, fn, args, kwargs = work
            if not future.set_running_or_notify_cancel():
                continue
            with self._lock:
                self._busy += 1
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting coroutine
                future.set_exception(exc)
            else:
                future.set_result(result)
            finally:
                with self._lock:
                    self._busy -= 1
