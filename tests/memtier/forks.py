"""Fork-heavy Python workload for the libmemtier tests.

Builds N objects, then forks 50 children one after another: each checks a
digest of the parent's objects, changes some of them, forks a grandchild that
checks the child's view, and reports through a pipe. The parent then checks its
own objects are untouched, and runs 200 short-lived shell commands two at a time
through xargs. The output depends only on N.
    python3 forks.py [N]        (default 1000000)
"""
import hashlib
import os
import subprocess
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
objs = [("v%d" % i, i * 3) for i in range(n)]


def digest(items):
    h = hashlib.sha256()
    for chunk in range(0, len(items), 50000):
        h.update("".join(s for s, _ in items[chunk:chunk + 50000]).encode())
    return h.hexdigest()


base = digest(objs)
print("objects", n, base)
ok = 0
for k in range(50):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        seen = digest(objs) == base
        for i in range(k, n, 97):
            objs[i] = ("c%d" % i, -i)
        mine = digest(objs)
        gpid = os.fork()
        if gpid == 0:
            os._exit(0 if digest(objs) == mine else 1)
        _, st = os.waitpid(gpid, 0)
        os.write(w, b"1" if seen and st == 0 else b"0")
        os._exit(0)
    os.close(w)
    got = os.read(r, 1)
    os.close(r)
    os.waitpid(pid, 0)
    ok += got == b"1"
print("children that saw the parent's objects and kept their own:", ok)
print("parent unchanged:", digest(objs) == base)
out = subprocess.run(
    "seq 1 200 | xargs -P2 -n1 sh -c 'echo $(( $0 * 7 ))' | sort -n | sha256sum",
    shell=True, capture_output=True, text=True, check=True).stdout.split()[0]
print("xargs -P2 of 200 processes:", out)
