//! The process heap under glibc: freed memory stays in malloc's arenas (one per thread up
//! to 8 per core) unless given back. blend's steps stream batches through many threads, so
//! without this a long run's resident size grows with the corpus although what it holds does
//! not (measured on 60,000 documents with a 32 MiB budget, the run's maximum RSS: 361 MiB
//! with glibc's default arenas, 219 MiB with one per core). Elsewhere these are no-ops.

/// Gives freed heap back to the system, so the resident size falls to what is in use.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn release_free_heap() {
    // SAFETY: malloc_trim takes no pointers and only returns unused arena pages to the
    // kernel; it may be called at any time from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Caps malloc's arenas at one per core; call first thing in `main`, before threads start.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn limit_arenas() {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let arenas = libc::c_int::try_from(cores.max(2)).unwrap_or(libc::c_int::MAX);
    // SAFETY: mallopt only changes a malloc tuning value; M_ARENA_MAX takes any positive
    // count and applies to arenas created after the call.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, arenas);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_free_heap() {}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn limit_arenas() {}
