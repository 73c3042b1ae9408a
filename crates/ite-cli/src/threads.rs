//! The tensor backend's thread count: candle's CPU kernels read `RAYON_NUM_THREADS` lazily, so
//! a command sets it before it starts any thread.

/// When to override a `RAYON_NUM_THREADS` the user already set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Override {
    /// Keep the user's value (the flag is a default).
    KeepUsers,
    /// Always use the given count (the flag is what is measured and reported).
    Always,
}

/// Sets the backend's thread count to `n` ([`ite_nets::set_backend_threads`]). Must run
/// before the program starts any thread (the backend's pools are created lazily on first use,
/// and the commands' own pools later).
pub fn set_backend_threads(n: usize, mode: Override) {
    if mode == Override::KeepUsers && std::env::var_os("RAYON_NUM_THREADS").is_some() {
        return;
    }
    ite_nets::set_backend_threads(n);
}
