# fork() cost with a written heap: benches/fork/fork.c against ours and memkind.
#   make fork-bench      (FORK_MIB=N heap size, ROUNDS=N)

FORKBENCH_STAGE := $(abspath $(BUILD)/forkbench-stage)

.PHONY: fork-bench

bench: fork-bench

fork-bench: lib
	@mkdir -p $(BUILD)
	rm -rf $(FORKBENCH_STAGE)
	$(MAKE) --no-print-directory install PREFIX=$(FORKBENCH_STAGE) >/dev/null
	$(CC) -std=gnu99 -O2 -Wall -Werror -I$(FORKBENCH_STAGE)/include -o $(BUILD)/fork-bench-ours \
	  benches/fork/fork.c -L$(FORKBENCH_STAGE)/lib -Wl,-rpath,$(FORKBENCH_STAGE)/lib -lmemkind
	$(CC) -std=gnu99 -O2 -Wall -Werror -o $(BUILD)/fork-bench-ref benches/fork/fork.c -lmemkind
	bash benches/fork/run.sh $(BUILD)/fork-bench-ref $(BUILD)/fork-bench-ours
