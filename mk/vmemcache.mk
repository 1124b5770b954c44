# libvmemcache part of the build, included by the top-level Makefile (which defines
# CARGO, CARGO_TARGET, BUILD, PREFIX, DESTDIR, LIBDIR, INCDIR and CC).
#
#   vmemcache-lib      $(BUILD)/libvmemcache.so.0, symbols versioned LIBVMEMCACHE_1.0
#   vmemcache-install  libvmemcache.so.0, libvmemcache.so, libvmemcache.a, libvmemcache.h,
#                      libvmemcache.pc
#   vmemcache-test     Rust tests, then C tests and examples against a staged install, the
#                      binary drop-in test and upstream's tests (when its source is at hand)
#   vmemcache-bench    space, DRAM and speed against upstream 0.8.1 built from source
#
# VMEMCACHE_UPSTREAM_SRC names a checkout of pmem/vmemcache 0.8.1; without it the steps
# that need upstream say so and skip.

VMEMCACHE_CC ?= $(CC)
VMEMCACHE_VERSION := 0.8.1
VMEMCACHE_DIR := libs/libvmemcache
VMEMCACHE_A := $(CARGO_TARGET)/libvmemcache.a
VMEMCACHE_SO := $(BUILD)/libvmemcache.so.0
VMEMCACHE_STAGE := $(abspath $(BUILD)/vmemcache-stage)
VMEMCACHE_UPSTREAM_SRC ?= $(abspath $(BUILD)/vmemcache-upstream-src)
# upstream's build, shared by the test and bench parts (made when missing)
VMEMCACHE_UPSTREAM_BUILD := $(abspath $(BUILD)/vmemcache-upstream-build)

.PHONY: vmemcache-lib vmemcache-install vmemcache-test vmemcache-bench vmemcache-cargo

vmemcache-lib: $(VMEMCACHE_SO)

vmemcache-cargo:
	$(CARGO) build --release -p libvmemcache

$(VMEMCACHE_A): vmemcache-cargo

$(VMEMCACHE_SO): vmemcache-cargo $(VMEMCACHE_DIR)/libvmemcache.map
	@mkdir -p $(BUILD)
	$(VMEMCACHE_CC) -shared -o $@ \
		-Wl,--whole-archive $(VMEMCACHE_A) -Wl,--no-whole-archive \
		-Wl,--version-script=$(VMEMCACHE_DIR)/libvmemcache.map \
		-Wl,-soname,libvmemcache.so.0 -Wl,-z,now -s -lpthread -ldl -lm

vmemcache-install: $(VMEMCACHE_SO)
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCDIR)
	install -m 755 $(VMEMCACHE_SO) $(DESTDIR)$(LIBDIR)/libvmemcache.so.0
	ln -sf libvmemcache.so.0 $(DESTDIR)$(LIBDIR)/libvmemcache.so
	install -m 644 $(VMEMCACHE_A) $(DESTDIR)$(LIBDIR)/libvmemcache.a
	install -m 644 include/libvmemcache.h $(DESTDIR)$(INCDIR)/libvmemcache.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCDIR@|$(INCDIR)|' -e 's|@VERSION@|$(VMEMCACHE_VERSION)|' \
		$(VMEMCACHE_DIR)/libvmemcache.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/libvmemcache.pc

INSTALL_PARTS += vmemcache-install

vmemcache-test: $(VMEMCACHE_SO)
	$(CARGO) test --release -p libvmemcache
	rm -rf $(VMEMCACHE_STAGE)
	$(MAKE) --no-print-directory vmemcache-install PREFIX=$(VMEMCACHE_STAGE) DESTDIR=
	VMC_STAGE=$(VMEMCACHE_STAGE) VMC_WORK=$(abspath $(BUILD)/vmemcache-test) \
		VMC_UPSTREAM_SRC=$(VMEMCACHE_UPSTREAM_SRC) VMC_UPSTREAM_BUILD=$(VMEMCACHE_UPSTREAM_BUILD) \
		CC=$(VMEMCACHE_CC) sh $(VMEMCACHE_DIR)/c/run.sh

vmemcache-bench: $(VMEMCACHE_SO)
	VMC_OURS=$(abspath $(VMEMCACHE_SO)) VMC_INC=$(abspath include) \
		VMC_WORK=$(abspath $(BUILD)/vmemcache-bench) \
		VMC_UPSTREAM_SRC=$(VMEMCACHE_UPSTREAM_SRC) VMC_UPSTREAM_BUILD=$(VMEMCACHE_UPSTREAM_BUILD) \
		CC=$(VMEMCACHE_CC) sh $(VMEMCACHE_DIR)/bench/run.sh

test: vmemcache-test
bench: vmemcache-bench
