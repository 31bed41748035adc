"""Making sure SIGTERM ends `fresh serve` (SPEC 16), whatever is still running.

Two things used to keep the process alive after it logged "stopped": a configuration
reload running in the event loop's default executor (Python joins those threads on the
way out, so a reload stuck on a huge file kept the process running until SIGKILL), and
any worker thread blocked in a call that never returns. Reloads therefore run in a
daemon thread nobody joins (`in_daemon_thread`), and the first signal arms a watchdog
(`exit_after`) that ends the process if the graceful stop has not finished in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

log = logging.getLogger("fresh.service")

#: How long a graceful stop may take after SIGTERM (below Kubernetes' 30 s before SIGKILL).
GRACE_SECONDS = 25.0


async def in_daemon_thread(fn: Callable[..., T], *args: Any) -> T:
    """Run `fn(*args)` in a daemon thread and await its result.

    Unlike `asyncio.to_thread`, the thread is never joined: when the service stops, the
    process ends even though `fn` has not returned (its result is then dropped).
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():  # the awaiting task was cancelled meanwhile
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def work() -> None:
        result: Any = None
        error: BaseException | None = None
        try:
            result = fn(*args)
        except BaseException as exc:  # handed to the awaiting task, which decides
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop is closed: the service stopped
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=work, name="fresh-reload", daemon=True).start()
    return await future


def exit_after(seconds: float = GRACE_SECONDS, code: int = 1) -> threading.Timer:
    """Arm the watchdog: end the process with `code` unless it has exited by then."""

    def fire() -> None:
        log.error(
            f"still running {seconds:g}s after the stop signal: exiting now",
            extra={"event": "stop_forced", "exit_code": code},
        )
        logging.shutdown()
        os._exit(code)

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    return timer
