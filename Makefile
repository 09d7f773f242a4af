# xtrading - top-level driver around the CMake presets (CMakePresets.json).
#   make          release build, binary at build/xtrading
#   make run      install what is missing, build, start on the embedded defaults
#   make test     the whole suite: gcc -Werror build, clang ASan+UBSan build,
#                 libFuzzer targets over their corpora
#   make bench    the engine benchmark (release build)
#   make fuzz     build the libFuzzer targets (FUZZ_SECONDS=600 make fuzz-run)
#   make format   clang-format the sources in place; make lint checks it
#   make install  build, then install under PREFIX (default /usr/local), with
#                 DESTDIR in front of every path (docs/deploy.md)

JOBS ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 60
PREFIX ?= /usr/local
DESTDIR ?=
SOURCES := $(shell find include src bench tests -name '*.[ch]' 2>/dev/null)

.PHONY: all build install run test test-dev test-asan test-fuzz bench fuzz fuzz-run format lint clean deps deps-test

all: build

deps:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

build: deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)
	install -m 755 build/release/xtrading build/xtrading

# The release build's install rules (deploy/install.cmake): bin/xtrading,
# etc/xtrading/xtrading.conf (/etc/xtrading with PREFIX=/usr), the systemd
# unit in lib/systemd/system, the docs in share/doc/xtrading.
install: build
	DESTDIR="$(DESTDIR)" cmake --install build/release --prefix "$(PREFIX)"

run: build
	./build/xtrading serve

test: deps-test test-dev test-asan test-fuzz lint

test-dev:
	cmake --preset dev >/dev/null
	cmake --build --preset dev -j $(JOBS)
	ctest --preset dev

test-asan:
	cmake --preset asan-ubsan >/dev/null
	cmake --build --preset asan-ubsan -j $(JOBS)
	ctest --preset asan-ubsan

# The fuzz targets proper (libFuzzer), each run a fixed number of inputs
# from a fixed seed on top of its committed corpus: deterministic in CI.
test-fuzz: fuzz
	tests/fuzz/run.sh build/fuzz -runs=5000 -seed=1

fuzz:
	cmake --preset fuzz >/dev/null
	cmake --build --preset fuzz -j $(JOBS)

# Long fuzzing session: FUZZ_SECONDS per target; new inputs go to build/fuzz/new-corpus.
fuzz-run: fuzz
	tests/fuzz/run.sh build/fuzz -max_total_time=$(FUZZ_SECONDS)

bench: build
	./build/xtrading bench engine

format:
	clang-format -i $(SOURCES)

# Format (all sources) and clang-tidy (.clang-tidy; the product's code and
# examples, with the dev build's compile_commands.json).
TIDY_SOURCES := $(shell find src bench examples -name '*.c' 2>/dev/null)
lint:
	clang-format --dry-run --Werror $(SOURCES) && echo "clang-format: clean"
	@test -f build/dev/compile_commands.json || cmake --preset dev >/dev/null
	clang-tidy -p build/dev --quiet $(TIDY_SOURCES) 2>/dev/null && echo "clang-tidy: clean"

clean:
	rm -rf build
