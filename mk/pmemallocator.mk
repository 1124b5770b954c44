# libpmemallocator (KVDK-style PMemAllocator), included by the top-level Makefile, which
# defines CARGO, CARGO_TARGET, BUILD, PREFIX, DESTDIR, LIBDIR and INCDIR.
#
#   pmemallocator-lib      $(BUILD)/libpmemallocator.so.0 (exports listed in the .map)
#   pmemallocator-install  .so.0 + dev symlink, .a, pmem_allocator.hpp, pmemallocator.h, .pc
#   pmemallocator-test     Rust unit tests, then C/C++ tests against a staged install
#   pmemallocator-bench    Allocate+Free speed against a file-backed memkind kind, space use

PMA_CC ?= cc
PMA_CXX ?= c++
PMA_VERSION := 0.1.0
PMA_DIR := libs/libpmemallocator
PMA_A := $(CARGO_TARGET)/libpmemallocator.a
PMA_SO := $(BUILD)/libpmemallocator.so.0
PMA_STAGE := $(abspath $(BUILD)/pmemallocator-stage)
PMA_REF_STAGE := $(abspath $(BUILD)/pmemallocator-memkind-stage)

.PHONY: pmemallocator-lib pmemallocator-install pmemallocator-test pmemallocator-bench $(PMA_A)

INSTALL_PARTS += pmemallocator-install

pmemallocator-lib: $(PMA_SO)

$(PMA_A):
	$(CARGO) build --release -p libpmemallocator

$(PMA_SO): $(PMA_A) $(PMA_DIR)/pmemallocator.map
	@mkdir -p $(BUILD)
	$(PMA_CC) -shared -o $@ \
		-Wl,--whole-archive $(PMA_A) -Wl,--no-whole-archive \
		-Wl,--version-script=$(PMA_DIR)/pmemallocator.map \
		-Wl,-soname,libpmemallocator.so.0 -Wl,-z,now -s -lpthread -ldl -lm

pmemallocator-install: $(PMA_SO)
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCDIR)
	install -m 755 $(PMA_SO) $(DESTDIR)$(LIBDIR)/libpmemallocator.so.0
	ln -sf libpmemallocator.so.0 $(DESTDIR)$(LIBDIR)/libpmemallocator.so
	install -m 644 $(PMA_A) $(DESTDIR)$(LIBDIR)/libpmemallocator.a
	install -m 644 include/pmem_allocator.hpp include/pmemallocator.h $(DESTDIR)$(INCDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCDIR@|$(INCDIR)|' -e 's|@VERSION@|$(PMA_VERSION)|' \
		$(PMA_DIR)/pmemallocator.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/pmemallocator.pc

pmemallocator-test: $(PMA_SO)
	$(CARGO) test --release -p libpmemallocator
	rm -rf $(PMA_STAGE)
	$(MAKE) --no-print-directory pmemallocator-install PREFIX=$(PMA_STAGE) DESTDIR=
	PMA_STAGE=$(PMA_STAGE) PMA_WORK=$(abspath $(BUILD)/pmemallocator-test) \
		CC=$(PMA_CC) CXX=$(PMA_CXX) sh $(PMA_DIR)/tests/run.sh

# The reference is our own libmemkind (a file-backed kind on the same file system): the
# library and header staged the way the top-level install places them (the full install
# would also build the memtier interposer, which the bench does not need).
pmemallocator-bench: $(PMA_SO)
	rm -rf $(PMA_STAGE) $(PMA_REF_STAGE)
	$(MAKE) --no-print-directory pmemallocator-install PREFIX=$(PMA_STAGE) DESTDIR=
	$(CARGO) build --release -p memkind
	install -d $(PMA_REF_STAGE)/lib $(PMA_REF_STAGE)/include
	install -m 0755 $(CARGO_TARGET)/libmemkind.so $(PMA_REF_STAGE)/lib/libmemkind.so.0
	ln -sf libmemkind.so.0 $(PMA_REF_STAGE)/lib/libmemkind.so
	install -m 0644 include/memkind.h $(PMA_REF_STAGE)/include/memkind.h
	PMA_STAGE=$(PMA_STAGE) PMA_REF_STAGE=$(PMA_REF_STAGE) \
		PMA_WORK=$(abspath $(BUILD)/pmemallocator-bench) CXX=$(PMA_CXX) \
		sh $(PMA_DIR)/bench/run.sh

test: pmemallocator-test
bench: pmemallocator-bench
