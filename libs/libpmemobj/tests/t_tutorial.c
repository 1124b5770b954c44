/*
 * The programs of the pmemobj tutorial, part 5 (atomic allocation): a rectangle made
 * with POBJ_NEW and a constructor, read back with D_RO, listed with POBJ_FIRST/POBJ_NEXT
 * and POBJ_FOREACH_TYPE, and everything freed with POBJ_FOREACH_SAFE_TYPE. The tutorial's
 * lines are used as written; the checks around them verify what they did, including after
 * the pool is closed and reopened.
 */
#include <libpmemobj.h>
#include <stdio.h>
#include <string.h>
#include "../../../tests/harness/check.h"

POBJ_LAYOUT_BEGIN(rect_calc);
POBJ_LAYOUT_ROOT(rect_calc, struct my_root);
POBJ_LAYOUT_TOID(rect_calc, struct rectangle);
POBJ_LAYOUT_END(rect_calc);

struct rectangle {
	int x;
	int y;
};

struct my_root {
	TOID(struct rectangle) rect;
};

/*
 * The tutorial calls perimeter_calc both with a typed id (D_RO(root)->rect) and with a
 * direct pointer (D_RO(iter)); one name serves both spellings.
 */
static int perimeter_of(const struct rectangle *r)
{
	return 2 * (r->x + r->y);
}

static int perimeter_of_id(TOID(struct rectangle) rect)
{
	return perimeter_of(D_RO(rect));
}

#define perimeter_calc(x) _Generic((x), \
	TOID(struct rectangle): perimeter_of_id, \
	default: perimeter_of)(x)

int rect_construct(PMEMobjpool *pop, void *ptr, void *arg) {
	struct rectangle *rect = ptr;
	rect->x = 5;
	rect->y = 10;
	pmemobj_persist(pop, rect, sizeof *rect);

	return 0;
}

static int constructed_with_arg(PMEMobjpool *pop, void *ptr, void *arg)
{
	struct rectangle *rect = ptr;
	rect->x = *(int *)arg;
	rect->y = 1;
	pmemobj_persist(pop, rect, sizeof *rect);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		printf("usage: %s pool-file\n", argv[0]);
		return 2;
	}
	const char *path = argv[1];
	remove(path);
	PMEMobjpool *pop = pmemobj_create(path, POBJ_LAYOUT_NAME(rect_calc),
		PMEMOBJ_MIN_POOL, 0666);
	REQUIRE(pop != NULL);
	TOID(struct my_root) root = POBJ_ROOT(pop, struct my_root);
	REQUIRE(!TOID_IS_NULL(root));
	CHECK_EQ(POBJ_LAYOUT_TYPES_NUM(rect_calc), 1);
	CHECK_EQ(TOID_TYPE_NUM(struct rectangle), 1);

	STEP("POBJ_NEW with a constructor, as in the tutorial");
	POBJ_NEW(pop, &D_RW(root)->rect, struct rectangle, rect_construct, NULL);
	REQUIRE(!TOID_IS_NULL(D_RO(root)->rect));
	int p = perimeter_calc(D_RO(root)->rect);
	CHECK_EQ(p, 30);
	CHECK_EQ(pmemobj_type_num(D_RO(root)->rect.oid), 1);
	CHECK(TOID_VALID(D_RO(root)->rect));
	/* busy work */
	POBJ_FREE(&D_RW(root)->rect);
	CHECK(TOID_IS_NULL(D_RO(root)->rect));

	STEP("internal collection: POBJ_FIRST / POBJ_NEXT");
	POBJ_NEW(pop, &D_RW(root)->rect, struct rectangle, rect_construct, NULL);
	TOID(struct rectangle) rect = POBJ_FIRST(pop, struct rectangle);
	CHECK(TOID_EQUALS(rect, D_RO(root)->rect));
	int vals[] = {1, 2, 3, 4};
	for (int i = 0; i < 4; i++) {
		TOID(struct rectangle) tmp;
		CHECK_EQ(POBJ_NEW(pop, &tmp, struct rectangle, constructed_with_arg, &vals[i]), 0);
	}
	/* the destination may be NULL: the object is only reachable through the collection */
	CHECK_EQ(POBJ_NEW(pop, NULL, struct rectangle, rect_construct, NULL), 0);
	int n = 1;
	rect = POBJ_FIRST(pop, struct rectangle);
	while (!TOID_IS_NULL(rect = POBJ_NEXT(rect, struct rectangle)))
		n++;
	CHECK_EQ(n, 6);
	rect = POBJ_FIRST(pop, struct rectangle);
	rect = POBJ_NEXT(rect);
	CHECK(!TOID_IS_NULL(rect));

	STEP("POBJ_FOREACH_TYPE");
	TOID(struct rectangle) iter;
	int sum = 0, count = 0;
	POBJ_FOREACH_TYPE(pop, iter) {
		int p = perimeter_calc(D_RO(iter));
		printf("Perimeter of rectangle = %d\n", p);
		sum += p;
		count++;
	}
	CHECK_EQ(count, 6);
	CHECK_EQ(sum, 30 + 30 + 2 * (1 + 1) + 2 * (2 + 1) + 2 * (3 + 1) + 2 * (4 + 1));

	STEP("reopen: the collection is persistent");
	pmemobj_close(pop);
	pop = pmemobj_open(path, POBJ_LAYOUT_NAME(rect_calc));
	REQUIRE(pop != NULL);
	root = POBJ_ROOT(pop, struct my_root);
	CHECK_EQ(perimeter_calc(D_RO(root)->rect), 30);
	count = 0;
	POBJ_FOREACH_TYPE(pop, iter)
		count++;
	CHECK_EQ(count, 6);

	STEP("free everything with the SAFE form");
	TOID(struct rectangle) next;
	POBJ_FOREACH_SAFE_TYPE(pop, iter, next) {
		POBJ_FREE(&iter);
	}
	/* the root's id still holds the freed offset: clear it the way the program would */
	D_RW(root)->rect = TOID_NULL(struct rectangle);
	pmemobj_persist(pop, &D_RW(root)->rect, sizeof(D_RW(root)->rect));
	count = 0;
	PMEMoid o;
	POBJ_FOREACH(pop, o)
		count++;
	CHECK_EQ(count, 0);
	CHECK(TOID_IS_NULL(POBJ_FIRST(pop, struct rectangle)));
	pmemobj_close(pop);
	CHECK_EQ(pmemobj_check(path, POBJ_LAYOUT_NAME(rect_calc)), 1);
	remove(path);
	return finish();
}
