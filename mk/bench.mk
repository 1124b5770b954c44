# memkind benchmark: benches/memkind/bench.c built against our library (staged install)
# and against the system's reference memkind; benches/memkind/run.sh compares them.
#   make memkind-bench                   build both and run (ROUNDS=N to override)
#   make memkind-bench-build             only build $(BUILD)/memkind-bench-{ours,ref}

MKBENCH_SRC := benches/memkind/bench.c
MKBENCH_STAGE := $(abspath $(BUILD)/bench-stage)
MKBENCH_CFLAGS := -std=c99 -O2 -g -Wall -Wextra -Werror -pthread
MKBENCH_OURS := $(BUILD)/memkind-bench-ours
MKBENCH_REF := $(BUILD)/memkind-bench-ref

.PHONY: memkind-bench memkind-bench-build memkind-bench-ref-dev

bench: memkind-bench

memkind-bench: memkind-bench-build
	bash benches/memkind/run.sh $(MKBENCH_REF) $(MKBENCH_OURS)

memkind-bench-build: $(MKBENCH_OURS) $(MKBENCH_REF)

# Always re-staged: `lib` is phony and cargo decides whether anything changed.
$(MKBENCH_OURS): $(MKBENCH_SRC) lib
	@mkdir -p $(BUILD)
	rm -rf $(MKBENCH_STAGE)
	$(MAKE) --no-print-directory install PREFIX=$(MKBENCH_STAGE) >/dev/null
	$(CC) $(MKBENCH_CFLAGS) -I$(MKBENCH_STAGE)/include -o $@ $(MKBENCH_SRC) \
	  -L$(MKBENCH_STAGE)/lib -Wl,-rpath,$(MKBENCH_STAGE)/lib -lmemkind -ldl

$(MKBENCH_REF): $(MKBENCH_SRC) | memkind-bench-ref-dev
	@mkdir -p $(BUILD)
	$(CC) $(MKBENCH_CFLAGS) -o $@ $(MKBENCH_SRC) -lmemkind -ldl

memkind-bench-ref-dev:
	@if [ ! -f /usr/include/memkind.h ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get install -y libmemkind-dev || { apt-get update && apt-get install -y libmemkind-dev; }; \
	  else \
	    echo "reference memkind headers missing: install libmemkind-dev (as root)" >&2; exit 1; \
	  fi; \
	fi
