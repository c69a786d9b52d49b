#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS]: build the libFuzzer targets with clang (ASan and UBSan on) in
# build-fuzz and run each for a bounded time (default 60 s): the layer tar reader from a seed
# corpus of small tars (plain files, links, whiteouts, "..", absolute paths, symlinks pointing
# out), then the DNS packet parser from a few queries (FUZZ_TARGETS="layer dns" picks).
# Exit status: 0 when the fuzzers found nothing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
secs=${1:-60}
dir=${FUZZ_BUILD_DIR:-build-fuzz}
if [ ! -f "$dir/build.ninja" ]; then
  # clang's warnings differ from gcc's: they are not the point of this build
  # -fsanitize=fuzzer-no-link everywhere: the coverage of the reader itself guides the fuzzer
  CC=clang meson setup "$dir" -Dc_args=-fsanitize=fuzzer-no-link -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=false --buildtype=debug >/dev/null
fi
targets=${FUZZ_TARGETS:-layer dns}
ninja -C "$dir" src/image/fuzz_layer src/network/fuzz_dns >/dev/null
corpus=$(mktemp -d /tmp/fuzz_corpus.XXXXXX)
dns_corpus=$(mktemp -d /tmp/fuzz_dns_corpus.XXXXXX)
trap 'rm -rf "$corpus" "$dns_corpus"' EXIT
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
python3 - "$dns_corpus" <<'PY'
import struct, sys
out = sys.argv[1]
def name(n): return b"".join(bytes([len(l)]) + l.encode() for l in n.split(".") if l) + b"\0"
def q(file, n, t, ar=b"", nar=0, flags=0x0100):
    open(f"{out}/{file}", "wb").write(struct.pack(">6H", 0x1234, flags, 1, 0, 0, nar) + name(n) + struct.pack(">2H", t, 1) + ar)
q("a", "web", 1)
q("aaaa", "Web.MyNet", 28)
q("ptr", "2.0.18.172.in-addr.arpa", 12)
q("edns", "example.com", 1, b"\0" + struct.pack(">HHIH", 41, 4096, 0, 0), 1)
# a reply whose answer points back at the question (compression)
open(f"{out}/reply", "wb").write(struct.pack(">6H", 1, 0x8180, 1, 1, 0, 0) + name("example.com") +
    struct.pack(">2H", 1, 1) + b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 600, 4) + bytes([1, 2, 3, 4]))
PY
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
for t in $targets; do
  case $t in
    layer) "$dir/src/image/fuzz_layer" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
             -print_final_stats=1 "$corpus" ;;
    dns) "$dir/src/network/fuzz_dns" -max_total_time="$secs" -max_len=1024 -timeout=10 -rss_limit_mb=2048 \
           -print_final_stats=1 "$dns_corpus" ;;
    *) echo "unknown fuzz target \"$t\" (layer, dns)" >&2; exit 2 ;;
  esac
done
