# Thin wrapper over CMake + Ninja. `make demo` runs a 3-node cluster on this
# machine; `make test` runs every test through ctest. Both install missing
# Debian 12 packages first (as root), configure, and build.
BUILD ?= build
DEB_PACKAGES := cmake ninja-build g++ pkg-config libboost-dev libboost-filesystem-dev \
  libsodium-dev libmsgpack-dev libspdlog-dev libtomlplusplus-dev nlohmann-json3-dev \
  libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev libssl-dev openssl nftables iproute2 \
  procps python3 libkainjow-mustache-dev prometheus-cpp-dev libsystemd-dev help2man dpkg-dev
# What the tests talk to or drive: real receivers, servers and a browser.
TEST_PACKAGES := nats-server python3-flask prometheus chromium chromium-driver python3-selenium \
  tmux

# Installs the missing packages of $(1) as root, or names them and fails.
define apt_install
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else \
	    echo "missing Debian packages; run as root:"; \
	    echo "  apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi
endef

.PHONY: all deps test-deps configure build demo test bench format clean

all: build

deps:
	$(call apt_install,$(DEB_PACKAGES))

test-deps:
	$(call apt_install,$(TEST_PACKAGES))

# RelWithDebInfo with line tables only (-g1): what backtraces and perf need,
# at about half the compile and link time of full debug info; the same -O2 code.
$(BUILD)/build.ninja: CMakeLists.txt | deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG"

configure: deps $(BUILD)/build.ninja

build: configure
	cmake --build $(BUILD)

# The demo needs the vigil binary alone, not the tests.
demo: configure
	cmake --build $(BUILD) --target vigil
	bash etc/demo/run.sh $(BUILD)/bin/vigil

# A Debian package of vigil with CPack, in $(BUILD): the binary (stripped),
# the systemd units, the man page, an example config and the sample hook
# (README "systemd and packaging"). It builds vigil and its man page alone.
.PHONY: package
package: configure
	cmake --build $(BUILD) --target vigil vigil_man
	cd $(BUILD) && cpack -G DEB

test: build test-deps
	cd $(BUILD) && ctest --output-on-failure --timeout 600

# The benchmarks also compare with serf and plot with matplotlib.
BENCH_PACKAGES := serf python3-matplotlib

bench: build
	@missing=""; for p in $(BENCH_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	elif [ -n "$$missing" ]; then \
	  echo "benchmarks that need$$missing will be skipped (apt-get install -y$$missing as root)"; \
	fi
	bash tests/bench/run_all.sh $(BUILD)

format:
	clang-format -i $$(git ls-files '*.h' '*.cc')

clean:
	rm -rf $(BUILD)
