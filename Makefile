# Build, test and run the skynet-compatible node.  `make run` and `make test` are all a user needs:
# both install missing Debian packages first (make deps).
CXX      ?= g++
SAN      ?=
BUILD    := build$(if $(SAN),-$(SAN))
PKGS     := liblua5.4-dev libjemalloc-dev libasio-dev doctest-dev lua5.4 python3 netcat-openbsd time

LUA_CFLAGS := -I/usr/include/lua5.4
CXXFLAGS ?= -O2 -g
CXXFLAGS += -std=c++20 -Wall -Wextra -Werror -pthread -Iskynet-core/src $(LUA_CFLAGS) -DASIO_STANDALONE -DASIO_NO_DEPRECATED
LDLIBS   := -llua5.4 -ldl -pthread

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

SRCS      := $(shell find skynet-core/src -name '*.cpp' ! -name main.cpp | sort)
OBJS      := $(SRCS:%.cpp=$(BUILD)/%.o)
MAIN_OBJ  := $(BUILD)/skynet-core/src/main.o
UNIT_SRCS := $(sort $(wildcard test/unit/*.cpp))
UNIT_OBJS := $(UNIT_SRCS:%.cpp=$(BUILD)/%.o)
BIN       := $(if $(SAN),$(BUILD)/skynet,skynet)

.PHONY: all deps run test unit lua-test e2e bench clean

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

run: all
	./$(BIN) config

unit: deps $(BUILD)/unit_tests
	$(BUILD)/unit_tests

# Every kind of test; the last line is "N passed, N failed".
test: deps $(BIN) $(BUILD)/unit_tests
	@SKYNET_BIN=./$(BIN) UNIT_BIN=$(BUILD)/unit_tests $(if $(SAN),TEST_FILE_TIMEOUT=600) python3 test/run_all.py

bench: all
	@bash test/bench/run.sh

clean:
	rm -rf build build-address build-thread skynet

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
