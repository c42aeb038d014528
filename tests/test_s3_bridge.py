"""S3 notifications through SQS to Prefect events: parsing, de-duplication, no message lost."""

from __future__ import annotations

import json

import boto3
import pytest

from deployments.lambda_handler import handler
from deployments.s3_bridge import poll_once
from shortlist.s3_events import SeenObjects, parse_notification


def _record(key: str, etag: str = "abc", name: str = "ObjectCreated:Put") -> dict:
    return {"eventName": name, "s3": {"bucket": {"name": "videos"},
                                      "object": {"key": key, "size": 10, "eTag": etag}}}


def test_notifications_are_parsed_and_keys_decoded():
    body = json.dumps({"Records": [_record("in/my+clip%C3%A9.mp4"),
                                   _record("in/", name="ObjectCreated:Put"),
                                   _record("x.mp4", name="ObjectRemoved:Delete")]})
    [obj] = parse_notification(body)
    assert obj.url == "s3://videos/in/my clipé.mp4"
    assert parse_notification(json.dumps({"Event": "s3:TestEvent", "Bucket": "videos"})) == []


def test_put_and_multipart_completion_of_one_object_count_once():
    seen = SeenObjects()
    [put] = parse_notification({"Records": [_record("a.mp4")]})
    [done] = parse_notification({"Records": [_record("a.mp4", name="ObjectCreated:"
                                                                   "CompleteMultipartUpload")]})
    assert seen.first_time(put) and not seen.first_time(done)
    [changed] = parse_notification({"Records": [_record("a.mp4", etag="new")]})
    assert seen.first_time(changed)  # new content under the same key is news


@pytest.fixture()
def sqs(mock_s3):
    client = boto3.client("sqs")
    url = client.create_queue(QueueName="uploads",
                              Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
    return client, url


def _send(client, url, body) -> None:
    client.send_message(QueueUrl=url, MessageBody=json.dumps(body))


def _left(client, url) -> int:
    attrs = client.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return sum(int(v) for v in attrs.values())


def test_bridge_emits_once_per_object_and_deletes_handled_messages(sqs):
    client, url = sqs
    _send(client, url, {"Event": "s3:TestEvent"})
    _send(client, url, {"Records": [_record("a.mp4"), _record("b+c.mp4")]})
    _send(client, url, {"Records": [_record("a.mp4", name="ObjectCreated:"
                                                       "CompleteMultipartUpload")]})
    emitted = []
    seen = SeenObjects()
    while _left(client, url):
        poll_once(client, url, lambda objs: emitted.extend(o.url for o in objs) or True, seen,
                  wait_s=0, linger_s=0)
    assert sorted(emitted) == ["s3://videos/a.mp4", "s3://videos/b c.mp4"]


def test_a_burst_of_uploads_goes_out_as_one_event_per_bucket(sqs):
    """One flow run per burst: each run pays a process start and the model loads."""
    client, _ = sqs
    # SQS's default: a received message stays hidden while it is handled.
    url = client.create_queue(QueueName="burst", Attributes={"VisibilityTimeout": "30"})[
        "QueueUrl"]
    for i in range(12):  # more than one receive_message call can return
        _send(client, url, {"Records": [_record(f"clip-{i}.mp4", etag=str(i))]})
    other = _record("elsewhere.mp4")
    other["s3"]["bucket"]["name"] = "archive"
    _send(client, url, {"Records": [other]})
    events = []
    assert poll_once(client, url, lambda objs: events.append([o.url for o in objs]) or True,
                     SeenObjects(), wait_s=0, linger_s=0) == 13
    assert sorted(len(e) for e in events) == [1, 12]
    videos = next(e for e in events if len(e) == 12)
    assert sorted(videos) == sorted(f"s3://videos/clip-{i}.mp4" for i in range(12))
    assert _left(client, url) == 0


def test_a_refused_event_keeps_its_message_for_later(sqs):
    client, url = sqs
    _send(client, url, {"Records": [_record("a.mp4")]})
    seen = SeenObjects()
    assert poll_once(client, url, lambda objs: False, seen, wait_s=0, linger_s=0) == 0
    assert _left(client, url) == 1  # Prefect was down: the message stays
    got = []
    assert poll_once(client, url, lambda objs: got.extend(o.url for o in objs) or True, seen,
                     wait_s=0, linger_s=0) == 1
    assert got == ["s3://videos/a.mp4"] and _left(client, url) == 0


def test_lambda_handler_emits_the_objects_of_each_bucket_together_or_raises():
    event = {"Records": [_record("a.mp4"), _record("b.mp4")]}
    sent = []
    assert handler(event, None, emit=lambda objs: sent.append([o.key for o in objs]) or True) \
        == {"emitted": 2}
    assert sent == [["a.mp4", "b.mp4"]]
    with pytest.raises(RuntimeError, match="did not accept"):
        handler(event, None, emit=lambda objs: False)
