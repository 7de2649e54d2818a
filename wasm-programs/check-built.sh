#!/usr/bin/env bash
# check-built.sh - verifies that the committed wasm-programs/wasm/*.wasm are
# exactly what the sources build to.
#
# Copies Makefile, rust.mk and src/ into a temporary directory, builds every guest
# there (the committed files and build/ are not touched), and compares byte
# for byte. Fails if a guest differs, if a built guest is not committed, or if
# a committed .wasm has no source any more. Works from any directory.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
fix="Fix: run make -C wasm-programs and commit wasm-programs/wasm"

packages="clang, lld, wasi-libc, libclang-rt-14-dev-wasm32, binaryen, make, rustc, libstd-rust-dev-wasm32"
# rustc by its full path, as rust.mk runs it: a rustup rustc in PATH is not the one the modules come from.
for tool in clang wasm-opt make cmp /usr/bin/rustc; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "check-built: '$tool' not found; needs the Debian packages $packages" >&2
        exit 2
    fi
done
if [ ! -d /usr/lib/rustlib/wasm32-wasi/lib ]; then
    echo "check-built: rustc has no wasm32-wasi standard library; needs the Debian packages $packages" >&2
    exit 2
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/wasm-check.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

mkdir "$tmp/tree"
cp "$here/Makefile" "$here/rust.mk" "$tmp/tree/"
cp -R "$here/src" "$tmp/tree/src"
if ! make -s -C "$tmp/tree" all >"$tmp/build.log" 2>&1; then
    cat "$tmp/build.log" >&2
    echo "check-built: FAILED: the guests do not build (see above)" >&2
    exit 1
fi

status=0
shopt -s nullglob
built=("$tmp/tree/wasm/"*.wasm)
if [ "${#built[@]}" -eq 0 ]; then
    echo "check-built: FAILED: the build produced no .wasm file" >&2
    exit 1
fi
for f in "${built[@]}"; do
    name="$(basename "$f")"
    committed="$here/wasm/$name"
    if [ ! -f "$committed" ]; then
        echo "check-built: MISSING: wasm-programs/wasm/$name is not there" >&2
        status=1
    elif ! cmp -s "$f" "$committed"; then
        echo "check-built: DIFFERS: wasm-programs/wasm/$name" \
             "($(wc -c <"$committed") bytes committed, $(wc -c <"$f") bytes built)" >&2
        status=1
    fi
done
for committed in "$here/wasm/"*.wasm; do
    name="$(basename "$committed")"
    if [ ! -f "$tmp/tree/wasm/$name" ]; then
        echo "check-built: STALE: wasm-programs/wasm/$name is built from no source" \
             "(delete it)" >&2
        status=1
    fi
done

if [ "$status" -ne 0 ]; then
    echo "check-built: toolchain here: $(clang --version | head -n1);" \
         "$(wasm-opt --version); $(/usr/bin/rustc --version) (the committed files come from Debian 12:" \
         "clang 14.0.6, binaryen 108, wasi-libc 0.0~git20220510.9886d3d, rustc 1.63.0)" >&2
    echo "$fix" >&2
    exit 1
fi
echo "check-built: OK: ${#built[@]} modules match wasm-programs/wasm"
