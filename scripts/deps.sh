#!/bin/sh
# Installs the Debian packages chitchatd needs to build and test, if missing.
# Called by `make deps` (and so by `make run` and `make check`). Idempotent:
# does nothing when everything is present.
set -eu

PKGS="gcc make pkg-config libevent-dev libjansson-dev check libsubunit-dev libzstd-dev libinih-dev libsodium-dev mandoc"
# the e2e tests (tests/e2e/): network namespaces, veths and a bridge
# (iproute2), faults (nftables), JSON checks (python3)
PKGS="$PKGS iproute2 nftables python3"
# the fuzz targets (tests/fuzz/, make fuzz; make check runs a smoke of
# each): clang and its libFuzzer runtime, which Debian ships apart
# (libclang-rt-dev depends on the default clang's libclang-rt-N-dev)
PKGS="$PKGS clang libclang-rt-dev"
PKGS="$PKGS ${CHITCHAT_EXTRA_PKGS:-}"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
		echo "deps: missing packages:$missing (run as root or install them)" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
