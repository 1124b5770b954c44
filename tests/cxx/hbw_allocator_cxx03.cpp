// hbw_allocator.h must stay usable from C++03 (as memkind documents): compile-only check.
#include <hbw_allocator.h>

#include <vector>

int main()
{
    std::vector<int, hbw::allocator<int> > v(10, 1);
    hbw::allocator<int> a;
    return a == v.get_allocator() ? 0 : 1;
}
