//! Chooses, once per process, how to flush caches and how to copy: the best flush
//! instruction the CPU has (CLWB, else CLFLUSHOPT, else CLFLUSH), the widest vector unit for
//! non-temporal stores (AVX-512, AVX2, SSE2), and the size from which non-temporal stores
//! pay off. libpmem's environment variables override each choice.

use once_cell::sync::Lazy;
use std::arch::x86_64::__cpuid_count;
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

/// Cache-line flush instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flush {
    Clwb,
    ClflushOpt,
    Clflush,
}

/// Vector unit used for non-temporal copies and fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Simd {
    Avx512,
    Avx2,
    Sse2,
}

/// Below this length a copy that drains at once is faster with ordinary stores plus CLWB:
/// one write-back of a few lines has less latency than a drained write-combining buffer.
pub const DEFAULT_MOVNT_THRESHOLD: usize = 256;

/// Without the drain (`PMEM_F_MEM_NODRAIN`, `*_nodrain`) callers batch several copies
/// behind one `pmem_drain`. Streaming stores then pay one drain for the whole batch while
/// CLWBs add up, so from this length on a copy that joins a batch already in progress
/// streams (see `copy.rs`; measured: 1.7x faster for eight 64-byte copies per drain).
pub const DEFAULT_MOVNT_THRESHOLD_NODRAIN: usize = 64;

#[derive(Debug)]
pub struct Config {
    /// Instruction for every flush, including `pmem_deep_flush`.
    pub flush: Flush,
    /// Ordinary flushes are skipped: the platform flushes caches on power loss, or
    /// `PMEM_NO_FLUSH=1`. `pmem_deep_flush` still flushes.
    pub skip_flush: bool,
    /// Non-temporal stores allowed at all (`PMEM_NO_MOVNT=1` forbids them).
    pub movnt: bool,
    /// Copies and fills of at least this many bytes use non-temporal stores...
    pub movnt_threshold: usize,
    /// ...or of at least this many when the caller drains later.
    pub movnt_threshold_nodrain: usize,
    pub simd: Simd,
    /// `pmem_has_auto_flush()`: 1, 0, or -1 when sysfs could not be read.
    pub auto_flush: i32,
}

static CONFIG: Lazy<Config> = Lazy::new(detect);

/// The process-wide choice; computed on first use.
#[inline(always)]
pub fn config() -> &'static Config {
    &CONFIG
}

/// The CPU facts the choice rests on.
#[derive(Clone, Copy, Debug)]
struct Features {
    clflushopt: bool,
    clwb: bool,
    avx2: bool,
    avx512f: bool,
}

impl Features {
    fn detect() -> Self {
        // CPUID leaf 7 reads as zeros (no feature) on CPUs that lack it.
        let leaf7 = __cpuid_count(7, 0);
        Features {
            clflushopt: leaf7.ebx & (1 << 23) != 0,
            clwb: leaf7.ebx & (1 << 24) != 0,
            // AVX-512 and AVX need OS support for the wider registers, which the std
            // macro checks.
            avx2: std::is_x86_feature_detected!("avx2"),
            avx512f: std::is_x86_feature_detected!("avx512f"),
        }
    }
}

fn detect() -> Config {
    let cfg = choose(
        Features::detect(),
        |name| std::env::var_os(name),
        super::map::auto_flush(),
    );
    super::log::log(
        3,
        format_args!(
            "flush={:?} skip_flush={} movnt={} movnt_threshold={} movnt_threshold_nodrain={} \
             simd={:?} auto_flush={}",
            cfg.flush,
            cfg.skip_flush,
            cfg.movnt,
            cfg.movnt_threshold,
            cfg.movnt_threshold_nodrain,
            cfg.simd,
            cfg.auto_flush
        ),
    );
    cfg
}

/// The configuration for CPU `f`, environment `env` and auto-flush answer `auto_flush`.
fn choose(f: Features, env: impl Fn(&str) -> Option<OsString>, auto_flush: i32) -> Config {
    let is = |name: &str, value: &str| env(name).is_some_and(|v| v == value);

    let flush = if f.clwb && !is("PMEM_NO_CLWB", "1") {
        Flush::Clwb
    } else if f.clflushopt && !is("PMEM_NO_CLFLUSHOPT", "1") {
        Flush::ClflushOpt
    } else {
        Flush::Clflush
    };

    let simd = if f.avx512f && !is("PMEM_AVX512F", "0") {
        Simd::Avx512
    } else if f.avx2 && !is("PMEM_AVX", "0") {
        Simd::Avx2
    } else {
        Simd::Sse2
    };

    let skip_flush = if is("PMEM_NO_FLUSH", "1") {
        true
    } else if is("PMEM_NO_FLUSH", "0") {
        false
    } else {
        auto_flush == 1
    };

    let movnt = !is("PMEM_NO_MOVNT", "1");
    let defaults = (DEFAULT_MOVNT_THRESHOLD, DEFAULT_MOVNT_THRESHOLD_NODRAIN);
    // The variable sets one threshold for both kinds of call, as libpmem has only one.
    // libpmem reads it with atoll and ignores negative values.
    let (movnt_threshold, movnt_threshold_nodrain) = match env("PMEM_MOVNT_THRESHOLD") {
        Some(v) => match usize::try_from(super::atoi(v.as_bytes())) {
            Ok(n) => (n, n),
            Err(_) => {
                super::log::log(
                    1,
                    format_args!(
                        "invalid PMEM_MOVNT_THRESHOLD \"{}\" ignored",
                        v.to_string_lossy()
                    ),
                );
                defaults
            }
        },
        None => defaults,
    };

    Config {
        flush,
        skip_flush,
        movnt,
        movnt_threshold,
        movnt_threshold_nodrain,
        simd,
        auto_flush,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: Features = Features {
        clflushopt: true,
        clwb: true,
        avx2: true,
        avx512f: true,
    };

    fn with(f: Features, vars: &[(&str, &str)], auto_flush: i32) -> Config {
        let vars: Vec<(String, OsString)> = vars
            .iter()
            .map(|&(k, v)| (k.to_owned(), OsString::from(v)))
            .collect();
        choose(
            f,
            |name| {
                vars.iter()
                    .find(|(k, _)| k.as_str() == name)
                    .map(|(_, v)| v.clone())
            },
            auto_flush,
        )
    }

    #[test]
    fn best_instructions_without_variables() {
        let c = with(ALL, &[], 0);
        assert_eq!(c.flush, Flush::Clwb);
        assert_eq!(c.simd, Simd::Avx512);
        assert!(!c.skip_flush && c.movnt);
        assert_eq!(c.movnt_threshold, DEFAULT_MOVNT_THRESHOLD);
        assert_eq!(c.movnt_threshold_nodrain, DEFAULT_MOVNT_THRESHOLD_NODRAIN);
        let old = Features {
            clflushopt: false,
            clwb: false,
            avx2: false,
            avx512f: false,
        };
        let c = with(old, &[], 0);
        assert_eq!((c.flush, c.simd), (Flush::Clflush, Simd::Sse2));
        let c = with(
            Features {
                clwb: false,
                avx512f: false,
                ..ALL
            },
            &[],
            0,
        );
        assert_eq!((c.flush, c.simd), (Flush::ClflushOpt, Simd::Avx2));
    }

    #[test]
    fn variables_step_down_one_choice_at_a_time() {
        assert_eq!(
            with(ALL, &[("PMEM_NO_CLWB", "1")], 0).flush,
            Flush::ClflushOpt
        );
        let both = [("PMEM_NO_CLWB", "1"), ("PMEM_NO_CLFLUSHOPT", "1")];
        assert_eq!(with(ALL, &both, 0).flush, Flush::Clflush);
        // Only the exact value counts, as in libpmem (strcmp).
        assert_eq!(with(ALL, &[("PMEM_NO_CLWB", "yes")], 0).flush, Flush::Clwb);
        assert_eq!(with(ALL, &[("PMEM_AVX512F", "0")], 0).simd, Simd::Avx2);
        let both = [("PMEM_AVX512F", "0"), ("PMEM_AVX", "0")];
        assert_eq!(with(ALL, &both, 0).simd, Simd::Sse2);
        assert!(!with(ALL, &[("PMEM_NO_MOVNT", "1")], 0).movnt);
        assert!(with(ALL, &[("PMEM_NO_MOVNT", "0")], 0).movnt);
    }

    #[test]
    fn flush_skipping_follows_auto_flush_unless_forced() {
        assert!(with(ALL, &[], 1).skip_flush);
        assert!(!with(ALL, &[], -1).skip_flush);
        assert!(!with(ALL, &[("PMEM_NO_FLUSH", "0")], 1).skip_flush);
        assert!(with(ALL, &[("PMEM_NO_FLUSH", "1")], 0).skip_flush);
        assert_eq!(with(ALL, &[], -1).auto_flush, -1);
    }

    #[test]
    fn movnt_threshold_reads_like_atoll() {
        let t = |v: &str| {
            let c = with(ALL, &[("PMEM_MOVNT_THRESHOLD", v)], 0);
            (c.movnt_threshold, c.movnt_threshold_nodrain)
        };
        assert_eq!(t("1000"), (1000, 1000));
        assert_eq!(t(" 77kb"), (77, 77));
        assert_eq!(t("0"), (0, 0));
        assert_eq!(t("abc"), (0, 0));
        let d = (DEFAULT_MOVNT_THRESHOLD, DEFAULT_MOVNT_THRESHOLD_NODRAIN);
        assert_eq!(t("-5"), d, "negative values are ignored");
    }

    #[test]
    fn this_cpu_has_what_was_chosen() {
        // Whatever the environment, the process-wide choice never names an instruction
        // this CPU lacks (which would crash with SIGILL on first use).
        let leaf7 = __cpuid_count(7, 0);
        let c = config();
        match c.flush {
            Flush::Clwb => assert_ne!(leaf7.ebx & (1 << 24), 0),
            Flush::ClflushOpt => assert_ne!(leaf7.ebx & (1 << 23), 0),
            Flush::Clflush => assert_ne!(__cpuid_count(1, 0).edx & (1 << 19), 0),
        }
        match c.simd {
            Simd::Avx512 => assert!(std::is_x86_feature_detected!("avx512f")),
            Simd::Avx2 => assert!(std::is_x86_feature_detected!("avx2")),
            Simd::Sse2 => assert!(std::is_x86_feature_detected!("sse2")),
        }
        assert!((-1..=1).contains(&c.auto_flush));
    }
}
