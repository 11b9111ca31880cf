"""The web console (issue 8, "Must show": a browser test), in headless Chromium.

The console is a page served by the admin API that polls the JSON endpoints beside it. These
tests open it against a real broker: a queue's counters change on the page as the test
produces and consumes over AMQP; the plugins panel lists the codecs with their versions and
swaps one from the page. Panels whose endpoint is missing or failing, the throughput charts and
names that look like markup are driven with canned answers (Playwright's request routing), so
they hold whichever endpoints this broker has.
"""

from __future__ import annotations

import http.client
import json
import re
import urllib.parse
from typing import Callable

import pytest
from playwright.sync_api import Page, Route, expect
from proton import Message

from amqp_clients import (AMQP_LISTENERS, amqp_broker, connection, declared, flush, receiver,
                          send_to, take_accept)
from conftest import artifact
from console_browser import ACTION_MS_MAX, chromium, console_page

# Counters reach the page within a poll (1 s) of reaching the admin API.
COUNTER_MS_MAX = 10_000
# A codec swap compiles a component with Cranelift (cold: several seconds).
SWAP_MS_MAX = 120_000


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def http_get(broker, path: str, headers: dict | None = None) -> http.client.HTTPResponse:
    """One GET on the admin API, redirects not followed; the body is read."""
    parts = urllib.parse.urlsplit(broker.admin_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    response.body = response.read()
    conn.close()
    return response


def counter(page: Page, queue: str, name: str):
    return page.locator(f'#queues-table tr[data-queue="{queue}"] td[data-counter="{name}"]')


def test_the_root_redirects_to_the_console_served_with_a_strict_policy(broker):
    root = http_get(broker, "/")
    assert root.status in (302, 303, 307), root.status
    assert root.getheader("Location") == "/console/"

    page = http_get(broker, "/console/")
    assert page.status == 200
    assert page.getheader("Content-Type") == "text/html; charset=utf-8"
    policy = page.getheader("Content-Security-Policy")
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy, policy
    assert page.getheader("X-Content-Type-Options") == "nosniff"
    assert page.getheader("Cache-Control") == "no-cache"

    for path, media_type in (("/console/console.js", "text/javascript"),
                             ("/console/console.css", "text/css")):
        asset = http_get(broker, path)
        assert asset.status == 200, path
        assert asset.getheader("Content-Type") == f"{media_type}; charset=utf-8"
        assert asset.getheader("Content-Security-Policy") == policy
        again = http_get(broker, path, {"If-None-Match": asset.getheader("ETag")})
        assert again.status == 304 and again.body == b"", path

    missing = http_get(broker, "/console/nothing.js")
    assert missing.status == 404
    assert "error" in json.loads(missing.body)


def test_a_queue_shows_on_the_page_and_its_counters_follow_what_is_produced(make_broker,
                                                                             browser):
    name = "console.orders"
    b = amqp_broker(make_broker, extra=declared(name, "anycast"))
    with console_page(browser, f"{b.admin_url}/") as watched:
        page = watched.page
        expect(page).to_have_url(f"{b.admin_url}/console/")
        row = page.locator(f'#queues-table tr[data-queue="{name}"]')
        expect(row).to_have_count(1)
        expect(row.locator('td[data-field="address"]')).to_have_text(name)
        expect(row.locator('td[data-field="routing"]')).to_have_text("anycast")
        expect(counter(page, name, "messages_added")).to_have_text("0")

        send_to(b, name, [Message(body=f"order-{i}", durable=True) for i in range(7)])
        expect(counter(page, name, "messages_added")).to_have_text("7", timeout=COUNTER_MS_MAX)
        expect(counter(page, name, "message_count")).to_have_text("7", timeout=COUNTER_MS_MAX)
        expect(counter(page, name, "messages_acknowledged")).to_have_text("0")

        with connection(b) as conn:
            r = receiver(conn, name)
            take_accept(r, 3)
            flush(conn)
            expect(counter(page, name, "messages_acknowledged")).to_have_text(
                "3", timeout=COUNTER_MS_MAX)
        expect(counter(page, name, "message_count")).to_have_text("4", timeout=COUNTER_MS_MAX)
        expect(counter(page, name, "consumer_count")).to_have_text("0", timeout=COUNTER_MS_MAX)
        expect(counter(page, name, "messages_added")).to_have_attribute("data-value", "7")
        watched.assert_clean()


def test_the_plugins_panel_lists_codec_versions_and_swaps_a_codec_from_the_page(make_broker,
                                                                                 browser):
    swap_a, swap_b = artifact("SLUICE_CODEC_SWAP_A"), artifact("SLUICE_CODEC_SWAP_B")
    b = make_broker(listeners={"kafka": {"codec": str(swap_a)},
                               "amqp": AMQP_LISTENERS["amqp"]})
    with console_page(browser, f"{b.admin_url}/console/") as watched:
        page = watched.page
        kafka = page.locator('#plugins-table tr[data-plugin="codec/kafka"]')
        amqp = page.locator('#plugins-table tr[data-plugin="codec/amqp"]')
        expect(kafka.locator('td[data-field="version"]')).to_have_text("0.1.0+swap-a")
        expect(kafka.locator('td[data-field="source"]')).to_have_text(str(swap_a))
        expect(amqp.locator('td[data-field="source"]')).to_have_text("builtin:codec-amqp")
        expect(amqp.locator('td[data-field="version"]')).to_have_text(re.compile(r"^\d+\.\d+"))
        expect(kafka.locator('td[data-field="healthy"]')).to_have_text("healthy")

        kafka.locator('button[data-action="swap"]').click()
        expect(page.locator("#swap-target")).to_have_value("codec/kafka")
        page.locator("#swap-source").fill(str(swap_b))
        page.locator("#swap-submit").click()
        result = page.locator("#swap-result")
        expect(result).to_have_attribute("data-outcome", "swapped", timeout=SWAP_MS_MAX)
        expect(result).to_contain_text("0.1.0+swap-b")
        expect(kafka.locator('td[data-field="version"]')).to_have_text("0.1.0+swap-b")
        expect(kafka.locator('td[data-field="source"]')).to_have_text(str(swap_b))

        # The same file again: nothing to swap, and the page says so.
        page.locator("#swap-submit").click()
        expect(result).to_have_attribute("data-outcome", "unchanged", timeout=SWAP_MS_MAX)

        # A refusal shows the API's own message; what runs stays.
        missing = swap_b.parent / "no-such-codec.wasm"
        page.locator("#swap-source").fill(str(missing))
        page.locator("#swap-submit").click()
        expect(result).to_have_attribute("data-outcome", "error", timeout=SWAP_MS_MAX)
        expect(result).to_contain_text("no-such-codec.wasm")
        expect(kafka.locator('td[data-field="version"]')).to_have_text("0.1.0+swap-b")
        watched.assert_clean()


def answer(status: int, body) -> Callable[[Route], None]:
    def fulfil(route: Route) -> None:
        route.fulfill(status=status, content_type="application/json", body=json.dumps(body))
    return fulfil


def test_a_panel_whose_endpoint_is_missing_or_failing_says_so_and_the_others_carry_on(
        make_broker, browser):
    name = "console.degraded"
    b = amqp_broker(make_broker, extra=declared(name, "anycast"))

    def routes(page: Page) -> None:
        for missing in ("topics", "addresses", "groups", "overview"):
            page.route(f"**/api/{missing}", answer(404, {"error": "not found"}))
        page.route("**/api/connections", answer(500, {"error": "listener table locked"}))
        page.route("**/api/plugins", lambda route: route.abort("connectionrefused"))

    with console_page(browser, f"{b.admin_url}/console/", before=routes) as watched:
        page = watched.page
        for missing in ("topics", "addresses", "groups", "overview"):
            expect(page.locator(f"#{missing}-status")).to_have_text(
                f"Not available: this broker does not serve /api/{missing}.")
        expect(page.locator("#connections-status")).to_have_text(
            "/api/connections failed (500): listener table locked")
        expect(page.locator("#plugins-status")).to_contain_text("Cannot reach the broker")
        expect(page.locator(f'#queues-table tr[data-queue="{name}"]')).to_have_count(1)
        expect(page.locator("#queues-status")).to_be_hidden()
        watched.assert_clean()


def test_throughput_charts_are_rates_derived_from_overview_samples(make_broker, browser):
    b = amqp_broker(make_broker)
    per_sample = {"messages_in": 1000, "messages_out": 500,
                  "bytes_in": 1_000_000, "bytes_out": 250_000}
    samples = {"n": 0}

    def overview(route: Route) -> None:
        n = samples["n"]
        samples["n"] += 1
        totals = {k: v * n for k, v in per_sample.items()}
        answer(200, {"version": "9.9.9-console", "node_id": 1, "cluster_id": "c-1",
                     "uptime_s": 3725 + n, "connections": 2, "topics": 3, "queues": 4,
                     **totals})(route)

    with console_page(browser, f"{b.admin_url}/console/",
                      before=lambda page: page.route("**/api/overview", overview)) as watched:
        page = watched.page
        facts = page.locator("#overview-facts")
        expect(facts.locator('dd[data-field="version"]')).to_have_text("9.9.9-console")
        expect(facts.locator('dd[data-field="uptime_s"]')).to_have_text(re.compile(r"^1h 2m"))
        expect(facts.locator('dd[data-field="connections"]')).to_have_text("2")
        chart = page.locator("#chart-messages svg")
        expect(chart).to_have_attribute("data-samples", re.compile(r"^([3-9]|\d\d+)$"),
                                        timeout=ACTION_MS_MAX)
        points = chart.locator('polyline[data-series="messages_in"]').get_attribute("points")
        assert len(points.split()) >= 3, points
        # One sample a second, so a rate near each step per second (a late timer lowers it).
        for key, step in per_sample.items():
            rate = float(page.locator(f'output[data-rate="{key}"]').get_attribute("data-value"))
            assert step * 0.3 < rate <= step * 1.1, (key, rate)
        expect(page.locator('output[data-rate="bytes_in"]')).to_contain_text("KiB/s")
        watched.assert_clean()


def test_names_that_look_like_markup_are_shown_as_text(make_broker, browser):
    b = amqp_broker(make_broker)
    hostile = '<img src=x onerror="window.pwned=1">'
    queue = {"name": hostile, "address": "<b>bold</b>", "routing": "anycast", "durable": True,
             "consumer_count": 0, "message_count": 1, "messages_added": 1,
             "messages_acknowledged": 0, "delivering_count": 0}
    with console_page(browser, f"{b.admin_url}/console/",
                      before=lambda page: page.route("**/api/queues",
                                                     answer(200, [queue]))) as watched:
        page = watched.page
        row = page.locator("#queues-table tbody tr[data-queue]")
        expect(row).to_have_count(1)
        assert row.get_attribute("data-queue") == hostile
        expect(row.locator('td[data-field="name"]')).to_have_text(hostile)
        expect(row.locator('td[data-field="address"]')).to_have_text("<b>bold</b>")
        assert page.locator("#queues-table img, #queues-table b").count() == 0
        assert page.evaluate("window.pwned") is None
        watched.assert_clean()


def test_topics_and_groups_open_their_detail_on_click(make_broker, browser):
    b = amqp_broker(make_broker)
    topics = [{"name": "orders", "partitions": 2, "replicas": 1, "internal": False},
              {"name": "payments", "partitions": 10, "replicas": 1, "internal": False}]
    orders = {"name": "orders", "partitions": 2, "replicas": 1,
              "configs": [{"name": "retention.ms", "value": "7200000", "source": "topic"},
                          {"name": "segment.bytes", "value": "1073741824",
                           "source": "default"}],
              "partition_info": [{"partition": p, "log_start": 0, "high_watermark": 5 + p,
                                  "log_end": 5 + p} for p in range(2)]}
    groups = [{"group": "billing", "state": "Stable", "protocol_type": "consumer",
               "members": 2}]
    billing = {"group": "billing", "state": "Stable", "protocol_type": "consumer",
               "protocol": "range", "members": [{"member_id": "m-1"}, {"member_id": "m-2"}],
               "offsets": [{"topic": "orders", "partition": 0, "committed": 3, "log_end": 5,
                            "lag": 2},
                           {"topic": "orders", "partition": 1, "committed": 6, "log_end": 6,
                            "lag": 0}],
               "lag": 2}

    def routes(page: Page) -> None:
        page.route("**/api/topics", answer(200, topics))
        page.route("**/api/topics/orders", answer(200, orders))
        page.route("**/api/groups", answer(200, groups))
        page.route("**/api/groups/billing", answer(200, billing))

    with console_page(browser, f"{b.admin_url}/console/", before=routes) as watched:
        page = watched.page
        row = page.locator('#topics-table tr[data-topic="payments"]')
        expect(row.locator('td[data-counter="partitions"]')).to_have_text("10")
        page.locator('#topics-table tr[data-topic="orders"]').click()
        detail = page.locator("#topic-detail")
        expect(detail).to_be_visible()
        retention = detail.locator('#topic-configs tr[data-config="retention.ms"]')
        expect(retention.locator('td[data-field="value"]')).to_have_text("7200000")
        expect(retention.locator('td[data-field="source"]')).to_have_text("topic")
        expect(detail.locator('#topic-partitions tr[data-partition="1"] '
                              'td[data-counter="high_watermark"]')).to_have_text("6")
        page.locator("#topic-detail-close").click()
        expect(detail).to_be_hidden()

        group = page.locator('#groups-table tr[data-group="billing"]')
        expect(group.locator('td[data-counter="lag"]')).to_have_text("2")
        expect(group.locator('td[data-counter="members"]')).to_have_text("2")
        group.click()
        offsets = page.locator("#group-offsets")
        expect(offsets.locator('tr[data-offset="orders/0"] td[data-counter="lag"]')
               ).to_have_text("2")
        expect(offsets.locator('tr[data-offset="orders/1"] td[data-counter="committed"]')
               ).to_have_text("6")
        watched.assert_clean()
