"""Descriptor-sensitive Python workload for the libmemtier tests.

Programs (and CPython's own test_subprocess) expect the lowest free descriptor
after start-up to be 3 and a child to inherit exactly what it was given. After
allocating enough to use every tier, this opens files and pipes and checks
their numbers, passes descriptors to children with pass_fds and with
close_fds=False, and prints what each child saw. The output must match a plain
run. An interposed child holds its own descriptors (its tier file, the copy of
stderr its statistics go to), kept at half the soft descriptor limit (at most
512) and close-on-exec: listings leave out that range and unlinked files, which
a plain run never has.
"""
import os
import subprocess
import sys

data = [bytes(range(i % 256)) * 4 for i in range(200000)]
fd = os.open("/dev/null", os.O_RDONLY)
print("first free descriptor:", fd)
r, w = os.pipe()
print("pipe:", r, w)


LIST = """import os, resource
floor = min(resource.getrlimit(resource.RLIMIT_NOFILE)[0] // 2, 512)
def own(f):
    if int(f) >= floor:
        return True
    try:
        return os.readlink('/proc/self/fd/' + f).endswith(' (deleted)')
    except OSError:
        return False
print(sorted(int(f) for f in os.listdir('/proc/self/fd') if not own(f)))"""


def child_fds(**kw):
    out = subprocess.run(
        [sys.executable, "-c", LIST],
        capture_output=True, text=True, check=True, **kw).stdout.strip()
    return out


# pass_fds: the child sees 0-2, the passed descriptors and the one listdir opens.
os.dup2(r, 10)
os.set_inheritable(10, True)
print("pass_fds=(10,):", child_fds(pass_fds=(10,)))
print("close_fds=True:", child_fds())
os.set_inheritable(fd, True)
print("close_fds=False, fd inheritable:", child_fds(close_fds=False))
# The descriptors the interposer holds are its own: none shows as inheritable.
mine = sorted(int(f) for f in os.listdir("/proc/self/fd"))
inheritable = [f for f in mine if f > 2 and f not in (fd, r, w, 10)
               and os.path.exists("/proc/self/fd/%d" % f) and os.get_inheritable(f)]
print("other inheritable descriptors:", inheritable)
print("objects:", len(data), sum(len(d) for d in data))
