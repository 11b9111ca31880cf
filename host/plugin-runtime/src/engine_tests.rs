//! The two engines together: a router or filter called synchronously from inside a codec's
//! host import, on the codec engine's fiber, on a tokio worker, as the broker does when a
//! codec sends messages to an address with a filter.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Duration;

use wasmtime::Store;
use wasmtime::component::{Component, Linker};

use crate::bindings::filter::Verdict;
use crate::bindings::{Header, Message};
use crate::{Limits, Runtime};

/// A codec stand-in: its export `run` recurses `depth` frames deep into its own Wasm stack,
/// then calls the host's `judge`, as a codec calls a `queues` import mid-call.
const DEEP_CALLER: &str = r#"
(component
  (import "judge" (func $judge (result u32)))
  (core func $judge_lowered (canon lower (func $judge)))
  (core module $m
    (import "host" "judge" (func $judge (result i32)))
    (func $deep (param $n i32) (result i32)
      (local i64 i64 i64 i64 i64 i64 i64 i64)
      (if (result i32) (local.get $n)
        (then (call $deep (i32.sub (local.get $n) (i32.const 1))))
        (else (call $judge))))
    (func (export "run") (param $depth i32) (result i32)
      (call $deep (local.get $depth))))
  (core instance $i (instantiate $m
    (with "host" (instance (export "judge" (func $judge_lowered))))))
  (func (export "run") (param "depth" u32) (result u32)
    (canon lift (core func $i "run")))
)
"#;

#[test]
fn a_filter_called_from_a_codec_import_runs_on_the_codec_fiber() {
    let worker = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let runtime = Runtime::new(None).unwrap();
    let limits = Limits {
        call_deadline: Duration::from_secs(2),
        ..Limits::default()
    };
    let echo = common::guest("sluice-guest-filter-echo");
    let filter = worker
        .block_on(runtime.load_filter("echo", &echo, limits))
        .unwrap();

    let wasm = wat::parse_str(DEEP_CALLER).unwrap();
    let component = Component::new(&runtime.engine, wasm).unwrap();
    let mut linker: Linker<()> = Linker::new(&runtime.engine);
    let judged = filter.clone();
    linker
        .root()
        .func_wrap("judge", move |_, (): ()| {
            let message = Message {
                key: None,
                value: Some(b"v".to_vec()),
                headers: vec![Header {
                    key: "drop".into(),
                    value: None,
                }],
                timestamp_ms: 0,
                durable: false,
                expiry_ms: None,
            };
            let verdicts = judged.apply("nested", &[message])?;
            Ok((u32::from(matches!(verdicts.as_slice(), [Verdict::Drop])),))
        })
        .unwrap();

    let engine = runtime.engine.clone();
    let dropped = worker.block_on(async move {
        tokio::spawn(async move {
            let mut store = Store::new(&engine, ());
            // As a codec's store does: yield to the runtime at every tick.
            store.epoch_deadline_async_yield_and_update(1);
            let instance = linker
                .instantiate_async(&mut store, &component)
                .await
                .unwrap();
            let run = instance
                .get_typed_func::<(u32,), (u32,)>(&mut store, "run")
                .unwrap();
            // Deep enough to take a good part of the codec's Wasm stack before the filter
            // adds its own frames on the same fiber stack.
            run.call_async(&mut store, (4_000,)).await.unwrap().0
        })
        .await
        .unwrap()
    });
    assert_eq!(dropped, 1);
    assert!(filter.healthy());
    assert_eq!(filter.stats().calls, 1);
}
