# Real-program tests and benchmark of the LD_PRELOAD interposer (libmemtier.so).
# memtier-lib and MEMTIER_SO come from mk/memtier.mk.
#   make memtier-test     tests/memtier/run.sh: python3, sort, sqlite3, gcc and a threaded
#                         C++ program under the interposer with a file tier; malformed
#                         configurations (scratch files in build/memtier-test)
#   make memtier-bench    benches/memtier/run.sh: plain vs memkind's libmemtier.so.0 vs
#                         ours (scratch files in build/memtier-bench; ROUNDS=N)

.PHONY: memtier-test memtier-bench

memtier-test: memtier-lib
	bash tests/memtier/run.sh $(abspath $(MEMTIER_SO))

memtier-bench: memtier-lib
	bash benches/memtier/run.sh $(abspath $(MEMTIER_SO))

# Hooked into test and bench once mk/memtier.mk (the interposer's build) is there.
ifneq ($(wildcard mk/memtier.mk),)
test: memtier-test
bench: memtier-bench
endif
