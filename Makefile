# Front door for building, running and testing dmq. See README.md.
#
#   make            build dmq and dmq-agent into build/
#   make run        build and start one agent in the foreground
#   make test       build and run the whole test suite (what CI runs)
#   make bench      print throughput and latency figures
#   make soak       long crash and churn runs, not part of make test
#   make install    install binaries, man pages, completions under PREFIX

PREFIX ?= /usr/local
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
LISTEN ?= 127.0.0.1:7420
DATA ?= $(CURDIR)/data/agent

CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all deps configure build run test bench soak install format lint \
	asan clean

all: build

deps:
	@sh scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) -DCMAKE_INSTALL_PREFIX=$(PREFIX)

configure: deps $(BUILD)/CMakeCache.txt

build: configure
	cmake --build $(BUILD) -j $(JOBS)

run: build
	@mkdir -p $(DATA)
	@echo "dmq-agent: listening on $(LISTEN), data in $(DATA)"
	@echo "dmq-agent: try: $(BUILD)/dmq --agents $(LISTEN) health"
	@echo "dmq-agent: stop with Ctrl-C"
	$(BUILD)/dmq-agent --data-dir $(DATA) --listen $(LISTEN)

test: build
	cd $(BUILD) && ctest --output-on-failure --timeout 1200

bench: build
	sh bench/run.sh $(BUILD)

soak: build
	DMQ_SOAK=1 $(BUILD)/integration_tests "[soak]"

install: build
	cmake --install $(BUILD) --prefix $(PREFIX) --strip

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

lint:
	clang-format --dry-run -Werror $$(git ls-files '*.cpp' '*.h')
	@! git ls-files '*.cpp' '*.h' | xargs awk 'length > 80 \
		{ print FILENAME ":" FNR ": over 80 columns"; bad = 1 } \
		END { exit !bad }'

asan:
	$(MAKE) test BUILD=build-asan CMAKE_FLAGS="-DCMAKE_BUILD_TYPE=Debug \
		-DDMQ_SANITIZE=ON"

clean:
	rm -rf $(BUILD) build-asan
