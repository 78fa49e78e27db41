# screener - plain GNU Make.  `make help` lists the targets.

CC       ?= cc
PREFIX   ?= /usr/local
BUILD    ?= build
PKGS     := libcrypto libcurl jansson libmicrohttpd cairo freetype2
TEST_PKGS := cmocka

VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo dev)

# The project's own flags are kept apart from the user's CFLAGS, CPPFLAGS and LDFLAGS, so that
# `make CFLAGS=-O0` or `make LDFLAGS=...` changes the optimisation or the linker, not the
# language standard, the include path or the warnings.
WARN     := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wvla -Wnull-dereference -Wdouble-promotion -Wno-unused-parameter
# Warnings are errors in development and CI (`make test`, `make sanitize`, `make tsan`, `make check`,
# `make bench-smoke`, or WERROR=1), not in a plain `make` or `make install` of a release,
# where a newer compiler's new warning must not stop the build.  -Werror changes no object
# code, so objects built either way are reused.
ifneq ($(filter test test-run sanitize tsan check bench-smoke,$(MAKECMDGOALS)),)
WERROR   ?= 1
endif
WERROR   ?= 0
ifneq ($(filter 1 thread,$(SANITIZE)),)
CFLAGS   ?= -O1 -g
endif
CFLAGS   ?= -O2 -g
PROJ_CPPFLAGS := -Isrc -D_GNU_SOURCE -DSCREENER_VERSION='"$(VERSION)"'
PROJ_CFLAGS    = -std=c17 $(WARN) $(if $(filter 1,$(WERROR)),-Werror) \
                 $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PROJ_LDFLAGS  :=
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm

# `make SANITIZE=1 ...` builds everything with AddressSanitizer and UBSan into build-asan/,
# `make SANITIZE=thread ...` with ThreadSanitizer into build-tsan/.
ifeq ($(SANITIZE),1)
BUILD    := build-asan
PROJ_CFLAGS  += -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
PROJ_LDFLAGS += -fsanitize=address,undefined
endif
ifeq ($(SANITIZE),thread)
BUILD    := build-tsan
PROJ_CFLAGS  += -fno-omit-frame-pointer -fsanitize=thread
PROJ_LDFLAGS += -fsanitize=thread
endif

# What every compile and link uses: the project's flags first, the user's after them.
ALL_CFLAGS  = $(PROJ_CPPFLAGS) $(CPPFLAGS) $(PROJ_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(PROJ_LDFLAGS) $(LDFLAGS)

# The product's layers (src/<layer>/, scripts/check-layers.sh has the rule), all in one library.
LAYERS   := base codec net aws store screen collect account backtest report sim bot daily app
LIB_SRC  := $(filter-out src/app/%,$(wildcard $(foreach l,$(LAYERS),src/$(l)/*.c)))
APP_SRC  := $(wildcard src/app/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
APP_OBJ  := $(APP_SRC:%.c=$(BUILD)/%.o)
LIB      := $(BUILD)/libscreener.a
BIN      := $(BUILD)/screener

# Test code: the fakes of the outside services (tests/fakes/, their own library, included as
# "fakes/..."), the unit tests' support files and the unit tests.
FAKES_SRC := $(wildcard tests/fakes/*.c)
FAKES_OBJ := $(FAKES_SRC:%.c=$(BUILD)/%.o)
FAKES    := $(BUILD)/libfakes.a

TEST_SRC := $(wildcard tests/unit/test_*.c)
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TEST_SUPPORT := $(wildcard tests/support/*.c)
TEST_SUPPORT_OBJ := $(TEST_SUPPORT:%.c=$(BUILD)/%.o)

# The fake servers' programs (tests/fakes/cmd/, built as $(BUILD)/NAME for the end-to-end tests).
TOOL_SRC := $(filter-out tests/fakes/cmd/tool.c,$(wildcard tests/fakes/cmd/*.c))
TOOL_BIN := $(TOOL_SRC:tests/fakes/cmd/%.c=$(BUILD)/%)

FUZZ_SRC := $(wildcard fuzz/fuzz_*.c)
FUZZ_REPLAY := $(FUZZ_SRC:fuzz/%.c=$(BUILD)/fuzz/%-replay)

.SECONDARY: $(TEST_SUPPORT_OBJ) $(FAKES_OBJ)

.PHONY: all test test-run demo check format install uninstall clean deps deps-test deps-check sanitize tsan fuzz \
        bench bench-bot bench-smoke help lambda build-CollectorFunction build-BotFunction

all: $(BIN) $(TOOL_BIN)

help:
	@echo "make            build $(BIN)"
	@echo "make demo       install missing dependencies, build, run the offline demo"
	@echo "make test       build and run every test (unit, fuzz corpora, end to end)"
	@echo "make sanitize   the tests again under AddressSanitizer + UBSan"
	@echo "make tsan       the tests of what runs on several threads, under ThreadSanitizer"
	@echo "make check      clang-format, cppcheck and the layer rule"
	@echo "make bench-smoke  the benchmark scripts on a small store: they run and agree (in make test)"
	@echo "make fuzz       build the libFuzzer targets (clang) into build-fuzz/"
	@echo "make bench      full-history screen and backtest benchmarks against pandas and DuckDB, S3 latency"
	@echo "make bench-bot  load benchmark of the bot's webhook server (wrk, /screen)"
	@echo "make lambda     the AWS Lambda package: $(LAMBDA_ZIP) (and $(LAMBDA_PKG)/)"
	@echo "make install PREFIX=/usr/local"

# `make V=1` shows the commands.
Q := $(if $(V),,@)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

# Test code sees the product's headers and its own ("fakes/...", the support files).
$(FAKES_OBJ) $(TEST_SUPPORT_OBJ): ALL_CFLAGS += -Itests -Itests/support

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

$(FAKES): $(FAKES_OBJ)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

$(BIN): $(APP_OBJ) $(LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(APP_OBJ) $(LIB) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(TEST_SUPPORT_OBJ) $(FAKES) $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(ALL_CFLAGS) -Itests -Itests/support $(shell pkg-config --cflags $(TEST_PKGS)) \
		-MMD -MP $(ALL_LDFLAGS) -o $@ $< $(TEST_SUPPORT_OBJ) $(FAKES) $(LIB) $(LDLIBS) \
		$(shell pkg-config --libs $(TEST_PKGS))

$(BUILD)/fuzz/%-replay: fuzz/%.c fuzz/replay.c $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< fuzz/replay.c $(LIB) $(LDLIBS)

# The fake servers' programs: the Alpaca simulator with its faults and the fakes of S3, SSM,
# the Lambda Runtime API and the Telegram Bot API (run as separate processes by the end-to-end
# tests and the benchmarks), and the SigV4 signer behind a JSON-lines interface (the
# differential test against the official signer).  Test tooling, not part of the product.
$(TOOL_BIN): $(BUILD)/%: tests/fakes/cmd/%.c tests/fakes/cmd/tool.c tests/fakes/cmd/tool.h \
		$(FAKES) $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -Itests -Itests/fakes/cmd -MMD -MP $(ALL_LDFLAGS) -o $@ $< \
		tests/fakes/cmd/tool.c $(FAKES) $(LIB) $(LDLIBS)

# The Lambda deployment package (provided.al2023).  The binary is linked again from the same
# objects, statically against libcurl, libmicrohttpd, jansson, OpenSSL and zlib, so that the
# loader maps nothing but glibc's libraries (the runtime's own): every shared library costs the
# cold start.  Debian's libcurl.a and libmicrohttpd.a need libraries Debian ships only as shared
# objects (GSSAPI, GnuTLS...), so scripts/lambda-deps.sh builds slim ones from Debian's sources
# into $(LAMBDA_DEPS)/, once.  The objects were compiled against the system's headers of the
# same versions.  Then scripts/lambda-package.sh checks that the binary needs only glibc, and
# nothing above glibc 2.34, strips it (build/lambda/screener keeps the symbols) and adds the
# bootstrap script.
LAMBDA      := $(BUILD)/lambda
LAMBDA_BIN  := $(LAMBDA)/screener
LAMBDA_PKG  := $(LAMBDA)/package
LAMBDA_ZIP  := $(LAMBDA)/screener.zip
LAMBDA_DEPS := $(BUILD)/lambda-deps
LAMBDA_LIBS := -L$(LAMBDA_DEPS)/lib -Wl,-Bstatic -lcurl -lmicrohttpd -ljansson -lssl -lcrypto \
               -lcairo -lpixman-1 -lfontconfig -lfreetype -lpng16 -lexpat -lbrotlidec \
               -lbrotlicommon -lbz2 -lz \
               -Wl,-Bdynamic -pthread -ldl -lm -Wl,--wrap=hypot,--wrap=arc4random_buf
# Calls in Debian's static libraries bound to glibc versions newer than the runtime's.
LAMBDA_COMPAT := $(BUILD)/lambda/glibc-compat.o

lambda: $(LAMBDA_ZIP)

$(LAMBDA_DEPS)/built: scripts/lambda-deps.sh
	$(Q)scripts/lambda-deps.sh $(LAMBDA_DEPS)

$(LAMBDA_COMPAT): scripts/lambda-glibc-compat.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LAMBDA_BIN): $(APP_OBJ) $(LIB) $(LAMBDA_DEPS)/built $(LAMBDA_COMPAT)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(APP_OBJ) $(LIB) $(LAMBDA_COMPAT) $(LAMBDA_LIBS)

$(LAMBDA_PKG)/bootstrap: $(LAMBDA_BIN) bootstrap scripts/lambda-package.sh
	$(Q)scripts/lambda-package.sh $(LAMBDA_BIN) $(LAMBDA_PKG)

$(LAMBDA_ZIP): $(LAMBDA_PKG)/bootstrap
	@command -v zip >/dev/null || { echo "make lambda: 'zip' is not installed (Debian: zip)"; exit 1; }
	@rm -f $@
	$(Q)cd $(LAMBDA_PKG) && find . -type f | LC_ALL=C sort | zip -q -X $(abspath $@) -@
	@echo "  ZIP     $@ ($$(stat -c %s $@) bytes)"

# `sam build` (BuildMethod: makefile) runs these with ARTIFACTS_DIR set: the package's tree
# goes there, and SAM zips it.
build-CollectorFunction build-BotFunction: $(LAMBDA_PKG)/bootstrap
	@test -n "$(ARTIFACTS_DIR)" || { echo "$@: ARTIFACTS_DIR is not set (sam build sets it)"; exit 1; }
	mkdir -p "$(ARTIFACTS_DIR)"
	cp -R $(LAMBDA_PKG)/. "$(ARTIFACTS_DIR)/"

deps:
	@scripts/deps.sh --build --test --check

# What is missing is installed first, then everything is built (in a second make, which sees
# the libraries pkg-config now finds) and run.  tests/e2e/package.sh runs the Lambda package
# (not under the sanitizers: it is a release build).
test: deps-test
	@$(MAKE) --no-print-directory WERROR=$(WERROR) test-run

test-run: $(BIN) $(TOOL_BIN) $(TEST_BIN) $(FUZZ_REPLAY) $(if $(filter 1,$(SANITIZE)),,$(LAMBDA_ZIP))
	@BUILD=$(BUILD) tests/run.sh

deps-test:
	@scripts/deps.sh --build --test --node --bench --browser

deps-check:
	@scripts/deps.sh --check

sanitize:
	$(MAKE) SANITIZE=1 test

# What runs on several threads at once (the store's readers and hashers, the daily run's
# backtest beside its results, the collector's fetch and reads, the fakes' servers) under
# ThreadSanitizer: the unit tests of those and the daily run of the demo, three times into one
# store (the third with other values: revisions).
TSAN_TESTS := test_store test_store_s3 test_compact test_collect test_results test_daily
tsan: deps-test
	@$(MAKE) --no-print-directory SANITIZE=thread WERROR=$(WERROR) build-tsan/screener \
		$(TSAN_TESTS:%=build-tsan/tests/%)
	@BUILD=build-tsan tests/tsan.sh $(TSAN_TESTS)

demo:
	@scripts/deps.sh --build
	@$(MAKE) --no-print-directory $(BIN)
	$(BIN) demo

# The build (warnings are errors), then the layer rule, the format and cppcheck (the
# product and the fakes).
check: deps-check $(BIN) $(FAKES) $(TOOL_BIN)
	@scripts/check-layers.sh
	@clang-format --dry-run -Werror $(shell git ls-files '*.c' '*.h') && echo "format: ok"
	@cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr \
		--suppress=missingIncludeSystem -Isrc -Itests src tests/fakes && echo "cppcheck: ok"

format:
	clang-format -i $(shell git ls-files '*.c' '*.h')

fuzz:
	$(MAKE) -f fuzz/Makefile

bench: $(BIN) $(TOOL_BIN)
	bench/all.sh

bench-bot: $(BIN)
	bench/bot.sh

bench-smoke: $(BIN) $(TOOL_BIN)
	@scripts/deps.sh --bench
	@BUILD=$(BUILD) sh tests/e2e/bench.sh

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/screener

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/screener

clean:
	rm -rf build build-asan build-tsan build-fuzz

# (Not the .d files of the third-party sources under $(LAMBDA_DEPS)/src.)
-include $(shell find $(BUILD) -path $(LAMBDA_DEPS)/src -prune -o -name '*.d' -print 2>/dev/null)
