//! Transfers cut into frames, both ways, and the byte stream cut anywhere.

use fe2o3_amqp_types::messaging::{Accepted, DeliveryState};

use crate::host::FakeHost;
use crate::peer::*;

#[test]
fn a_multi_frame_transfer_in_is_assembled_into_one_message() {
    let mut peer = Peer::opened();
    peer.attach_sender(0, "big");
    let body = (0..5000u32).map(|i| i as u8).collect::<Vec<_>>();
    let payload = message(false, &body);
    let (a, rest) = payload.split_at(100);
    let (b, c) = rest.split_at(2000);
    assert!(dispositions(&peer.input(&amqp(0, &transfer(0, 0, false, true), a))).is_empty());
    assert!(dispositions(&peer.input(&amqp(0, &more(0, true), b))).is_empty());
    let items = peer.input(&amqp(0, &more(0, false), c));
    assert_eq!(dispositions(&items).len(), 1);
    let sent = peer.host.sent_to("big");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].value.as_deref(), Some(&body[..]));
}

#[test]
fn an_aborted_transfer_is_dropped_without_a_disposition() {
    let mut peer = Peer::opened();
    peer.attach_sender(0, "q");
    peer.input(&amqp(0, &transfer(0, 0, false, true), b"partial"));
    let mut abort = more(0, false);
    if let fe2o3_amqp_types::performatives::Performative::Transfer(t) = &mut abort {
        t.aborted = true;
    }
    let items = peer.input(&amqp(0, &abort, &[]));
    assert!(dispositions(&items).is_empty());
    assert!(peer.host.sent_to("q").is_empty());
    // The next delivery is unaffected.
    let items = peer.transfer(0, 1, false, &message(false, b"whole"));
    assert_eq!(dispositions(&items)[0].first, 1);
}

#[test]
fn a_message_out_is_cut_to_the_peers_max_frame_size() {
    let mut peer = Peer::opened_with(512, FakeHost::default());
    let body = vec![0x5a; 3000];
    peer.host.enqueue("big", record(body.clone()));
    let before = peer.written.len();
    let items = peer.attach_receiver(0, "big", 5);
    let frames = transfers(&items);
    assert!(frames.len() >= 6, "{} frames", frames.len());
    let mut start = before;
    while start < peer.written.len() {
        let size = u32::from_be_bytes(peer.written[start..start + 4].try_into().unwrap()) as usize;
        assert!(size <= 512, "a frame of {size} bytes");
        start += size;
    }
    assert!(frames[..frames.len() - 1].iter().all(|(t, _)| t.more));
    assert!(!frames.last().unwrap().0.more);
    assert_eq!(frames[0].0.delivery_id, Some(0));
    let whole = deliveries(&items);
    assert_eq!(whole.len(), 1);
    // Kafka-style record: header, properties, then one data section holding the body.
    assert!(whole[0].1.ends_with(&body));
}

#[test]
fn messages_completed_in_one_call_are_stored_with_one_send() {
    let mut peer = Peer::opened();
    peer.attach_sender(0, "batch");
    let items = peer.input(&client_deliveries(0..5, false, |id| {
        message(false, &[id as u8])
    }));
    assert_eq!(peer.host.send_calls(), [("batch".to_owned(), None, 5)]);
    // One disposition settles the run.
    let d = dispositions(&items);
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].first, d[0].last), (0, Some(4)));
    assert_eq!(d[0].state, Some(DeliveryState::Accepted(Accepted {})));
}

#[test]
fn the_same_stream_fed_one_byte_at_a_time_gives_the_same_output() {
    let host = || {
        let host = FakeHost::default();
        host.enqueue("out", record(vec![1; 700]));
        host
    };
    let mut stream = SASL_HEADER.to_vec();
    stream.extend(sasl(&fe2o3_amqp_types::sasl::SaslInit {
        mechanism: serde_amqp::primitives::Symbol::from("PLAIN"),
        initial_response: Some(serde_amqp::primitives::Binary::from(
            b"\0alice\0secret".to_vec(),
        )),
        hostname: None,
    }));
    stream.extend(AMQP_HEADER);
    stream.extend(amqp(0, &open(512, None), &[]));
    stream.extend(amqp(0, &begin(), &[]));
    stream.extend(amqp(0, &sender(0, "in"), &[]));
    let payload = message(false, &[9; 900]);
    stream.extend(amqp(0, &transfer(0, 0, false, true), &payload[..400]));
    stream.extend(amqp(0, &more(0, false), &payload[400..]));
    stream.extend(amqp(0, &receiver(1, source("out")), &[]));
    stream.extend(amqp(0, &flow(1, 0, 2, false, false), &[]));
    stream.extend(amqp(
        0,
        &disposition(0, None, true, DeliveryState::Accepted(Accepted {})),
        &[],
    ));
    stream.extend(amqp(0, &detach(0), &[]));
    stream.extend(amqp(0, &detach(1), &[]));

    let mut whole = Peer::with(host());
    whole.input(&stream);
    let mut bytewise = Peer::with(host());
    for b in &stream {
        bytewise.input(&[*b]);
    }
    assert_eq!(whole.written, bytewise.written);
    assert!(whole.closed.is_none() && bytewise.closed.is_none());
    assert_eq!(bytewise.conn.buffered_bytes(), 0);
    assert_eq!(whole.host.settles(), bytewise.host.settles());
    assert_eq!(
        whole.host.sent_to("in")[0].value,
        bytewise.host.sent_to("in")[0].value
    );
}

#[test]
fn transfer_frames_beyond_the_peers_session_window_wait_for_its_next_flow() {
    let mut peer = Peer::with(FakeHost::default());
    peer.host.enqueue("q", record(vec![3; 2000]));
    peer.host.enqueue("q", record(vec![4; 10]));
    let mut bytes = AMQP_HEADER.to_vec();
    bytes.extend(amqp(0, &open(512, None), &[]));
    let mut small = begin();
    if let fe2o3_amqp_types::performatives::Performative::Begin(b) = &mut small {
        b.incoming_window = 2;
    }
    bytes.extend(amqp(0, &small, &[]));
    peer.input(&bytes);
    peer.input(&amqp(0, &receiver(0, source("q")), &[]));
    let mut credit = flow(0, 0, 5, false, false);
    if let fe2o3_amqp_types::performatives::Performative::Flow(f) = &mut credit {
        f.incoming_window = 2;
    }
    let items = peer.input(&amqp(0, &credit, &[]));
    assert_eq!(transfers(&items).len(), 2, "the window allows two frames");
    assert!(peer.conn.queued_for_peer() > 0);
    assert!(
        peer.consumer_wait().is_none(),
        "blocked by the window, not waiting on the queue"
    );

    // The peer saw two frames and opens its window to 100 more.
    let mut widen = flow(0, 0, 5, false, false);
    if let fe2o3_amqp_types::performatives::Performative::Flow(f) = &mut widen {
        f.next_incoming_id = Some(2);
        f.incoming_window = 100;
    }
    let items = peer.input(&amqp(0, &widen, &[]));
    assert_eq!(peer.conn.queued_for_peer(), 0);
    let mut all = transfers(&items);
    all.retain(|(t, _)| t.delivery_id.is_some());
    assert_eq!(
        all.len(),
        1,
        "the second message follows the rest of the first"
    );
    assert_eq!(all[0].0.delivery_id, Some(1));
}

#[test]
fn the_session_window_is_renewed_before_it_runs_out() {
    let mut peer = Peer::opened();
    peer.attach_sender(0, "q");
    let mut seen = Vec::new();
    // 40,000 frames: past half of the 65,536-frame window.
    for round in 0..40u32 {
        let mut bytes = Vec::new();
        bytes.extend(amqp(0, &transfer(0, round, true, true), b""));
        for _ in 1..999 {
            bytes.extend(amqp(0, &more(0, true), b""));
        }
        bytes.extend(amqp(0, &more(0, false), b""));
        seen.extend(peer.input(&bytes));
    }
    let renewals: Vec<_> = flows(&seen)
        .into_iter()
        .filter(|f| f.handle.is_none())
        .collect();
    assert_eq!(renewals.len(), 1);
    assert_eq!(renewals[0].incoming_window, 65_536);
    assert_eq!(renewals[0].next_incoming_id, Some(33_000));
    assert!(peer.closed.is_none());
}

#[test]
fn a_full_output_pauses_input_and_delivers_on_when_written() {
    let mut peer = Peer::opened();
    for _ in 0..30 {
        peer.host.enqueue("q", record(vec![8; 100 * 1024]));
    }
    let items = peer.attach_receiver(0, "q", 30);
    let first = deliveries(&items).len();
    assert!(
        (10..30).contains(&first),
        "{first} deliveries in the first call"
    );
    assert!(peer.paused);
    let resume = peer
        .waits
        .iter()
        .find(|w| w.timeout_ms == 0 && w.watch.is_empty() && w.consumers.is_empty())
        .cloned()
        .expect("a resume wait");
    let mut total = first;
    let mut token = resume.token;
    loop {
        let items = peer.wake(token, true);
        total += deliveries(&items).len();
        match peer.waits.iter().find(|w| w.timeout_ms == 0) {
            Some(w) => token = w.token,
            None => break,
        }
    }
    assert_eq!(total, 30);
    assert!(!peer.paused);
}

#[test]
fn a_message_above_the_size_limit_detaches_with_message_size_exceeded() {
    let mut peer = Peer::opened();
    let items = peer.attach_sender(0, "q");
    assert_eq!(attaches(&items)[0].max_message_size, Some(4 * 1024 * 1024));
    let chunk = vec![0u8; 1000 * 1000];
    let mut bytes = amqp(0, &transfer(0, 0, false, true), &chunk);
    for _ in 0..4 {
        bytes.extend(amqp(0, &more(0, true), &chunk));
    }
    let items = peer.input(&bytes);
    let detached = &detaches(&items)[0];
    assert_eq!(
        condition(detached.error.as_ref().unwrap()),
        "amqp:link:message-size-exceeded"
    );
    assert!(peer.closed.is_none());
}

#[test]
fn frames_held_for_the_window_are_dropped_when_their_link_detaches() {
    let mut peer = Peer::with(FakeHost::default());
    peer.host.enqueue("q", record(vec![3; 2000]));
    let mut bytes = AMQP_HEADER.to_vec();
    bytes.extend(amqp(0, &open(512, None), &[]));
    bytes.extend(amqp(0, &begin(), &[]));
    peer.input(&bytes);
    peer.input(&amqp(0, &receiver(0, source("q")), &[]));
    let mut credit = flow(0, 0, 1, false, false);
    if let fe2o3_amqp_types::performatives::Performative::Flow(f) = &mut credit {
        f.incoming_window = 1;
    }
    peer.input(&amqp(0, &credit, &[]));
    assert!(peer.conn.queued_for_peer() > 0);
    let items = peer.input(&amqp(0, &detach(0), &[]));
    assert_eq!(peer.conn.queued_for_peer(), 0);
    // A later window sends nothing for the detached link.
    let mut widen = flow(0, 0, 0, false, false);
    if let fe2o3_amqp_types::performatives::Performative::Flow(f) = &mut widen {
        f.handle = None;
        f.next_incoming_id = Some(1);
    }
    let later = peer.input(&amqp(0, &widen, &[]));
    assert!(transfers(&items).is_empty() && transfers(&later).is_empty());
    // Back to the queue for the next consumer.
    assert_eq!(peer.host.state.borrow().addresses["q"].queue.len(), 1);
}
