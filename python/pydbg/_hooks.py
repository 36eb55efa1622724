"""The places where pydbg must see the program from Python: its output, its threads, and its
calls to `breakpoint()`."""

import os
import signal
import sys
import threading

from pydbg import _core


class _OutputTee:
    """Writes through to the real stream and copies the text to the attached client."""

    def __init__(self, stream, category):
        self._stream = stream
        self._category = category

    def write(self, text):
        written = self._stream.write(text)
        _core.output(self._category, text)
        return written

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def install_output_tee(sys_module):
    sys_module.stdout = _OutputTee(sys_module.stdout, "stdout")
    sys_module.stderr = _OutputTee(sys_module.stderr, "stderr")


def install_thread_hook():
    """Reports each thread's start and end, so the client gets `thread` events, and each
    exception that ends a thread, for the `uncaught` filter. The exception is reported just before
    the thread's excepthook runs, so a program that replaces `threading.excepthook` still stops."""
    original = threading.Thread._bootstrap_inner

    def _bootstrap_inner(self):
        ident = threading.get_ident()
        _core.thread_started(ident, self.name)
        invoke_excepthook = self._invoke_excepthook

        def report_then_invoke_excepthook(thread):
            exception = sys.exc_info()[1]
            if exception is not None:
                _core.uncaught(exception)
            invoke_excepthook(thread)

        self._invoke_excepthook = report_then_invoke_excepthook
        try:
            original(self)
        finally:
            _core.thread_exited(ident)

    threading.Thread._bootstrap_inner = _bootstrap_inner


def install_breakpoint_hook():
    """The built-in `breakpoint()` stops in pydbg, unless PYTHONBREAKPOINT says otherwise: "0"
    turns it off and any other hook is called instead, as the interpreter's default hook does."""
    sys.breakpointhook = _breakpointhook


def _breakpointhook(*args, **kwargs):
    chosen = os.environ.get("PYTHONBREAKPOINT", "")
    if chosen == "0":
        return None
    if chosen and chosen != "pydbg.breakpoint":
        return sys.__breakpointhook__(*args, **kwargs)
    _core.breakpoint(sys._getframe(1))
    return None


def install_interrupt_signal():
    """`terminate` raises KeyboardInterrupt in the main thread by sending it SIGINT, as Ctrl-C
    would. A program that inherited SIGINT ignored (nohup, a background job, some process
    managers) would never see that, so pydbg also gives a signal of its own Python's default
    SIGINT handler, which leaves the program's SIGINT as it found it. Returns the signal's number,
    or None where there is none to take: no real-time signals, the program's own handler on it,
    or not the main thread, the only one that may set handlers."""
    if not hasattr(signal, "SIGRTMAX") or threading.current_thread() is not threading.main_thread():
        return None
    if signal.getsignal(signal.SIGRTMAX) != signal.SIG_DFL:
        return None
    signal.signal(signal.SIGRTMAX, signal.default_int_handler)
    return int(signal.SIGRTMAX)


def defer_signal_handlers():
    """Called on the main thread while it is stopped, before pydbg runs inspection code there.
    Python runs signal handlers on the main thread at its next instruction, which would be inside
    an evaluate: the program's SystemExit or KeyboardInterrupt would end the evaluate instead of
    the program. Each Python-level handler is swapped for one that only records the signal.
    Returns the function that, at resume, puts them back and raises the recorded signals, so that
    they take effect where the program stopped."""
    caught = []
    saved = {}
    for signum in signal.valid_signals():
        try:
            handler = signal.getsignal(signum)
            if callable(handler):
                signal.signal(signum, lambda received, _frame: caught.append(received))
                saved[signum] = handler
        except (OSError, ValueError, RuntimeError):
            continue

    def restore():
        for signum, handler in saved.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(caught):
            signal.raise_signal(signum)

    return restore
