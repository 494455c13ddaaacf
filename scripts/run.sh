#!/usr/bin/env bash
# Quick start: install what is missing (scripts/setup.sh), then run one job.
#   bash scripts/run.sh demo [demo options]   the demo (64x64 array: ngspice, nodal, ideal)
#   bash scripts/run.sh test [pytest options] the whole test suite, ngspice tests required
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CIMSPICE_VENV:-$ROOT/.venv}"
job="${1:-}"
[ $# -gt 0 ] && shift
case "$job" in
    demo)
        bash "$ROOT/scripts/setup.sh"
        cd "$ROOT"
        exec "$VENV/bin/cimspice" demo --out "$ROOT/out/demo" "$@"
        ;;
    test)
        bash "$ROOT/scripts/setup.sh"
        cd "$ROOT"
        # ngspice was just installed: its tests must run, never skip.
        export CIMSPICE_REQUIRE_NGSPICE=1
        # setup.sh installed the torch extra: its tests must run, never skip.
        export CIMSPICE_REQUIRE_TORCH=1
        # and the large extra (scikit-sparse on SuiteSparse): the port-reduction tests too
        export CIMSPICE_REQUIRE_LARGE=1
        # and aihwkit's environment was made: the side-by-side test must run too
        export CIMSPICE_REQUIRE_AIHWKIT=1
        # and the osdi extra (OpenVAF): the Verilog-A device tests too
        export CIMSPICE_REQUIRE_OSDI=1
        export CIMSPICE_AIHWKIT_PYTHON="${CIMSPICE_AIHWKIT_VENV:-$ROOT/.venv-aihwkit}/bin/python"
        exec "$VENV/bin/python" -m pytest "$@"
        ;;
    *)
        echo "usage: bash scripts/run.sh demo|test [options]" >&2
        exit 2
        ;;
esac
