//! Server-sent events on the read routes (`Accept: text/event-stream`): an event with the current
//! representation when the stream opens, then one each time it changes, `id:` its entity tag so
//! that `Last-Event-ID` resumes a stream without missing a change, and a comment every 15 s to keep
//! proxies from closing an idle connection.
//!
//! ```text
//! id: "5f1c2a9e3b7d4c60"
//! event: change
//! data: server.port: 9000
//! data: greeting: hello
//!
//! ```
//!
//! The body's lines are the event's `data:` lines, so a client that joins them with `\n` (as the
//! EventSource standard says) gets the body back byte for byte. A stream is a held read: it counts
//! toward `watch.max_watchers`, and ends when the server drains.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;

use crate::AppState;
use crate::error::ApiError;
use crate::watch::{Held, Woke};

/// The media type of a stream.
const EVENT_STREAM: &str = "text/event-stream";
/// How often an idle stream sends a comment: below the 30 to 60 s idle timeouts of common proxies.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// `Last-Event-ID`: the entity tag of the last event the client received.
const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

/// Whether the client asks for a stream.
pub(crate) fn wanted(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case(EVENT_STREAM)))
}

/// Opens a stream of the representation `uri` names, for a client that sent `headers` (already
/// authenticated); `None` when this server does not hold reads (`watch.enabled: false`).
///
/// # Errors
/// The first answer, when it is an error (a malformed name, an unknown label): the stream is not
/// opened.
pub(crate) async fn open(state: &AppState, uri: &Uri, headers: &HeaderMap) -> Option<Result<Response, ApiError>> {
    let watch = &state.inner.watch;
    let request = match crate::request::ReadRequest::from_uri(uri) {
        Ok(request) => request,
        Err(err) => return Some(Err(err)),
    };
    let applications: Vec<String> = request.query.applications().map(str::to_owned).collect();
    let names: Vec<&str> = applications.iter().map(String::as_str).collect();
    let mut waiter = watch.waiter(&names)?;
    let held = match watch.enter(true) {
        Ok(held) => held,
        Err(refused) => return Some(Ok(refused.into_response())),
    };
    // What each event carries: the answer to the same request without its stream and tag headers.
    let mut plain = headers.clone();
    plain.remove(IF_NONE_MATCH);
    plain.remove(ACCEPT);
    for value in headers.get_all(ACCEPT) {
        let kept: Vec<&str> = value
            .to_str()
            .unwrap_or("")
            .split(',')
            .filter(|t| !t.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case(EVENT_STREAM))
            .collect();
        if let Ok(value) = HeaderValue::from_str(&kept.join(","))
            && !kept.is_empty()
        {
            plain.append(ACCEPT, value);
        }
    }
    waiter.mark();
    let first = match crate::routes::answer_held(state, uri, &plain).await {
        Ok(first) if first.status() == StatusCode::OK => first,
        Ok(other) => return Some(Ok(other)),
        Err(err) => return Some(Err(err)),
    };
    let last = headers.get(LAST_EVENT_ID).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (tx, rx) = mpsc::channel::<Bytes>(4);
    let (state, uri) = (state.clone(), uri.clone());
    tokio::spawn(async move {
        let mut last = last;
        let mut answer = Some(first);
        let mut woken: Option<Instant> = None;
        loop {
            let response = match answer.take() {
                Some(response) => response,
                None => {
                    waiter.mark();
                    match crate::routes::answer_held(&state, &uri, &plain).await {
                        Ok(response) => response,
                        Err(err) => err.into_response(),
                    }
                }
            };
            let etag = response.headers().get(ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned);
            if response.status() == StatusCode::OK && etag.is_some() && etag != last {
                let Ok(body) = axum::body::to_bytes(response.into_body(), usize::MAX).await else { return };
                let id = etag.as_deref().unwrap_or_default();
                if tx.send(event(id, &body)).await.is_err() {
                    return;
                }
                if let Some(woken) = woken.take() {
                    waiter.delivered(woken.elapsed());
                }
                last = etag;
            }
            // Wait for a change; say something every 15 s meanwhile, which also notices a client
            // that has gone.
            loop {
                match waiter.wait(tokio::time::Instant::now() + KEEP_ALIVE).await {
                    Woke::Changed => {
                        woken = Some(Instant::now());
                        break;
                    }
                    Woke::Timeout => {
                        if tx.send(Bytes::from_static(b": keep-alive\n\n")).await.is_err() {
                            return;
                        }
                    }
                    // The body ends: the client gets a complete response and reconnects elsewhere.
                    Woke::Stopped => return,
                }
            }
        }
    });
    let mut response = Body::new(Events { rx, _held: held }).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(EVENT_STREAM));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache, private"));
    // nginx buffers responses unless told not to.
    headers.insert(HeaderName::from_static("x-accel-buffering"), HeaderValue::from_static("no"));
    Some(Ok(response))
}

/// One event: `id:` the entity tag, `event: change`, a `data:` line per line of the body.
fn event(id: &str, body: &[u8]) -> Bytes {
    let text = String::from_utf8_lossy(body);
    let mut out = String::with_capacity(text.len() + 64);
    out.push_str("id: ");
    out.push_str(id);
    out.push_str("\nevent: change\n");
    for line in text.split('\n') {
        out.push_str("data: ");
        out.push_str(line.strip_suffix('\r').unwrap_or(line));
        out.push('\n');
    }
    out.push('\n');
    Bytes::from(out)
}

/// The body of a stream: what the stream's task sends, for as long as it sends; the held place
/// goes with it.
struct Events {
    rx: mpsc::Receiver<Bytes>,
    _held: Option<Held>,
}

impl http_body::Body for Events {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        self.rx.poll_recv(cx).map(|sent| sent.map(|bytes| Ok(http_body::Frame::data(bytes))))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_event_carries_the_body_line_by_line() {
        let event = super::event("\"t1\"", b"a: 1\nb: 2\n");
        assert_eq!(&event[..], b"id: \"t1\"\nevent: change\ndata: a: 1\ndata: b: 2\ndata: \n\n");
        let event = super::event("\"t2\"", b"{\"x\":1}");
        assert_eq!(&event[..], b"id: \"t2\"\nevent: change\ndata: {\"x\":1}\n\n");
    }

    #[test]
    fn the_stream_is_asked_for_among_other_types() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("accept", "application/json, text/event-stream;q=0.9".parse().unwrap());
        assert!(super::wanted(&headers));
        headers.insert("accept", "application/json".parse().unwrap());
        assert!(!super::wanted(&headers));
    }
}
