# Sourced by deploy/demo.sh and tests/run.sh: the project's own Python environment, so that neither
# leaves an install in the system Python.
#   . deploy/venv.sh; make_venv DIR [PYTHON]    # DIR/bin/python with pip, created once
# Debian ships `venv` without ensurepip unless python3-venv is installed: as root we install it.

make_venv() {
    local dir="$1" py="${2:-python3}"
    if [ -x "$dir/bin/python" ] && "$dir/bin/python" -m pip --version >/dev/null 2>&1; then
        return 0
    fi
    if ! "$py" -m venv "$dir" >/dev/null 2>&1 || ! "$dir/bin/python" -m pip --version >/dev/null 2>&1; then
        rm -rf "$dir"  # a venv without pip (no ensurepip) is of no use: start again after the install
        if [ "$(id -u)" != 0 ]; then
            echo "cannot create $dir with $py -m venv: install python3-venv (apt-get install python3-venv)" >&2
            return 1
        fi
        echo "== installing python3-venv (needed for $dir)" >&2
        apt-get update -qq >/dev/null \
            && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null \
            && "$py" -m venv "$dir" >/dev/null && "$dir/bin/python" -m pip --version >/dev/null 2>&1 \
            || { echo "could not create the venv $dir" >&2; return 1; }
    fi
}
