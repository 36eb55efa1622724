# Shared by scripts/demo, scripts/test and scripts/bench: find Python 3.12+, prepare a venv per
# interpreter, and install pydbg into them as users do.
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
        pip_install "$venv" "$@"
    fi
    echo "$venv"
}

# Installs pydbg into the given venvs as users install it, with pip and nothing else: the first
# from the checkout, the others from the sdist built from it. pip runs the PEP 517 build (maturin,
# from the package index), which links the core and the stdio adapter into one extension module.
install_pydbg() {
    local first="$1"; shift
    say "installing pydbg from the checkout into $first"
    pip_install "$first" --force-reinstall --no-deps "$ROOT"
    [ "$#" -gt 0 ] || return 0
    local sdist_dir="$ROOT/target/sdist"
    rm -rf "$sdist_dir"
    pip_install "$first" "maturin>=1.9.4,<2"
    "$first/bin/maturin" sdist --out "$sdist_dir" >&2
    local sdist venv
    sdist="$(echo "$sdist_dir"/pydbg_dap-*.tar.gz)"
    for venv in "$@"; do
        say "installing pydbg from $(basename "$sdist") into $venv"
        # The checkout's target directory only caches compiled crates; the build is the sdist's.
        CARGO_TARGET_DIR="$ROOT/target" pip_install "$venv" --force-reinstall --no-deps "$sdist"
    done
}

pip_install() {
    local venv="$1"; shift
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@" >&2
}
