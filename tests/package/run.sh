#!/bin/sh
# tests/package/run.sh: the Debian package, end to end, on this machine
# (Debian 12, as root; it installs, upgrades and purges the package, and
# leaves nothing behind):
#
#   1. build from a clean copy of the tree (the files git tracks, plus new
#      ones it does not ignore) with dpkg-buildpackage -us -uc -b, and an
#      older version (a changelog entry ~pkgtest1 below) that writes the
#      store's previous row format;
#   2. lintian --fail-on error,warning on the current version;
#   3. apt-get install the older version; `trusteed setup` with the
#      passphrase sealer (it creates the console user admin, password in
#      /etc/trustee/admin/console-password, root 0600); the daemon started
#      exactly as the installed unit's ExecStart says, as its User=, with
#      the credential and $NOTIFY_SOCKET as systemd would give them (this
#      machine runs no systemd); READY=1; then trusteectl status, a
#      console login over HTTPS with setup's password, a resource put, a
#      resource policy that allows the sample TEE and
#      `trusteectl attest --tee sample` (an attestation log entry), all
#      with the installed files; the database holds only format-1 rows;
#   4. apt-get install the current version over it: every resource,
#      policy, reference value, key, console user (the same password logs
#      in) and attestation log entry is still there, the schema is the new
#      build's, the modified conffile is kept; a data-key rotation
#      re-seals every format-1 row as format 2 (none is left, everything
#      still reads); SIGHUP reloads;
#   5. systemd-analyze verify and security --offline=true on the installed
#      unit, the exposure checked against 2.0;
#   6. apt-get remove keeps /var/lib/trustee; apt-get purge removes it and
#      everything setup wrote.
#
# What "older" means here. No packaged release has written another SQLite
# schema: schema 2 predates debian/ (the 1 -> 2 migration, and reading
# schema-1 files, are tested on SQLite and MariaDB in
# tests/unit/test_backend_sqlite.c and test_backend_mariadb.c). What real deployments do hold from earlier builds is rows in
# the previous row format (format 1: no padding, the data-key version
# outside the associated data), which every build reads and a rotation
# re-seals. So the older package is this tree built with
# -DSTORE_TEST_ROW_FORMAT_V1 (store/store_row.c: its one effect is that
# rows are sealed in format 1), and the upgrade must show the data intact
# and the rows migrated: sqlite3 counts format-1 and format-2 rows before
# and after. Seeding a crafted schema-1 file instead was rejected: a
# schema-1 database never held the sealed-key rows this setup writes, so
# it would test a state no installation can be in.
#
# Prints PASS/FAIL per check and "N passed, M failed" last; exit status 1
# on any failure. Prerequisites missing: SKIPPED (a failure under CI=true).
# TRUSTEE_PKG_KEEP=1 keeps the work directory. Takes 3-6 minutes
# (DEB_BUILD_OPTIONS="nocheck parallel=2").
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
pass=0
fail=0
WORK=
DAEMON=
NOTIFYD=
INSTALLED=0

ok() { pass=$((pass + 1)); echo "PASS package.$1"; }
bad() { fail=$((fail + 1)); echo "FAIL package.$1: $2"; }
summary() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; }
# check NAME CMD...: PASS if CMD succeeds (its output goes to the log).
check() {
	n=$1
	shift
	if "$@" >>"$WORK/log" 2>&1; then ok "$n"; else
		bad "$n" "$* (exit $?; log $WORK/log)"
		tail -n 15 "$WORK/log" | sed 's/^/    | /'
	fi
}

skip() {
	if [ "${CI:-}" = true ] || [ "${CI:-}" = 1 ]; then
		echo "FAIL package.prerequisites: missing under CI: $1"
		echo "0 passed, 1 failed"
		exit 1
	fi
	echo "SKIPPED package: $1"
	echo "0 passed, 0 failed"
	exit 0
}

[ "$(id -u)" -eq 0 ] || skip "run as root (it installs and purges the package)"
missing=
for t in dpkg-buildpackage dpkg-parsechangelog dh lintian fakeroot \
    systemd-analyze systemd-creds setpriv apt-get sqlite3 openssl python3 curl; do
	command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
done
[ -z "$missing" ] || skip "missing:$missing (tests/install-deps.sh installs them)"
if ! (cd "$ROOT" && dpkg-checkbuilddeps) >/dev/null 2>&1; then
	skip "build dependencies: $(cd "$ROOT" && dpkg-checkbuilddeps 2>&1 | tail -n 1)"
fi
if dpkg-query -W -f '${Status}' trustee-appliance 2>/dev/null |
    grep -q 'installed\|config-files'; then
	echo "FAIL package.clean-machine: trustee-appliance is installed here;" \
	    "this test would purge it (apt-get purge trustee-appliance first)"
	echo "0 passed, 1 failed"
	exit 1
fi

WORK=$(mktemp -d /tmp/trustee-pkg.XXXXXX) || exit 1
chmod 0755 "$WORK"
: >"$WORK/log"

cleanup() {
	[ -z "$DAEMON" ] || kill "$DAEMON" 2>/dev/null
	[ -z "$NOTIFYD" ] || kill "$NOTIFYD" 2>/dev/null
	if [ "$INSTALLED" = 1 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get purge -y -q \
		    trustee-appliance trusteectl >>"$WORK/log" 2>&1
	fi
	if [ "${TRUSTEE_PKG_KEEP:-0}" = 1 ] || [ "$fail" -ne 0 ]; then
		echo "# package: work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ------------------------------------------------------------ 1. build
SRC=$WORK/src/trustee-appliance
mkdir -p "$SRC"
if [ -d "$ROOT/.git" ] || [ -f "$ROOT/.git" ]; then
	(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
	    xargs -0 cp --parents -t "$SRC") 2>>"$WORK/log"
else
	cp -a "$ROOT/." "$SRC/" && (cd "$SRC" && { [ ! -f Makefile ] ||
	    make distclean; }) >>"$WORK/log" 2>&1
fi
VERSION=$(cd "$SRC" && dpkg-parsechangelog -S Version)
OLD="$VERSION~pkgtest1"
ARCH=$(dpkg --print-architecture)
export DEB_BUILD_OPTIONS="nocheck parallel=2"
echo "# package: building $VERSION from a clean copy (and $OLD), in $WORK"
check build sh -c 'cd "$0" && dpkg-buildpackage -us -uc -b' "$SRC"
# The older version: the same tree under an older changelog entry, built
# again without cleaning, with store_row.c compiled to write row format 1
# (see the top of this file); the other objects are the new build's.
mkdir -p "$WORK/new"
mv "$WORK/src/"*.deb "$WORK/src/"*.changes "$WORK/src/"*.buildinfo \
    "$WORK/new/" 2>>"$WORK/log"
cp "$SRC/debian/changelog" "$WORK/changelog.orig"
{
	printf 'trustee-appliance (%s) bookworm; urgency=medium\n\n' "$OLD"
	printf '  * Package test: an older version to upgrade from.\n\n'
	printf ' -- trustee-appliance maintainers <maintainers@trustee-appliance.example.org>  %s\n\n' \
	    "$(date -R)"
	cat "$WORK/changelog.orig"
} >"$SRC/debian/changelog"
# (dh skips configure and build once its build stamp exists: remove it,
# so that configure takes the flag; only the touched file recompiles.)
rm -f "$SRC/debian/debhelper-build-stamp"
touch "$SRC/store/store_row.c"
check build-older sh -c 'cd "$0" &&
    DEB_CPPFLAGS_APPEND=-DSTORE_TEST_ROW_FORMAT_V1 dpkg-buildpackage -us -uc -b -nc' \
    "$SRC"
cp "$WORK/changelog.orig" "$SRC/debian/changelog"
NEW_APP=$WORK/new/trustee-appliance_${VERSION}_$ARCH.deb
NEW_CTL=$WORK/new/trusteectl_${VERSION}_$ARCH.deb
OLD_APP=$WORK/src/trustee-appliance_${OLD}_$ARCH.deb
OLD_CTL=$WORK/src/trusteectl_${OLD}_$ARCH.deb
for f in "$NEW_APP" "$NEW_CTL" "$OLD_APP" "$OLD_CTL"; do
	[ -f "$f" ] || { bad built "$f is missing"; exit 1; }
done
ok built-four-packages

# ----------------------------------------------------------- 2. lintian
if lintian --fail-on error,warning --info "$WORK/new/"*.changes \
    >"$WORK/lintian.txt" 2>&1; then
	ok lintian
else
	bad lintian "tags at error or warning level:"
	sed 's/^/    | /' "$WORK/lintian.txt"
fi
grep -E '^[EWI]:' "$WORK/lintian.txt" | sed 's/^/# lintian: /'

# ------------------------------------------------------ 3. install, run
export DEBIAN_FRONTEND=noninteractive
INSTALLED=1
check install-older apt-get install -y -q "$OLD_APP" "$OLD_CTL"
check user-created getent passwd _trustee
check state-dir-0700 sh -c '[ "$(stat -c %a:%U /var/lib/trustee)" = 700:_trustee ]'
check conffile sh -c 'dpkg-query -W -f "\${Conffiles}" trustee-appliance |
    grep -q " /etc/trustee/trusteed.toml "'
check shipped-policies test -f /usr/share/trustee/lua-policies/allow_all.lua
check vendor-roots test -f /usr/share/trustee/roots/amd/milan/ark.pem
check man-pages sh -c 'for p in trusteed.8 trusteed.toml.5 trusteectl.8; do
    f=$(find /usr/share/man -name "$p.gz") && [ -n "$f" ] &&
    zcat "$f" | LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l - >/dev/null ||
    exit 1; done'

UNIT=/lib/systemd/system/trusteed.service
EXEC=$(sed -n 's/^ExecStart=//p' "$UNIT")
SVCUSER=$(sed -n 's/^User=//p' "$UNIT")
echo "# package: unit ExecStart=$EXEC User=$SVCUSER"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# What an operator edits: where it listens (setup writes [sealer]).
sed -i "s|^listen = .*|listen = [\"127.0.0.1:$PORT\"]|" /etc/trustee/trusteed.toml
printf 'package test passphrase, long enough\n' >"$WORK/passphrase"
chmod 0600 "$WORK/passphrase"
check setup trusteed setup --sealer passphrase \
    --passphrase-file "$WORK/passphrase" --hostname localhost -y
check setup-again-changes-nothing sh -c \
    'trusteed setup -y | grep -q "already set up; nothing changed"'
DROPIN=/etc/systemd/system/trusteed.service.d/passphrase.conf
check credential-dropin grep -q '^LoadCredentialEncrypted=trustee-passphrase:' "$DROPIN"
check console-password-root-0600 sh -c \
    '[ "$(stat -c %a:%U /etc/trustee/admin/console-password)" = 600:root ]'

export TRUSTEE_URL=https://localhost:$PORT
export TRUSTEE_CACERT=/etc/trustee/tls/cert.pem
export TRUSTEE_ADMIN_KEY=/etc/trustee/admin/private.pem

# start_daemon NAME: as systemd would: the unit's User and Environment,
# UMask 0077, the credential decrypted into a private
# $CREDENTIALS_DIRECTORY, a notify socket; waits for READY=1.
start_daemon() {
	cred=$WORK/credentials-$1
	rm -rf "$cred"
	mkdir -m 0700 "$cred"
	# The installed unit's Environment= lines (glibc's heap tunables),
	# one VAR=value each, read again after an upgrade.
	unitenv=$(sed -n 's/^Environment=//p' "$UNIT")
	spec=$(sed -n 's/^LoadCredentialEncrypted=//p' "$DROPIN")
	systemd-creds decrypt --name="${spec%%:*}" "${spec#*:}" \
	    "$cred/${spec%%:*}" 2>>"$WORK/log"
	chmod 0400 "$cred/${spec%%:*}"
	chown -R "$SVCUSER" "$cred"
	rm -f "$WORK/notify.sock" "$WORK/notify-$1.txt"
	python3 -u -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
import os; os.chmod(sys.argv[1], 0o777)
while True:
    print(s.recv(4096).decode().replace("\n", " "), flush=True)
' "$WORK/notify.sock" >"$WORK/notify-$1.txt" 2>>"$WORK/log" &
	NOTIFYD=$!
	i=0
	while [ ! -S "$WORK/notify.sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	# shellcheck disable=SC2086 # ExecStart and unitenv are split on purpose
	(umask 077 && cd / && exec setpriv --reuid="$SVCUSER" \
	    --regid="$SVCUSER" --init-groups --inh-caps=-all --no-new-privs \
	    env $unitenv CREDENTIALS_DIRECTORY="$cred" \
	    NOTIFY_SOCKET="$WORK/notify.sock" $EXEC) >"$WORK/daemon-$1.log" 2>&1 &
	DAEMON=$!
	i=0
	while ! grep -q 'READY=1' "$WORK/notify-$1.txt" 2>/dev/null; do
		if ! kill -0 "$DAEMON" 2>/dev/null || [ $i -ge 600 ]; then
			bad "start-$1" "no READY=1 (log $WORK/daemon-$1.log):"
			tail -n 10 "$WORK/daemon-$1.log" | sed 's/^/    | /'
			return 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
	ok "start-$1-ready"
}

stop_daemon() {
	kill -TERM "$DAEMON"
	if wait "$DAEMON"; then ok "stop-$1"; else bad "stop-$1" "exit status $?"; fi
	DAEMON=
	kill "$NOTIFYD" 2>/dev/null
	wait "$NOTIFYD" 2>/dev/null
	NOTIFYD=
}

# The console login with setup's password: the HTTP status (the body
# goes to a 0600 file, never to argv).
console_login_ok() {
	(umask 077 && python3 -c '
import json, sys
pw = open("/etc/trustee/admin/console-password").read().strip()
json.dump({"username": "admin", "password": pw}, open(sys.argv[1], "w"))
' "$WORK/login.json") || return 1
	code=$(curl -sS --cacert "$TRUSTEE_CACERT" -o "$WORK/login-$1.out" \
	    -w '%{http_code}' -H 'Content-Type: application/json' \
	    --data-binary @"$WORK/login.json" "$TRUSTEE_URL/console/api/login")
	rm -f "$WORK/login.json"
	echo "console login ($1): HTTP $code"
	[ "$code" = 200 ]
}

# Rows of the daemon's tables (not the store's own "_" ones) sealed in
# row format $1 (the blob's first byte).
rows_in_format() {
	sqlite3 -readonly /var/lib/trustee/trustee.db "select count(*) from
	    rows where substr(tbl, 1, 1) <> '_' and
	    hex(substr(blob, 1, 1)) = '0$1'" 2>>"$WORK/log"
}

# The ids of the attestation log (newest 1000), one a line.
attlog_ids() {
	trusteectl attestation list --limit 1000 --json | python3 -c '
import json, sys
for it in json.load(sys.stdin)["items"]:
    print(it["id"])'
}

# Every id logged before the upgrade is still listed.
attlog_kept() {
	attlog_ids >"$WORK/attlog-new.txt" && [ -s "$WORK/attlog-old.txt" ] &&
	    ! grep -vxF -f "$WORK/attlog-new.txt" "$WORK/attlog-old.txt"
}

printf 'package test secret\n' >"$WORK/secret"
cat >"$WORK/rv.json" <<'EOF'
["1.2.3"]
EOF
if start_daemon old; then
	check daemon-runs-as-unit-user sh -c \
	    "[ \"\$(ps -o user= -p $DAEMON)\" = \"$SVCUSER\" ]"
	check status sh -c 'trusteectl status >"$0/status.txt" &&
	    grep -Eq "sealer +yes +passphrase" "$0/status.txt"' "$WORK"
	check resource-put trusteectl resource put default/pkgtest/1 \
	    --file "$WORK/secret"
	check policy-allow-sample trusteectl policy set --kind resource \
	    /usr/share/trustee/lua-policies/allow_all.lua
	check attest-sample sh -c 'trusteectl attest --tee sample \
	    --resource default/pkgtest/1 --out "$0/got-old" &&
	    cmp -s "$0/got-old" "$0/secret"' "$WORK"
	check rv-add trusteectl rv add pkgtest-svn "$(cat "$WORK/rv.json")"
	check console-login console_login_ok old
	attlog_ids >"$WORK/attlog-old.txt" 2>>"$WORK/log"
	check attestation-logged test -s "$WORK/attlog-old.txt"
	trusteectl policy get --kind resource >"$WORK/policy-old.lua" 2>>"$WORK/log"
	trusteectl rv list >"$WORK/rv-old.txt" 2>>"$WORK/log"
	curl -sS --cacert "$TRUSTEE_CACERT" "$TRUSTEE_URL/.well-known/jwks.json" \
	    >"$WORK/jwks-old.json" 2>>"$WORK/log"
	stop_daemon old
fi
V1=$(rows_in_format 1)
V2=$(rows_in_format 2)
echo "# package: rows the older build wrote: format 1: ${V1:-?}, format 2: ${V2:-?}"
check older-rows-are-format-1 test "${V1:-0}" -gt 0 -a "${V2:-1}" -eq 0
openssl x509 -in /etc/trustee/tls/cert.pem -noout -fingerprint -sha256 \
    >"$WORK/cert-old.txt" 2>>"$WORK/log"

# ------------------------------------------------------------ 4. upgrade
check upgrade apt-get install -y -q "$NEW_APP" "$NEW_CTL"
check upgraded-version sh -c "[ \"\$(dpkg-query -W -f '\${Version}' \
    trustee-appliance)\" = \"$VERSION\" ]"
check conffile-kept grep -q '^kind = "passphrase"' /etc/trustee/trusteed.toml
check state-kept test -s /var/lib/trustee/trustee.db
if start_daemon new; then
	# (glibc cuts the variable at its first ':' as it parses it)
	check daemon-gets-unit-environment grep -qz \
	    '^GLIBC_TUNABLES=glibc.malloc.hugetlb=1' "/proc/$DAEMON/environ"
	check attest-after-upgrade sh -c 'trusteectl attest --tee sample \
	    --resource default/pkgtest/1 --out "$0/got-new" &&
	    cmp -s "$0/got-new" "$0/secret"' "$WORK"
	check policy-kept sh -c 'trusteectl policy get --kind resource \
	    >"$0/policy-new.lua" && cmp -s "$0/policy-old.lua" \
	    "$0/policy-new.lua" && cmp -s "$0/policy-new.lua" \
	    /usr/share/trustee/lua-policies/allow_all.lua' "$WORK"
	check reference-value-kept sh -c 'trusteectl rv list >"$0/rv-new.txt" &&
	    grep -q pkgtest-svn "$0/rv-new.txt"' "$WORK"
	check token-key-kept sh -c 'curl -sS --cacert "$TRUSTEE_CACERT" \
	    "$TRUSTEE_URL/.well-known/jwks.json" >"$0/jwks-new.json" &&
	    cmp -s "$0/jwks-old.json" "$0/jwks-new.json"' "$WORK"
	check admin-key-kept trusteectl resource info default/pkgtest/1
	check certificate-kept sh -c 'openssl x509 -in /etc/trustee/tls/cert.pem \
	    -noout -fingerprint -sha256 | cmp -s - "$0/cert-old.txt"' "$WORK"
	check console-user-kept console_login_ok new
	check attestation-log-kept attlog_kept
	# The rows: the format-1 rows read above; a rotation re-seals them.
	check key-rotate trusteectl key rotate --wait
	V1=$(rows_in_format 1)
	V2=$(rows_in_format 2)
	echo "# package: rows after the rotation: format 1: ${V1:-?}, format 2: ${V2:-?}"
	check rows-migrated-to-format-2 test "${V1:-1}" -eq 0 -a "${V2:-0}" -gt 0
	check attest-after-rotation sh -c 'trusteectl attest --tee sample \
	    --resource default/pkgtest/1 --out "$0/got-rot" &&
	    cmp -s "$0/got-rot" "$0/secret"' "$WORK"
	check policy-after-rotation sh -c 'trusteectl policy get --kind resource |
	    cmp -s - "$0/policy-old.lua"' "$WORK"
	check console-login-after-rotation console_login_ok rotated
	# The schema: what the new build writes (SQLite meta.schema_version;
	# both builds write schema 2: see the top of this file for why the
	# 1 -> 2 migration is tested in tests/unit/test_backend_sqlite.c).
	SCHEMA=$(grep -o 'define STORE_SQLITE_SCHEMA[[:space:]]*[0-9]*' \
	    "$SRC/store/sqlite_schema.c" | awk '{print $3}')
	GOT=$(sqlite3 -readonly /var/lib/trustee/trustee.db \
	    "select v from meta where k = 'schema_version'" 2>>"$WORK/log")
	echo "# package: schema version after the upgrade: $GOT (build: $SCHEMA)"
	check schema-current test -n "$SCHEMA" -a "$GOT" = "$SCHEMA"
	kill -HUP "$DAEMON"
	i=0
	while ! grep -q 'RELOADING=1' "$WORK/notify-new.txt" && [ $i -lt 100 ]; do
		sleep 0.1; i=$((i + 1)); done
	sleep 0.5
	check sighup-reload sh -c 'grep -q "RELOADING=1" "$0/notify-new.txt" &&
	    grep -q "reload: TLS certificate and key read again" \
	    "$0/daemon-new.log" && trusteectl status >/dev/null' "$WORK"
	stop_daemon new
fi

# ------------------------------------------------------------ 5. the unit
check systemd-analyze-verify systemd-analyze verify "$UNIT"
systemd-analyze security --offline=true "$UNIT" >"$WORK/security.txt" 2>&1
EXPOSURE=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' \
    "$WORK/security.txt")
echo "# package: systemd-analyze security: exposure ${EXPOSURE:-?} (bound 2.0)"
check exposure-at-most-2.0 awk -v e="${EXPOSURE:-99}" 'BEGIN { exit !(e <= 2.0) }'

# ------------------------------------------------------ 6. remove, purge
check remove apt-get remove -y -q trustee-appliance
check remove-keeps-state test -s /var/lib/trustee/trustee.db
check remove-keeps-conffile test -f /etc/trustee/trusteed.toml
check purge apt-get purge -y -q trustee-appliance trusteectl
INSTALLED=0
check purge-removes-state test ! -e /var/lib/trustee
check purge-removes-config test ! -e /etc/trustee
check purge-removes-credential sh -c "test ! -e $DROPIN &&
    test ! -e /etc/credstore.encrypted/trustee-passphrase"

summary
