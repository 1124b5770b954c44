# hbwmalloc part of the build, included by the top-level Makefile (which defines STAGE).
#
#   hbw-test   C++ tests of include/hbw_allocator.h against the staged install; part of
#              `make test` (the C tests of the hbw API are in tests/c/memkind/)

HBW_CXX ?= c++
HBW_TEST_DIR := $(BUILD)/hbw-test

.PHONY: hbw-test

test: hbw-test

hbw-test: stage
	@mkdir -p $(HBW_TEST_DIR)
	$(HBW_CXX) -std=c++03 -Wall -Wextra -Werror -fsyntax-only -I$(STAGE)/include \
		tests/cxx/hbw_allocator_cxx03.cpp
	$(HBW_CXX) -std=c++20 -Wall -Wextra -Werror -fsyntax-only -I$(STAGE)/include \
		tests/cxx/hbw_allocator_cxx03.cpp
	$(HBW_CXX) -std=c++11 -Wall -Wextra -Werror -O1 -I$(STAGE)/include \
		tests/cxx/hbw_allocator.cpp -o $(HBW_TEST_DIR)/hbw_allocator \
		-L$(STAGE)/lib -lmemkind -Wl,-rpath,$(STAGE)/lib
	$(HBW_TEST_DIR)/hbw_allocator
