//! Keeps freed tensor memory in the process during proxy training and MiniLM embedding. candle
//! allocates every intermediate tensor afresh and frees it at the end of the step; glibc serves blocks above
//! its mmap threshold (128 KiB, rising to at most 32 MiB) with `mmap` and unmaps them on
//! free, so each step faults and zeroes its activations' pages again. Measured on the
//! `tiny` preset (vocab 4096, 2048 tokens a step, 2 threads): 452 → 344 ms per step with the
//! thresholds raised. Other platforms keep their allocator's defaults.
//!
//! Only glibc's main arena honours the mmap threshold: a worker thread's arena (proxies
//! train on worker threads) still maps every block above 64 MiB afresh and unmaps it on
//! free. That is one reason the proxy never materializes its logits, 64 MiB at regmix-1m's
//! batch (`blend_proxy_train::fused::linear_cross_entropy`; 25% of a step went to page
//! faults before).

use std::sync::Once;

/// Raises glibc's mmap threshold to 1 GiB and its trim threshold to 4 GiB, once per
/// process. Memory freed by a step stays mapped for the next (peak RSS, not extra RSS).
pub fn keep_freed_memory_for_tensors() {
    static TUNED: Once = Once::new();
    TUNED.call_once(|| {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        tune_glibc();
    });
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn tune_glibc() {
    const MMAP_THRESHOLD: libc::c_int = 1 << 30;
    const TRIM_THRESHOLD: libc::c_int = libc::c_int::MAX;
    // SAFETY: mallopt only sets allocator parameters; it takes plain integers, touches no
    // memory of ours, and is thread-safe in glibc (it takes the arena locks).
    let applied = unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
            && libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    };
    if !applied {
        // glibc refused the settings: its defaults stay, which is only slower.
    }
}
