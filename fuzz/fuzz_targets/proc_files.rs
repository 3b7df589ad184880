#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| grace::fuzz::proc_files(data));
