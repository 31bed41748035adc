"""What makes SIGTERM end `fresh serve`: reloads in threads nobody joins, and a watchdog."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import pytest

from monitor.serve.shutdown import in_daemon_thread


def test_in_daemon_thread_returns_the_result_and_raises_the_error():
    async def main() -> None:
        assert await in_daemon_thread(lambda a, b: a + b, 2, 3) == 5
        with pytest.raises(ValueError, match="bad"):
            await in_daemon_thread(lambda: (_ for _ in ()).throw(ValueError("bad")))

    asyncio.run(main())


def test_a_process_whose_daemon_thread_never_returns_still_exits_at_once():
    code = (
        "import asyncio, threading\n"
        "from monitor.serve.shutdown import in_daemon_thread\n"
        "async def main():\n"
        "    task = asyncio.create_task(in_daemon_thread(threading.Event().wait))\n"
        "    await asyncio.sleep(0.2)\n"
        "    task.cancel()\n"
        "asyncio.run(main())\n"
    )
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert time.monotonic() - started < 20


def test_the_watchdog_ends_a_process_stuck_after_the_stop_signal():
    code = (
        "import threading\n"
        "from monitor.serve.shutdown import exit_after\n"
        "exit_after(0.3, code=3)\n"
        "threading.Event().wait()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert out.returncode == 3
