# kaio: POSIX AIO served by one Linux kernel AIO context per process.
#
#   make            build build/libkaio.so and the wrapper build/kaio, and
#                   build/i386/libkaio.so when the i386 packages are there
#   make check      unit tests (ASan+UBSan), programs with and without kaio, fio
#   make demo       fio's posixaio engine under glibc and kaio, fio libaio as reference
#   make bench      benchmark, quick (~4 min); make bench-full (~55 min)
#   make lint       cppcheck and clang-tidy on src/ and preload/
#   make install    PREFIX=/usr/local DESTDIR= ; make uninstall ; make clean
#   make deb        the Debian packages in build/deb (scripts/deb.sh), then lintian
#
# Every top-level target first runs scripts/deps.sh, which installs what is
# missing (apt-get as root) or prints the apt-get line and stops; all and
# install need only what building needs.

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
LIBDIR  ?= $(PREFIX)/lib
MANDIR  ?= $(PREFIX)/share/man
DESTDIR ?=

CC      ?= cc
CFLAGS  ?= -O2 -g
B       := build

PKG_CONFIG ?= pkg-config
PKGS     = glib-2.0
GLIB_CF  := $(shell $(PKG_CONFIG) --cflags $(PKGS))
GLIB_LD  := $(shell $(PKG_CONFIG) --libs $(PKGS))
WARN     = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes $(if $(CI),-Werror)
override CFLAGS += -std=gnu11 -D_GNU_SOURCE $(WARN) -MMD -MP

# i386 (and x86_64): the engine reads every aiocb as the 64-bit-offset layout
# and takes 64-bit offsets to fstat and pread; preload/preload.c undefines
# it again, to see glibc's 32-bit struct aiocb beside struct aiocb64.
ENG_CF   = -D_FILE_OFFSET_BITS=64 -Isrc $(GLIB_CF)
LIB_SRC  = $(wildcard src/*.c) $(wildcard preload/*.c)
LIB_OBJ  = $(LIB_SRC:%.c=$(B)/obj/%.o)
LIB_CF   = -fPIC -fvisibility=hidden -ftls-model=initial-exec $(ENG_CF)
LIB_LD   = -shared -Wl,-z,defs -Wl,-z,now -Wl,--version-script=preload/kaio.map

SAN      = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
UNIT_SRC = $(wildcard tests/unit/*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(B)/unit/%)
ENG_SRC  = $(wildcard src/*.c)
ENG_SAN  = $(ENG_SRC:%.c=$(B)/san/%.o)
WRAPS    = io_setup io_submit io_getevents io_cancel io_destroy pthread_create getuid

PROG_SRC = $(wildcard tests/prog/*.c)
PROG_BIN = $(PROG_SRC:tests/prog/%.c=$(B)/prog/%)
# Differential generator and fault programs: plain POSIX AIO like tests/prog.
DIFF_BIN = $(patsubst tests/diff/%.c,$(B)/diff/%,$(wildcard tests/diff/*.c))
FAULT_BIN = $(patsubst tests/fault/%.c,$(B)/fault/%,$(wildcard tests/fault/*.c))
# A server-like program for KAIO_STATS_FILE (tests/stats.sh).
STATS_BIN = $(patsubst tests/stats/%.c,$(B)/stats/%,$(wildcard tests/stats/*.c))
# The multithreaded unit tests again, under ThreadSanitizer.
TSAN     = -fsanitize=thread -fno-omit-frame-pointer
ENG_TSAN = $(ENG_SRC:%.c=$(B)/tsan/%.o)
TSAN_BIN = $(B)/tsan/unit/test_engine $(B)/tsan/unit/test_concurrent $(B)/tsan/unit/test_notes \
	   $(B)/tsan/unit/test_inline
.SECONDARY: $(ENG_TSAN) $(ENG_SAN)

.PHONY: all check demo bench bench-full soak lint install uninstall clean deps deb _all _bench _check _demo _soak unit \
	_i386 _i386_check
.DEFAULT_GOAL := all

# The i386 build (issue 21): on an x86_64 host with the i386 packages, the
# same sources and rules run again with CC -m32 into $(B)/i386 (SUB=i386).
# $(B)/lib/<multiarch> point at both, as ld.so's $$LIB token names them
# (lib/x86_64-linux-gnu, lib/i386-linux-gnu on Debian), so that one
# LD_PRELOAD serves 64-bit and 32-bit programs alike.
MA := $(shell $(CC) -print-multiarch)
ifeq ($(SUB),)
I386_WHY := $(shell scripts/i386.sh '$(CC)')
I386_MAKE = $(MAKE) --no-print-directory SUB=i386 B=$(B)/i386 CC='$(CC) -m32' \
	PKG_CONFIG=i386-linux-gnu-pkg-config
endif

all check demo: deps
	@$(MAKE) --no-print-directory _$@

# DEPS=no (debian/rules): dpkg-buildpackage checks the Build-Depends of the
# architecture it builds for (libaio-dev:i386 in a cross build, which
# scripts/deps.sh does not look for), and a package build installs nothing.
deps:
ifneq ($(DEPS),no)
	@scripts/deps.sh $(if $(filter check demo,$(MAKECMDGOALS)),full,build)
endif

# make soak SOAK_SECONDS=600: fio verify soak + differential seeds + all of
# valgrind (tests/soak.sh, tests/valgrind.sh with VALGRIND_ALL=1).
# Both hold the fs.aio-max-nr lock shared (tests/lib.sh), as make check's
# suites do: a make check beside the soak never lowers it under them.
SOAK_SECONDS ?= 600
AIOMAX_SHARED = flock -s -w 900 /tmp/kaio-aio-max-nr.lock
soak:
	@scripts/deps.sh soak
	@$(MAKE) --no-print-directory _soak
	@$(AIOMAX_SHARED) tests/soak.sh $(B) $(SOAK_SECONDS); s=$$?; \
	VALGRIND_ALL=1 $(AIOMAX_SHARED) tests/valgrind.sh $(B)/libkaio.so $(B)/prog && exit $$s

_soak: _all $(DIFF_BIN) $(PROG_BIN)

bench bench-full:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory _bench
	@scripts/bench.sh $(B) $(if $(filter bench-full,$@),full,quick)

# The benchmark's own POSIX AIO program (the SIGEV_SIGNAL/SIGEV_THREAD rows).
_bench: _all $(B)/roundtrip

$(B)/roundtrip: scripts/bench/roundtrip.c
	$(CC) $(CFLAGS) -pthread -o $@ $< $(LDFLAGS)

_all: $(B)/libkaio.so $(B)/kaio $(B)/kaio-check $(B)/runstat $(if $(SUB),,_i386)
	@mkdir -p $(B)/lib && ln -sfn .. $(B)/lib/$(MA)

_i386:
ifeq ($(I386_WHY),)
	@+$(I386_MAKE) $(B)/i386/libkaio.so $(B)/i386/kaio-check
	@mkdir -p $(B)/lib && ln -sfn ../i386 $(B)/lib/i386-linux-gnu
else
	@echo "kaio: no i386 library: $(I386_WHY)"
	@rm -f $(B)/lib/i386-linux-gnu
endif

# make check's i386 part (tests/i386.sh): the unit tests, tests/prog built
# plain and with _FILE_OFFSET_BITS=64, the differential generators.
I386_TEST_WHY = $(shell scripts/i386.sh '$(CC)' test)
_i386_check: _i386
	@+$(if $(I386_TEST_WHY),true,$(I386_MAKE) $(patsubst $(B)/%,$(B)/i386/%,$(UNIT_BIN) $(PROG_BIN) \
		$(PROG_BIN:$(B)/prog/%=$(B)/prog64/%) $(DIFF_BIN) $(DIFF_BIN:$(B)/diff/%=$(B)/diff64/%) $(B)/spawn))

$(B)/libkaio.so: $(LIB_OBJ) preload/kaio.map
	$(CC) $(CFLAGS) $(LIB_LD) -o $@ $(LIB_OBJ) -laio -luring $(GLIB_LD) -ldl -lpthread $(LDFLAGS)

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LIB_CF) -c -o $@ $<

# The uninstalled wrapper points at this tree; `make install` writes another.
# '$$LIB' stays literal: ld.so expands it (and so do the wrapper and kaio-check).
$(B)/kaio: scripts/kaio.in
	@mkdir -p $(@D)
	sed -e 's|@KAIO_LIB@|$(abspath $(B))/$$LIB/libkaio.so|' -e 's|@MULTIARCH@|$(MA)|' $< > $@ && chmod +x $@

$(B)/runstat: scripts/runstat.c
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS)

# kaio --check and kaio --show-stats run it; it lives beside the library.
$(B)/kaio-check: scripts/kaio-check.c scripts/kaio-stats.c src/statfile.h
	$(CC) $(CFLAGS) -DMULTIARCH='"$(MA)"' -o $@ $(filter %.c,$^) $(LDFLAGS)

# Unit tests: the engine compiled again with sanitizers, linked with cmocka,
# and the kernel calls wrapped so tests can script io_submit's answers (and
# pthread_create's, to refuse kaio's thread).
$(B)/san/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) $(ENG_CF) -c -o $@ $<

$(B)/unit/%: tests/unit/%.c $(ENG_SAN)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) $(ENG_CF) -o $@ $< $(ENG_SAN) \
		$(foreach w,$(WRAPS),-Wl,--wrap=$(w)) -laio -luring -lcmocka $(GLIB_LD) -lpthread $(LDFLAGS)

# io_uring refused (tests/uring.sh): the engine's objects under seccomp filters.
$(B)/uring/%: tests/uring/%.c $(ENG_SAN)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) $(ENG_CF) -o $@ $< $(ENG_SAN) -laio -luring $(GLIB_LD) -lpthread $(LDFLAGS)

# Test programs know nothing of kaio: plain POSIX AIO, built as users build.
$(B)/prog/%: tests/prog/%.c tests/prog/common.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -pthread -o $@ $< $(LDFLAGS)

# i386 only: the same programs (and the differential generators below) with a
# 64-bit off_t (the *64 names) and time_t (aio_suspend is __aio_suspend_time64).
$(B)/prog64/%: tests/prog/%.c tests/prog/common.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64 -pthread -o $@ $< $(LDFLAGS)

$(B)/diff64/%: tests/diff/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64 -pthread -o $@ $< $(LDFLAGS)

$(B)/spawn: tests/i386/spawn.c
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS)

$(B)/diff/%: tests/diff/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -pthread -o $@ $< $(LDFLAGS)

$(B)/fault/%: tests/fault/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -pthread -o $@ $< $(LDFLAGS)

$(B)/stats/%: tests/stats/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -pthread -o $@ $< $(LDFLAGS)

$(B)/tsan/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(TSAN) $(ENG_CF) -c -o $@ $<

$(B)/tsan/unit/%: tests/unit/%.c $(ENG_TSAN)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(TSAN) $(ENG_CF) -o $@ $< $(ENG_TSAN) \
		$(foreach w,$(WRAPS),-Wl,--wrap=$(w)) -laio -luring -lcmocka $(GLIB_LD) -lpthread $(LDFLAGS)

unit: $(UNIT_BIN)
	@tests/run-unit.sh $(UNIT_BIN)

$(B)/alloc/count.so: tests/alloc/count.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -shared -fPIC -o $@ $< $(LDFLAGS)

$(B)/alloc/loop: tests/alloc/loop.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS)

_check: _all _i386_check $(UNIT_BIN) $(PROG_BIN) $(DIFF_BIN) $(FAULT_BIN) $(STATS_BIN) $(TSAN_BIN) $(B)/alloc/count.so $(B)/alloc/loop $(B)/uring/refuse
	@tests/check.sh $(B) $(UNIT_BIN)

_demo: _all
	@scripts/demo.sh $(B)

# Static analysis (cppcheck, clang-tidy with .clang-tidy): not part of check.
lint:
	@scripts/deps.sh lint
	cppcheck -q --enable=warning,performance,portability --error-exitcode=1 \
		-D_GNU_SOURCE -Isrc --suppress=missingIncludeSystem src preload
	clang-tidy --quiet $(LIB_SRC) -- -std=gnu11 -D_GNU_SOURCE -Isrc $(GLIB_CF)

# Each class's library goes to its multiarch directory, where ld.so's $$LIB
# leads: $(LIBDIR)/x86_64-linux-gnu/kaio and, when built, .../i386-linux-gnu/kaio;
# the wrapper names both as $(LIBDIR:%/lib=%)/$$LIB/kaio/libkaio.so.
LIB_ROOT = $(patsubst %/lib,%,$(LIBDIR))
I386_DIR = $(LIBDIR)/i386-linux-gnu/kaio
install: all
	$(if $(filter %/lib,$(LIBDIR)),,$(error LIBDIR=$(LIBDIR) must end in /lib: ld.so's $$LIB is lib/<multiarch>))
	install -d $(DESTDIR)$(LIBDIR)/$(MA)/kaio $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0644 $(B)/libkaio.so $(DESTDIR)$(LIBDIR)/$(MA)/kaio/libkaio.so
	install -m 0755 $(B)/kaio-check $(DESTDIR)$(LIBDIR)/$(MA)/kaio/kaio-check
	if [ -z "$(SUB)$(I386_WHY)" ] && [ -f $(B)/i386/libkaio.so ]; then \
		install -d $(DESTDIR)$(I386_DIR) && \
		install -m 0644 $(B)/i386/libkaio.so $(DESTDIR)$(I386_DIR)/libkaio.so && \
		install -m 0755 $(B)/i386/kaio-check $(DESTDIR)$(I386_DIR)/kaio-check; fi
	sed -e 's|@KAIO_LIB@|$(LIB_ROOT)/$$LIB/kaio/libkaio.so|' -e 's|@MULTIARCH@|$(MA)|' \
		scripts/kaio.in > $(DESTDIR)$(BINDIR)/kaio
	chmod 0755 $(DESTDIR)$(BINDIR)/kaio
	install -m 0644 docs/kaio.1 $(DESTDIR)$(MANDIR)/man1/kaio.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/kaio $(DESTDIR)$(MANDIR)/man1/kaio.1
	for d in $(DESTDIR)$(LIBDIR)/$(MA)/kaio $(DESTDIR)$(I386_DIR); do \
		rm -f $$d/libkaio.so $$d/kaio-check; ! [ -d $$d ] || rmdir $$d; done

deb:
	@scripts/deps.sh deb
	@scripts/deb.sh $(B)

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
