# Shared by scripts/demo, scripts/test and scripts/bench: find Python 3.12+, build pydbg once
# (one abi3 wheel serves every Python), and prepare a venv per interpreter.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The interpreter for a version ("3.12"): python3.12 on PATH, then pyenv's copy. Each candidate
# must really run: pyenv's shims are on PATH even where they can't find the version.
python_for() {
    local version="$1" candidate pyenv_root
    pyenv_root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
    for candidate in "$(command -v "python$version" 2>/dev/null)" \
                     "$pyenv_root"/versions/"$version".*/bin/python"$version"; do
        if [ -n "$candidate" ] && [ -x "$candidate" ] && is_supported "$candidate"; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

is_supported() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; }

# Every supported interpreter found: PYDBG_PYTHON alone if set, else 3.13 and 3.12.
find_pythons() {
    if [ -n "${PYDBG_PYTHON:-}" ]; then
        is_supported "$PYDBG_PYTHON" || die "PYDBG_PYTHON=$PYDBG_PYTHON is not Python 3.12 or newer"
        echo "$PYDBG_PYTHON"
        return
    fi
    local found=0 version candidate
    for version in 3.13 3.12; do
        if candidate=$(python_for "$version"); then
            echo "$candidate"; found=1
        fi
    done
    [ "$found" = 1 ] || die "no Python 3.12 or newer found. Install one, put python3.12 or python3.13 on PATH, or set PYDBG_PYTHON=/path/to/python3.12"
}

first_python() {
    local all
    all="$(find_pythons)"
    echo "${all%%$'\n'*}"
}

# A venv for an interpreter, with the packages named, made once under .venvs/.
venv_for() {
    local python="$1"; shift
    local name
    name="$("$python" -c 'import sys; print(f"py{sys.version_info[0]}{sys.version_info[1]}")')"
    local venv="$ROOT/.venvs/$name"
    if [ ! -x "$venv/bin/python" ]; then
        say "creating $venv" 
        "$python" -m venv "$venv"
    fi
    if [ "$#" -gt 0 ]; then
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
    fi
    echo "$venv"
}

# Builds the wheel with maturin (installed into the first interpreter's venv) and installs it into
# the given venvs. The stdio adapter (a plain binary) is built first and ships inside the wheel as
# pydbg/bin/pydbg-adapter, which `pydbg-adapter` and `python -m pydbg.adapter` run.
build_and_install() {
    local builder_python="$1"; shift
    local builder
    builder="$(venv_for "$builder_python" "maturin>=1.9.4,<2")"
    say "building pydbg (release)"
    export PYO3_PYTHON="$builder_python"
    rm -rf "$ROOT/target/wheels"
    cargo build --release --quiet -p pydbg-adapter >&2
    mkdir -p "$ROOT/python/pydbg/bin"
    cp "$ROOT/target/release/pydbg-adapter" "$ROOT/python/pydbg/bin/pydbg-adapter"
    "$builder/bin/maturin" build --release --quiet --interpreter "$builder_python" >&2
    local wheel
    wheel="$(echo "$ROOT"/target/wheels/pydbg-*.whl)"
    local venv
    for venv in "$@"; do
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$wheel"
    done
}
