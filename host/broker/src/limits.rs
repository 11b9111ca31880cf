//! Process-wide limits the broker sets for itself at start.

/// Raises the soft limit on open files to the hard limit: every connection and every partition
/// file is a descriptor, and the usual soft default (1024) is below the 10,000 connections a
/// broker should take.
pub fn raise_open_files() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return;
        }
        if limit.rlim_cur < limit.rlim_max {
            let wanted = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) == 0 {
                tracing::debug!(
                    open_files_max = limit.rlim_max,
                    "raised the open-files limit"
                );
            }
        }
    }
}
