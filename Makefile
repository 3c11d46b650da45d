# kaio: POSIX AIO served by one Linux kernel AIO context per process.
#
#   make            build build/libkaio.so and the wrapper build/kaio
#   make check      unit tests (ASan+UBSan), programs with and without kaio, fio
#   make demo       fio's posixaio engine under glibc and kaio, fio libaio as reference
#   make bench      benchmark, quick (~4 min); make bench-full (~55 min)
#   make lint       cppcheck and clang-tidy on src/ and preload/
#   make install    PREFIX=/usr/local DESTDIR= ; make uninstall ; make clean
#   make deb        the Debian package in build/deb (scripts/deb.sh), then lintian
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

PKGS     = glib-2.0
GLIB_CF  = $(shell pkg-config --cflags $(PKGS))
GLIB_LD  = $(shell pkg-config --libs $(PKGS))
WARN     = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes $(if $(CI),-Werror)
override CFLAGS += -std=gnu11 -D_GNU_SOURCE $(WARN) -MMD -MP

LIB_SRC  = $(wildcard src/*.c) $(wildcard preload/*.c)
LIB_OBJ  = $(LIB_SRC:%.c=$(B)/obj/%.o)
LIB_CF   = -fPIC -fvisibility=hidden -ftls-model=initial-exec -Isrc $(GLIB_CF)
LIB_LD   = -shared -Wl,-z,defs -Wl,-z,now -Wl,--version-script=preload/kaio.map

SAN      = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
UNIT_SRC = $(wildcard tests/unit/*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(B)/unit/%)
ENG_SRC  = $(wildcard src/*.c)
ENG_SAN  = $(ENG_SRC:%.c=$(B)/san/%.o)
WRAPS    = io_setup io_submit io_getevents io_cancel io_destroy

PROG_SRC = $(wildcard tests/prog/*.c)
PROG_BIN = $(PROG_SRC:tests/prog/%.c=$(B)/prog/%)
# Differential generator and fault programs: plain POSIX AIO like tests/prog.
DIFF_BIN = $(patsubst tests/diff/%.c,$(B)/diff/%,$(wildcard tests/diff/*.c))
FAULT_BIN = $(patsubst tests/fault/%.c,$(B)/fault/%,$(wildcard tests/fault/*.c))
# The multithreaded unit tests again, under ThreadSanitizer.
TSAN     = -fsanitize=thread -fno-omit-frame-pointer
ENG_TSAN = $(ENG_SRC:%.c=$(B)/tsan/%.o)
TSAN_BIN = $(B)/tsan/unit/test_engine $(B)/tsan/unit/test_concurrent
.SECONDARY: $(ENG_TSAN)

.PHONY: all check demo bench bench-full soak lint install uninstall clean deps deb _all _bench _check _demo _soak unit
.DEFAULT_GOAL := all

all check demo: deps
	@$(MAKE) --no-print-directory _$@

deps:
	@scripts/deps.sh $(if $(filter check demo,$(MAKECMDGOALS)),full,build)

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

_all: $(B)/libkaio.so $(B)/kaio $(B)/kaio-check $(B)/runstat

$(B)/libkaio.so: $(LIB_OBJ) preload/kaio.map
	$(CC) $(CFLAGS) $(LIB_LD) -o $@ $(LIB_OBJ) -laio -luring $(GLIB_LD) -ldl -lpthread $(LDFLAGS)

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LIB_CF) -c -o $@ $<

# The uninstalled wrapper points at this tree; `make install` writes another.
$(B)/kaio: scripts/kaio.in
	@mkdir -p $(@D)
	sed 's|@KAIO_LIB@|$(abspath $(B))/libkaio.so|' $< > $@ && chmod +x $@

$(B)/runstat: scripts/runstat.c
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS)

# kaio --check runs it; it lives beside the library.
$(B)/kaio-check: scripts/kaio-check.c
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS)

# Unit tests: the engine compiled again with sanitizers, linked with cmocka,
# and the kernel calls wrapped so tests can script io_submit's answers.
$(B)/san/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) -Isrc $(GLIB_CF) -c -o $@ $<

$(B)/unit/%: tests/unit/%.c $(ENG_SAN)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) -Isrc $(GLIB_CF) -o $@ $< $(ENG_SAN) \
		$(foreach w,$(WRAPS),-Wl,--wrap=$(w)) -laio -luring -lcmocka $(GLIB_LD) -lpthread $(LDFLAGS)

# io_uring refused (tests/uring.sh): the engine's objects under seccomp filters.
$(B)/uring/%: tests/uring/%.c $(ENG_SAN)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) -Isrc $(GLIB_CF) -o $@ $< $(ENG_SAN) -laio -luring $(GLIB_LD) -lpthread $(LDFLAGS)

# Test programs know nothing of kaio: plain POSIX AIO, built as users build.
$(B)/prog/%: tests/prog/%.c tests/prog/common.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -pthread -o $@ $< $(LDFLAGS)

$(B)/diff/%: tests/diff/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -pthread -o $@ $< $(LDFLAGS)

$(B)/fault/%: tests/fault/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -pthread -o $@ $< $(LDFLAGS)

$(B)/tsan/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(TSAN) -Isrc $(GLIB_CF) -c -o $@ $<

$(B)/tsan/unit/%: tests/unit/%.c $(ENG_TSAN)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(TSAN) -Isrc $(GLIB_CF) -o $@ $< $(ENG_TSAN) \
		$(foreach w,$(WRAPS),-Wl,--wrap=$(w)) -laio -luring -lcmocka $(GLIB_LD) -lpthread $(LDFLAGS)

unit: $(UNIT_BIN)
	@tests/run-unit.sh $(UNIT_BIN)

$(B)/alloc/count.so: tests/alloc/count.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -shared -fPIC -o $@ $< $(LDFLAGS)

$(B)/alloc/loop: tests/alloc/loop.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS)

_check: _all $(UNIT_BIN) $(PROG_BIN) $(DIFF_BIN) $(FAULT_BIN) $(TSAN_BIN) $(B)/alloc/count.so $(B)/alloc/loop $(B)/uring/refuse
	@tests/check.sh $(B) $(UNIT_BIN)

_demo: _all
	@scripts/demo.sh $(B)

# Static analysis (cppcheck, clang-tidy with .clang-tidy): not part of check.
lint:
	@scripts/deps.sh lint
	cppcheck -q --enable=warning,performance,portability --error-exitcode=1 \
		-D_GNU_SOURCE -Isrc --suppress=missingIncludeSystem src preload
	clang-tidy --quiet $(LIB_SRC) -- -std=gnu11 -D_GNU_SOURCE -Isrc $(GLIB_CF)

install: all
	install -d $(DESTDIR)$(LIBDIR)/kaio $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0644 $(B)/libkaio.so $(DESTDIR)$(LIBDIR)/kaio/libkaio.so
	install -m 0755 $(B)/kaio-check $(DESTDIR)$(LIBDIR)/kaio/kaio-check
	sed 's|@KAIO_LIB@|$(LIBDIR)/kaio/libkaio.so|' scripts/kaio.in > $(DESTDIR)$(BINDIR)/kaio
	chmod 0755 $(DESTDIR)$(BINDIR)/kaio
	install -m 0644 docs/kaio.1 $(DESTDIR)$(MANDIR)/man1/kaio.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/kaio $(DESTDIR)$(LIBDIR)/kaio/libkaio.so \
		$(DESTDIR)$(LIBDIR)/kaio/kaio-check $(DESTDIR)$(MANDIR)/man1/kaio.1
	-rmdir $(DESTDIR)$(LIBDIR)/kaio

deb:
	@scripts/deps.sh deb
	@scripts/deb.sh $(B)

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
