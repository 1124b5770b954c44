# libmemtier.so, the LD_PRELOAD interposer, included by the top-level Makefile (which
# defines CARGO, CARGO_TARGET, BUILD, PREFIX, DESTDIR and LIBDIR).
#
#   memtier-lib      $(MEMTIER_SO): the preload crate's static library linked with a
#                    version script that exports only the malloc family, against
#                    libmemkind.so.0 (found beside it: RUNPATH $ORIGIN; a copy is put in
#                    $(BUILD) so the uninstalled library runs too)
#   memtier-install  libmemtier.so.0 and libmemtier.so under $(LIBDIR)
#   preload-test     the malloc-family contract under the interposer, per configuration

MEMTIER_CC ?= cc
MEMTIER_A := $(CARGO_TARGET)/libmemtier.a
MEMTIER_SO := $(BUILD)/libmemtier.so.0

.PHONY: memtier-lib memtier-install preload-test $(MEMTIER_A)

memtier-lib: $(MEMTIER_SO)

$(MEMTIER_A):
	$(CARGO) build --release -p memtier-preload -p memkind

$(MEMTIER_SO): $(MEMTIER_A) libs/libmemtier/memtier.map
	@mkdir -p $(BUILD)
	cp $(CARGO_TARGET)/libmemkind.so $(BUILD)/libmemkind.so.0
	$(MEMTIER_CC) -shared -o $@ \
		-Wl,--whole-archive $(MEMTIER_A) -Wl,--no-whole-archive \
		$(BUILD)/libmemkind.so.0 -Wl,-rpath,'$$ORIGIN' \
		-Wl,--version-script=libs/libmemtier/memtier.map -Wl,-soname,libmemtier.so.0 -Wl,-z,now -s \
		-lpthread -ldl -lm

memtier-install: $(MEMTIER_SO)
	install -d $(DESTDIR)$(LIBDIR)
	install -m 0755 $(MEMTIER_SO) $(DESTDIR)$(LIBDIR)/libmemtier.so.0
	ln -sf libmemtier.so.0 $(DESTDIR)$(LIBDIR)/libmemtier.so

preload-test: $(MEMTIER_SO)
	CC=$(MEMTIER_CC) bash tests/c/preload/run.sh $(abspath $(MEMTIER_SO))

test: preload-test
