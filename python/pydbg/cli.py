"""`pydbg [--listen [HOST:]PORT | --connect HOST:PORT] [--wait-for-client] [--log-dir DIR]
[--access-token TOKEN] (FILE | -m MODULE | -c CODE) [ARGS...]`

Runs a program under pydbg so that a DAP client can attach. The program sees `sys.argv`,
`__main__`, `sys.path[0]` and its exit code as it would under plain `python`.

`pydbg --pid PID [--listen [HOST:]PORT | --connect HOST:PORT] [--log-dir DIR]` injects pydbg into
a Python process that is already running (docs/attach.md).
"""

import os
import sys

USAGE = (
    "usage: pydbg [--listen [HOST:]PORT | --connect HOST:PORT] [--wait-for-client] "
    "[--log-dir DIR] [--access-token TOKEN] (FILE | -m MODULE | -c CODE) [ARGS...]\n"
    "       pydbg --pid PID [--listen [HOST:]PORT | --connect HOST:PORT] [--log-dir DIR]"
)
DEFAULT_HOST = "127.0.0.1"


class UsageError(Exception):
    """A bad command line. `show_usage` adds the usage line, for errors about its shape."""

    def __init__(self, message, show_usage=False):
        super().__init__(message)
        self.show_usage = show_usage


def parse_address(text, option, host_required=False):
    host, sep, port = text.rpartition(":")
    if not sep:
        if host_required:
            raise UsageError(f"{option} needs HOST:PORT, got {text!r}")
        host = DEFAULT_HOST
    try:
        number = int(port)
    except ValueError:
        raise UsageError(f"{option}: {port!r} is not a port number") from None
    if not 0 <= number <= 65535:
        raise UsageError(f"{option}: port {number} is out of range (0-65535)")
    return host or DEFAULT_HOST, number


def parse_args(argv):
    options = {"listen": None, "connect": None, "wait": False, "log_dir": None, "access_token": None, "pid": None}
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg in ("-h", "--help"):
            print(USAGE)
            raise SystemExit(0)
        if arg in ("--listen", "--connect", "--log-dir", "--access-token", "--pid"):
            if not args:
                raise UsageError(f"{arg} needs a value")
            value = args.pop(0)
            if arg == "--listen":
                options["listen"] = parse_address(value, arg)
            elif arg == "--connect":
                options["connect"] = parse_address(value, arg, host_required=True)
            elif arg == "--pid":
                if not value.isdigit() or int(value) == 0:
                    raise UsageError(f"--pid needs a process id, got {value!r}")
                options["pid"] = int(value)
            elif arg == "--access-token":
                if not value:
                    raise UsageError("--access-token must not be empty")
                options["access_token"] = value
            else:
                options["log_dir"] = value
        elif arg == "--wait-for-client":
            options["wait"] = True
        elif options["pid"] is not None:
            raise UsageError(f"--pid attaches to a running process: it takes no program to run, got {arg!r}")
        elif arg in ("-m", "-c"):
            if not args:
                raise UsageError(f"{arg} needs a value")
            return options, (arg, args.pop(0)), args
        elif arg.startswith("-"):
            raise UsageError(f"unknown option {arg}", show_usage=True)
        else:
            return options, ("file", arg), args
    if options["pid"] is not None:
        return options, ("pid", options["pid"]), []
    raise UsageError("nothing to run: give a FILE, -m MODULE or -c CODE", show_usage=True)


def main(argv=None):
    if sys.version_info < (3, 12):
        print(f"pydbg: needs Python 3.12 or newer; this is {sys.version.split()[0]} ({sys.executable})",
              file=sys.stderr)
        return 2
    try:
        options, target, program_args = parse_args(sys.argv[1:] if argv is None else argv)
        interpreter = interpreter_argv() if argv is None else [sys.executable]
    except UsageError as e:
        print(f"pydbg: {e}" + (f"\n{USAGE}" if e.show_usage else ""), file=sys.stderr)
        return 2
    kind, what = target
    if kind == "pid":
        return attach_to_process(what, options)
    if kind == "file" and not os.path.exists(what):
        print(f"pydbg: cannot run {what!r}: no such file", file=sys.stderr)
        return 2
    if kind == "-m":
        import importlib.util
        # As `python -m` does; the console script started with its own directory there.
        sys.path[0] = os.getcwd()
        try:
            found = importlib.util.find_spec(what)
        except (ImportError, ValueError):
            found = None
        if found is None:
            print(f"pydbg: no module named {what!r}", file=sys.stderr)
            return 2

    from pydbg import _core, _setup

    program = what if kind == "file" else f"{kind} {what}" if kind == "-m" else "-c"
    mode, host, port = serve_address(options)
    try:
        _setup.start(mode, host, port, program, options["log_dir"], launchers=launcher_files(),
                     access_token=options["access_token"])
    except _setup.StartError as e:
        print(f"pydbg: {e}", file=sys.stderr)
        return 1
    # What plain `python` shows: werkzeug's reloader restarts the program from it.
    sys.orig_argv = [*interpreter, *([what] if kind == "file" else [kind, what]), *program_args]
    return run_program(_core, kind, what, program_args, options["wait"])


def serve_address(options):
    """("connect", host, port) for --connect, else ("listen", host, port), by default 127.0.0.1:5678."""
    if options["connect"]:
        return ("connect", *options["connect"])
    return ("listen", *(options["listen"] or (DEFAULT_HOST, 5678)))


def attach_to_process(pid, options):
    """`pydbg --pid`: injects pydbg into a running process, and says where it serves."""
    from pydbg import _core

    if options["wait"] or options["access_token"]:
        print("pydbg: --wait-for-client and --access-token apply to a program pydbg starts, not to --pid",
              file=sys.stderr)
        return 2
    mode, host, port = serve_address(options)
    package_dir = os.path.dirname(os.path.abspath(__file__))
    try:
        mode, host, port, reused = _core.attach_to_process(pid, mode, host, port, package_dir, options["log_dir"])
    except RuntimeError as e:
        print(f"pydbg: {e}", file=sys.stderr)
        return 1
    doing = "connected to" if mode == "connect" else "listening on"
    already = " (pydbg was already there)" if reused else ""
    print(f"pydbg: process {pid} is {doing} {host}:{port}{already}", flush=True)
    return 0


def interpreter_argv():
    """The interpreter and its options as the command line gave them, without pydbg's own part:
    `python -X dev -m pydbg --listen 5678 app.py` gives `['python', '-X', 'dev']`, and so does
    the console script run by that interpreter."""
    pydbg_args = len(sys.argv) - 1
    head = sys.orig_argv[:len(sys.orig_argv) - pydbg_args]
    # `-m pydbg`, `-mpydbg`, or the console script's path.
    return head[:-2] if head[-2:] == ["-m", "pydbg"] else head[:-1]


def launcher_files():
    """The files of the frames that called `main`: the console script (`bin/pydbg`, wherever its
    environment is) or `python -m pydbg`'s runpy and `__main__.py`. They are pydbg's launchers,
    never the user's code, and are known by what they run rather than by where they are."""
    frame = sys._getframe(2)  # main's caller
    files = []
    while frame is not None:
        files.append(frame.f_code.co_filename)
        frame = frame.f_back
    return files


def run_program(core, kind, what, program_args, wait_for_client):
    import atexit

    exit_code = [0]
    # Registered first, so it runs last: after non-daemon threads have ended, as the program's
    # real end.
    atexit.register(lambda: core.program_exited(exit_code[0]))
    try:
        if wait_for_client:
            core.wait_for_client()  # a terminate meanwhile ends here, as a KeyboardInterrupt
        if kind == "file":
            run_file(what, program_args)
        elif kind == "-m":
            import runpy
            sys.argv = [what, *program_args]
            runpy.run_module(what, run_name="__main__", alter_sys=True)
        else:
            core.register_source("<string>", what)  # for the client's `source` request
            run_code(what, program_args)
    except SystemExit as e:
        exit_code[0] = exit_status(e.code)
        core.uncaught(e)  # only a non-zero exit counts as uncaught
        raise
    except KeyboardInterrupt as e:
        exit_code[0] = 130
        if not core.is_terminating():
            core.uncaught(e)
            report_uncaught(*sys.exc_info())
        return 130
    except BaseException as e:
        core.uncaught(e)
        report_uncaught(*sys.exc_info())
        exit_code[0] = 1
        return 1
    return 0


def fresh_main_module(filename=None):
    """A new `__main__`, set up as the interpreter sets up the one it runs a script in."""
    import types

    module = types.ModuleType("__main__")
    module.__dict__.update(__package__=None, __spec__=None, __loader__=None)
    if filename is not None:
        import importlib.machinery
        module.__file__ = filename
        module.__cached__ = None
        module.__loader__ = importlib.machinery.SourceFileLoader("__main__", filename)
    sys.modules["__main__"] = module
    return module


def run_file(what, program_args):
    sys.argv = [what, *program_args]
    if os.path.isdir(what) or not what.endswith((".py", ".pyw")) and is_zip(what):
        import runpy  # a directory or zip with __main__.py, as `python DIR` runs it
        sys.path[0] = what
        runpy.run_path(what, run_name="__main__")
        return
    # Absolute, but not normalized: the same __file__ plain Python gives.
    filename = what if os.path.isabs(what) else os.path.join(os.getcwd(), what)
    sys.path[0] = os.path.dirname(os.path.realpath(filename))
    with open(filename, "rb") as f:
        source = f.read()
    module = fresh_main_module(filename)
    exec(compile(source, filename, "exec", dont_inherit=True), module.__dict__)


def is_zip(path):
    import zipfile
    return zipfile.is_zipfile(path)


def run_code(code, program_args):
    sys.argv = ["-c", *program_args]
    sys.path[0] = ""
    if sys.version_info >= (3, 13):
        # 3.13 shows `-c` source lines in tracebacks.
        import linecache
        linecache.cache["<string>"] = (len(code), None, code.splitlines(True), "<string>")
    module = fresh_main_module()
    exec(compile(code, "<string>", "exec", dont_inherit=True), module.__dict__)


def exit_status(code):
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    return 1


def report_uncaught(exc_type, exc, tb):
    """Shows the traceback as plain Python would, without pydbg's own frames."""
    from pydbg._setup import internal_paths

    package_dir, *runpy_files = internal_paths()
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if not (filename.startswith(package_dir + os.sep) or filename in runpy_files):
            break
        tb = tb.tb_next
    sys.excepthook(exc_type, exc.with_traceback(tb), tb)
