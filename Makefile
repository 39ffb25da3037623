# Build, test and run the skynet-compatible node.  `make run` and `make test` are all a user needs:
# both install missing Debian packages first (make deps).
CXX      ?= g++
SAN      ?=
BUILD    := build$(if $(SAN),-$(SAN))
PKGS     := liblua5.4-dev libjemalloc-dev libasio-dev doctest-dev lua5.4 python3 netcat-openbsd time

LUA_CFLAGS := -I/usr/include/lua5.4
CXXFLAGS ?= -O2 -g
CXXFLAGS += -std=c++20 -Wall -Wextra -Werror -pthread -Iskynet-core/src $(LUA_CFLAGS) -DASIO_STANDALONE -DASIO_NO_DEPRECATED
# Lua is linked statically (Debian's liblua5.4.a, every object of it): the interpreter runs without PLT
# indirection, which makes message-heavy services ~10 % faster. -Wl,-E exports the Lua API from the
# executable so that users' C modules on lua_cpath find it, as they would in liblua5.4.so.
LUA_LIB  := /usr/lib/$(shell $(CXX) -print-multiarch)/liblua5.4.a
LDLIBS   := -Wl,-E -Wl,--whole-archive $(LUA_LIB) -Wl,--no-whole-archive -ldl -pthread

# The sanitizers bring their own allocator, so jemalloc is the process allocator only in normal builds.
ifeq ($(SAN),address)
  CXXFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -DSKYNET_NO_JEMALLOC
  LDFLAGS  += -fsanitize=address,undefined
else ifeq ($(SAN),thread)
  CXXFLAGS += -fsanitize=thread -DSKYNET_NO_JEMALLOC
  LDFLAGS  += -fsanitize=thread
else ifeq ($(SAN),)
  LDLIBS   += -ljemalloc
else
  $(error SAN must be address or thread)
endif

ifeq ($(SAN),thread)
# Lua leaves C functions by _longjmp (errors, yields), which ThreadSanitizer does not follow: each frame it
# left would stay on TSan's shadow stack, and a long run (test/lua/kill_storm.lua) overflows its 65,536
# entries. The files whose functions Lua calls are built without function entry/exit instrumentation; their
# memory accesses are still checked, only their frames are missing from the reports' stacks.
$(BUILD)/skynet-core/src/lua/%.o: CXXFLAGS += --param=tsan-instrument-func-entry-exit=0
endif

SRCS      := $(shell find skynet-core/src -name '*.cpp' ! -name main.cpp | sort)
OBJS      := $(SRCS:%.cpp=$(BUILD)/%.o)
MAIN_OBJ  := $(BUILD)/skynet-core/src/main.o
UNIT_SRCS := $(sort $(wildcard test/unit/*.cpp))
UNIT_OBJS := $(UNIT_SRCS:%.cpp=$(BUILD)/%.o)
MICRO_SRCS := $(sort $(wildcard test/bench/micro/*.cpp))
MICRO_OBJS := $(MICRO_SRCS:%.cpp=$(BUILD)/%.o)
BIN       := $(if $(SAN),$(BUILD)/skynet,skynet)

.PHONY: all deps run test unit lua-test e2e bench micro-bench clean fuzz fuzz-deps

all: deps $(BIN)

# Installs whatever Debian package is missing; a no-op when everything is there.
deps:
	@missing=""; for p in $(PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

$(BUILD)/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libskynet.a: $(OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(MAIN_OBJ) $(BUILD)/libskynet.a
	$(CXX) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/unit_tests: $(UNIT_OBJS) $(BUILD)/libskynet.a
	$(CXX) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Micro-benchmarks of core parts (test/bench/micro/): figures only, not part of `make test`.
$(BUILD)/micro_bench: $(MICRO_OBJS) $(BUILD)/libskynet.a
	$(CXX) $(LDFLAGS) -o $@ $^ $(LDLIBS)

run: all
	./$(BIN) config

unit: deps $(BUILD)/unit_tests
	$(BUILD)/unit_tests

# Every kind of test; the last line is "N passed, N failed".
test: deps $(BIN) $(BUILD)/unit_tests
	@SKYNET_BIN=./$(BIN) UNIT_BIN=$(BUILD)/unit_tests $(if $(SAN),TEST_FILE_TIMEOUT=600) python3 test/run_all.py

# The micro-benchmarks first (a second or two), then the suite of ../shared/bench against ./skynet.
bench: all $(BUILD)/micro_bench
	@$(BUILD)/micro_bench
	@echo
	@bash test/bench/run.sh

micro-bench: deps $(BUILD)/micro_bench
	@$(BUILD)/micro_bench

# libFuzzer targets (test/fuzz/fuzz_*.cpp), built with clang into build-fuzz/ with AddressSanitizer and
# UBSan; each runs FUZZ_SECONDS on its seed corpus (test/fuzz/corpus/<target>/) plus what earlier runs
# found (build-fuzz/corpus/<target>/). A target that crashes or breaks a property leaves the input in
# build-fuzz/crashes/ and its report in build-fuzz/<target>.log; the last line counts the targets that ran
# clean and those that failed. FUZZ_TARGETS=fuzz_unpack runs only the named targets.
FUZZ_CXX      ?= clang++-14
FUZZ_SECONDS  ?= 60
FUZZ_BUILD    := build-fuzz
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CXXFLAGS := -O1 -g -std=c++20 -Wall -Wextra -Werror -pthread -Iskynet-core/src -Itest/fuzz $(LUA_CFLAGS) \
                 -DASIO_STANDALONE -DASIO_NO_DEPRECATED -DSKYNET_NO_JEMALLOC $(FUZZ_SAN)
FUZZ_TARGETS  ?= $(patsubst test/fuzz/%.cpp,%,$(sort $(wildcard test/fuzz/fuzz_*.cpp)))
FUZZ_OBJS     := $(SRCS:%.cpp=$(FUZZ_BUILD)/%.o)
# Kept, so that a second `make fuzz` does not rebuild the targets.
.SECONDARY: $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/test/fuzz/%.o)

# clang and its libFuzzer runtime are needed only here. Installed before anything is compiled, also
# under -j (an order-only prerequisite of every fuzz object).
FUZZ_PKGS     := clang-14 libclang-rt-14-dev
fuzz-deps:
	@$(MAKE) --no-print-directory deps PKGS="$(PKGS) $(FUZZ_PKGS)"

$(FUZZ_BUILD)/%.o: %.cpp | fuzz-deps
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/libskynet.a: $(FUZZ_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/test/fuzz/fuzz_%.o $(FUZZ_BUILD)/libskynet.a
	$(FUZZ_CXX) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ -llua5.4 -ldl -pthread

fuzz: fuzz-deps $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/%)
	@passed=0; failed=0; for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/crashes; \
		echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
		$(FUZZ_BUILD)/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_BUILD)/crashes/$$t- \
			$$( [ -f test/fuzz/$$t.dict ] && echo -dict=test/fuzz/$$t.dict ) \
			$(FUZZ_BUILD)/corpus/$$t test/fuzz/corpus/$$t > $(FUZZ_BUILD)/$$t.log 2>&1; \
		if [ $$? -eq 0 ]; then \
			passed=$$((passed + 1)); \
			grep -E "^stat::(number_of_executed_units|new_units_added)" $(FUZZ_BUILD)/$$t.log | sed "s/^/  /"; \
		else \
			failed=$$((failed + 1)); \
			grep -E "FUZZ PROPERTY|^SUMMARY|Test unit written" $(FUZZ_BUILD)/$$t.log | sed "s/^/  /"; \
			echo "  full report: $(FUZZ_BUILD)/$$t.log"; \
		fi; \
	done; echo "$$passed passed, $$failed failed"; [ $$failed -eq 0 ]

clean:
	rm -rf build build-address build-thread build-fuzz skynet

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
-include $(shell find $(FUZZ_BUILD) -name '*.d' 2>/dev/null)
