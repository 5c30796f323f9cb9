#!/bin/sh
# Install everything needed to build trusteed and run its whole test suite
# on Debian 12. Runs apt-get as root (re-executes itself with sudo when
# started as another user and sudo exists).
set -eu
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		exec sudo "$0" "$@"
	fi
	echo "install-deps.sh: run me as root (apt-get needs it)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
PKGS="build-essential pkg-config clang libclang-rt-14-dev
libevent-dev libssl-dev libsodium-dev libjansson-dev libsqlite3-dev
libhttp-parser-dev libcmocka-dev liblua5.4-dev libcbor-dev libxml2-dev
libtss2-dev
libmariadb-dev mariadb-server mariadb-client galera-4 rsync
swtpm swtpm-tools tpm2-tools
python3 python3-jwcrypto sqlite3 openssl ca-certificates curl procps"
missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
	    missing="$missing $p"
done
if [ -n "$missing" ]; then
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing
fi
echo "install-deps.sh: all build and test dependencies are installed"
