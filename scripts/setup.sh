#!/usr/bin/env bash
# Prepares a fresh checkout for the demo and the tests: npm packages, the ARM
# toolchain and host tools (through apt when we are root), and the firmware ELF.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*" >&2; }

# npm packages: install when missing or older than the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

# System packages the build and the tests use.
need_pkgs=()
command -v arm-none-eabi-gcc >/dev/null 2>&1 || need_pkgs+=(gcc-arm-none-eabi)
[ -e /usr/lib/arm-none-eabi/newlib/libc.a ] || need_pkgs+=(libnewlib-arm-none-eabi)
command -v clang >/dev/null 2>&1 || need_pkgs+=(clang)
# libFuzzer's runtime ships apart from clang on Debian.
if ! command -v clang >/dev/null 2>&1 || [ ! -e "$(clang -print-resource-dir)/lib/linux/libclang_rt.fuzzer-$(uname -m).a" ]; then
  need_pkgs+=(libclang-rt-14-dev)
fi
command -v socat >/dev/null 2>&1 || need_pkgs+=(socat)
# The GDB stub's tests drive the real debugger.
command -v gdb-multiarch >/dev/null 2>&1 || need_pkgs+=(gdb-multiarch)
if [ "${DMA_BRIDGE_BROWSER_TESTS:-1}" = 1 ] && ! command -v chromium >/dev/null 2>&1; then
  need_pkgs+=(chromium)
fi
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${need_pkgs[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  else
    say "missing system packages: ${need_pkgs[*]}"
    say "install them, e.g.: sudo apt-get install ${need_pkgs[*]}"
    exit 1
  fi
fi

# The firmware ELF the virtual board runs (make rebuilds only what changed).
if [ -f firmware-bridge/Makefile ]; then
  make -s -C firmware-bridge >/dev/null
fi
