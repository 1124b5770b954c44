# Build, install, test and demo of the libraries: one crate each under libs/ (libmemkind,
# libpmem, libmemtier, ...) over the core crates under crates/; mk/*.mk has each library's part.
#   make                 libmemkind (target/release); the fragments build the others
#   make test T=NAME     only the C tests whose name matches the glob NAME
#   make install PREFIX=/usr/local
#   make demo            allocate in a file-backed kind and show what happened
#   make test            everything: Rust tests, C examples and tests against a staged install
#   make headers         regenerate the cbindgen headers in include/

PREFIX ?= /usr/local
DESTDIR ?=
LIBDIR := $(PREFIX)/lib
INCDIR := $(PREFIX)/include
CARGO ?= cargo
CARGO_TARGET ?= target/release
BUILD := build
STAGE := $(abspath $(BUILD)/stage)
CC ?= cc
# Install targets of the libraries' fragments in mk/ (each appends its own).
INSTALL_PARTS :=

.PHONY: all lib install demo test test-rust test-c lint headers clean bench

all: lib

lib:
	$(CARGO) build --release -p memkind

headers:
	UPDATE_HEADERS=1 $(CARGO) test --release --workspace --test 'header*'

install: lib
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCDIR)
	install -m 0755 $(CARGO_TARGET)/libmemkind.so $(DESTDIR)$(LIBDIR)/libmemkind.so.0
	ln -sf libmemkind.so.0 $(DESTDIR)$(LIBDIR)/libmemkind.so
	install -m 0644 $(CARGO_TARGET)/libmemkind.a $(DESTDIR)$(LIBDIR)/libmemkind.a
	# libmemtier's entry points are versioned in libmemkind.so.0 only: a shared object
	# that embeds the archive has no MEMKIND_PRIVATE node to give them.
	objcopy $(foreach f,default_malloc default_free malloc_usable free_counted,--strip-symbol=memkind_private_$(f)@@MEMKIND_PRIVATE \
	  --localize-symbol=memkind_private_$(f)_entry) $(DESTDIR)$(LIBDIR)/libmemkind.a
	install -m 0644 include/memkind.h $(DESTDIR)$(INCDIR)/memkind.h
	install -m 0644 include/memkind_memtier.h $(DESTDIR)$(INCDIR)/memkind_memtier.h
	install -m 0644 include/hbwmalloc.h include/hbw_allocator.h $(DESTDIR)$(INCDIR)/
	install -m 0644 include/pmem_allocator.h include/memkind_allocator.h include/fixed_allocator.h include/memkind_allocator_detail.h $(DESTDIR)$(INCDIR)/
	sed 's|@PREFIX@|$(PREFIX)|' pkgconfig/memkind.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/memkind.pc
	$(if $(wildcard mk/pmem.mk),$(MAKE) pmem-install PREFIX=$(PREFIX) DESTDIR=$(DESTDIR))
	$(MAKE) memtier-install PREFIX=$(PREFIX) DESTDIR=$(DESTDIR)
	$(if $(INSTALL_PARTS),$(MAKE) $(INSTALL_PARTS) PREFIX=$(PREFIX) DESTDIR=$(DESTDIR))

stage:
	rm -rf $(STAGE)
	$(MAKE) install PREFIX=$(STAGE)

demo: lib
	@rm -rf $(BUILD)/demo-stage && $(MAKE) --no-print-directory install PREFIX=$(abspath $(BUILD)/demo-stage) >/dev/null
	$(CC) -std=c99 -Wall -O2 -o $(BUILD)/demo demo/demo.c \
	  $$(PKG_CONFIG_PATH=$(abspath $(BUILD)/demo-stage)/lib/pkgconfig pkg-config --cflags --libs memkind) \
	  -Wl,-rpath,$(abspath $(BUILD)/demo-stage)/lib
	@d=$$(mktemp -d); echo "pmem directory: $$d"; ./$(BUILD)/demo $$d; rc=$$?; rmdir $$d; exit $$rc

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --release --workspace --all-targets -- -D warnings

test-rust:
	$(CARGO) test --release --workspace $(if $(T),-- $(subst *,,$(T)))

test-c: lib stage
	bash tests/run_c_tests.sh $(STAGE)

test: lint test-rust test-c
	$(if $(wildcard mk/pmem.mk),$(MAKE) pmem-test)

# Benchmarks against the reference libraries; the fragments in mk/ add their parts.
bench: lib $(if $(wildcard mk/pmem.mk),pmem-bench)

clean:
	$(CARGO) clean
	rm -rf $(BUILD)

-include mk/*.mk
