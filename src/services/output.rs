//! Services' stdout and stderr, passed on to grace's own a line at a time
//! (docs/logging.md, "Services' output").
//!
//! This module owns a pipe per stream and run of a service (`pipe_for`),
//! the assembly of what a pipe delivers into lines, the splitting of long
//! lines, their rendering (`db | text`, or one JSON object), and a bounded
//! queue per destination (grace's stdout, grace's stderr) with the
//! descriptor it is written through. The event loop owns the one ppoll:
//! it asks `watches` what to wait for and hands each ready descriptor to
//! `on_ready`, which never blocks.
//!
//! Choices, and why:
//! - **Never waiting on grace's stdout, whole lines.** Each destination is
//!   a `crate::base::sink::Sink` (how it is written without blocking, in whole
//!   lines of at most PIPE_BUF bytes, is said there). A line longer than
//!   fits is split into several, each with the prefix, each cut at a UTF-8
//!   character boundary; in JSON all but the last piece say
//!   `"partial":true`. A last line without a newline is written at EOF.
//! - **Backpressure.** A destination's queue takes lines until it holds
//!   64 KiB; while it does, the pipes feeding it are neither watched nor
//!   read, so their writers block, as under `docker logs`. A wake-up reads
//!   at most 64 KiB from one pipe, so a flooding service cannot starve the
//!   others, nor the signalfd in the same ppoll.
//! - **Memory.** One read buffer is shared by every pipe; a pipe keeps
//!   bytes of its own only while it holds part of a line, or lines that
//!   wait for room (under 128 KiB: it is not read again until they fit).
//!   A queue is at most 64 KiB plus one line. The read buffer and a
//!   queue give their memory back once a read is shorter than 64 KiB (the
//!   service has stopped flooding) and the queue is empty: not at every
//!   wake-up of a flood, where the allocator (musl maps such sizes
//!   itself) would cost more than the relay. Nothing is allocated per
//!   line; newlines are found with the C library's memchr.
//! - **JSON.** Service lines keep the schema of grace's own (`time`,
//!   `level`, `event`, `message`): level `info`, event `output`, plus
//!   `service` and `stream`; the message comes last so that a long line's
//!   room is known before it is written. Bytes that are not UTF-8 become
//!   U+FFFD, one per invalid sequence (as `String::from_utf8_lossy`).
//!   Text lines pass the service's bytes on unchanged.
//! - **A wait of its own at exit.** `finish` runs after the event loop has
//!   ended, when grace has nothing left to do but exit: it polls grace's
//!   stdout and stderr alone, for room to write the services' last lines,
//!   within `log::LAST_LINES`. No signal, exit or timer matters any more,
//!   so the loop's wait (the signalfd and everything else) has no part in
//!   it; its bound keeps a reader that never reads from holding PID 1.

use core::time::Duration;

use crate::base::log::{self, Format};
use crate::base::prelude::*;
use crate::base::sink::{LINE_MAX, Sink, count_lines};
use crate::sys::{self, RawFd};
use crate::{base::json, warn};

/// What one wake-up reads from one pipe: a pipe's default capacity, so that
/// a flood costs one ppoll and one read per 64 KiB (and writes of 4 KiB).
const CHUNK: usize = 64 * 1024;
/// The longest service name shown in a prefix, so that a line always has
/// room for its text.
const NAME_MAX: usize = 64;
/// What `finish` reads at most from each pipe: a pipe's default capacity.
const FINISH_READS: u8 = (64 * 1024 / CHUNK) as u8;
/// What follows a JSON message at most: its closing quote, the partial
/// mark, the end of the object.
const JSON_TAIL: usize = "\",\"partial\":true}\n".len();

/// Which of a service's outputs a pipe carries, and where its lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn index(self) -> usize {
        self as usize
    }

    fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// Every service pipe, and grace's two destinations.
pub struct Output {
    format: Format,
    /// grace's stdout and stderr, by `Stream::index`.
    sinks: [Sink; 2],
    pipes: Vec<Pipe>,
    /// The read buffer, lent to a pipe while it keeps part of a line.
    input: Vec<u8>,
    /// A JSON line being written.
    scratch: String,
    /// The JSON `time` of the lines of this wake-up.
    time: String,
    /// Lines given up: a destination that failed, or `finish`'s budget.
    dropped: usize,
}

struct Pipe {
    /// The read end; `None` from EOF on, while lines still wait for room.
    fd: Option<sys::Fd>,
    service: String,
    stream: Stream,
    /// Bytes read but not yet written out: part of a line, or lines that
    /// wait for room in the queue.
    pending: Vec<u8>,
    finish_reads: u8,
}

/// What one read from a pipe gave.
enum Read {
    /// How many bytes.
    Data(usize),
    /// Nothing yet (EAGAIN).
    Empty,
    /// EOF, or not open any more.
    End,
    /// Not read: its destination is full.
    Full,
}

impl Output {
    /// Whether any pipe is still open (the tests drain until none is).
    #[cfg(test)]
    pub fn has_open_pipes(&self) -> bool {
        self.pipes.iter().any(|p| p.fd.is_some())
    }

    /// Once, before any service starts. `format` is `log::current_format()`.
    pub fn new(format: Format) -> Output {
        Output::with_destinations(format, [libc::STDOUT_FILENO, libc::STDERR_FILENO])
    }

    fn with_destinations(format: Format, [stdout, stderr]: [RawFd; 2]) -> Output {
        Output {
            format,
            sinks: [Sink::open(stdout), Sink::open(stderr)],
            pipes: Vec::new(),
            input: Vec::new(),
            scratch: String::new(),
            time: String::new(),
            dropped: 0,
        }
    }

    /// A new pipe for one run of `service`'s `stream`: returns the write
    /// end, which the spawn dup2s onto the child's fd 1 or 2 and then
    /// closes in grace (a restart gets a new pipe). Grace keeps the read
    /// end until EOF, writes out any unterminated last line then, and
    /// forgets the pipe.
    pub fn pipe_for(&mut self, service: &str, stream: Stream) -> sys::Result<sys::Fd> {
        let (read, write) = sys::pipe()?;
        let mut cut = service.len().min(NAME_MAX);
        while !service.is_char_boundary(cut) {
            cut -= 1;
        }
        self.pipes.push(Pipe {
            fd: Some(read),
            service: service[..cut].to_string(),
            stream,
            pending: Vec::new(),
            finish_reads: FINISH_READS,
        });
        Ok(write)
    }

    /// Appends what to poll: POLLIN for each service pipe whose
    /// destination has room, POLLOUT for each destination with lines
    /// waiting.
    pub fn watches(&self, out: &mut Vec<libc::pollfd>) {
        for pipe in &self.pipes {
            if let Some(fd) = &pipe.fd
                && !self.sinks[pipe.stream.index()].full()
            {
                out.push(watch(fd.raw(), libc::POLLIN));
            }
        }
        for sink in &self.sinks {
            sink.watch(out);
        }
    }

    /// After ppoll, for a descriptor with `revents != 0`: handles it,
    /// without blocking, if it is one of this module's (true); false if it
    /// is not.
    pub fn on_ready(&mut self, fd: i32) -> bool {
        let mut ours = false;
        for index in 0..self.sinks.len() {
            if self.sinks[index].poll_fd() == Some(fd) {
                ours = true;
                self.stamp();
                flush(&mut self.sinks[index], &mut self.dropped);
                self.refill(index);
            }
        }
        if ours {
            return true;
        }
        let Some(index) = self
            .pipes
            .iter()
            .position(|p| p.fd.as_ref().map(|fd| fd.raw()) == Some(fd))
        else {
            return false;
        };
        self.stamp();
        let read = self.read(index);
        let sink = self.pipes[index].stream.index();
        flush(&mut self.sinks[sink], &mut self.dropped);
        // Less than a full read: the service is not flooding (now), so
        // the memory a flood needs goes back.
        if !matches!(read, Read::Data(CHUNK)) {
            self.sinks[sink].release();
            if self.input.capacity() > LINE_MAX {
                self.input = Vec::new();
            }
        }
        self.forget_if_done(index);
        // Lines another pipe kept waiting may fit now.
        self.refill(sink);
        true
    }

    /// At grace's exit: reads what the pipes hold now (a pipe's capacity
    /// at most; nothing is waited for), writes what can be written within
    /// `budget`, and drops the rest with a warning that counts the lines,
    /// rather than hang PID 1. Every pipe is closed.
    pub fn finish(&mut self, budget: Duration) {
        let dropped = self.finish_counting(budget);
        if dropped > 0 {
            warn!(
                "output_dropped",
                [lines = dropped],
                "dropped {dropped} lines of services' output"
            );
        }
    }

    /// `finish`, returning how many lines were dropped over the whole run.
    fn finish_counting(&mut self, budget: Duration) -> usize {
        let start = sys::monotonic_now();
        let mut fds: Vec<libc::pollfd> = Vec::new();
        loop {
            self.stamp();
            for index in (0..self.pipes.len()).rev() {
                loop {
                    let read = self.read(index);
                    let pipe = &mut self.pipes[index];
                    let more = match read {
                        Read::Data(_) if pipe.finish_reads > 1 => {
                            pipe.finish_reads -= 1;
                            true
                        }
                        Read::Data(_) | Read::Empty => {
                            // Nothing more is waited for: what is kept is
                            // a last line now.
                            pipe.fd = None;
                            false
                        }
                        Read::End | Read::Full => false,
                    };
                    let sink = pipe.stream.index();
                    // Also what waited for room that a write just made.
                    self.pump(index);
                    flush(&mut self.sinks[sink], &mut self.dropped);
                    if !more {
                        break;
                    }
                }
                self.forget_if_done(index);
            }
            for sink in &mut self.sinks {
                flush(sink, &mut self.dropped);
            }
            if self.pipes.is_empty() && self.sinks.iter().all(|s| s.queued() == 0) {
                break;
            }
            let left = budget.saturating_sub(sys::monotonic_now().saturating_sub(start));
            fds.clear();
            for sink in &self.sinks {
                sink.watch(&mut fds);
            }
            if left.is_zero() {
                break;
            }
            // Every queue was written out: the pipes have more for them.
            if fds.is_empty() {
                continue;
            }
            if sys::poll(&mut fds, Some(left)).is_err() {
                break;
            }
        }
        for sink in &mut self.sinks {
            self.dropped += sink.discard();
        }
        for pipe in self.pipes.drain(..) {
            self.dropped += count_lines(&pipe.pending);
        }
        self.dropped
    }

    /// The JSON time of the lines written from now on.
    fn stamp(&mut self) {
        if self.format == Format::Json {
            self.time = log::utc_timestamp(sys::wall_clock_now());
        }
    }

    /// One read of at most `CHUNK` bytes from a pipe whose destination has
    /// room, and the lines it completes into the queue.
    fn read(&mut self, index: usize) -> Read {
        let pipe = &mut self.pipes[index];
        let Some(fd) = pipe.fd.as_ref().map(|fd| fd.raw()) else {
            return Read::End;
        };
        if self.sinks[pipe.stream.index()].full() {
            return Read::Full;
        }
        // Read after what the pipe keeps (part of a line), or into the
        // shared buffer, which the pipe then holds until it is empty again.
        if pipe.pending.is_empty() {
            core::mem::swap(&mut pipe.pending, &mut self.input);
            pipe.pending.clear();
        }
        let outcome = match sys::read_append(fd, &mut pipe.pending, CHUNK) {
            Ok(None) => Read::Empty,
            Ok(Some(0)) | Err(_) => {
                pipe.fd = None;
                Read::End
            }
            Ok(Some(n)) => Read::Data(n),
        };
        self.pump(index);
        // Lend the buffer back when the pipe keeps nothing.
        let pipe = &mut self.pipes[index];
        if pipe.pending.is_empty() && pipe.pending.capacity() > self.input.capacity() {
            core::mem::swap(&mut pipe.pending, &mut self.input);
        }
        outcome
    }

    /// Moves a pipe's complete lines (all it holds, after EOF) into its
    /// destination's queue while there is room, writing the queue out when
    /// it fills: it stops with no line left, or a destination that is full
    /// (and watched for POLLOUT, which brings `refill`).
    fn pump(&mut self, index: usize) {
        let pipe = &mut self.pipes[index];
        let sink = &mut self.sinks[pipe.stream.index()];
        let style = Style {
            format: self.format,
            service: &pipe.service,
            stream: pipe.stream,
            time: &self.time,
        };
        let end = pipe.fd.is_none();
        let mut used = 0;
        loop {
            if sink.full() {
                flush(sink, &mut self.dropped);
                if sink.full() {
                    break;
                }
            }
            let taken =
                style.render_next(&pipe.pending[used..], end, sink.room(), &mut self.scratch);
            if taken == 0 {
                break;
            }
            used += taken;
        }
        pipe.pending.drain(..used);
    }

    /// After a destination made room: the lines its pipes kept waiting.
    fn refill(&mut self, sink: usize) {
        for index in (0..self.pipes.len()).rev() {
            if self.sinks[sink].full() {
                break;
            }
            if self.pipes[index].stream.index() == sink && !self.pipes[index].pending.is_empty() {
                self.pump(index);
                flush(&mut self.sinks[sink], &mut self.dropped);
                self.forget_if_done(index);
            }
        }
    }

    fn forget_if_done(&mut self, index: usize) {
        let pipe = &self.pipes[index];
        if pipe.fd.is_none() && pipe.pending.is_empty() {
            self.pipes.swap_remove(index);
        }
    }
}

/// Writes what `sink` can take now, counting into `dropped` what it gives
/// up, and says so when it gives up its destination.
fn flush(sink: &mut Sink, dropped: &mut usize) {
    *dropped += sink.flush();
    if let Some(problem) = sink.lost.take() {
        let stream = if sink.fd == libc::STDOUT_FILENO {
            "stdout"
        } else {
            "stderr"
        };
        warn!(
            "output_lost",
            [stream = stream],
            "cannot write services' output to {stream}: {problem}; it is dropped from now on"
        );
    }
}

fn watch(fd: RawFd, events: i16) -> libc::pollfd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}

/// How one pipe's lines are written.
struct Style<'a> {
    format: Format,
    service: &'a str,
    stream: Stream,
    /// The JSON `time`.
    time: &'a str,
}

impl Style<'_> {
    /// Appends the next line of `pending` to `out`, at most `LINE_MAX`
    /// bytes: how many bytes of `pending` it took (its newline included),
    /// 0 when `pending` holds no line yet. A line too long for one is cut
    /// in pieces, and so is unterminated text that fills one; with `end`
    /// (nothing more will come) unterminated text is a line.
    fn render_next(
        &self,
        pending: &[u8],
        end: bool,
        out: &mut Vec<u8>,
        scratch: &mut String,
    ) -> usize {
        if pending.is_empty() {
            return 0;
        }
        let newline = sys::find_byte(pending, b'\n');
        let (line, whole) = match newline {
            Some(at) => (&pending[..at], true),
            None => (pending, end),
        };
        let (used, partial) = match self.format {
            Format::Text => {
                let room = LINE_MAX - self.service.len() - " | \n".len();
                if !whole && line.len() < room {
                    return 0;
                }
                let used = if whole && line.len() <= room {
                    line.len()
                } else {
                    let piece = &line[..line.len().min(room)];
                    match complete_prefix(piece) {
                        0 => piece.len(),
                        n => n,
                    }
                };
                out.extend_from_slice(self.service.as_bytes());
                out.extend_from_slice(b" | ");
                out.extend_from_slice(&line[..used]);
                out.push(b'\n');
                (used, !whole || used < line.len())
            }
            Format::Json => {
                scratch.clear();
                scratch.push_str("{\"time\":\"");
                scratch.push_str(self.time);
                scratch.push_str("\",\"level\":\"info\",\"event\":\"output\",\"service\":");
                json::string(self.service, scratch);
                scratch.push_str(",\"stream\":\"");
                scratch.push_str(self.stream.name());
                scratch.push_str("\",\"message\":\"");
                let limit = LINE_MAX - JSON_TAIL;
                if !whole && line.len() < limit - scratch.len() {
                    return 0;
                }
                let line = if whole {
                    line
                } else {
                    &line[..complete_prefix(line)]
                };
                let mut used = 0;
                'text: for chunk in line.utf8_chunks() {
                    for c in chunk.valid().chars() {
                        let before = scratch.len();
                        json::escape_char(c, scratch);
                        if scratch.len() > limit {
                            scratch.truncate(before);
                            break 'text;
                        }
                        used += c.len_utf8();
                    }
                    if !chunk.invalid().is_empty() {
                        if scratch.len() + '\u{fffd}'.len_utf8() > limit {
                            break;
                        }
                        scratch.push('\u{fffd}');
                        used += chunk.invalid().len();
                    }
                }
                // Unreachable with a name of at most NAME_MAX: a line
                // always has room for a character; this keeps a pipe moving
                // regardless.
                if used == 0 && !line.is_empty() {
                    used = 1;
                }
                let partial = !whole || used < line.len();
                scratch.push('"');
                if partial {
                    scratch.push_str(",\"partial\":true");
                }
                scratch.push_str("}\n");
                out.extend_from_slice(scratch.as_bytes());
                (used, partial)
            }
        };
        used + usize::from(!partial && newline.is_some())
    }
}

/// The length of `bytes` without a UTF-8 sequence cut short at its end,
/// where a piece of a line is cut.
fn complete_prefix(bytes: &[u8]) -> usize {
    let len = bytes.len();
    for back in 1..=len.min(3) {
        let byte = bytes[len - back];
        if byte & 0xc0 == 0x80 {
            continue;
        }
        let needs = match byte {
            0xf0.. => 4,
            0xe0.. => 3,
            0xc0.. => 2,
            _ => 1,
        };
        return if needs > back { len - back } else { len };
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::sink::{QUEUE_LIMIT, Way};

    use proptest::prelude::*;
    use std::os::fd::AsRawFd;

    const TIME: &str = "2026-12-01T23:59:59.123Z";

    fn style(format: Format, service: &str) -> Style<'_> {
        Style {
            format,
            service,
            stream: Stream::Stdout,
            time: TIME,
        }
    }

    /// What a pipe delivering `reads` makes of them, as `Output::pump`
    /// drives `render_next`, then EOF.
    fn assemble(style: &Style<'_>, reads: &[&[u8]]) -> Vec<u8> {
        let (mut pending, mut out, mut scratch) = (Vec::new(), Vec::new(), String::new());
        let mut take = |pending: &mut Vec<u8>, end: bool| {
            let mut used = 0;
            loop {
                let taken = style.render_next(&pending[used..], end, &mut out, &mut scratch);
                if taken == 0 {
                    break;
                }
                used += taken;
            }
            pending.drain(..used);
        };
        for read in reads {
            pending.extend_from_slice(read);
            take(&mut pending, false);
            assert!(pending.len() < LINE_MAX + read.len());
        }
        take(&mut pending, true);
        assert!(pending.is_empty());
        out
    }

    fn lines(out: &[u8]) -> Vec<&[u8]> {
        assert_eq!(out.last(), Some(&b'\n'), "output ends with a whole line");
        let lines: Vec<&[u8]> = out[..out.len() - 1].split(|&b| b == b'\n').collect();
        for line in &lines {
            assert!(line.len() < LINE_MAX, "{} bytes", line.len() + 1);
        }
        lines
    }

    fn json_lines(out: &[u8]) -> Vec<serde_json::Value> {
        lines(out)
            .into_iter()
            .map(|line| serde_json::from_slice(line).unwrap())
            .collect()
    }

    /// The messages of JSON lines, their pieces joined again.
    fn joined_messages(lines: &[serde_json::Value]) -> Vec<String> {
        let mut messages = vec![String::new()];
        for line in lines {
            messages
                .last_mut()
                .unwrap()
                .push_str(line["message"].as_str().unwrap());
            if line.get("partial").is_none() {
                messages.push(String::new());
            }
        }
        assert_eq!(messages.pop().unwrap(), "", "the last piece ends its line");
        messages
    }

    #[test]
    fn lines_are_prefixed_and_assembled_across_reads() {
        let out = assemble(
            &style(Format::Text, "db"),
            &[b"he", b"llo\nwor", b"ld\n\n", b"last, unterminated"],
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "db | hello\ndb | world\ndb | \ndb | last, unterminated\n"
        );
    }

    #[test]
    fn a_line_that_fits_exactly_is_whole_and_one_more_byte_splits_it() {
        let text = style(Format::Text, "db");
        let room = LINE_MAX - "db | \n".len();
        let mut line = vec![b'x'; room];
        line.push(b'\n');
        let out = assemble(&text, &[&line]);
        assert_eq!(out.len(), LINE_MAX);
        assert_eq!(lines(&out).len(), 1);

        let mut line = vec![b'x'; room + 1];
        line.push(b'\n');
        let out = assemble(&text, &[&line]);
        let pieces = lines(&out);
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[0].len() + 1, LINE_MAX);
        assert_eq!(pieces[1], b"db | x");

        // Unterminated text that fills a line goes out without waiting
        // for its end.
        let mut pending = vec![b'y'; room];
        let mut out = Vec::new();
        let taken = text.render_next(&pending, false, &mut out, &mut String::new());
        assert_eq!((taken, out.len()), (room, LINE_MAX));
        pending.pop();
        assert_eq!(
            text.render_next(&pending, false, &mut out, &mut String::new()),
            0
        );
    }

    #[test]
    fn split_text_keeps_characters_whole() {
        let text = "é".repeat(3000) + "☃".repeat(2000).as_str();
        let out = assemble(&style(Format::Text, "web"), &[text.as_bytes(), b"\n"]);
        let mut rejoined = String::new();
        for piece in lines(&out) {
            let piece = core::str::from_utf8(piece).unwrap();
            rejoined.push_str(piece.strip_prefix("web | ").unwrap());
        }
        assert_eq!(rejoined, text);
        assert_eq!(complete_prefix(b"ab\xe2\x98"), 2);
        assert_eq!(complete_prefix(b"ab\xe2\x98\x83"), 5);
        assert_eq!(complete_prefix(b"\xc3"), 0);
        assert_eq!(complete_prefix(b"a\x80\x80\x80"), 4);
    }

    #[test]
    fn json_lines_carry_the_service_and_escape_any_bytes() {
        let mut app = style(Format::Json, "app");
        app.stream = Stream::Stderr;
        let raw: &[u8] = b"a\"b\\c\x01\xff\xe2\x82z\t\xe2\x80\xa8q";
        let out = assemble(&app, &[raw, b"\n"]);
        let text = String::from_utf8(out.clone()).unwrap();
        assert_eq!(
            text,
            "{\"time\":\"2026-12-01T23:59:59.123Z\",\"level\":\"info\",\"event\":\"output\",\
             \"service\":\"app\",\"stream\":\"stderr\",\
             \"message\":\"a\\\"b\\\\c\\u0001\u{fffd}\u{fffd}z\\t\\u2028q\"}\n"
        );
        let line = &json_lines(&out)[0];
        assert_eq!(line["message"], String::from_utf8_lossy(raw).as_ref());
    }

    #[test]
    fn long_json_lines_are_split_and_marked_partial() {
        let raw = "\u{1}é\"".repeat(2000);
        let out = assemble(&style(Format::Json, "db"), &[raw.as_bytes(), b"\n"]);
        let lines = json_lines(&out);
        assert!(lines.len() > 4);
        for line in &lines[..lines.len() - 1] {
            assert_eq!(line["partial"], true);
        }
        assert_eq!(joined_messages(&lines), [raw]);
    }

    fn any_lines(longest: usize) -> impl Strategy<Value = (Vec<Vec<u8>>, Vec<usize>)> {
        let line = prop_oneof![
            proptest::collection::vec(any::<u8>().prop_filter("", |&b| b != b'\n'), 0..40),
            proptest::collection::vec(any::<u8>().prop_filter("", |&b| b != b'\n'), 0..longest),
        ];
        (
            proptest::collection::vec(line, 0..12),
            proptest::collection::vec(1usize..5000, 0..20),
        )
    }

    /// The bytes of `lines`, cut into reads at `cuts`.
    fn reads(lines: &[Vec<u8>], cuts: &[usize]) -> Vec<Vec<u8>> {
        let mut stream: Vec<u8> = Vec::new();
        for line in lines {
            stream.extend_from_slice(line);
            stream.push(b'\n');
        }
        let mut reads = Vec::new();
        let mut rest = &stream[..];
        for &cut in cuts {
            let (read, after) = rest.split_at(cut.min(rest.len()));
            reads.push(read.to_vec());
            rest = after;
        }
        reads.push(rest.to_vec());
        reads
    }

    proptest! {
        #[test]
        fn any_reads_give_exactly_the_lines_in_order((lines, cuts) in any_lines(LINE_MAX - 10)) {
            let reads = reads(&lines, &cuts);
            let reads: Vec<&[u8]> = reads.iter().map(Vec::as_slice).collect();
            let out = assemble(&style(Format::Text, "svc"), &reads);
            let expected: Vec<Vec<u8>> = lines
                .iter()
                .map(|line| [b"svc | ".as_slice(), line].concat())
                .collect();
            if lines.is_empty() {
                prop_assert!(out.is_empty());
            } else {
                prop_assert_eq!(self::lines(&out), expected);
            }
        }

        #[test]
        fn json_lines_of_any_bytes_and_length_rejoin_exactly((lines, cuts) in any_lines(3 * LINE_MAX)) {
            let reads = reads(&lines, &cuts);
            let reads: Vec<&[u8]> = reads.iter().map(Vec::as_slice).collect();
            let out = assemble(&style(Format::Json, "svc"), &reads);
            let expected: Vec<String> = lines
                .iter()
                .map(|line| String::from_utf8_lossy(line).into_owned())
                .collect();
            if lines.is_empty() {
                prop_assert!(out.is_empty());
            } else {
                prop_assert_eq!(joined_messages(&json_lines(&out)), expected);
            }
        }

        #[test]
        fn text_pieces_rejoin_exactly((lines, cuts) in any_lines(3 * LINE_MAX)) {
            let reads = reads(&lines, &cuts);
            let reads: Vec<&[u8]> = reads.iter().map(Vec::as_slice).collect();
            let out = assemble(&style(Format::Text, "svc"), &reads);
            let mut content = Vec::new();
            if !out.is_empty() {
                for piece in self::lines(&out) {
                    content.extend_from_slice(piece.strip_prefix(b"svc | ").unwrap());
                }
            }
            prop_assert_eq!(content, lines.concat());
        }
    }

    /// One ppoll over `output`'s watches and `extra`, handing what is ready
    /// to `on_ready`: the extra descriptors that are ready. A guard of a
    /// minute turns a hang into a failure.
    fn step(output: &mut Output, extra: &[RawFd]) -> Vec<RawFd> {
        let mut fds = Vec::new();
        output.watches(&mut fds);
        for &fd in extra {
            fds.push(watch(fd, libc::POLLIN));
        }
        let ready = sys::poll(&mut fds, Some(Duration::from_secs(60))).unwrap();
        assert!(ready > 0, "nothing became ready within a minute");
        let mut extras = Vec::new();
        for fd in fds.iter().filter(|fd| fd.revents != 0) {
            if extra.contains(&fd.fd) {
                extras.push(fd.fd);
            } else {
                assert!(output.on_ready(fd.fd), "fd {} is ours", fd.fd);
            }
        }
        extras
    }

    /// Everything readable now from a non-blocking `fd`, appended to `into`.
    fn drain(fd: RawFd, into: &mut Vec<u8>) {
        let mut buffer = [0u8; 65536];
        while let Ok(Some(n @ 1..)) = sys::read_some(fd, &mut buffer) {
            into.extend_from_slice(&buffer[..n]);
        }
    }

    fn queued(output: &Output) -> usize {
        output.sinks.iter().map(Sink::queued).sum()
    }

    /// `count` numbered lines of varied length from `service`, written in
    /// blocks that cut lines anywhere.
    fn flood(fd: sys::Fd, service: &'static str, count: usize) -> std::thread::JoinHandle<()> {
        std::thread::spawn(move || {
            let mut block = Vec::new();
            for n in 0..count {
                block.extend_from_slice(format!("{service}-{n}-").as_bytes());
                block.extend(core::iter::repeat_n(b'a' + (n % 26) as u8, n * 7 % 300));
                block.push(b'\n');
                if block.len() > 10_000 {
                    sys::write_all(fd.raw(), &block).unwrap();
                    block.clear();
                }
            }
            sys::write_all(fd.raw(), &block).unwrap();
        })
    }

    fn two_floods_arrive_whole_and_once(format: Format, gated: bool) {
        const LINES: usize = 10_000;
        let (destination, destination_writer) = sys::pipe().unwrap();
        let fd = destination_writer.raw();
        let mut output = Output::with_destinations(format, [fd, fd]);
        assert!(matches!(output.sinks[0].way, Way::Reopened(_)));
        // Without a second open of the destination, written only after
        // POLLOUT, through descriptors of their own as fds 1 and 2 are.
        let blocking = [(); 2].map(|()| {
            let path = format!("/proc/self/fd/{fd}");
            std::fs::File::options().write(true).open(path).unwrap()
        });
        if gated {
            for (sink, file) in output.sinks.iter_mut().zip(&blocking) {
                sink.fd = file.as_raw_fd();
                sink.way = Way::AfterPollout;
            }
        }
        let a = output.pipe_for("alpha", Stream::Stdout).unwrap();
        let b = output.pipe_for("beta", Stream::Stderr).unwrap();
        let writers = [flood(a, "alpha", LINES), flood(b, "beta", LINES)];
        let mut got = Vec::new();
        while output.has_open_pipes() || queued(&output) > 0 {
            if !step(&mut output, &[destination.raw()]).is_empty() {
                drain(destination.raw(), &mut got);
            }
        }
        drain(destination.raw(), &mut got);
        for writer in writers {
            writer.join().unwrap();
        }
        let mut next = [0usize; 2];
        for line in lines(&got) {
            let (service, text) = match format {
                Format::Text => {
                    let line = core::str::from_utf8(line).unwrap();
                    let (service, text) = line.split_once(" | ").unwrap();
                    (service.to_string(), text.to_string())
                }
                Format::Json => {
                    let line: serde_json::Value = serde_json::from_slice(line).unwrap();
                    let stream = if line["service"] == "alpha" {
                        "stdout"
                    } else {
                        "stderr"
                    };
                    assert_eq!(line["stream"], stream);
                    (
                        line["service"].as_str().unwrap().to_string(),
                        line["message"].as_str().unwrap().to_string(),
                    )
                }
            };
            let which = usize::from(service == "beta");
            let n = next[which];
            let mut expected = format!("{service}-{n}-");
            expected.extend(core::iter::repeat_n(
                (b'a' + (n % 26) as u8) as char,
                n * 7 % 300,
            ));
            assert_eq!(text, expected);
            next[which] += 1;
        }
        assert_eq!(next, [LINES, LINES]);
        assert!(output.pipes.is_empty());
    }

    #[test]
    fn two_floods_arrive_whole_and_once_in_text() {
        two_floods_arrive_whole_and_once(Format::Text, false);
    }

    #[test]
    fn two_floods_arrive_whole_and_once_in_json() {
        two_floods_arrive_whole_and_once(Format::Json, false);
    }

    #[test]
    fn two_floods_arrive_whole_and_once_written_after_pollout() {
        two_floods_arrive_whole_and_once(Format::Text, true);
    }

    /// A destination nobody reads: reading stops once its queue is full,
    /// and no call blocks, however often it is made.
    fn never_blocks_on(destination: RawFd, expected: fn(&Way) -> bool) {
        let mut output = Output::with_destinations(Format::Text, [destination, destination]);
        assert!(expected(&output.sinks[0].way));
        let service = output.pipe_for("flood", Stream::Stdout).unwrap();
        let pipe = output.pipes[0].fd.as_ref().unwrap().raw();
        let writer = std::thread::spawn(move || {
            let mut line = [b'z'; 100];
            line[99] = b'\n';
            // Until grace's read end is closed.
            while sys::write_all(service.raw(), &line).is_ok() {}
        });
        // Bounded by what the destination and the queue hold: each round
        // reads a chunk.
        let mut rounds = 0;
        loop {
            let mut fds = Vec::new();
            output.watches(&mut fds);
            if !fds.iter().any(|fd| fd.fd == pipe) {
                break;
            }
            step(&mut output, &[]);
            rounds += 1;
            assert!(rounds < 100_000, "the queue never filled");
        }
        assert!(output.sinks[0].full());
        assert!(output.sinks[0].queued() < QUEUE_LIMIT + LINE_MAX);
        assert!(output.pipes[0].pending.len() < 2 * CHUNK);
        // Spurious wake-ups return at once too.
        let sink = output.sinks[0].poll_fd().unwrap();
        for _ in 0..100 {
            assert!(output.on_ready(sink));
            assert!(output.on_ready(pipe));
        }
        let dropped = output.finish_counting(Duration::ZERO);
        // The queue's lines (`flood | ` and 99 bytes): the pipe's are not
        // read with a destination that is full.
        assert!(dropped >= QUEUE_LIMIT / 108, "{dropped} lines dropped");
        assert!(!output.has_open_pipes());
        drop(output);
        writer.join().unwrap();
    }

    #[test]
    fn a_pipe_nobody_reads_never_blocks() {
        let (_reader, writer) = sys::pipe().unwrap();
        never_blocks_on(writer.raw(), |way| matches!(way, Way::Reopened(_)));
    }

    #[test]
    fn a_socket_nobody_reads_never_blocks() {
        let (ours, _theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        never_blocks_on(ours.as_raw_fd(), |way| matches!(way, Way::Socket));
    }

    #[test]
    fn finish_writes_last_lines_and_counts_what_it_drops() {
        let (destination, destination_writer) = sys::pipe().unwrap();
        let fd = destination_writer.raw();
        let mut output = Output::with_destinations(Format::Text, [fd, fd]);
        let service = output.pipe_for("db", Stream::Stdout).unwrap();
        sys::write_all(service.raw(), b"one\ntwo\nthree").unwrap();
        // The service is still running: finish does not wait for its EOF.
        assert_eq!(output.finish_counting(Duration::from_secs(60)), 0);
        let mut got = Vec::new();
        drain(destination.raw(), &mut got);
        assert_eq!(got, b"db | one\ndb | two\ndb | three\n");
        drop(service);

        // Now a destination that is full: what cannot be written is
        // counted, and finish returns.
        let mut output = Output::with_destinations(Format::Text, [fd, fd]);
        while sys::write_some(output.sinks[0].poll_fd().unwrap(), &[b'-'; 4096])
            .unwrap()
            .is_some()
        {}
        let service = output.pipe_for("db", Stream::Stdout).unwrap();
        for n in 0..50 {
            sys::write_all(service.raw(), format!("line {n}\n").as_bytes()).unwrap();
        }
        drop(service);
        assert_eq!(output.finish_counting(Duration::from_millis(10)), 50);
    }

    #[test]
    fn finish_writes_everything_a_reader_takes_within_its_budget() {
        const LINES: usize = 12_000;
        let (destination, destination_writer) = sys::pipe().unwrap();
        let fd = destination_writer.raw();
        let mut output = Output::with_destinations(Format::Json, [fd, fd]);
        let service = output.pipe_for("db", Stream::Stdout).unwrap();
        // Within the pipe's capacity, so no writer is left waiting; in
        // JSON, far more than the destination and its queue hold.
        let mut lines = Vec::new();
        for n in 0..LINES {
            lines.extend_from_slice(format!("{:04}\n", n % 10_000).as_bytes());
        }
        assert!(lines.len() < 64 * 1024);
        sys::write_all(service.raw(), &lines).unwrap();
        drop(service);
        let path = format!("/proc/self/fd/{}", destination.raw());
        let mut reader = std::fs::File::open(path).unwrap();
        let reader = std::thread::spawn(move || {
            use std::io::Read;
            let (mut seen, mut buffer) = (0, [0u8; 65536]);
            while seen < LINES {
                let n = reader.read(&mut buffer).unwrap();
                assert!(n > 0);
                seen += buffer[..n].iter().filter(|&&b| b == b'\n').count();
            }
            seen
        });
        assert_eq!(output.finish_counting(Duration::from_secs(600)), 0);
        assert_eq!(reader.join().unwrap(), LINES);
    }

    #[test]
    fn lines_kept_after_eof_follow_when_the_destination_takes_everything() {
        const LINES: usize = 12_000;
        // A file takes every write whole: the queue empties at each write
        // while the pipe still holds lines, and no POLLOUT will come.
        let path = std::env::temp_dir().join(format!("grace-output-eof-{}", std::process::id()));
        let file = std::fs::File::create(&path).unwrap();
        let fd = file.as_raw_fd();
        let mut output = Output::with_destinations(Format::Json, [fd, fd]);
        let service = output.pipe_for("db", Stream::Stdout).unwrap();
        // Within the pipe's capacity; in JSON, far more than a queue holds.
        sys::write_all(service.raw(), &b"\n".repeat(LINES)).unwrap();
        drop(service);
        while !output.pipes.is_empty() || queued(&output) > 0 {
            step(&mut output, &[]);
            assert!(output.pipes.iter().all(|p| p.pending.len() < 2 * CHUNK));
        }
        let written = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(json_lines(&written).len(), LINES);
    }

    #[test]
    fn a_destination_whose_reader_left_drops_lines_and_counts_them() {
        let (destination, destination_writer) = sys::pipe().unwrap();
        let fd = destination_writer.raw();
        let mut output = Output::with_destinations(Format::Text, [fd, fd]);
        drop(destination);
        let service = output.pipe_for("db", Stream::Stderr).unwrap();
        sys::write_all(service.raw(), b"a\nb\nc\n").unwrap();
        drop(service);
        while output.has_open_pipes() {
            step(&mut output, &[]);
        }
        assert!(matches!(output.sinks[1].way, Way::Gone));
        assert_eq!(output.finish_counting(Duration::ZERO), 3);
    }

    #[test]
    fn files_are_written_at_their_offset_and_dev_null_is_reopened() {
        use std::io::{Read, Seek, Write};
        let path = std::env::temp_dir().join(format!("grace-output-{}", std::process::id()));
        let mut file = std::fs::File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        file.write_all(b"before\n").unwrap();
        let null = std::fs::File::options()
            .write(true)
            .open("/dev/null")
            .unwrap();
        let mut output =
            Output::with_destinations(Format::Text, [file.as_raw_fd(), null.as_raw_fd()]);
        assert!(matches!(output.sinks[0].way, Way::Direct));
        assert!(matches!(output.sinks[1].way, Way::Reopened(_)));
        for stream in [Stream::Stdout, Stream::Stderr] {
            let service = output.pipe_for("x", stream).unwrap();
            sys::write_all(service.raw(), b"line\n").unwrap();
        }
        while output.has_open_pipes() {
            step(&mut output, &[]);
        }
        assert_eq!(output.finish_counting(Duration::ZERO), 0);
        file.write_all(b"after\n").unwrap();
        let mut written = String::new();
        file.rewind().unwrap();
        file.read_to_string(&mut written).unwrap();
        assert_eq!(written, "before\nx | line\nafter\n");
        std::fs::remove_file(&path).unwrap();
    }
}
