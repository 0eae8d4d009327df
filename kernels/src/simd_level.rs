//! Which vector instruction set the hand-vectorized loops (MinHash signatures, the proxy's
//! exp and softmax rows) are compiled for, detected once per process: AVX-512, AVX2 or
//! portable code. `BLEND_SIMD=portable` forces the portable reference.

use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimdLevel {
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    Portable,
}

/// The best level this CPU supports (AVX-512 means F, DQ and VL).
pub fn simd_level() -> SimdLevel {
    static LEVEL: OnceLock<SimdLevel> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        if std::env::var("BLEND_SIMD").is_ok_and(|v| v == "portable") {
            return SimdLevel::Portable;
        }
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512dq")
                && is_x86_feature_detected!("avx512vl")
            {
                return SimdLevel::Avx512;
            }
            if is_x86_feature_detected!("avx2") {
                return SimdLevel::Avx2;
            }
        }
        SimdLevel::Portable
    })
}

/// The name of the detected level, for logs and benchmarks.
pub fn simd_name() -> &'static str {
    match simd_level() {
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512 => "avx512",
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2 => "avx2",
        SimdLevel::Portable => "portable",
    }
}
