# hbwmalloc part of the build, included by the top-level Makefile (which defines STAGE).
#
#   hbw-test   C++ tests of include/hbw_allocator.h against the staged install; part of
#              `make test` (the C tests of the hbw API are in tests/c/memkind/)

HBW_CXX ?= c++

.PHONY: hbw-test

test: hbw-test

hbw-test: stage
	CXX=$(HBW_CXX) bash tests/cxx/run.sh $(STAGE)
