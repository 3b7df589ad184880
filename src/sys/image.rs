//! grace's own executable in memory: giving back the pages of code and
//! constants that the set-up used, once the event loop first goes idle.
//!
//! The kernel maps a file's pages in 64 KB windows around each page a
//! process touches (fault-around), and they stay mapped, counted in VmRSS,
//! for as long as the process lives. The set-up (options, the services
//! file, the user database, the first fork) touches code spread over the
//! whole binary, which an idle init never runs again. Dropping those mappings once, just before the first
//! wait with nothing scheduled, leaves mapped only what runs after: the
//! wait itself, then whatever the loop runs when it wakes. The pages stay in the page cache:
//! what this gives back is grace's claim on them, which makes them as
//! easy to reclaim as any file's cached pages, not memory freed at once.

use core::sync::atomic::{AtomicBool, Ordering};

unsafe extern "C" {
    /// The ELF header: where the linker put the start of the image.
    static __ehdr_start: u8;
    /// The end of the executable code. Every linker places the read-only
    /// segments (headers, constants, code) before the writable ones.
    static etext: u8;
}

/// Whether the pages were given back already. (Also a writable static:
/// where written data is, to check that the range holds none.)
static RELEASED: AtomicBool = AtomicBool::new(false);

/// Unmaps the pages of the read-only part of grace's image, from its ELF
/// header to the end of its code. Nothing is lost: these mappings are
/// never written, so the kernel maps the same page cache pages again on
/// the next touch, a minor fault (about a microsecond, plus the 64 KB
/// around it) the first time the event loop reaches code it has not run
/// since. Best effort: a failure leaves the pages mapped, as before.
///
/// The cost of doing this: a debugger's breakpoint or a uprobe placed in
/// grace's code before this call is undone (the kernel wrote it into a
/// private copy of the page, which this discards).
pub fn release_code_pages() {
    let start = &raw const __ehdr_start;
    let end = (&raw const etext).addr();
    let written = (&raw const RELEASED).addr();
    if RELEASED.swap(true, Ordering::Relaxed)
        || start.addr() >= end
        || (start.addr()..end).contains(&written)
    {
        return;
    }
    // SAFETY: [start, end) is the read-only part of grace's own image (its
    // ELF header, constants and code, up to the linker's `etext`), mapped
    // from the executable and never written by grace: no writable static
    // lies in it (checked above). MADV_DONTNEED on such a private file
    // mapping only drops the page table entries; the next access maps the
    // file's unchanged contents again. No Rust reference points into the
    // range as memory that could change.
    unsafe {
        libc::madvise(
            start.cast_mut().cast(),
            end - start.addr(),
            libc::MADV_DONTNEED,
        )
    };
}
