# libmemtier.so, the LD_PRELOAD interposer, included by the top-level Makefile (which
# defines CARGO, CARGO_TARGET, BUILD, PREFIX, DESTDIR and LIBDIR).
#
#   memtier-lib      $(MEMTIER_SO): the preload crate's static library linked with a
#                    version script that exports only the malloc family, against
#                    libmemkind.so.0. RUNPATH $ORIGIN/libmemtier:$ORIGIN: first its own
#                    copy of libmemkind.so.0 (same sources, jemalloc with initial-exec
#                    TLS, $(MEMTIER_MK_SO)), else the public one beside it. A copy of the
#                    public one is put in $(BUILD) so the uninstalled library runs too.
#   memtier-install  libmemtier.so.0, libmemtier.so and libmemtier/libmemkind.so.0
#                    under $(LIBDIR)
#   preload-test     the malloc-family contract under the interposer, per configuration
#
# Why a second libmemkind.so.0: the public one reaches jemalloc's thread state through
# TLS descriptors so that it can be dlopen()ed (Python ctypes), at a call per access;
# libmemtier is only ever preloaded, so its libmemkind is always loaded at start-up,
# where initial-exec TLS is allowed. It is still the only libmemkind in the process: a
# program linked with libmemkind.so.0 gets whichever copy the loader finds first (by
# SONAME), and libmemtier uses that same one.

MEMTIER_CC ?= cc
MEMTIER_A := $(CARGO_TARGET)/libmemtier.a
MEMTIER_SO := $(BUILD)/libmemtier.so.0
# libmemkind with initial-exec TLS in jemalloc (feature "dlopen" off), own target dir
MEMTIER_IE_TARGET ?= target/memtier-ie
MEMTIER_MK_SO := $(BUILD)/libmemtier/libmemkind.so.0

.PHONY: memtier-lib memtier-install preload-test $(MEMTIER_A) memtier-mk-ie

memtier-lib: $(MEMTIER_SO) $(MEMTIER_MK_SO)

$(MEMTIER_A):
	$(CARGO) build --release -p memtier-preload -p memkind

memtier-mk-ie:
	$(CARGO) build --release -p memkind --no-default-features --target-dir $(MEMTIER_IE_TARGET)

$(MEMTIER_MK_SO): memtier-mk-ie
	@mkdir -p $(dir $@)
	cp $(MEMTIER_IE_TARGET)/release/libmemkind.so $@

$(MEMTIER_SO): $(MEMTIER_A) libs/libmemtier/memtier.map
	@mkdir -p $(BUILD)
	cp $(CARGO_TARGET)/libmemkind.so $(BUILD)/libmemkind.so.0
	$(MEMTIER_CC) -shared -o $@ \
		-Wl,--whole-archive $(MEMTIER_A) -Wl,--no-whole-archive \
		$(BUILD)/libmemkind.so.0 -Wl,-rpath,'$$ORIGIN/libmemtier:$$ORIGIN' \
		-Wl,--version-script=libs/libmemtier/memtier.map -Wl,-soname,libmemtier.so.0 -Wl,-z,now -s \
		-lpthread -ldl -lm

memtier-install: $(MEMTIER_SO) $(MEMTIER_MK_SO)
	install -d $(DESTDIR)$(LIBDIR)/libmemtier
	install -m 0755 $(MEMTIER_SO) $(DESTDIR)$(LIBDIR)/libmemtier.so.0
	install -m 0755 $(MEMTIER_MK_SO) $(DESTDIR)$(LIBDIR)/libmemtier/libmemkind.so.0
	ln -sf libmemtier.so.0 $(DESTDIR)$(LIBDIR)/libmemtier.so

preload-test: memtier-lib
	CC=$(MEMTIER_CC) bash tests/c/preload/run.sh $(abspath $(MEMTIER_SO))

test: preload-test
