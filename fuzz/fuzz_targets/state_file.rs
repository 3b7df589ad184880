#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| grace::fuzz::state_file(data));
