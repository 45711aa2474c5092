"""SIGTERM as an exception, so that a command stops on ``kill`` the way it stops on Ctrl-C.

Python turns SIGINT into :class:`KeyboardInterrupt`, which unwinds the stack: ``finally``
blocks run, a sweep stops its workers, and the command can print how to resume. SIGTERM
(``kill PID``, a scheduler's time limit, ``docker stop``) kills the process without any of
that. Under :func:`terminate_as_interrupt` SIGTERM raises :class:`Terminated`, a
``KeyboardInterrupt``, so the same code handles both::

    try:
        with terminate_as_interrupt():
            run_sweep(configs, store)
    except KeyboardInterrupt as exc:
        print("interrupted; run the same command again to resume")
        sys.exit(exit_status(exc))  # 130 after Ctrl-C, 143 after SIGTERM

A handler runs between bytecodes of the main thread, so the exception arrives when the
current call into C code (a long numpy or torch operation) returns.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when the process gets SIGTERM inside :func:`terminate_as_interrupt`.

    A ``KeyboardInterrupt``, so ``except KeyboardInterrupt`` and the cleanup written for
    Ctrl-C cover it too. ``signum`` is the signal's number.
    """

    signum: int = signal.SIGTERM


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated(f"terminated by signal {signum}")


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Inside the block, SIGTERM raises :class:`Terminated` in the main thread; on exit the previous handler is back.

    Takes nothing and yields nothing. Each SIGTERM raises again, as each Ctrl-C does.
    Signal handlers belong to the main thread: in any other thread this does nothing and
    SIGTERM keeps whatever effect it had.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        # A handler installed from C (None here) cannot be put back; the default is the closest.
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def exit_status(exc: BaseException) -> int:
    """The shell's exit status for a command stopped by ``exc``: 128 + the signal's number.

    Args:
        exc: a :class:`KeyboardInterrupt` (Ctrl-C, SIGINT) or :class:`Terminated` (SIGTERM).

    Returns:
        130 for a ``KeyboardInterrupt``, 143 for a ``Terminated``.

    Raises:
        TypeError: if ``exc`` is not a ``KeyboardInterrupt``.
    """
    if not isinstance(exc, KeyboardInterrupt):
        raise TypeError(f"exc must be a KeyboardInterrupt, got {type(exc).__name__}")
    return 128 + int(exc.signum if isinstance(exc, Terminated) else signal.SIGINT)
