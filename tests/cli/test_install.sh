# make install / uninstall into a DESTDIR, and a program built against the installed
# library through its pkg-config file.
. "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
dest="$T/dest" prefix=/opt/spilltest
if ! make -s -C "$root" BUILD="$T/build" PREFIX="$prefix" DESTDIR="$dest" install > "$T/log" 2>&1; then
  fail install "make install failed: $(tail -3 "$T/log")"; exit 0
fi
ok install
missing=""
for f in bin/spill lib/libspill.a lib/libspill.so lib/libspill.so.0 include/spill.h lib/pkgconfig/spill.pc; do
  [ -e "$dest$prefix/$f" ] || missing="$missing $f"
done
if [ -z "$missing" ]; then ok install_files; else fail install_files "missing:$missing"; fi
check installed_binary_runs "$dest$prefix/bin/spill" --version
cat > "$T/prog.c" <<'C'
#include <spill.h>
#include <stdio.h>
int main(int argc, char **argv)
{
    spill_store_opts o;
    spill_store_opts_init(&o);
    o.dir = argv[1];
    spill_store *st;
    spill_object_info info;
    if (argc < 2 || spill_store_open(&st, &o) || spill_store_put(st, "hi\n", 3, NULL, &info))
        return 1;
    puts(info.id);
    spill_store_close(st);
    return 0;
}
C
export PKG_CONFIG_PATH="$dest$prefix/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$dest"
if cc -o "$T/prog" "$T/prog.c" $(pkg-config --cflags spill) $(pkg-config --libs --static spill) 2> "$T/cc.log" \
   && LD_LIBRARY_PATH="$dest$prefix/lib" "$T/prog" "$T/store" > "$T/id" \
   && [ "$(cat "$T/id")" = "$(printf 'hi\n' | xxh128sum | cut -c1-32)" ]; then
  ok pkg_config_build
else
  fail pkg_config_build "$(head -3 "$T/cc.log")"
fi
# The tokenizer vocabularies go beside the installation, and the installed spill finds
# them there with nothing configured (no SPILL_VOCAB_DIR, no build tree next to it).
vdir="$dest$prefix/share/spill/vocab"
if [ -s "$vdir/claude-legacy.tiktoken" ] && [ -s "$vdir/o200k_base.tiktoken" ] && [ -s "$vdir/cl100k_base.tiktoken" ]; then
  ok install_vocab
else
  fail install_vocab "not in $vdir: $(ls "$vdir" 2>&1 | head -3)"
fi
got=$(printf 'hello world' | env -u SPILL_VOCAB_DIR "$dest$prefix/bin/spill" count --json 2>&1)
case "$got" in
  *'"exact":true'*'"exact_tokens":2'*) ok installed_spill_finds_vocab ;;
  *) fail installed_spill_finds_vocab "spill count: $got" ;;
esac
# A program that counts tokens builds through the .pc file (libutf8proc is in it).
cat > "$T/count.c" <<'C'
#include <spill.h>
#include <stdio.h>
int main(void)
{
    spill_tokenizer *tk;
    char err[512];
    spill_count_result r;
    if (spill_tokenizer_open(&tk, "o200k", NULL, err, sizeof err) || spill_count(tk, NULL, "hello world", 11, &r))
        return 1;
    printf("%llu\n", (unsigned long long)r.tokens);
    spill_tokenizer_free(tk);
    return 0;
}
C
if cc -o "$T/count" "$T/count.c" $(pkg-config --cflags spill) $(pkg-config --libs --static spill) 2> "$T/cc2.log" \
   && [ "$(SPILL_VOCAB_DIR="$vdir" LD_LIBRARY_PATH="$dest$prefix/lib" "$T/count")" = 2 ]; then
  ok pkg_config_static_count
else
  fail pkg_config_static_count "$(head -3 "$T/cc2.log")"
fi
make -s -C "$root" BUILD="$T/build" PREFIX="$prefix" DESTDIR="$dest" uninstall > /dev/null 2>&1
left=$(find "$dest" -type f | wc -l)
if [ "$left" = 0 ]; then ok uninstall; else fail uninstall "$left files left: $(find "$dest" -type f | head -3)"; fi
