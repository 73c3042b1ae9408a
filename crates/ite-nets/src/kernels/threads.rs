//! The tensor backend's thread count: candle's CPU matrix products read `RAYON_NUM_THREADS`
//! at every call, and there is no other way to set it than the environment.

/// Sets `RAYON_NUM_THREADS` to `n`, the thread count of candle's CPU matrix products (the
/// crate's fused kernels are single-threaded whatever it says). Results do not depend on it;
/// speed does: one thread per fit is fastest for small networks, with parallelism across fits.
///
/// Call it at the start of `main`, before the program starts any thread: setting the
/// environment while another thread reads it is undefined behaviour on most platforms, which is
/// why `std::env::set_var` is `unsafe` in edition 2024. This is the workspace's one place that
/// does it.
#[allow(unsafe_code)]
pub fn set_backend_threads(n: usize) {
    // SAFETY: documented precondition — the caller has not started any other thread, so no
    // thread reads the environment concurrently.
    unsafe { std::env::set_var("RAYON_NUM_THREADS", n.to_string()) };
}
