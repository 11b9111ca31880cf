//! WASI for routers and filters, whose calls are synchronous.
//!
//! Their standard library imports WASI (a `HashMap` seeds itself from `wasi:random`, `println!`
//! writes to `wasi:cli/stdout`), so WASI is linked, granting nothing as for codecs (see
//! `sandbox`). But wasmtime-wasi's synchronous bindings run every operation that may wait (the
//! `blocking-*` stream calls, `poll`, a stream's drop) through `Handle::block_on` on the
//! current tokio runtime, which panics on a runtime worker thread, and the broker calls routers
//! and filters from its workers, even from inside a codec's call. So those operations are
//! linked here instead, and never wait: each runs wasmtime-wasi's own async implementation
//! polled once. The streams a plugin can reach (stdin closed, stdout and stderr discarding) are
//! always ready, so they complete; anything that would really wait (a sleep) traps instead,
//! because nothing may wait inside a router's or filter's call. The monotonic clock is frozen
//! (it reads 0), so a subscription to any instant after 0 never comes due.
//!
//! Linked from wasmtime-wasi as they are, because none of them waits or needs tokio: the wall
//! clock (frozen), random, the `cli` interfaces (empty environment and arguments, the stdio
//! above), the filesystem preopens (none) and types (so unreachable: no descriptor exists).
//! `wasi:sockets` is linked refusing everything (see `wasi_sockets`). A router or filter
//! importing anything else the host does not offer is refused at load.
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use wasmtime::component::{HasData, Linker, Resource, ResourceTable};
use wasmtime_wasi::WasiView;
use wasmtime_wasi::cli::{WasiCli, WasiCliView};
use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView};
use wasmtime_wasi::p2::bindings::sync::io::{poll as sync_poll, streams as sync_streams};
use wasmtime_wasi::p2::bindings::{cli, clocks, filesystem, io, random, sync};
use wasmtime_wasi::p2::{
    DynInputStream, DynOutputStream, DynPollable, Pollable, StreamError, StreamResult,
};
use wasmtime_wasi::random::{WasiRandom, WasiRandomCtx};

use super::state::PolicyState;

/// Links every WASI interface a router or filter may import.
pub(crate) fn link(linker: &mut Linker<PolicyState>) -> wasmtime::Result<()> {
    let l = linker;
    clocks::wall_clock::add_to_linker::<PolicyState, WasiClocks>(l, PolicyState::clocks)?;
    clocks::monotonic_clock::add_to_linker::<PolicyState, NoWait>(l, no_wait)?;
    filesystem::preopens::add_to_linker::<PolicyState, WasiFilesystem>(l, PolicyState::filesystem)?;
    sync::filesystem::types::add_to_linker::<PolicyState, WasiFilesystem>(
        l,
        PolicyState::filesystem,
    )?;
    random::random::add_to_linker::<PolicyState, WasiRandom>(l, random_ctx)?;
    random::insecure::add_to_linker::<PolicyState, WasiRandom>(l, random_ctx)?;
    random::insecure_seed::add_to_linker::<PolicyState, WasiRandom>(l, random_ctx)?;
    cli::exit::add_to_linker::<PolicyState, WasiCli>(l, PolicyState::cli)?;
    cli::environment::add_to_linker::<PolicyState, WasiCli>(l, PolicyState::cli)?;
    cli::stdin::add_to_linker::<PolicyState, WasiCli>(l, PolicyState::cli)?;
    cli::stdout::add_to_linker::<PolicyState, WasiCli>(l, PolicyState::cli)?;
    cli::stderr::add_to_linker::<PolicyState, WasiCli>(l, PolicyState::cli)?;
    cli::terminal_input::add_to_linker::<PolicyState, WasiCli>(l, PolicyState::cli)?;
    cli::terminal_output::add_to_linker::<PolicyState, WasiCli>(l, PolicyState::cli)?;
    cli::terminal_stdin::add_to_linker::<PolicyState, WasiCli>(l, PolicyState::cli)?;
    cli::terminal_stdout::add_to_linker::<PolicyState, WasiCli>(l, PolicyState::cli)?;
    cli::terminal_stderr::add_to_linker::<PolicyState, WasiCli>(l, PolicyState::cli)?;
    io::error::add_to_linker::<PolicyState, Table>(l, |t| t.ctx().table)?;
    sync_poll::add_to_linker::<PolicyState, NoWait>(l, no_wait)?;
    sync_streams::add_to_linker::<PolicyState, NoWait>(l, no_wait)?;
    Ok(())
}

fn random_ctx(state: &mut PolicyState) -> &mut WasiRandomCtx {
    state.ctx().ctx.random()
}

/// The store's resource table, for interfaces wasmtime-wasi implements on it directly.
struct Table;

impl HasData for Table {
    type Data<'a> = &'a mut ResourceTable;
}

/// The store's resource table, for the operations implemented here so that they never wait.
pub(crate) struct NoWait;

impl HasData for NoWait {
    type Data<'a> = NoWaitIo<'a>;
}

pub(crate) struct NoWaitIo<'a>(&'a mut ResourceTable);

fn no_wait(state: &mut PolicyState) -> NoWaitIo<'_> {
    NoWaitIo(state.ctx().table)
}

/// What a guest is told when it tries to wait.
const WOULD_WAIT: &str =
    "a router or filter may not wait inside a call (it tried to block on WASI)";

/// Runs a future that should complete at once; `None` if it would wait. Polled without a
/// runtime: the futures it is given (wasmtime-wasi's, over streams that are always ready, and
/// this module's clock subscriptions) need none.
fn at_once<F: Future>(future: F) -> Option<F::Output> {
    let future = pin!(future);
    match future.poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

fn at_once_or_trap<T>(future: impl Future<Output = wasmtime::Result<T>>) -> wasmtime::Result<T> {
    at_once(future).unwrap_or_else(|| Err(wasmtime::Error::msg(WOULD_WAIT)))
}

fn stream_at_once<T>(future: impl Future<Output = StreamResult<T>>) -> StreamResult<T> {
    at_once(future).unwrap_or_else(|| Err(StreamError::trap(WOULD_WAIT)))
}

impl sync_poll::Host for NoWaitIo<'_> {
    fn poll(&mut self, pollables: Vec<Resource<DynPollable>>) -> wasmtime::Result<Vec<u32>> {
        at_once_or_trap(io::poll::Host::poll(self.0, pollables))
    }
}

impl sync_poll::HostPollable for NoWaitIo<'_> {
    fn ready(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<bool> {
        at_once_or_trap(io::poll::HostPollable::ready(self.0, pollable))
    }
    fn block(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<()> {
        at_once_or_trap(io::poll::HostPollable::block(self.0, pollable))
    }
    fn drop(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<()> {
        io::poll::HostPollable::drop(self.0, pollable)
    }
}

impl sync_streams::Host for NoWaitIo<'_> {
    fn convert_stream_error(
        &mut self,
        err: StreamError,
    ) -> wasmtime::Result<sync_streams::StreamError> {
        sync_streams::Host::convert_stream_error(self.0, err)
    }
}

impl sync_streams::HostInputStream for NoWaitIo<'_> {
    fn drop(&mut self, stream: Resource<DynInputStream>) -> wasmtime::Result<()> {
        at_once_or_trap(io::streams::HostInputStream::drop(self.0, stream))
    }
    fn read(&mut self, stream: Resource<DynInputStream>, len: u64) -> StreamResult<Vec<u8>> {
        sync_streams::HostInputStream::read(self.0, stream, len)
    }
    fn blocking_read(
        &mut self,
        stream: Resource<DynInputStream>,
        len: u64,
    ) -> StreamResult<Vec<u8>> {
        stream_at_once(io::streams::HostInputStream::blocking_read(
            self.0, stream, len,
        ))
    }
    fn skip(&mut self, stream: Resource<DynInputStream>, len: u64) -> StreamResult<u64> {
        sync_streams::HostInputStream::skip(self.0, stream, len)
    }
    fn blocking_skip(&mut self, stream: Resource<DynInputStream>, len: u64) -> StreamResult<u64> {
        stream_at_once(io::streams::HostInputStream::blocking_skip(
            self.0, stream, len,
        ))
    }
    fn subscribe(
        &mut self,
        stream: Resource<DynInputStream>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        sync_streams::HostInputStream::subscribe(self.0, stream)
    }
}

impl sync_streams::HostOutputStream for NoWaitIo<'_> {
    fn drop(&mut self, stream: Resource<DynOutputStream>) -> wasmtime::Result<()> {
        at_once_or_trap(io::streams::HostOutputStream::drop(self.0, stream))
    }
    fn check_write(&mut self, stream: Resource<DynOutputStream>) -> StreamResult<u64> {
        sync_streams::HostOutputStream::check_write(self.0, stream)
    }
    fn write(&mut self, stream: Resource<DynOutputStream>, bytes: Vec<u8>) -> StreamResult<()> {
        sync_streams::HostOutputStream::write(self.0, stream, bytes)
    }
    fn blocking_write_and_flush(
        &mut self,
        stream: Resource<DynOutputStream>,
        bytes: Vec<u8>,
    ) -> StreamResult<()> {
        stream_at_once(io::streams::HostOutputStream::blocking_write_and_flush(
            self.0, stream, bytes,
        ))
    }
    fn blocking_write_zeroes_and_flush(
        &mut self,
        stream: Resource<DynOutputStream>,
        len: u64,
    ) -> StreamResult<()> {
        stream_at_once(
            io::streams::HostOutputStream::blocking_write_zeroes_and_flush(self.0, stream, len),
        )
    }
    fn subscribe(
        &mut self,
        stream: Resource<DynOutputStream>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        sync_streams::HostOutputStream::subscribe(self.0, stream)
    }
    fn write_zeroes(&mut self, stream: Resource<DynOutputStream>, len: u64) -> StreamResult<()> {
        sync_streams::HostOutputStream::write_zeroes(self.0, stream, len)
    }
    fn flush(&mut self, stream: Resource<DynOutputStream>) -> StreamResult<()> {
        sync_streams::HostOutputStream::flush(self.0, stream)
    }
    fn blocking_flush(&mut self, stream: Resource<DynOutputStream>) -> StreamResult<()> {
        stream_at_once(io::streams::HostOutputStream::blocking_flush(
            self.0, stream,
        ))
    }
    fn splice(
        &mut self,
        dst: Resource<DynOutputStream>,
        src: Resource<DynInputStream>,
        len: u64,
    ) -> StreamResult<u64> {
        sync_streams::HostOutputStream::splice(self.0, dst, src, len)
    }
    fn blocking_splice(
        &mut self,
        dst: Resource<DynOutputStream>,
        src: Resource<DynInputStream>,
        len: u64,
    ) -> StreamResult<u64> {
        stream_at_once(io::streams::HostOutputStream::blocking_splice(
            self.0, dst, src, len,
        ))
    }
}

/// The monotonic clock, frozen at 0 as the codecs' is (see `sandbox`), with subscriptions that
/// need no timer: one for an instant at or before 0 is due at once, any other never is.
impl clocks::monotonic_clock::Host for NoWaitIo<'_> {
    fn now(&mut self) -> wasmtime::Result<u64> {
        Ok(0)
    }
    fn resolution(&mut self) -> wasmtime::Result<u64> {
        Ok(1_000_000_000)
    }
    fn subscribe_instant(&mut self, when: u64) -> wasmtime::Result<Resource<DynPollable>> {
        self.deadline(when == 0)
    }
    fn subscribe_duration(&mut self, duration: u64) -> wasmtime::Result<Resource<DynPollable>> {
        self.deadline(duration == 0)
    }
}

impl NoWaitIo<'_> {
    fn deadline(&mut self, due: bool) -> wasmtime::Result<Resource<DynPollable>> {
        let deadline = self.0.push(FrozenDeadline { due })?;
        wasmtime_wasi::p2::subscribe(self.0, deadline)
    }
}

/// A clock subscription under a frozen clock: due now, or never.
struct FrozenDeadline {
    due: bool,
}

#[wasmtime_wasi::async_trait]
impl Pollable for FrozenDeadline {
    async fn ready(&mut self) {
        if !self.due {
            std::future::pending::<()>().await;
        }
    }
}
