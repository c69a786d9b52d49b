#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS]: build the layer tar reader's libFuzzer target with clang (ASan and
# UBSan on) in build-fuzz and run it for a bounded time (default 60 s) from a seed corpus of
# small tars: plain files, links, whiteouts, "..", absolute paths and symlinks pointing out.
# Exit status: 0 when the fuzzer found nothing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
secs=${1:-60}
dir=${FUZZ_BUILD_DIR:-build-fuzz}
if [ ! -f "$dir/build.ninja" ]; then
  # clang's warnings differ from gcc's: they are not the point of this build
  # -fsanitize=fuzzer-no-link everywhere: the coverage of the reader itself guides the fuzzer
  CC=clang meson setup "$dir" -Dc_args=-fsanitize=fuzzer-no-link -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=false --buildtype=debug >/dev/null
fi
ninja -C "$dir" src/image/fuzz_layer >/dev/null
corpus=$(mktemp -d /tmp/fuzz_corpus.XXXXXX)
trap 'rm -rf "$corpus"' EXIT
python3 - "$corpus" <<'PY'
import io, sys, tarfile
out = sys.argv[1]
def tar(name, members):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.GNU_FORMAT) as t:
        for m in members:
            ti = tarfile.TarInfo(m[0]); ti.type = m[1]
            data = b""
            if m[1] == tarfile.REGTYPE: data = m[2].encode(); ti.size = len(data)
            elif m[1] in (tarfile.SYMTYPE, tarfile.LNKTYPE): ti.linkname = m[2]
            t.addfile(ti, io.BytesIO(data) if data else None)
    open(f"{out}/{name}.tar", "wb").write(b.getvalue())
R, D, S, L = tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE
tar("plain", [("etc", D, ""), ("etc/passwd", R, "root:x:0:0\n"), ("bin", D, ""), ("bin/sh", R, "#!\n")])
tar("links", [("a", R, "x"), ("b", L, "a"), ("c", S, "a"), ("d", S, "/etc/passwd")])
tar("whiteouts", [("dir", D, ""), ("dir/.wh..wh..opq", R, ""), (".wh.gone", R, ""), ("dir/f", R, "y")])
tar("escape", [("../../evil", R, "x"), ("/abs", R, "y"), ("out", S, "../../.."), ("out/evil", R, "z"),
               ("hl", L, "../../etc/passwd")])
PY
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  "$dir/src/image/fuzz_layer" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 "$corpus"
