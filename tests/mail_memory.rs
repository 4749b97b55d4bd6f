//! Memory of reading hostile e-mail, measured with a counting allocator: every message here is
//! 10 MB (the largest read whole) and crafted to cost as much as possible; reading it, with its
//! turn, must stay under 256 MB at peak. A test binary of its own, so no other test allocates
//! at the same time.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use support::Backend;
use support::mail::{mail_app, unique_address};
use ventanilla::channels::email::{self, Outcome};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const TEN_MB: usize = 10 * 1024 * 1024;
const LIMIT: usize = 256 * 1024 * 1024;

fn head(from: &str, to: &str, id: &str, content_type: &str) -> String {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: Re: x\r\nMessage-ID: <{id}@correo.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: {content_type}\r\n"
    )
}

/// Pads `raw` to just under 10 MB with `filler` repeated, then `tail`.
fn fill(mut raw: String, filler: &str, tail: &str) -> Vec<u8> {
    let room = TEN_MB - raw.len() - tail.len() - 16;
    let count = room / filler.len();
    raw.reserve(count * filler.len() + tail.len());
    for _ in 0..count {
        raw.push_str(filler);
    }
    raw.push_str(tail);
    raw.into_bytes()
}

fn hostile(from: &str, to: &str) -> Vec<(&'static str, Vec<u8>)> {
    let html = head(from, to, "nested", "text/html; charset=utf-8") + "\r\n<p>1</p>";
    let parts = head(from, to, "parts", "multipart/mixed; boundary=\"b\"")
        + "\r\n--b\r\nContent-Type: text/plain\r\n\r\nsi\r\n";
    let recipients =
        format!("From: {from}\r\nSubject: x\r\nMessage-ID: <recipients@correo.test>\r\nTo: {to}");
    let references = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: x\r\nMessage-ID: <references@correo.test>\r\nReferences:"
    );
    let flowed = head(from, to, "flowed", "text/plain; format=flowed") + "\r\nsi\r\n";
    let attachment = head(from, to, "attachment", "multipart/mixed; boundary=\"b\"")
        + "\r\n--b\r\nContent-Type: text/plain\r\n\r\nsi\r\n\
           --b\r\nContent-Type: application/pdf; name=a.pdf\r\n\
           Content-Transfer-Encoding: base64\r\n\r\n";
    let just_under = head(from, to, "under", "multipart/mixed; boundary=\"b\"")
        + "\r\n--b\r\nContent-Type: text/plain\r\n\r\nsi\r\n";
    let big_part = format!(
        "--b\r\nContent-Type: text/html; name=a.html\r\n\r\n{}\r\n",
        "<blockquote>a<br>".repeat(750)
    );
    vec![
        (
            "nested blockquotes",
            fill(html, "<blockquote>a<br>", "\r\n"),
        ),
        (
            "a hundred thousand MIME parts",
            fill(
                parts,
                "--b\r\nContent-Type: application/x-a; name=a\r\n\r\nx\r\n",
                "--b--\r\n",
            ),
        ),
        (
            "half a million recipients",
            fill(recipients, ",\r\n a@correo.test", "\r\n\r\nsi\r\n"),
        ),
        (
            "a References chain of 10 MB",
            fill(references, "\r\n <r@correo.test>", "\r\n\r\nsi\r\n"),
        ),
        (
            "quoted a million levels deep",
            fill(flowed, ">", " cita\r\n"),
        ),
        (
            "a 10 MB base64 attachment",
            fill(
                attachment,
                "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\r\n",
                "--b--\r\n",
            ),
        ),
        (
            "a thousand parts of 10 KB, just under the part cap",
            fill(just_under, &big_part, "--b--\r\n"),
        ),
    ]
}

#[tokio::test(flavor = "current_thread")]
async fn reading_a_10_mb_hostile_message_stays_under_256_mb() {
    let service = unique_address("tramites", "ventanilla.test");
    let app = mail_app(Backend::Sqlite, &service, false, None).await;
    let luz = unique_address("luz", "correo.test");
    let mut peaks = Vec::new();
    for (name, raw) in hostile(&luz, &service) {
        assert!(raw.len() <= TEN_MB, "{name}: {}", raw.len());
        let base = CURRENT.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let outcome = email::receive_guarded(&app.service, &raw).await;
        let peak = PEAK.load(Ordering::Relaxed) - base;
        assert!(
            matches!(outcome, Outcome::Done(_)),
            "{name}: read and answered or refused, not failed: {outcome:?}"
        );
        peaks.push(format!("{name}: {} MB", peak / (1024 * 1024)));
        assert!(peak < LIMIT, "{name}: {peak} bytes at peak; {peaks:?}");
    }
    println!("peak memory above the baseline per message: {peaks:?}");
}
