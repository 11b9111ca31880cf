//! `wasi:sockets` for routers and filters, granting nothing.
//!
//! Some guest toolchains import sockets whether or not the plugin uses them: componentize-py
//! links CPython's whole standard library, `socket` included. So the interfaces are linked,
//! over the same context as the rest of WASI (`sandbox::wasi_granting_nothing`: TCP, UDP and
//! name lookup all off), and every way to get a socket answers `access-denied`. Without a
//! socket no method on one can be reached, so the synchronous socket methods (which would
//! block on tokio, as `wasi` explains) are never run.
//!
//! wasmtime-wasi's own `create-udp-socket` is the one entry point that would run through
//! tokio before it checks the permission, so it is answered here instead.
use wasmtime::component::{HasData, Linker, Resource};
use wasmtime_wasi::p2::bindings::sockets::network::ErrorCode;
use wasmtime_wasi::p2::bindings::{sockets, sync};
use wasmtime_wasi::p2::{SocketError, SocketResult, UdpSocket};
use wasmtime_wasi::sockets::{WasiSockets, WasiSocketsCtxView, WasiSocketsView};

use super::state::PolicyState;

/// Links every `wasi:sockets` interface, all of them refusing.
pub(crate) fn link(linker: &mut Linker<PolicyState>) -> wasmtime::Result<()> {
    let l = linker;
    let network_options = sockets::network::LinkOptions::default();
    sockets::instance_network::add_to_linker::<PolicyState, WasiSockets>(l, PolicyState::sockets)?;
    sockets::network::add_to_linker::<PolicyState, WasiSockets>(
        l,
        &network_options,
        PolicyState::sockets,
    )?;
    sockets::tcp_create_socket::add_to_linker::<PolicyState, WasiSockets>(l, PolicyState::sockets)?;
    sockets::ip_name_lookup::add_to_linker::<PolicyState, WasiSockets>(l, PolicyState::sockets)?;
    sync::sockets::tcp::add_to_linker::<PolicyState, WasiSockets>(l, PolicyState::sockets)?;
    sync::sockets::udp::add_to_linker::<PolicyState, WasiSockets>(l, PolicyState::sockets)?;
    sync::sockets::udp_create_socket::add_to_linker::<PolicyState, NoUdp<'static>>(l, |state| {
        NoUdp(state.sockets())
    })?;
    Ok(())
}

/// `create-udp-socket`, refused without touching tokio or the operating system.
struct NoUdp<'a>(WasiSocketsCtxView<'a>);

impl HasData for NoUdp<'static> {
    type Data<'a> = NoUdp<'a>;
}

/// The interface `create-udp-socket` belongs to speaks `network`'s error type.
impl sockets::network::Host for NoUdp<'_> {
    fn convert_error_code(&mut self, error: SocketError) -> wasmtime::Result<ErrorCode> {
        sockets::network::Host::convert_error_code(&mut self.0, error)
    }

    fn network_error_code(
        &mut self,
        error: Resource<wasmtime_wasi::p2::bindings::io::error::Error>,
    ) -> wasmtime::Result<Option<ErrorCode>> {
        sockets::network::Host::network_error_code(&mut self.0, error)
    }
}

impl sockets::network::HostNetwork for NoUdp<'_> {
    fn drop(&mut self, network: Resource<sockets::network::Network>) -> wasmtime::Result<()> {
        sockets::network::HostNetwork::drop(&mut self.0, network)
    }
}

impl sync::sockets::udp_create_socket::Host for NoUdp<'_> {
    fn create_udp_socket(
        &mut self,
        _address_family: sockets::network::IpAddressFamily,
    ) -> SocketResult<Resource<UdpSocket>> {
        Err(ErrorCode::AccessDenied.into())
    }
}
