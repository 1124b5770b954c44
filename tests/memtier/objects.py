"""Allocation-heavy Python workload for the libmemtier tests and benchmark.

Builds N small tuples and strings, groups them in a dict, sorts, drops half and
rebuilds different objects in their place, and prints counts and SHA-256 digests.
The output depends only on N.
    python3 objects.py [N]        (default 2000000)
"""
import hashlib
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000000

# N tuples, each holding a fresh small string and two ints; keys repeat, so the
# sort has ties that the tuple comparison breaks on the string.
items = [((i * 2654435761) % 100003, "k%x" % ((i * 40503) & 0xFFFFF), i) for i in range(n)]
items.sort()
h = hashlib.sha256()
for chunk in range(0, n, 100000):
    h.update(" ".join([t[1] for t in items[chunk:chunk + 100000]]).encode())
print("tuples", len(items), h.hexdigest())

# A dict from key to list of names: many small lists that grow (realloc).
index = {}
for key, name, i in items:
    if key in index:
        index[key].append(name)
    else:
        index[key] = [name]
print("groups", len(index), max(len(v) for v in index.values()))
del index

# Free every other tuple and build different strings in the holes.
del items[::2]
rebuilt = sorted([name + str(key) for key, name, i in items], reverse=True)
h = hashlib.sha256()
h.update("\n".join(rebuilt).encode())
print("rebuilt", len(rebuilt), h.hexdigest())
