//! The stdio side: newline-delimited JSON-RPC in, one writer task out.
//!
//! stdin is read as raw `Bytes` lines (no UTF-8 or JSON work here); stdout has exactly one owner,
//! [`write_lines`], fed whole messages (in memory, or spooled to a file) through an [`Outbox`], so
//! lines never interleave. On Linux a spooled message goes into a stdout pipe straight from its
//! file (`splice`). Nothing but MCP messages is ever written to stdout.
//!
//! The queue never refuses a message; it counts what it holds against a [`StdoutBudget`], which
//! readers of the server (and of stdin) wait on before they read more.

use crate::budget::StdoutBudget;
use crate::spool::{Spooled, SPOOL_THRESHOLD};
use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::mpsc;
use tokio_util::codec::{Decoder, FramedRead};

/// The longest line the client may send; a longer one is dropped as it arrives (so memory stays
/// bounded) and reported once it ends.
pub const MAX_LINE: usize = 256 * 1024 * 1024;

/// One line of stdin.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// The line's bytes, without the line end.
    Text(Bytes),
    /// A line longer than the limit, already thrown away.
    TooLong,
}

/// Splits a byte stream at `\n`, dropping a trailing `\r`, without copying the line.
#[derive(Debug)]
pub struct LineCodec {
    /// Bytes of the buffer already searched for a newline.
    scanned: usize,
    max_line: usize,
    /// The current line passed `max_line`; its bytes are dropped until it ends.
    discarding: bool,
}

impl LineCodec {
    pub fn with_max_line(max_line: usize) -> Self {
        Self { scanned: 0, max_line, discarding: false }
    }
}

impl Decoder for LineCodec {
    type Item = Line;
    type Error = io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> io::Result<Option<Line>> {
        let Some(offset) = memchr::memchr(b'\n', &buf[self.scanned..]) else {
            self.scanned = buf.len();
            if self.discarding || buf.len() > self.max_line {
                self.discarding = true;
                buf.clear();
                self.scanned = 0;
            }
            return Ok(None);
        };
        let end = self.scanned + offset;
        self.scanned = 0;
        let mut line = buf.split_to(end + 1);
        if std::mem::take(&mut self.discarding) || end > self.max_line {
            return Ok(Some(Line::TooLong));
        }
        line.truncate(if end > 0 && line[end - 1] == b'\r' { end - 1 } else { end });
        Ok(Some(Line::Text(line.freeze())))
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> io::Result<Option<Line>> {
        if let Some(line) = self.decode(buf)? {
            return Ok(Some(line));
        }
        self.scanned = 0;
        if std::mem::take(&mut self.discarding) {
            return Ok(Some(Line::TooLong));
        }
        Ok((!buf.is_empty()).then(|| Line::Text(buf.split().freeze())))
    }
}

/// The lines of `input`, cancel-safe: dropping a pending `next()` loses nothing.
pub fn lines<R: AsyncRead>(input: R) -> impl Stream<Item = io::Result<Line>> {
    FramedRead::with_capacity(input, LineCodec::with_max_line(MAX_LINE), 64 * 1024)
}

/// The process's stdin. When it is a pipe (as when Claude Desktop starts us) it is read through
/// the event loop, with no thread hop per read; otherwise through tokio's blocking pool.
pub fn process_stdin() -> Box<dyn AsyncRead + Send + Unpin> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        let pipe =
            std::io::stdin().as_fd().try_clone_to_owned().and_then(tokio::net::unix::pipe::Receiver::from_owned_fd);
        if let Ok(pipe) = pipe {
            return Box::new(pipe);
        }
    }
    Box::new(tokio::io::stdin())
}

/// The process's stdout, the same way as [`process_stdin`]. On Linux a pipe is enlarged to
/// [`STDOUT_PIPE_SIZE`] where the system allows it.
pub fn process_stdout() -> Output {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        let pipe =
            std::io::stdout().as_fd().try_clone_to_owned().and_then(tokio::net::unix::pipe::Sender::from_owned_fd);
        if let Ok(pipe) = pipe {
            #[cfg(target_os = "linux")]
            enlarge_pipe(&pipe);
            return Output::Pipe(pipe);
        }
    }
    Output::writer(tokio::io::stdout())
}

/// Where [`write_lines`] writes: a pipe it owns (the process's stdout, as Claude Desktop starts
/// us), or any writer (a terminal, a file, an in-process client).
pub enum Output {
    /// Written through the event loop; on Linux it takes spooled messages by `splice`.
    #[cfg(unix)]
    Pipe(tokio::net::unix::pipe::Sender),
    Writer(Box<dyn AsyncWrite + Send + Unpin>),
}

impl Output {
    pub fn writer(writer: impl AsyncWrite + Send + Unpin + 'static) -> Self {
        Self::Writer(Box::new(writer))
    }

    /// The pipe a spooled message can be spliced into.
    #[cfg(target_os = "linux")]
    fn pipe(&self) -> Option<&tokio::net::unix::pipe::Sender> {
        match self {
            Self::Pipe(pipe) => Some(pipe),
            Self::Writer(_) => None,
        }
    }
}

impl AsyncWrite for Output {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            #[cfg(unix)]
            Self::Pipe(pipe) => Pin::new(pipe).poll_write(cx, buf),
            Self::Writer(writer) => Pin::new(writer).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            #[cfg(unix)]
            Self::Pipe(pipe) => Pin::new(pipe).poll_flush(cx),
            Self::Writer(writer) => Pin::new(writer).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            #[cfg(unix)]
            Self::Pipe(pipe) => Pin::new(pipe).poll_shutdown(cx),
            Self::Writer(writer) => Pin::new(writer).poll_shutdown(cx),
        }
    }
}

/// What stdout's pipe is asked to hold on Linux (the default is 64 KiB, and 1 MiB is the most an
/// unprivileged process may ask for by default). A large message then goes out in a few writes,
/// instead of each side waking the other for every 64 KiB.
#[cfg(target_os = "linux")]
pub const STDOUT_PIPE_SIZE: usize = 1 << 20;

/// Asks for a [`STDOUT_PIPE_SIZE`] pipe. A refusal (a lower system limit, or the user's pipe
/// quota) leaves the pipe as it was, which works, only with more wake-ups.
#[cfg(target_os = "linux")]
fn enlarge_pipe(pipe: &impl std::os::fd::AsFd) {
    match rustix::pipe::fcntl_setpipe_size(pipe, STDOUT_PIPE_SIZE) {
        Ok(size) => tracing::debug!(size, "stdout pipe enlarged"),
        Err(error) => tracing::debug!(%error, "stdout pipe kept at its size"),
    }
}

/// One message for stdout, without its newline.
#[derive(Debug)]
pub enum Outgoing {
    Line(Bytes),
    Spooled(Spooled),
}

impl Outgoing {
    /// What the message costs in the stdout budget: its bytes in memory; a spooled message, whose
    /// bytes are in the spool's budget, counts as [`SPOOL_THRESHOLD`] for the file it holds open.
    fn cost(&self) -> usize {
        match self {
            Self::Line(line) => line.len(),
            Self::Spooled(_) => SPOOL_THRESHOLD,
        }
    }
}

impl From<Bytes> for Outgoing {
    fn from(line: Bytes) -> Self {
        Self::Line(line)
    }
}

impl From<Spooled> for Outgoing {
    fn from(spooled: Spooled) -> Self {
        Self::Spooled(spooled)
    }
}

/// A handle for writing whole messages to stdout; cheap to clone.
#[derive(Clone, Debug)]
pub struct Outbox {
    queue: mpsc::UnboundedSender<Outgoing>,
    budget: Arc<StdoutBudget>,
}

impl Outbox {
    /// Queues one message, at once, whatever the budget says (see [`Outbox::budget`]). Messages
    /// sent after the writer ended are dropped.
    pub fn send(&self, message: impl Into<Outgoing>) {
        let message = message.into();
        let cost = message.cost();
        self.budget.take(cost);
        if self.queue.send(message).is_err() {
            self.budget.give_back(cost);
        }
    }

    /// The budget of this queue: whoever reads what ends up here waits for its room first.
    pub fn budget(&self) -> &StdoutBudget {
        &self.budget
    }
}

/// The receiving end, for [`write_lines`]. Dropping it releases whoever waits for room.
pub struct OutboxReceiver {
    queue: mpsc::UnboundedReceiver<Outgoing>,
    budget: Arc<StdoutBudget>,
}

impl Drop for OutboxReceiver {
    fn drop(&mut self) {
        self.budget.close();
    }
}

impl OutboxReceiver {
    /// The next queued message (a spooled one read back), if any; for unit tests of the producers.
    #[cfg(test)]
    pub fn try_recv_for_tests(&mut self) -> Option<Bytes> {
        let message = self.queue.try_recv().ok()?;
        self.budget.give_back(message.cost());
        match message {
            Outgoing::Line(line) => Some(line),
            Outgoing::Spooled(spooled) => Some(spooled.into_bytes().expect("spool readable")),
        }
    }
}

pub fn outbox() -> (Outbox, OutboxReceiver) {
    let (tx, rx) = mpsc::unbounded_channel();
    let budget = Arc::new(StdoutBudget::default());
    (Outbox { queue: tx, budget: Arc::clone(&budget) }, OutboxReceiver { queue: rx, budget })
}

/// Writes every queued message as one line, flushing whenever the queue runs dry. Ends when every
/// [`Outbox`] is dropped and the queue is empty, or with the first write error (a closed stdout).
pub async fn write_lines(mut queue: OutboxReceiver, output: Output) -> io::Result<()> {
    let mut out = BufWriter::with_capacity(64 * 1024, output);
    let mut piece = Vec::new();
    while let Some(message) = queue.queue.recv().await {
        write_line(&mut out, message, &mut piece, &queue.budget).await?;
        while let Ok(message) = queue.queue.try_recv() {
            write_line(&mut out, message, &mut piece, &queue.budget).await?;
        }
        out.flush().await?;
    }
    out.flush().await
}

/// Writes one message; its cost goes back to the budget once it is in the write buffer or the
/// pipe (a message of the buffer's size at most stays in memory after that).
async fn write_line(
    out: &mut BufWriter<Output>,
    message: Outgoing,
    piece: &mut Vec<u8>,
    budget: &StdoutBudget,
) -> io::Result<()> {
    let cost = message.cost();
    let written = write_message(out, message, piece).await;
    budget.give_back(cost);
    written
}

async fn write_message(out: &mut BufWriter<Output>, message: Outgoing, piece: &mut Vec<u8>) -> io::Result<()> {
    match message {
        Outgoing::Line(line) => out.write_all(&line).await?,
        Outgoing::Spooled(mut spooled) => {
            // What was buffered goes first; a message this large is not written through the buffer.
            out.flush().await?;
            #[cfg(target_os = "linux")]
            let spliced = match out.get_ref().pipe() {
                Some(pipe) => splice_into(pipe, spooled.file(), spooled.size()).await?,
                None => 0,
            };
            #[cfg(not(target_os = "linux"))]
            let spliced = 0;
            spooled.seek_to(spliced)?;
            loop {
                spooled.read_piece(piece)?;
                if piece.is_empty() {
                    break;
                }
                out.write_all(piece).await?;
            }
        }
    }
    out.write_all(b"\n").await
}

/// Moves the first `len` bytes of `file` into `pipe` inside the kernel: the pages go from the
/// page cache to the pipe, with no copy through this process. Returns how many bytes went, fewer
/// than `len` only when the file's system cannot splice (the caller copies the rest).
#[cfg(target_os = "linux")]
async fn splice_into(pipe: &tokio::net::unix::pipe::Sender, file: &std::fs::File, len: u64) -> io::Result<u64> {
    use rustix::io::Errno;
    use rustix::pipe::{splice, SpliceFlags};
    let mut done = 0;
    while done < len {
        let left = usize::try_from(len - done).unwrap_or(usize::MAX);
        let moved = pipe.try_io(|| {
            let mut at = done;
            Ok(splice(file, Some(&mut at), pipe, None, left, SpliceFlags::NONBLOCK)?)
        });
        match moved {
            Ok(0) => {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the spool file is shorter than its message"))
            }
            Ok(moved) => done += moved as u64,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => pipe.writable().await?,
            Err(error) if matches!(Errno::from_io_error(&error), Some(Errno::INVAL | Errno::NOSYS)) => {
                tracing::debug!(%error, "cannot splice the spool; copying it");
                return Ok(done);
            }
            Err(error) => return Err(error),
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    fn texts(lines: Vec<Line>) -> Vec<Bytes> {
        lines.into_iter().map(|line| if let Line::Text(text) = line { text } else { panic!("{line:?}") }).collect()
    }

    #[tokio::test]
    async fn lines_split_on_lf_strip_cr_and_keep_last_unterminated_line() {
        let input: &[u8] = b"one\r\ntwo\n\nthree";
        let got = texts(lines(input).map(Result::unwrap).collect().await);
        assert_eq!(got, vec!["one", "two", "", "three"]);
    }

    #[tokio::test]
    async fn an_overlong_line_is_dropped_in_pieces_and_reported_once() {
        for reads in [1, 3, 7] {
            let text = format!("short\n{}\nnext\n{}", "x".repeat(100), "y".repeat(50));
            let (mut client, server) = tokio::io::duplex(reads);
            let writer = tokio::spawn(async move { client.write_all(text.as_bytes()).await.unwrap() });
            let framed = FramedRead::with_capacity(server, LineCodec::with_max_line(20), 8);
            let got: Vec<Line> = framed.map(Result::unwrap).collect().await;
            writer.await.unwrap();
            let text = |s: &'static str| Line::Text(Bytes::from_static(s.as_bytes()));
            assert_eq!(got, vec![text("short"), Line::TooLong, text("next"), Line::TooLong], "reads of {reads}");
        }
    }

    #[tokio::test]
    async fn long_line_across_reads_is_whole() {
        let big = "x".repeat(300_000);
        let text = format!("{big}\nend\n");
        let (client, server) = tokio::io::duplex(1024);
        let writer = tokio::spawn(async move {
            let mut client = client;
            client.write_all(text.as_bytes()).await.unwrap();
        });
        let got = texts(lines(server).map(Result::unwrap).collect().await);
        writer.await.unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].len(), 300_000);
        assert_eq!(got[1], "end");
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_pipe_is_enlarged_to_hold_a_large_piece() {
        let (sender, _receiver) = tokio::net::unix::pipe::pipe().unwrap();
        enlarge_pipe(&sender);
        assert_eq!(rustix::pipe::fcntl_getpipe_size(&sender).unwrap(), STDOUT_PIPE_SIZE);
    }

    /// Writes a line, a spooled message of 3 MiB (more than a pipe holds) and another line to
    /// `output`, and checks that `read_side` gets all three whole and in order.
    async fn a_spooled_message_arrives_whole_between_two_lines(output: Output, mut read_side: impl AsyncRead + Unpin) {
        let message = format!(r#"{{"jsonrpc":"2.0","id":1,"result":{{"text":"{}"}}}}"#, "x".repeat(3 << 20));
        let mut spool = crate::spool::SpoolWriter::new().unwrap();
        for piece in message.as_bytes().chunks(100_003) {
            spool.push(piece).unwrap();
        }
        let (outbox, queue) = outbox();
        outbox.send(Bytes::from_static(b"{\"before\":1}"));
        outbox.send(spool.finish());
        outbox.send(Bytes::from_static(b"{\"after\":2}"));
        drop(outbox);
        let writer = tokio::spawn(write_lines(queue, output));
        let mut got = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut read_side, &mut got).await.unwrap();
        writer.await.unwrap().unwrap();
        let expected = format!("{{\"before\":1}}\n{message}\n{{\"after\":2}}\n").into_bytes();
        assert!(got == expected, "{} bytes written, {} expected", got.len(), expected.len());
    }

    #[tokio::test]
    async fn a_spooled_message_is_copied_whole_to_a_writer() {
        let (sink, read_side) = tokio::io::duplex(1 << 16);
        a_spooled_message_arrives_whole_between_two_lines(Output::writer(sink), read_side).await;
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_spooled_message_reaches_a_pipe_whole() {
        let (sender, receiver) = tokio::net::unix::pipe::pipe().unwrap();
        a_spooled_message_arrives_whole_between_two_lines(Output::Pipe(sender), receiver).await;
    }

    #[tokio::test]
    async fn the_queue_holds_readers_while_over_budget_until_its_messages_are_written() {
        use futures_util::FutureExt;
        let (outbox, queue) = outbox();
        outbox.send(Bytes::from(vec![b'1'; crate::budget::STDOUT_BUDGET]));
        assert!(outbox.budget().room().now_or_never().is_none(), "a full queue holds readers");
        let (sink, mut read_side) = tokio::io::duplex(1 << 16);
        let writer = tokio::spawn(write_lines(queue, Output::writer(sink)));
        let reader = tokio::spawn(async move { tokio::io::copy(&mut read_side, &mut tokio::io::sink()).await });
        tokio::time::timeout(std::time::Duration::from_secs(30), outbox.budget().room()).await.expect("room");
        let budget = Arc::clone(&outbox.budget);
        drop(outbox);
        writer.await.unwrap().unwrap();
        assert_eq!(budget.queued(), 0, "every written message gave its bytes back");
        assert_eq!(reader.await.unwrap().unwrap(), crate::budget::STDOUT_BUDGET as u64 + 1);
    }

    #[tokio::test]
    async fn writer_emits_one_line_per_message_and_ends_when_senders_drop() {
        let (outbox, queue) = outbox();
        let (sink, mut read_side) = tokio::io::duplex(1 << 20);
        let writer = tokio::spawn(write_lines(queue, Output::writer(sink)));
        outbox.send(Bytes::from_static(b"{\"a\":1}"));
        outbox.clone().send(Bytes::from_static(b"{\"b\":2}"));
        drop(outbox);
        writer.await.unwrap().unwrap();
        let mut text = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut read_side, &mut text).await.unwrap();
        assert_eq!(text, "{\"a\":1}\n{\"b\":2}\n");
    }
}
