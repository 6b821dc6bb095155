//! `blast target` serves until SIGINT or SIGTERM. The two signals are
//! blocked before any server thread exists (threads inherit the mask) and
//! taken with `sigwait`, so they stop the server cleanly, with its totals
//! printed, instead of killing the process. The unsafe libc calls live here.

use std::io;

/// Blocks SIGINT and SIGTERM in the calling thread (threads spawned later
/// inherit the mask), returning the blocked set and the previous mask.
pub(super) fn block_term_signals() -> io::Result<(libc::sigset_t, libc::sigset_t)> {
    // SAFETY: the sigset_t values are initialised by sigemptyset /
    // pthread_sigmask before use, and all pointers are to live locals.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        Ok((set, old))
    }
}

pub(super) fn wait_for_signal(set: &libc::sigset_t) -> io::Result<libc::c_int> {
    loop {
        let mut sig: libc::c_int = 0;
        // SAFETY: `set` is an initialised signal set and `sig` a live local.
        let rc = unsafe { libc::sigwait(set, &mut sig) };
        match rc {
            0 => return Ok(sig),
            libc::EINTR => continue,
            e => return Err(io::Error::from_raw_os_error(e)),
        }
    }
}

pub(super) fn restore_signal_mask(old: &libc::sigset_t) {
    // SAFETY: `old` was filled in by pthread_sigmask.
    unsafe {
        libc::pthread_sigmask(libc::SIG_SETMASK, old, std::ptr::null_mut());
    }
}
