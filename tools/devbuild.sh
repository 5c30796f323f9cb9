#!/bin/sh
# devbuild.sh NAME [CONFIGURE-OPTION...] -- [MAKE-ARG...]
# Build a private mirror of this source tree in /tmp/dev-NAME, so that
# several developers editing one tree never race on the same objects.
# Sources are synced (timestamps kept, build outputs not copied); the
# mirror is configured once (again when options change), then make runs
# there. Example: tools/devbuild.sh snp -- -j2 unit tests/unit/test_snp_report
set -eu
name=$1; shift
src=$(cd "$(dirname "$0")/.." && pwd)
dst=/tmp/dev-$name
opts=
while [ $# -gt 0 ] && [ "$1" != -- ]; do opts="$opts $1"; shift; done
[ $# -gt 0 ] && shift
mkdir -p "$dst"
rsync -a --delete --exclude .git --exclude '*.o' --exclude '*.a' \
	--exclude /Makefile --exclude /gen/ --exclude /tests/fuzz/bin/ \
	--exclude /server/trusteed --exclude /cli/trusteectl \
	--exclude '/tests/unit/test_*[!.][!c]' --exclude /tests/bench/kbsbench \
	--exclude '/tests/bench/*bench' --exclude /tests/out/ \
	--exclude '/trustee-dev*' --exclude __pycache__ \
	--filter 'protect *.o' --filter 'protect *.a' --filter 'protect /Makefile' \
	--filter 'protect /gen/' --filter 'protect /tests/fuzz/bin/' \
	--filter 'protect /server/trusteed' --filter 'protect /cli/trusteectl' \
	--filter 'protect /tests/unit/test_*' --filter 'protect /tests/bench/*' \
	--filter 'protect /tests/out/' --filter 'protect /.configured' \
	"$src/" "$dst/"
cd "$dst"
if [ ! -f Makefile ] || [ "$(cat .configured 2>/dev/null)" != "$opts" ] ||
    [ Makefile.in -nt Makefile ] || [ configure -nt Makefile ]; then
	# shellcheck disable=SC2086
	./configure $opts >/dev/null
	echo "$opts" > .configured
	make clean >/dev/null
fi
exec make "$@"
