# libpmem part of the build (crate libs/libpmem), included by the top-level Makefile, which
# defines CARGO, CARGO_TARGET, BUILD, PREFIX, DESTDIR, LIBDIR and INCDIR.
#
#   pmem-lib      $(BUILD)/libpmem.so.1 with libpmem's symbol versions (LIBPMEM_1.0)
#   pmem-install  libpmem.so.1, libpmem.so, libpmem.a, libpmem.h, libpmem.pc
#   pmem-test     C tests against a staged install, plus the binary drop-in test
#   pmem-bench    speed against the system's libpmem (A B A B rounds)

PMEM_CC ?= cc
PMEM_VERSION := 1.12.1
PMEM_SO := $(BUILD)/libpmem.so.1
PMEM_STAGE := $(abspath $(BUILD)/stage)
# The libpmem that the drop-in test links against and the benchmark compares with.
PMEM_SYSTEM_LIB ?= /usr/lib/x86_64-linux-gnu/libpmem.so.1

.PHONY: pmem-lib pmem-install pmem-test pmem-bench

pmem-lib: $(PMEM_SO)

PMEM_A := $(CARGO_TARGET)/libpmem.a

.PHONY: $(PMEM_A)
$(PMEM_A):
	$(CARGO) build --release -p pmem

$(PMEM_SO): $(PMEM_A) libs/libpmem/libpmem.map
	@mkdir -p $(BUILD)
	$(PMEM_CC) -shared -o $@ \
		-Wl,--whole-archive $(PMEM_A) -Wl,--no-whole-archive \
		-Wl,--version-script=libs/libpmem/libpmem.map -Wl,-soname,libpmem.so.1 -Wl,-z,now -s \
		-lpthread -ldl -lm

pmem-install: $(PMEM_SO)
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCDIR)
	install -m 755 $(PMEM_SO) $(DESTDIR)$(LIBDIR)/libpmem.so.1
	ln -sf libpmem.so.1 $(DESTDIR)$(LIBDIR)/libpmem.so
	install -m 644 $(PMEM_A) $(DESTDIR)$(LIBDIR)/libpmem.a
	install -m 644 include/libpmem.h $(DESTDIR)$(INCDIR)/libpmem.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCDIR@|$(INCDIR)|' -e 's|@VERSION@|$(PMEM_VERSION)|' \
		pkgconfig/libpmem.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/libpmem.pc

pmem-test: $(PMEM_SO)
	rm -rf $(PMEM_STAGE)
	$(MAKE) --no-print-directory pmem-install PREFIX=$(PMEM_STAGE) DESTDIR=
	PMEM_STAGE=$(PMEM_STAGE) PMEM_WORK=$(abspath $(BUILD)/pmem-test) CC=$(PMEM_CC) \
		PMEM_SYSTEM_LIB=$(PMEM_SYSTEM_LIB) sh tests/c/pmem/run.sh

pmem-bench: $(PMEM_SO)
	PMEM_OURS=$(abspath $(PMEM_SO)) PMEM_SYSTEM_LIB=$(PMEM_SYSTEM_LIB) \
		PMEM_WORK=$(abspath $(BUILD)/pmem-bench) CC=$(PMEM_CC) sh benches/pmem/run.sh
