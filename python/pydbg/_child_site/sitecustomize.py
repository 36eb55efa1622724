"""Makes every Python child of a program launched with `subProcess` a debuggable child session.

The adapter puts this directory on PYTHONPATH together with `PYDBG_SUBPROCESS`, so that Python
imports this file at start-up (see pydbg/_child.py). Whatever `sitecustomize` the interpreter
would have imported otherwise is imported afterwards, so nothing of the user's is lost.
"""


def _start_pydbg_child():
    try:
        from pydbg import _child
    except ImportError:
        return
    _child.announce_if_asked()


def _import_the_shadowed_sitecustomize():
    import importlib.machinery
    import importlib.util
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    others = [p for p in sys.path if os.path.abspath(p or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", others)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


_start_pydbg_child()
_import_the_shadowed_sitecustomize()
