//! Webhook payloads and signatures: any headers and body are parsed or refused; a signature
//! check never accepts a body signed with another secret.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    // `headers \0 body`: the first NUL splits the input.
    let split = input.iter().position(|&b| b == 0).unwrap_or(input.len());
    let (head, body) = (&input[..split], input.get(split + 1..).unwrap_or_default());
    let headers = String::from_utf8_lossy(head);
    if let Some(names) = vortex_server::fuzzing::webhook(&headers, body) {
        assert!(names.iter().all(|n| !n.is_empty()), "{names:?}");
    }
    // Whatever the fuzzer puts in a signature header, it does not know the secret (GitLab's header
    // carries the secret itself: skip the one input that is it).
    if head == b"fuzz-secret-0123456789" {
        return;
    }
    for header in ["x-hub-signature-256", "x-gitea-signature", "x-gitlab-token"] {
        assert!(!vortex_server::fuzzing::verify_webhook("fuzz-secret-0123456789", header, head, body));
    }
});
