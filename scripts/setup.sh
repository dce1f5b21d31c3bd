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
have_fuzzer_runtime() {
  command -v clang >/dev/null 2>&1 &&
    [ -e "$(clang -print-resource-dir)/lib/linux/libclang_rt.fuzzer-$(uname -m).a" ]
}
# libFuzzer's runtime ships apart from clang on Debian and Ubuntu, in the
# package named after the installed clang's major version.
clang_runtime_pkg() {
  local major
  major=$(clang -dumpversion | cut -d. -f1)
  if apt-cache show "libclang-rt-${major}-dev" >/dev/null 2>&1; then
    echo "libclang-rt-${major}-dev"
  else
    echo "libclang-common-${major}-dev" # before the runtime had a package of its own
  fi
}
install_pkgs() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing $* with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  else
    say "missing system packages: $*"
    say "install them, e.g.: sudo apt-get install $*"
    exit 1
  fi
}

need_pkgs=()
command -v arm-none-eabi-gcc >/dev/null 2>&1 || need_pkgs+=(gcc-arm-none-eabi)
[ -e /usr/lib/arm-none-eabi/newlib/libc.a ] || need_pkgs+=(libnewlib-arm-none-eabi)
command -v clang >/dev/null 2>&1 || need_pkgs+=(clang)
command -v socat >/dev/null 2>&1 || need_pkgs+=(socat)
# The GDB stub's tests drive the real debugger.
command -v gdb-multiarch >/dev/null 2>&1 || need_pkgs+=(gdb-multiarch)
if [ "${DMA_BRIDGE_BROWSER_TESTS:-1}" = 1 ] && ! command -v chromium >/dev/null 2>&1; then
  need_pkgs+=(chromium)
fi
[ ${#need_pkgs[@]} -eq 0 ] || install_pkgs "${need_pkgs[@]}"
have_fuzzer_runtime || install_pkgs "$(clang_runtime_pkg)"

# The firmware ELF the virtual board runs (make rebuilds only what changed).
if [ -f firmware-bridge/Makefile ]; then
  make -s -C firmware-bridge >/dev/null
fi
