//! Bus messages, as any client of the broker may publish them: every input is read or refused,
//! never a panic; what is read encodes and reads back to the same event.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vortex_bus::Event;

fuzz_target!(|input: &[u8]| {
    if let Ok(event) = Event::decode(input) {
        let again = Event::decode(&event.encode());
        assert_eq!(again.as_ref(), Ok(&event), "{}", String::from_utf8_lossy(input));
        if let Event::Change(change) = &event {
            let _ = change.source_change();
        }
    }
});
