//! The protocol end to end against the fake host: what a peer sends, what it reads back, what
//! the host was asked, and that no input (random bytes included) panics the codec.

use sluice_sdk::codec::{
    BrokerError, ConnectionInfo, ErrorCode, LogPosition, Output, RoutingType, WakeOn,
};

use crate::limits::{IN_FLIGHT_MAX, LINE_BYTES_MAX, REPLIES_OWED_MAX};
use crate::session::TextConnection;
use crate::testing::FakeHost;

fn info(frame_bytes_max: u32) -> ConnectionInfo {
    ConnectionInfo {
        id: 7,
        listener: "text".to_owned(),
        peer: "127.0.0.1:5000".to_owned(),
        advertised_host: "localhost".to_owned(),
        advertised_port: 7001,
        frame_bytes_max,
    }
}

fn connection() -> TextConnection {
    TextConnection::accept(&info(100 << 20))
}

fn say(c: &mut TextConnection, host: &FakeHost, bytes: &[u8]) -> Output {
    c.data(host, bytes).unwrap()
}

fn text(out: &Output) -> String {
    String::from_utf8(out.write.clone()).unwrap()
}

/// What the peer reads back for `bytes`.
fn reply(c: &mut TextConnection, host: &FakeHost, bytes: &str) -> String {
    text(&say(c, host, bytes.as_bytes()))
}

fn position(offset: i64) -> LogPosition {
    LogPosition {
        topic: "orders".to_owned(),
        partition: 0,
        offset,
    }
}

#[test]
fn ping_help_and_blank_lines() {
    let (host, mut c) = (FakeHost::default(), connection());
    assert_eq!(
        reply(&mut c, &host, "PING\r\n\r\nping hi there\n"),
        "PONG\r\nPONG hi there\r\n"
    );
    assert!(reply(&mut c, &host, "HELP\n").starts_with("OK commands: AUTH"));
}

#[test]
fn pub_sends_one_durable_message_whose_body_is_the_rest_of_the_line() {
    let (host, mut c) = (FakeHost::default(), connection());
    assert_eq!(reply(&mut c, &host, "PUB orders hello  world\n"), "OK\r\n");
    let sends = host.sends.borrow();
    let sent = &sends[0];
    assert_eq!(sent.address, "orders");
    assert_eq!(sent.routing, None);
    assert_eq!(sent.messages.len(), 1);
    let m = &sent.messages[0];
    assert_eq!(m.value.as_deref(), Some(&b"hello  world"[..]));
    assert!(m.durable);
    assert_eq!(m.key, None);
    assert_eq!(m.timestamp_ms, 1_700_000_000_000);
}

#[test]
fn prefixes_ask_for_a_routing_type() {
    let (host, mut c) = (FakeHost::default(), connection());
    reply(&mut c, &host, "PUB queue://jobs a\nPUB topic://prices b\n");
    let routings: Vec<_> = host
        .sends
        .borrow()
        .iter()
        .map(|s| (s.address.clone(), s.routing))
        .collect();
    assert_eq!(
        routings,
        [
            ("jobs".to_owned(), Some(RoutingType::Anycast)),
            ("prices".to_owned(), Some(RoutingType::Multicast))
        ]
    );
}

#[test]
fn ok_for_a_pub_waits_until_its_message_is_durable_and_later_replies_wait_behind_it() {
    let (host, mut c) = (FakeHost::default(), connection());
    host.pending.borrow_mut().push(position(41));
    let out = say(&mut c, &host, b"PUB orders x\nPING\n");
    assert_eq!(text(&out), "");
    assert_eq!(out.waits.len(), 1);
    let wait = &out.waits[0];
    assert_eq!(format!("{:?}", wait.watch), format!("{:?}", [position(41)]));
    assert!(matches!(wait.wake_on, WakeOn::All));
    assert!(!out.pause_input, "two owed replies are far below the bound");

    // A timeout is no durability: the reply stays owed and is watched again.
    let again = c.wake(&host, wait.token, true).unwrap();
    assert_eq!(text(&again), "");
    assert_eq!(again.waits.len(), 1);
    let done = c.wake(&host, again.waits[0].token, false).unwrap();
    assert_eq!(text(&done), "OK\r\nPONG\r\n");
}

#[test]
fn a_client_pipelining_past_the_owed_replies_bound_is_paused_then_resumed() {
    let (host, mut c) = (FakeHost::default(), connection());
    host.pending.borrow_mut().push(position(1));
    let many = "PUB orders x\n".repeat(REPLIES_OWED_MAX + 10);
    let out = say(&mut c, &host, many.as_bytes());
    assert!(out.pause_input);
    assert_eq!(host.sends.borrow().len(), REPLIES_OWED_MAX);
    host.pending.borrow_mut().clear();
    let out = c.wake(&host, out.waits[0].token, false).unwrap();
    assert_eq!(text(&out), "OK\r\n".repeat(REPLIES_OWED_MAX + 10));
    assert!(!out.pause_input);
    assert_eq!(host.sends.borrow().len(), REPLIES_OWED_MAX + 10);
}

/// Subscribes to `orders` and returns the token of the wait its empty queue parked on.
fn subscribed(c: &mut TextConnection, host: &FakeHost) -> u64 {
    let out = say(c, host, b"SUB orders\n");
    assert!(text(&out).starts_with("OK "));
    out.waits
        .iter()
        .find(|w| !w.consumers.is_empty())
        .unwrap()
        .token
}

#[test]
fn sub_replies_with_its_number_then_pushes_messages_to_acknowledge() {
    let (host, mut c) = (FakeHost::default(), connection());
    let parked = subscribed(&mut c, &host);
    let opened = host.opened.borrow()[0].clone();
    assert_eq!(opened.source, "orders");
    assert_eq!(opened.routing, Some(RoutingType::Anycast));
    host.offer(100, b"first");
    host.offer(100, b"line\nbreak");
    let out = c.wake(&host, parked, false).unwrap();
    assert_eq!(text(&out), "MSG 1 0 first\r\nMSG 1 1 line\\nbreak\r\n");
    assert_eq!(reply(&mut c, &host, "ACK 1 0\nNACK 1 1\n"), "OK\r\nOK\r\n");
    let settled = host.settled.borrow();
    assert_eq!((settled[0].0, settled[0].1.clone()), (100, vec![0]));
    assert_eq!(settled[0].2, "Outcome::Accepted");
    assert!(
        settled[1].2.contains("delivery-failed: true"),
        "{}",
        settled[1].2
    );
}

#[test]
fn settling_what_was_not_delivered_is_an_error_and_the_connection_stays() {
    let (host, mut c) = (FakeHost::default(), connection());
    reply(&mut c, &host, "SUB orders\n");
    assert_eq!(
        reply(&mut c, &host, "ACK 1 5\nACK 2 0\nPING\n"),
        "ERR no delivery 5 awaiting acknowledgement on subscription 1\r\nERR no subscription 2\r\nPONG\r\n"
    );
    assert!(host.settled.borrow().is_empty());
}

#[test]
fn a_subscription_holds_at_most_its_in_flight_limit_until_acknowledged() {
    let (host, mut c) = (FakeHost::default(), connection());
    let parked = subscribed(&mut c, &host);
    for i in 0..IN_FLIGHT_MAX + 5 {
        host.offer(100, format!("m{i}").as_bytes());
    }
    let first = text(&c.wake(&host, parked, false).unwrap());
    assert_eq!(first.matches("MSG 1 ").count(), IN_FLIGHT_MAX);
    let more = reply(&mut c, &host, "ACK 1 0\nACK 1 1\n");
    assert_eq!(more.matches("MSG 1 ").count(), 2);
    assert!(more.starts_with("OK\r\nOK\r\nMSG 1 64 m64\r\n"), "{more}");
}

#[test]
fn an_idle_subscription_waits_on_its_queue_and_delivers_when_woken() {
    let (host, mut c) = (FakeHost::default(), connection());
    let out = say(&mut c, &host, b"SUB orders\n");
    assert_eq!(out.waits.len(), 1);
    let wait = &out.waits[0];
    assert_eq!(wait.consumers.len(), 1);
    assert_eq!(wait.consumers[0].consumer, 100);
    host.offer(100, b"late");
    let out = c.wake(&host, wait.token, false).unwrap();
    assert_eq!(text(&out), "MSG 1 0 late\r\n");
}

#[test]
fn messages_never_overtake_an_owed_reply() {
    let (host, mut c) = (FakeHost::default(), connection());
    host.pending.borrow_mut().push(position(3));
    let out = say(&mut c, &host, b"PUB orders x\nSUB orders\n");
    host.offer(100, b"early");
    assert_eq!(text(&out), "");
    let durable = out
        .waits
        .iter()
        .find(|w| !w.watch.is_empty())
        .unwrap()
        .token;
    let out = c.wake(&host, durable, false).unwrap();
    assert_eq!(text(&out), "OK\r\nOK 1\r\nMSG 1 0 early\r\n");
}

#[test]
fn unsub_closes_the_consumer() {
    let (host, mut c) = (FakeHost::default(), connection());
    reply(&mut c, &host, "SUB orders\n");
    assert_eq!(
        reply(&mut c, &host, "UNSUB 1\nUNSUB 1\n"),
        "OK\r\nERR no subscription 1\r\n"
    );
    assert_eq!(*host.closed.borrow(), vec![100]);
}

#[test]
fn sub_names_a_queue_or_a_topic_subscription() {
    let (host, mut c) = (FakeHost::default(), connection());
    reply(
        &mut c,
        &host,
        "SUB orders eu\nSUB topic://prices\nSUB topic://prices audit\n",
    );
    let opened = host.opened.borrow();
    assert_eq!(opened[0].source, "orders::eu");
    assert_eq!(opened[0].routing, Some(RoutingType::Anycast));
    assert_eq!(opened[1].source, "prices");
    assert_eq!(opened[1].routing, Some(RoutingType::Multicast));
    assert_eq!(
        (opened[1].subscription.clone(), opened[1].durable),
        (None, false)
    );
    assert_eq!(
        (opened[2].subscription.clone(), opened[2].durable),
        (Some("audit".to_owned()), true)
    );
}

#[test]
fn broker_errors_are_reported_with_their_code() {
    let (host, mut c) = (FakeHost::default(), connection());
    *host.send_error.borrow_mut() = Some(BrokerError {
        code: ErrorCode::InvalidAddress,
        message: "bad name".to_owned(),
    });
    assert_eq!(
        reply(&mut c, &host, "PUB a::b x\n"),
        "ERR invalid-address: bad name\r\n"
    );
    assert_eq!(
        reply(&mut c, &host, "SUB missing\n"),
        "ERR unknown-address: no address missing\r\n"
    );
}

#[test]
fn a_subscription_the_broker_ends_is_reported_closed() {
    let (host, mut c) = (FakeHost::default(), connection());
    let parked = subscribed(&mut c, &host);
    host.gone.borrow_mut().push(100);
    let out = c.wake(&host, parked, false).unwrap();
    assert_eq!(text(&out), "CLOSED 1 unknown-consumer: queue deleted\r\n");
    assert_eq!(*host.closed.borrow(), vec![100]);
}

#[test]
fn unknown_commands_are_errors_and_the_connection_stays_open() {
    let (host, mut c) = (FakeHost::default(), connection());
    let out = say(&mut c, &host, b"FROB\nPING\n");
    assert_eq!(
        text(&out),
        "ERR unknown command `FROB`; try HELP\r\nPONG\r\n"
    );
    assert!(out.close.is_none());
}

#[test]
fn a_line_too_long_is_refused_and_closes_after_the_replies_before_it() {
    let (host, mut c) = (FakeHost::default(), connection());
    let mut input = b"PING\n".to_vec();
    input.extend(std::iter::repeat_n(b'a', LINE_BYTES_MAX + 1));
    let out = say(&mut c, &host, &input);
    assert_eq!(
        text(&out),
        format!("PONG\r\nERR line too long (more than {LINE_BYTES_MAX} bytes)\r\n")
    );
    assert!(out.close.is_some());
    assert_eq!(
        text(&say(&mut c, &host, b"PING\n")),
        "",
        "nothing after the close"
    );
}

#[test]
fn the_line_limit_follows_a_smaller_frame_bytes_max() {
    let host = FakeHost::default();
    let mut c = TextConnection::accept(&info(1024));
    let out = say(
        &mut c,
        &host,
        format!("PUB a {}\n", "x".repeat(1100)).as_bytes(),
    );
    assert!(text(&out).starts_with("ERR line too long (more than 1024 bytes)"));
}

#[test]
fn commands_cut_anywhere_are_read_whole() {
    let (host, mut c) = (FakeHost::default(), connection());
    let mut got = String::new();
    for b in b"PING a\r\nPUB orders x y\nPING b\n" {
        got += &text(&say(&mut c, &host, &[*b]));
    }
    assert_eq!(got, "PONG a\r\nOK\r\nPONG b\r\n");
}

#[test]
fn bodies_with_any_bytes_survive_a_round_trip() {
    let (host, mut c) = (FakeHost::default(), connection());
    let parked = subscribed(&mut c, &host);
    say(&mut c, &host, b"PUB orders caf\xe9 \\\\ \\x00\\n\n");
    let body = host.sends.borrow()[0].messages[0].value.clone().unwrap();
    assert_eq!(body, b"caf\xe9 \\ \x00\n");
    host.offer(100, &body);
    let out = c.wake(&host, parked, false).unwrap();
    assert_eq!(text(&out), "MSG 1 0 caf\\xE9 \\\\ \\x00\\n\r\n");
}

#[test]
fn without_anonymous_access_only_auth_ping_help_and_quit_run_before_authenticating() {
    let (host, mut c) = (FakeHost::default(), connection());
    host.anonymous_denied.set(true);
    assert_eq!(
        reply(
            &mut c,
            &host,
            "PUB orders x\nPING\nAUTH ann wrong\nAUTH ann open sesame\nPUB orders x\n"
        ),
        "ERR authenticate first: AUTH <user> <password>\r\nPONG\r\nERR authentication failed\r\nOK ann\r\nOK\r\n"
    );
    assert_eq!(host.sends.borrow().len(), 1);
    assert_eq!(
        reply(&mut c, &host, "AUTH ann open sesame\n"),
        "ERR already authenticated as ann\r\n"
    );
}

#[test]
fn repeated_authentication_failures_close_the_connection() {
    let (host, mut c) = (FakeHost::default(), connection());
    host.anonymous_denied.set(true);
    let out = say(&mut c, &host, b"AUTH a b\nAUTH a b\nAUTH a b\nPING\n");
    assert_eq!(
        text(&out),
        "ERR authentication failed\r\nERR authentication failed\r\nERR authentication failed\r\n"
    );
    assert!(out.close.is_some());
}

#[test]
fn quit_says_bye_after_every_earlier_reply_and_reads_nothing_more() {
    let (host, mut c) = (FakeHost::default(), connection());
    host.pending.borrow_mut().push(position(9));
    let out = say(&mut c, &host, b"PUB orders x\nQUIT\nPUB orders y\n");
    assert_eq!(text(&out), "");
    assert!(out.pause_input);
    let out = c.wake(&host, out.waits[0].token, false).unwrap();
    assert_eq!(text(&out), "OK\r\nBYE\r\n");
    assert!(out.close.is_some());
    assert_eq!(host.sends.borrow().len(), 1);
}

/// xorshift64*: a fixed-seed generator, so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Random input: raw bytes and pieces of real commands, cut anywhere, with wakes in between.
/// No panic, every output is whole lines of the protocol's kinds, waits stay bounded, input
/// pauses only with a wait armed, and after a close nothing more is written.
#[test]
fn random_bytes_never_panic_and_every_output_is_protocol_lines() {
    const PIECES: [&[u8]; 16] = [
        b"PUB orders hello\n",
        b"SUB orders\n",
        b"SUB topic://t s\n",
        b"ACK 1 0\n",
        b"NACK 1 1\r\n",
        b"UNSUB 1\n",
        b"PING \\x\n",
        b"AUTH ann open sesame\n",
        b"QUIT\n",
        b"\r\n",
        b"\\",
        b"\n",
        b"HELP\n",
        b"ack 99999999999999999999 1\n",
        b"PUB \xff\n",
        b"SUB missing\n",
    ];
    let mut rng = Rng(0x5eed_1234_abcd_9876);
    for round in 0..400 {
        let host = FakeHost::default();
        host.anonymous_denied.set(round % 3 == 0);
        if round % 2 == 0 {
            host.pending.borrow_mut().push(position(5));
        }
        let mut c = TextConnection::accept(&info(1024 + (round as u32 % 4) * 4096));
        let mut armed: Vec<u64> = Vec::new();
        let mut closed = false;
        for _ in 0..60 {
            let out = match rng.below(4) {
                0 if !armed.is_empty() => {
                    let token = armed.swap_remove(rng.below(armed.len()));
                    c.wake(&host, token, rng.below(2) == 0).unwrap()
                }
                1 => {
                    let len = rng.below(3000);
                    let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                    c.data(&host, &bytes).unwrap()
                }
                _ => {
                    let mut bytes = Vec::new();
                    for _ in 0..rng.below(8) {
                        bytes.extend_from_slice(PIECES[rng.below(PIECES.len())]);
                    }
                    host.offer(100 + rng.below(3) as u64, b"m\x00\n");
                    c.data(&host, &bytes).unwrap()
                }
            };
            if closed {
                assert!(
                    out.write.is_empty() && out.waits.is_empty(),
                    "output after the close"
                );
                continue;
            }
            if !out.write.is_empty() {
                assert!(out.write.ends_with(b"\r\n"), "a partial line");
                for line in out.write.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                    let line = line.strip_suffix(b"\r").expect("every line ends in \\r\\n");
                    assert!(!line.contains(&b'\r'), "a bare \\r inside a line");
                    assert!(
                        [&b"OK"[..], b"ERR ", b"PONG", b"BYE", b"MSG ", b"CLOSED "]
                            .iter()
                            .any(|kind| line.starts_with(kind)),
                        "not a protocol line: {:?}",
                        String::from_utf8_lossy(line)
                    );
                }
            }
            armed.extend(out.waits.iter().map(|w| w.token));
            assert!(armed.len() <= 32, "{} waits armed", armed.len());
            assert!(
                !out.pause_input || !armed.is_empty(),
                "paused with no wait armed"
            );
            closed = out.close.is_some();
        }
    }
}
