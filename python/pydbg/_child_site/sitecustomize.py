"""Makes every Python child of a program launched with `subProcess` a debuggable child session.

The adapter puts this directory on PYTHONPATH together with `PYDBG_SUBPROCESS`, so that Python
imports this file at start-up (see pydbg/_child.py). Whatever `sitecustomize` the interpreter
would have imported otherwise is imported afterwards, so nothing of the user's is lost.
"""


def _start_pydbg_child():
    import os

    if not os.environ.get("PYDBG_SUBPROCESS"):
        return  # not a launched program's child: cost nothing
    try:
        from pydbg import _child
    except ImportError:
        return
    _child.announce_if_asked()


def _import_the_shadowed_sitecustomize():
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    ours = sys.modules.pop("sitecustomize", None)
    saved_path = sys.path[:]
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    try:
        import sitecustomize  # noqa: F401 (the next one on the path, if there is one)
    except ImportError as e:
        if e.name != "sitecustomize":
            raise
        sys.modules["sitecustomize"] = ours
    finally:
        sys.path[:] = saved_path


_start_pydbg_child()
_import_the_shadowed_sitecustomize()
