// Threaded allocation workload for the libmemtier tests and benchmark. It only uses
// the standard library, so what it checks is the malloc family underneath it:
//
//   1. queue: producer threads build batches of containers (vector<string>,
//      map, unordered_map, over-aligned objects, a raw malloc block) and hand them
//      through a queue to consumer threads, which check, grow (realloc) and free
//      them: memory is freed by a different thread than the one that allocated it.
//   2. fork: while two threads keep allocating and freeing, the main thread forks;
//      each child allocates, sends a checksum through a pipe and exits with exit(0).
//   3. cfamily: calloc, realloc, reallocarray, posix_memalign, aligned_alloc,
//      memalign, valloc, pvalloc and malloc_usable_size, from several threads.
//
// The output depends only on the arguments; a broken invariant is reported on stderr
// and makes the exit status 1.
//     threads [BATCHES [FORKS [basic]]]        (default 600 6)
// "basic" leaves out what memkind's own libmemtier.so.0 does not replace (aligned_alloc,
// memalign, valloc, pvalloc, reallocarray, and so over-aligned new), for reference runs.

#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

std::atomic<int> failures{0};
bool basic = false;

void fail(const char *what, unsigned long long detail) {
    std::fprintf(stderr, "threads: FAILED: %s (%llu)\n", what, detail);
    failures.fetch_add(1);
}

struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
    uint64_t next() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        return s;
    }
};

uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 0x100000001B3ull; }
uint64_t mix_str(uint64_t h, const std::string &s) {
    for (unsigned char c : s) h = mix(h, c);
    return h;
}

struct alignas(64) Line {
    uint64_t v[8];
};

struct Batch {
    unsigned id = 0;
    std::vector<std::string> words;
    std::map<int, std::string> ordered;
    std::unordered_map<std::string, std::vector<int>> hashed;
    std::vector<std::unique_ptr<Line>> lines;
    unsigned char *raw = nullptr;  // malloc'd by the producer, realloc'd and freed by the consumer
    size_t raw_len = 0;
    ~Batch() { std::free(raw); }
};

std::unique_ptr<Batch> make_batch(unsigned id) {
    auto b = std::make_unique<Batch>();
    b->id = id;
    Rng r(id);
    size_t nwords = 500 + r.next() % 1500;
    for (size_t i = 0; i < nwords; i++) {
        size_t len = 1 + r.next() % (i % 50 == 0 ? 400 : 40);
        std::string w(len, 'a');
        for (auto &c : w) c = static_cast<char>('a' + r.next() % 26);
        b->words.push_back(std::move(w));
    }
    for (int i = 0; i < 400; i++)
        b->ordered[static_cast<int>(r.next() % 100000)] = b->words[r.next() % b->words.size()];
    for (int i = 0; i < 200; i++) {
        auto &v = b->hashed[b->words[r.next() % b->words.size()] + std::to_string(i % 17)];
        for (int k = 0; k < 1 + i % 30; k++) v.push_back(static_cast<int>(r.next() % 1000));
    }
    for (int i = 0; i < (basic ? 0 : 16); i++) {
        auto l = std::make_unique<Line>();
        if (reinterpret_cast<uintptr_t>(l.get()) % 64 != 0)
            fail("over-aligned new not aligned", reinterpret_cast<uintptr_t>(l.get()));
        for (int k = 0; k < 8; k++) l->v[k] = r.next();
        b->lines.push_back(std::move(l));
    }
    b->raw_len = 64 + r.next() % 20000;
    b->raw = static_cast<unsigned char *>(std::malloc(b->raw_len));
    if (!b->raw) {
        fail("malloc returned NULL", b->raw_len);
        std::exit(1);
    }
    for (size_t i = 0; i < b->raw_len; i++) b->raw[i] = static_cast<unsigned char>(id + i);
    return b;
}

uint64_t consume(Batch &b) {
    uint64_t h = 1469598103934665603ull;
    for (auto &w : b.words) h = mix_str(h, w);
    for (auto &kv : b.ordered) h = mix_str(mix(h, static_cast<uint64_t>(kv.first)), kv.second);
    uint64_t unordered = 0;  // order-independent: iteration order may differ
    for (auto &kv : b.hashed) {
        uint64_t e = mix_str(1469598103934665603ull, kv.first);
        for (int v : kv.second) e = mix(e, static_cast<uint64_t>(v));
        unordered += e;
    }
    h = mix(h, unordered);
    for (auto &l : b.lines)
        for (uint64_t v : l->v) h = mix(h, v);
    // Grow the producer's block here, then check that its contents moved with it.
    size_t old = b.raw_len;
    auto *p = static_cast<unsigned char *>(std::realloc(b.raw, old * 3));
    if (!p) {
        fail("realloc returned NULL", old * 3);
        std::exit(1);
    }
    b.raw = p;
    b.raw_len = old * 3;
    for (size_t i = 0; i < old; i++)
        if (p[i] != static_cast<unsigned char>(b.id + i)) {
            fail("realloc lost contents", i);
            break;
        }
    std::memset(p + old, 0x5A, old * 2);
    for (size_t i = 0; i < b.raw_len; i += 97) h = mix(h, p[i]);
    // Shuffle the words between containers before they all die on this thread.
    std::vector<std::string> moved(std::make_move_iterator(b.words.begin()),
                                   std::make_move_iterator(b.words.end()));
    b.words.clear();
    b.words.shrink_to_fit();
    h = mix(h, moved.size());
    return h;
}

class Queue {
   public:
    void push(std::unique_ptr<Batch> b) {
        std::lock_guard<std::mutex> g(m_);
        q_.push_back(std::move(b));
        cv_.notify_one();
    }
    // Returns nullptr once closed and empty.
    std::unique_ptr<Batch> pop() {
        std::unique_lock<std::mutex> g(m_);
        cv_.wait(g, [this] { return !q_.empty() || closed_; });
        if (q_.empty()) return nullptr;
        auto b = std::move(q_.front());
        q_.pop_front();
        return b;
    }
    void close() {
        std::lock_guard<std::mutex> g(m_);
        closed_ = true;
        cv_.notify_all();
    }

   private:
    std::mutex m_;
    std::condition_variable cv_;
    std::deque<std::unique_ptr<Batch>> q_;
    bool closed_ = false;
};

void phase_queue(unsigned batches) {
    const unsigned producers = 3, consumers = 3;
    Queue q;
    std::vector<uint64_t> sums(batches);
    std::atomic<unsigned> next{0};
    std::vector<std::thread> prod, cons;
    for (unsigned t = 0; t < producers; t++)
        prod.emplace_back([&] {
            for (unsigned id; (id = next.fetch_add(1)) < batches;) q.push(make_batch(id));
        });
    for (unsigned t = 0; t < consumers; t++)
        cons.emplace_back([&] {
            while (auto b = q.pop()) sums[b->id] = consume(*b);
        });
    for (auto &t : prod) t.join();
    q.close();
    for (auto &t : cons) t.join();
    uint64_t h = 0;
    for (unsigned i = 0; i < batches; i++) {
        h = mix(h, sums[i]);
        if (i % 100 == 99 || i == batches - 1) std::printf("queue %u %016llx\n", i + 1, static_cast<unsigned long long>(h));
    }
}

uint64_t child_work(unsigned k) {
    std::map<int, std::string> m;
    Rng r(1000 + k);
    for (int i = 0; i < 50000; i++) m[static_cast<int>(r.next() % 1000000)] = std::string(1 + r.next() % 60, 'x');
    std::vector<std::vector<int>> vv;
    for (int i = 0; i < 2000; i++) vv.emplace_back(static_cast<size_t>(1 + i % 100), i);
    uint64_t h = 1469598103934665603ull;
    for (auto &kv : m) h = mix(mix(h, static_cast<uint64_t>(kv.first)), kv.second.size());
    for (auto &v : vv) h = mix(h, v.size() + static_cast<uint64_t>(v.back()));
    return h;
}

void phase_fork(unsigned forks) {
    std::atomic<bool> stop{false};
    std::vector<std::thread> churn;
    for (int t = 0; t < 2; t++)
        churn.emplace_back([&stop, t] {
            Rng r(77 + static_cast<uint64_t>(t));
            std::vector<std::string> keep(256);
            std::map<uint64_t, std::vector<char>> m;
            while (!stop.load(std::memory_order_relaxed)) {
                keep[r.next() % keep.size()] = std::string(r.next() % 3000, 'c');
                m[r.next() % 512].assign(r.next() % 5000, 'm');
            }
        });
    for (unsigned k = 0; k < forks; k++) {
        int fd[2];
        if (pipe(fd) != 0) {
            fail("pipe", k);
            break;
        }
        std::fflush(nullptr);
        pid_t pid = fork();
        if (pid < 0) {
            fail("fork", k);
            break;
        }
        if (pid == 0) {
            close(fd[0]);
            uint64_t h = child_work(k);
            if (write(fd[1], &h, sizeof h) != static_cast<ssize_t>(sizeof h)) std::_Exit(3);
            close(fd[1]);
            std::exit(failures.load() ? 1 : 0);  // the normal exit path, atexit handlers included
        }
        close(fd[1]);
        uint64_t h = 0;
        ssize_t got = -1;
        // A child that deadlocks (an allocator lock inherited from a parent thread) is
        // killed after 30 s instead of leaving the churn threads spinning until the
        // runner's timeout.
        struct pollfd pfd = {fd[0], POLLIN, 0};
        if (poll(&pfd, 1, 30000) == 1)
            got = read(fd[0], &h, sizeof h);
        else {
            fail("child hung for 30 s after fork, killed it", k);
            kill(pid, SIGKILL);
        }
        close(fd[0]);
        int status = 0;
        if (waitpid(pid, &status, 0) != pid) fail("waitpid", k);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail("child did not exit cleanly, status", static_cast<unsigned>(status));
        if (got != static_cast<ssize_t>(sizeof h)) fail("short read from child", k);
        std::printf("fork %u %016llx\n", k, static_cast<unsigned long long>(h));
    }
    stop = true;
    for (auto &t : churn) t.join();
}

uint64_t cfamily_thread(unsigned t) {
    Rng r(500 + t);
    uint64_t h = 0;
    long page = sysconf(_SC_PAGESIZE);
    for (int round = 0; round < 300; round++) {
        size_t n = 1 + r.next() % 5000;
        auto *z = static_cast<unsigned char *>(std::calloc(n, 3));
        if (!z) fail("calloc NULL", n);
        for (size_t i = 0; z && i < n * 3; i++)
            if (z[i]) {
                fail("calloc not zeroed", i);
                break;
            }
        if (z && malloc_usable_size(z) < n * 3) fail("malloc_usable_size < calloc size", n * 3);
        auto *a = static_cast<unsigned char *>(std::malloc(n));
        if (!a) fail("malloc NULL", n);
        for (size_t i = 0; a && i < n; i++) a[i] = static_cast<unsigned char>(i * 7 + t);
        size_t m = (round % 2) ? n / 3 + 1 : n * 4 + 100;  // shrink or grow
        auto *b = static_cast<unsigned char *>(std::realloc(a, m));
        if (!b) fail("realloc NULL", m);
        for (size_t i = 0; b && i < (m < n ? m : n); i++)
            if (b[i] != static_cast<unsigned char>(i * 7 + t)) {
                fail("realloc lost contents", i);
                break;
            }
        if (b && malloc_usable_size(b) < m) fail("malloc_usable_size < realloc size", m);
        h = mix(mix(h, n), m);
        std::free(z);
        std::free(b);
        if (basic) continue;
        auto *ra = static_cast<uint64_t *>(reallocarray(nullptr, n, sizeof(uint64_t)));
        if (!ra) fail("reallocarray NULL", n);
        volatile size_t huge = SIZE_MAX / 2;  // volatile: keep gcc from rejecting the constant
        void *big = reallocarray(nullptr, huge, 4);
        if (big) fail("reallocarray did not detect overflow", 0);
        size_t align = size_t{16} << (r.next() % 9);  // 16 .. 4096
        void *pm = nullptr;
        if (posix_memalign(&pm, align, n) != 0 || !pm) fail("posix_memalign", align);
        if (reinterpret_cast<uintptr_t>(pm) % align) fail("posix_memalign misaligned", align);
        void *bad = nullptr;
        if (posix_memalign(&bad, 24, n) != EINVAL) fail("posix_memalign(24) not EINVAL", 0);
        void *al = aligned_alloc(align, align * (1 + n / align));
        if (!al || reinterpret_cast<uintptr_t>(al) % align) fail("aligned_alloc", align);
        void *me = memalign(align, n);
        if (!me || reinterpret_cast<uintptr_t>(me) % align) fail("memalign", align);
        void *va = valloc(n);
        if (!va || reinterpret_cast<uintptr_t>(va) % static_cast<size_t>(page)) fail("valloc", n);
        void *pv = pvalloc(n);
        if (!pv || reinterpret_cast<uintptr_t>(pv) % static_cast<size_t>(page)) fail("pvalloc", n);
        if (pv && malloc_usable_size(pv) < static_cast<size_t>(page)) fail("pvalloc size not a page", n);
        for (void *p : {pm, al, me, va, pv})
            if (p) std::memset(p, 0x33, n);
        std::free(ra);
        std::free(pm);
        std::free(al);
        std::free(me);
        std::free(va);
        std::free(pv);
        std::free(nullptr);
    }
    return h;
}

void phase_cfamily() {
    std::vector<uint64_t> res(4);
    std::vector<std::thread> ts;
    for (unsigned t = 0; t < res.size(); t++) ts.emplace_back([&res, t] { res[t] = cfamily_thread(t); });
    for (auto &t : ts) t.join();
    uint64_t h = 0;
    for (auto v : res) h = mix(h, v);
    std::printf("cfamily %016llx\n", static_cast<unsigned long long>(h));
}

}  // namespace

int main(int argc, char **argv) {
    unsigned batches = argc > 1 ? static_cast<unsigned>(std::strtoul(argv[1], nullptr, 10)) : 600;
    unsigned forks = argc > 2 ? static_cast<unsigned>(std::strtoul(argv[2], nullptr, 10)) : 6;
    basic = argc > 3 && std::strcmp(argv[3], "basic") == 0;
    phase_queue(batches);
    phase_fork(forks);
    phase_cfamily();
    if (failures.load()) {
        std::fprintf(stderr, "threads: %d failures\n", failures.load());
        return 1;
    }
    std::printf("threads: done\n");
    return 0;
}
