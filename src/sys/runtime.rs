//! What std would provide to a program: the C entry point, the heap, the
//! panic handler and the environment.

#[cfg(not(any(test, fuzzing)))]
use core::ffi::c_int;
use core::ffi::{CStr, c_char};
#[cfg(not(any(test, fuzzing)))]
use core::fmt;

#[cfg(not(any(test, fuzzing)))]
use super::{RawFd, write_all};
use crate::base::prelude::*;

/// The C entry point. grace has no Rust `main` (and no std) so that no
/// runtime set-up runs before grace has seen what its parent left: std's
/// would set SIGPIPE to SIG_IGN, and the command must inherit the original.
#[cfg(not(any(test, fuzzing)))]
#[unsafe(no_mangle)]
pub extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    let mut args = Vec::new();
    if !argv.is_null() {
        for index in 0..usize::try_from(argc).unwrap_or(0) {
            // SAFETY: the C runtime passes `argc` valid pointers in `argv`.
            let arg = unsafe { *argv.add(index) };
            if arg.is_null() {
                break;
            }
            // SAFETY: each argv entry is a NUL-terminated string that lives
            // for the whole process.
            args.push(unsafe { CStr::from_ptr(arg) }.to_bytes().to_vec());
        }
    }
    crate::entry(args)
}

// Without std nothing else asks the linker for the C library.
#[cfg(not(any(test, fuzzing)))]
#[link(name = "c")]
unsafe extern "C" {}

/// The prebuilt `core` and `alloc` are compiled to unwind, so their code
/// names the unwinder's entry points. grace aborts on panic: nothing ever
/// unwinds, and these are never called.
#[cfg(not(any(test, fuzzing)))]
#[unsafe(no_mangle)]
pub extern "C" fn rust_eh_personality() {}

#[cfg(not(any(test, fuzzing)))]
#[unsafe(no_mangle)]
pub extern "C" fn _Unwind_Resume() -> ! {
    // SAFETY: abort takes no argument and does not return.
    unsafe { libc::abort() }
}

/// grace's heap is the C library's malloc: musl's is small, and it is in
/// the static binary anyway. (Compiled in tests too, where it is not the
/// global allocator, so that its methods can be called directly.)
struct CAllocator;

/// What malloc guarantees without being asked: the alignment of
/// `max_align_t`.
#[cfg(not(any(target_arch = "powerpc64", target_arch = "s390x")))]
const MALLOC_ALIGNMENT: usize = core::mem::align_of::<libc::max_align_t>();

/// The libc crate has no `max_align_t` for musl on powerpc64 and s390x.
/// musl's is `{ long long; long double; }` everywhere; on these two its
/// long double (64-bit on powerpc64, 128-bit IEEE on s390x) aligns to 8,
/// like long long.
#[cfg(any(target_arch = "powerpc64", target_arch = "s390x"))]
const MALLOC_ALIGNMENT: usize = 8;

// SAFETY: every method forwards to the C allocator, which returns null on
// failure (as GlobalAlloc requires) and memory aligned as asked: plain
// malloc for alignments it guarantees, aligned_alloc for larger ones.
unsafe impl core::alloc::GlobalAlloc for CAllocator {
    unsafe fn alloc(&self, layout: core::alloc::Layout) -> *mut u8 {
        if layout.align() <= MALLOC_ALIGNMENT {
            // SAFETY: malloc accepts any size; Layout guarantees non-zero.
            unsafe { libc::malloc(layout.size()).cast() }
        } else {
            // SAFETY: the alignment is a power of two, as aligned_alloc needs;
            // the size is rounded up to a multiple of it.
            unsafe { libc::aligned_alloc(layout.align(), layout.pad_to_align().size()).cast() }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: core::alloc::Layout) -> *mut u8 {
        if layout.align() <= MALLOC_ALIGNMENT {
            // SAFETY: calloc returns zeroed memory of the size asked.
            unsafe { libc::calloc(1, layout.size()).cast() }
        } else {
            // SAFETY: as alloc, then zeroing the block just allocated.
            unsafe {
                let block = self.alloc(layout);
                if !block.is_null() {
                    core::ptr::write_bytes(block, 0, layout.size());
                }
                block
            }
        }
    }

    unsafe fn dealloc(&self, block: *mut u8, _layout: core::alloc::Layout) {
        // SAFETY: `block` came from malloc, calloc, realloc or aligned_alloc.
        unsafe { libc::free(block.cast()) }
    }

    unsafe fn realloc(
        &self,
        block: *mut u8,
        layout: core::alloc::Layout,
        new_size: usize,
    ) -> *mut u8 {
        if layout.align() <= MALLOC_ALIGNMENT {
            // SAFETY: `block` came from malloc with a guaranteed alignment,
            // which realloc keeps.
            unsafe { libc::realloc(block.cast(), new_size).cast() }
        } else {
            // SAFETY: a new aligned block, the common prefix copied, the old
            // block freed, as GlobalAlloc's default does.
            unsafe {
                let new_layout =
                    core::alloc::Layout::from_size_align_unchecked(new_size, layout.align());
                let new_block = self.alloc(new_layout);
                if !new_block.is_null() {
                    core::ptr::copy_nonoverlapping(block, new_block, layout.size().min(new_size));
                    self.dealloc(block, layout);
                }
                new_block
            }
        }
    }
}

#[cfg(not(any(test, fuzzing)))]
#[global_allocator]
static ALLOCATOR: CAllocator = CAllocator;

/// A bug in grace: say where on stderr, without allocating, and abort.
/// The kernel then kills every process in the namespace, as it would for
/// any PID 1 that dies.
#[cfg(not(any(test, fuzzing)))]
#[panic_handler]
fn on_panic(info: &core::panic::PanicInfo<'_>) -> ! {
    use core::sync::atomic::{AtomicBool, Ordering};
    // A panic while formatting the first must not recurse until the stack
    // runs out: the second goes straight to abort.
    static PANICKING: AtomicBool = AtomicBool::new(false);
    if !PANICKING.swap(true, Ordering::Relaxed) {
        let mut stderr = FdWriter(libc::STDERR_FILENO);
        let _ = fmt::Write::write_fmt(&mut stderr, format_args!("grace: internal error: {info}\n"));
    }
    // SAFETY: abort takes no argument and does not return.
    unsafe { libc::abort() }
}

/// Unbuffered `fmt::Write` straight to a descriptor; for the panic handler,
/// which must not allocate.
#[cfg(not(any(test, fuzzing)))]
struct FdWriter(RawFd);

#[cfg(not(any(test, fuzzing)))]
impl fmt::Write for FdWriter {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        write_all(self.0, text.as_bytes()).map_err(|_| fmt::Error)
    }
}

unsafe extern "C" {
    /// The C runtime's environment: a NULL-terminated array of
    /// NUL-terminated `NAME=value` strings.
    pub(super) static environ: *const *const c_char;
}

/// The process's environment as it was at start, `NAME=value` entries.
pub fn environment() -> Vec<Vec<u8>> {
    let mut entries = Vec::new();
    // SAFETY: the C runtime sets `environ` before main to a NULL-terminated
    // array of NUL-terminated strings; grace never changes it, and is
    // single-threaded.
    unsafe {
        let mut entry = environ;
        while !entry.is_null() && !(*entry).is_null() {
            entries.push(CStr::from_ptr(*entry).to_bytes().to_vec());
            entry = entry.add(1);
        }
    }
    entries
}

/// A value in a `static`, lent out to one caller at a time: what grace's
/// own log keeps between lines (`crate::base::log`). grace is single-threaded,
/// so the only contender is a re-entry (a line written while the value is
/// lent); it, and another thread in the unit tests, get `None` instead of
/// waiting.
pub struct Exclusive<T> {
    busy: core::sync::atomic::AtomicBool,
    value: core::cell::UnsafeCell<T>,
}

// SAFETY: `busy` lets at most one caller, of any thread, reach `value` at a
// time (acquire on taking it, release on giving it back), as a mutex does.
unsafe impl<T: Send> Sync for Exclusive<T> {}

impl<T> Exclusive<T> {
    pub const fn new(value: T) -> Self {
        Exclusive {
            busy: core::sync::atomic::AtomicBool::new(false),
            value: core::cell::UnsafeCell::new(value),
        }
    }

    /// `f` with the value, or `None` while it is lent to someone else.
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        use core::sync::atomic::Ordering;
        if self
            .busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return None;
        }
        /// Gives the value back even if `f` unwinds (in the tests).
        struct Release<'a>(&'a core::sync::atomic::AtomicBool);
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                self.0.store(false, Ordering::Release);
            }
        }
        let _release = Release(&self.busy);
        // SAFETY: `busy` was false and is now ours: no other reference to
        // the value exists until `_release` drops, after `f` returns.
        let value = unsafe { &mut *self.value.get() };
        Some(f(value))
    }
}

#[cfg(test)]
mod tests {
    use core::alloc::{GlobalAlloc, Layout};

    use super::{CAllocator, MALLOC_ALIGNMENT};

    /// Alignments on both sides of what malloc guarantees, up to a page and
    /// beyond; sizes below, at and above each, multiples and not.
    const ALIGNMENTS: [usize; 7] = [1, 8, 16, 32, 64, 4096, 1 << 16];
    const SIZES: [usize; 6] = [1, 3, 24, 100, 4097, 70_000];

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).expect("valid layout")
    }

    fn layouts() -> impl Iterator<Item = Layout> {
        ALIGNMENTS
            .into_iter()
            .flat_map(|align| SIZES.into_iter().map(move |size| layout(size, align)))
    }

    fn assert_aligned(block: *mut u8, layout: Layout) {
        assert!(!block.is_null(), "{layout:?}: null");
        assert_eq!(block as usize % layout.align(), 0, "{layout:?}: misaligned");
    }

    #[test]
    fn the_cases_cover_both_paths() {
        // The tests below only reach the aligned path if some of their
        // alignments exceed what malloc gives anyway.
        assert!(ALIGNMENTS.iter().any(|&align| align > MALLOC_ALIGNMENT));
        assert!(ALIGNMENTS.iter().any(|&align| align <= MALLOC_ALIGNMENT));
    }

    #[test]
    fn alloc_returns_aligned_writable_blocks() {
        for layout in layouts() {
            // SAFETY: the layout has a non-zero size; the block is written
            // within its size and freed once, with the same layout.
            unsafe {
                let block = CAllocator.alloc(layout);
                assert_aligned(block, layout);
                core::ptr::write_bytes(block, 0x5a, layout.size());
                assert_eq!(*block.add(layout.size() - 1), 0x5a);
                CAllocator.dealloc(block, layout);
            }
        }
    }

    #[test]
    fn alloc_zeroed_returns_zeroes_even_in_reused_memory() {
        for layout in layouts() {
            // SAFETY: as above; the first block is dirtied and freed so
            // that the second, likely the same memory, starts dirty.
            unsafe {
                let dirty = CAllocator.alloc(layout);
                assert_aligned(dirty, layout);
                core::ptr::write_bytes(dirty, 0xff, layout.size());
                CAllocator.dealloc(dirty, layout);
                let block = CAllocator.alloc_zeroed(layout);
                assert_aligned(block, layout);
                let bytes = core::slice::from_raw_parts(block, layout.size());
                assert!(
                    bytes.iter().all(|&byte| byte == 0),
                    "{layout:?}: not zeroed"
                );
                CAllocator.dealloc(block, layout);
            }
        }
    }

    #[test]
    fn realloc_keeps_the_alignment_and_the_contents() {
        for old in layouts() {
            for new_size in [1, old.size() / 2 + 1, old.size() * 3 + 5] {
                let new = layout(new_size, old.align());
                // SAFETY: the block is filled within its size, resized once
                // (the old pointer is not used after), read within the
                // smaller of both sizes and freed with its new layout.
                unsafe {
                    let block = CAllocator.alloc(old);
                    assert_aligned(block, old);
                    for offset in 0..old.size() {
                        *block.add(offset) = offset as u8;
                    }
                    let resized = CAllocator.realloc(block, old, new_size);
                    assert_aligned(resized, new);
                    for offset in 0..old.size().min(new_size) {
                        assert_eq!(*resized.add(offset), offset as u8, "{old:?} -> {new_size}");
                    }
                    CAllocator.dealloc(resized, new);
                }
            }
        }
    }

    #[test]
    fn a_growing_array_of_over_aligned_values_keeps_them() {
        // What a Vec of a cache-line-aligned type does with the global
        // allocator: grow one element at a time, then free.
        #[repr(align(64))]
        #[derive(Clone, Copy)]
        struct Line([u8; 64]);
        let element = Layout::new::<Line>();
        assert!(element.align() > MALLOC_ALIGNMENT);
        let mut current = element;
        // SAFETY: each element is written within the block's size; each
        // block is resized once and the last freed with its layout.
        unsafe {
            let mut block = CAllocator.alloc(current);
            for count in 1..40_u8 {
                assert_aligned(block, current);
                let slot = block.cast::<Line>().add(usize::from(count) - 1);
                slot.write(Line([count; 64]));
                let grown = layout(current.size() + element.size(), element.align());
                block = CAllocator.realloc(block, current, grown.size());
                current = grown;
            }
            for count in 1..40_u8 {
                let slot = block.cast::<Line>().add(usize::from(count) - 1);
                assert_eq!(slot.read().0, [count; 64]);
            }
            CAllocator.dealloc(block, current);
        }
    }
}
