//! Chooses, once per process, how to flush caches and how to copy: the best flush
//! instruction the CPU has (CLWB, else CLFLUSHOPT, else CLFLUSH), the widest vector unit for
//! non-temporal stores (AVX-512, AVX2, SSE2), and the size from which non-temporal stores
//! pay off. libpmem's environment variables override each choice.

use once_cell::sync::Lazy;
use std::arch::x86_64::__cpuid_count;

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

/// True when environment variable `name` is set to exactly `value`.
fn env_is(name: &str, value: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| v == value)
}

fn detect() -> Config {
    // CPUID leaf 7 reads as zeros (no feature) on CPUs that lack it.
    let leaf7 = __cpuid_count(7, 0);
    let has_clflushopt = leaf7.ebx & (1 << 23) != 0;
    let has_clwb = leaf7.ebx & (1 << 24) != 0;

    let flush = if has_clwb && !env_is("PMEM_NO_CLWB", "1") {
        Flush::Clwb
    } else if has_clflushopt && !env_is("PMEM_NO_CLFLUSHOPT", "1") {
        Flush::ClflushOpt
    } else {
        Flush::Clflush
    };

    // AVX-512 and AVX need OS support for the wider registers, which the std macro checks.
    let simd = if std::is_x86_feature_detected!("avx512f") && !env_is("PMEM_AVX512F", "0") {
        Simd::Avx512
    } else if std::is_x86_feature_detected!("avx2") && !env_is("PMEM_AVX", "0") {
        Simd::Avx2
    } else {
        Simd::Sse2
    };

    let auto_flush = super::map::auto_flush();
    let skip_flush = if env_is("PMEM_NO_FLUSH", "1") {
        true
    } else if env_is("PMEM_NO_FLUSH", "0") {
        false
    } else {
        auto_flush == 1
    };

    let movnt = !env_is("PMEM_NO_MOVNT", "1");
    let defaults = (DEFAULT_MOVNT_THRESHOLD, DEFAULT_MOVNT_THRESHOLD_NODRAIN);
    // The variable sets one threshold for both kinds of call, as libpmem has only one.
    let (movnt_threshold, movnt_threshold_nodrain) = match std::env::var("PMEM_MOVNT_THRESHOLD") {
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(n) => (n, n),
            Err(_) => {
                super::log::log(
                    1,
                    format_args!("invalid PMEM_MOVNT_THRESHOLD \"{v}\" ignored"),
                );
                defaults
            }
        },
        Err(_) => defaults,
    };

    let cfg = Config {
        flush,
        skip_flush,
        movnt,
        movnt_threshold,
        movnt_threshold_nodrain,
        simd,
        auto_flush,
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse2_is_the_floor() {
        // Every x86-64 CPU has SSE2 and CLFLUSH, so detection always yields a usable choice.
        let c = config();
        assert!(matches!(c.simd, Simd::Avx512 | Simd::Avx2 | Simd::Sse2));
        assert!(c.auto_flush >= -1 && c.auto_flush <= 1);
    }
}
