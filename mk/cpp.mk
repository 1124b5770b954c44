# C++ allocator headers (pmem_allocator.h, memkind_allocator.h, fixed_allocator.h),
# included by the top-level Makefile, which installs them and defines STAGE.
#
#   cpp-test      C++ programs of tests/cpp/ against the staged install
#   cpp-test-ref  the same programs against the system's memkind (validates them)

.PHONY: cpp-test cpp-test-ref

cpp-test: stage
	bash tests/cpp/run.sh $(STAGE)

cpp-test-ref:
	bash tests/cpp/run.sh --reference

test: cpp-test
