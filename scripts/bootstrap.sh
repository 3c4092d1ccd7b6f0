# Sourced by scripts/serve, scripts/test and scripts/check: make sure a Python
# 3.11+ virtual environment with videodesk installed exists in .venv (and, for
# scripts/check, TypeScript in node_modules/).
# (Re)installs only when pyproject.toml (package-lock.json) changed since the last install.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VIDEODESK_VENV:-$ROOT/.venv}"
EXTRAS="${VIDEODESK_EXTRAS:-}"

say() { printf 'videodesk: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }

apt_install() {
    # Debian/Ubuntu packages, only when running as root; otherwise say what to install.
    if ! is_root || ! command -v apt-get >/dev/null 2>&1; then
        die "please install these packages first: $* (e.g. sudo apt-get install -y $*)"
    fi
    say "installing Debian packages: $*"
    if [ -z "${VIDEODESK_APT_UPDATED:-}" ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        export VIDEODESK_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

find_python() {
    for candidate in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; raise SystemExit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    die "Python 3.11 or newer is needed (Debian/Ubuntu: apt-get install -y python3 python3-venv)"
}

ensure_venv() {
    if [ ! -x "$VENV/bin/python" ]; then
        local python
        python="$(find_python)"
        say "creating a virtual environment in $VENV"
        if ! "$python" -m venv "$VENV" 2>/dev/null; then
            rm -rf "$VENV"
            local version
            version="$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
            apt_install "python${version}-venv"
            "$python" -m venv "$VENV"
        fi
    fi
    local project stamp installed
    project="$(sha256sum < "$ROOT/pyproject.toml" | cut -d' ' -f1)"
    stamp="$VENV/.videodesk-installed"
    installed="$(cat "$stamp" 2>/dev/null || true)"
    # Reinstall when pyproject.toml changed, or when extras are wanted that the last
    # install did not have (an install with test,dev also serves ./scripts/serve).
    if ! stamp_covers "$installed" "$project" "$EXTRAS"; then
        say "installing videodesk and its dependencies into $VENV"
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >&2
        local target="$ROOT"
        [ -z "$EXTRAS" ] || target="$ROOT[$EXTRAS]"
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$target" >&2
        echo "$project $EXTRAS" > "$stamp"
    fi
}

ensure_typescript() {
    # TypeScript for the browser code's type check (scripts/check): a developer tool from
    # npm, pinned in package-lock.json into node_modules/; the pages themselves have no build
    # step and load nothing from npm. (Re)installs when package-lock.json changed.
    local missing=()
    command -v node >/dev/null 2>&1 || missing+=(nodejs)
    command -v npm >/dev/null 2>&1 || missing+=(npm)
    [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
    local lock stamp
    lock="$(sha256sum < "$ROOT/package-lock.json" | cut -d' ' -f1)"
    stamp="$ROOT/node_modules/.videodesk-installed"
    if [ ! -x "$ROOT/node_modules/.bin/tsc" ] || [ "$(cat "$stamp" 2>/dev/null || true)" != "$lock" ]; then
        say "installing TypeScript (package-lock.json) into $ROOT/node_modules"
        (cd "$ROOT" && npm ci --no-audit --no-fund >&2)
        echo "$lock" > "$stamp"
    fi
}

stamp_covers() {  # stamp_covers "<hash> <extras>" HASH EXTRAS
    local hash="${1%% *}" have="${1#* }" extra
    [ "$hash" = "$2" ] || return 1
    [ "$1" != "$hash" ] || have=""
    for extra in ${3//,/ }; do
        case ",$have," in *",$extra,"*) ;; *) return 1 ;; esac
    done
    return 0
}
