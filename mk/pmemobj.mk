# libpmemobj part of the build, included by the top-level Makefile (CARGO, CARGO_TARGET,
# BUILD, PREFIX, DESTDIR, LIBDIR, INCDIR, CC come from there).
#
#   pmemobj-lib      $(BUILD)/libpmemobj.so.1 (symbols versioned LIBPMEMOBJ_1.0) and .a
#   pmemobj-install  libpmemobj.so.1, libpmemobj.so, libpmemobj.a, headers, libpmemobj.pc
#   pmemobj-test     Rust tests, C tests against a staged install, drop-in and format
#                    compatibility with the system's PMDK, crash tests
#   pmemobj-bench    alloc/free, open and refill speed against the system's libpmemobj

PMEMOBJ_CC ?= $(CC)
PMEMOBJ_VERSION := 1.12.1
PMEMOBJ_DIR := libs/libpmemobj
PMEMOBJ_SO := $(BUILD)/libpmemobj.so.1
PMEMOBJ_A := $(BUILD)/libpmemobj.a
PMEMOBJ_RUST_A := $(CARGO_TARGET)/libpmemobj.a
PMEMOBJ_STAGE := $(abspath $(BUILD)/pmemobj-stage)
PMEMOBJ_SYSTEM_LIB ?= /usr/lib/x86_64-linux-gnu/libpmemobj.so.1
PMEMOBJ_HEADERS := base.h types.h pool_base.h pool.h atomic_base.h atomic.h iterator_base.h iterator.h

.PHONY: pmemobj-lib pmemobj-install pmemobj-test pmemobj-bench pmemobj-rust pmemobj-force

pmemobj-lib: $(PMEMOBJ_SO) $(PMEMOBJ_A)

pmemobj-rust: $(PMEMOBJ_RUST_A)

# cargo decides itself whether anything changed
$(PMEMOBJ_RUST_A): pmemobj-force
	$(CARGO) build --release -p libpmemobj

pmemobj-force:

$(PMEMOBJ_SO): $(PMEMOBJ_RUST_A) $(PMEMOBJ_DIR)/libpmemobj.map
	@mkdir -p $(BUILD)
	$(PMEMOBJ_CC) -shared -o $@ \
		-Wl,--whole-archive $(PMEMOBJ_RUST_A) -Wl,--no-whole-archive \
		-Wl,--version-script=$(PMEMOBJ_DIR)/libpmemobj.map -Wl,-soname,libpmemobj.so.1 \
		-Wl,-z,now -s -lpthread -ldl -lm

$(PMEMOBJ_A): $(PMEMOBJ_RUST_A)
	@mkdir -p $(BUILD)
	cp $(PMEMOBJ_RUST_A) $@

pmemobj-install: $(PMEMOBJ_SO) $(PMEMOBJ_A)
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCDIR)/libpmemobj
	install -m 755 $(PMEMOBJ_SO) $(DESTDIR)$(LIBDIR)/libpmemobj.so.1
	ln -sf libpmemobj.so.1 $(DESTDIR)$(LIBDIR)/libpmemobj.so
	install -m 644 $(PMEMOBJ_A) $(DESTDIR)$(LIBDIR)/libpmemobj.a
	install -m 644 include/libpmemobj.h $(DESTDIR)$(INCDIR)/libpmemobj.h
	for h in $(PMEMOBJ_HEADERS); do install -m 644 include/libpmemobj/$$h $(DESTDIR)$(INCDIR)/libpmemobj/$$h; done
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCDIR@|$(INCDIR)|' -e 's|@VERSION@|$(PMEMOBJ_VERSION)|' \
		$(PMEMOBJ_DIR)/libpmemobj.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/libpmemobj.pc

INSTALL_PARTS += pmemobj-install

pmemobj-test: $(PMEMOBJ_SO) $(PMEMOBJ_A)
	$(CARGO) test --release -p libpmemobj
	rm -rf $(PMEMOBJ_STAGE)
	$(MAKE) --no-print-directory pmemobj-install PREFIX=$(PMEMOBJ_STAGE) DESTDIR=
	PMEMOBJ_STAGE=$(PMEMOBJ_STAGE) PMEMOBJ_WORK=$(abspath $(BUILD)/pmemobj-test) CC=$(PMEMOBJ_CC) \
		PMEMOBJ_SYSTEM_LIB=$(PMEMOBJ_SYSTEM_LIB) sh $(PMEMOBJ_DIR)/tests/run.sh

test: pmemobj-test

pmemobj-bench: $(PMEMOBJ_SO)
	PMEMOBJ_OURS=$(abspath $(PMEMOBJ_SO)) PMEMOBJ_SYSTEM_LIB=$(PMEMOBJ_SYSTEM_LIB) \
		PMEMOBJ_WORK=$(abspath $(BUILD)/pmemobj-bench) CC=$(PMEMOBJ_CC) \
		sh $(PMEMOBJ_DIR)/bench/run.sh

bench: pmemobj-bench
