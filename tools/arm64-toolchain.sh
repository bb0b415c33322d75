#!/usr/bin/env bash
# `make arm64` set-up: what building and running the aarch64 bootstrap needs, from Debian's
# packages (only the x86_64 Rust target is installed by rustup here, and no other can be fetched):
#   rustc-web + libstd-rust-web-dev:arm64  Debian's Rust compiler and its aarch64 standard library
#   qemu-user                               to run the aarch64 binary on this x86_64 machine, on the
#                                           aarch64 glibc that the above brings (libc6:arm64)
# cargo-lambda (in .venv) links with zig, as it does for every cross build.
set -euo pipefail
SUDO=$( [ "$(id -u)" = 0 ] || echo sudo )
if [ -x /usr/bin/rustc ] && [ -d /usr/lib/rustlib/aarch64-unknown-linux-gnu ] && command -v qemu-aarch64 >/dev/null \
   && [ -e /lib/ld-linux-aarch64.so.1 ] && command -v file >/dev/null; then
  exit 0
fi
dpkg --print-foreign-architectures | grep -qx arm64 || $SUDO dpkg --add-architecture arm64
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
  rustc-web libstd-rust-web-dev:arm64 qemu-user file >/dev/null
