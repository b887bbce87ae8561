"""LeanChatOpenAI: the same messages as ChatOpenAI over the same HTTP, the SDK's errors and retries."""

from __future__ import annotations

import asyncio

import openai
import pytest
from dialogue_fixtures import task_by_id
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_openai import ChatOpenAI

from writ.lean_openai import LeanChatOpenAI
from writ.models import load_chat_model
from writ.registry import get_domain
from writ.scripted.cues import GREETING
from writ.testing.openai_server import ScriptedOpenAIServer

TOOLS = [s.openai_schema() for s in get_domain("retail").tools()]
OPENING = [SystemMessage(content="policy"), AIMessage(content=GREETING), HumanMessage(content="Hi, I'm Yusuf Rossi, zip 19122.")]


def _pair(server, task, **kw):
    fields = dict(model="scripted", base_url=server.base_url, api_key="EMPTY", default_headers={"X-Writ-Role": "agent", "X-Writ-Task-Id": task.id}, **kw)
    return ChatOpenAI(**fields), LeanChatOpenAI(**fields)


def test_same_request_and_same_reply_as_chatopenai():
    task = task_by_id("retail", "0")

    async def dialogue(model):
        first = await model.bind_tools(TOOLS).ainvoke(OPENING)
        later = [*OPENING, first, ToolMessage(content="yusuf_rossi_9620", tool_call_id=first.tool_calls[0]["id"])]
        return [first, await model.bind_tools(TOOLS).ainvoke(later)]

    with ScriptedOpenAIServer([task]) as server:
        sdk, lean = _pair(server, task)
        a = asyncio.run(dialogue(sdk))
        b = asyncio.run(dialogue(lean))
        sent = server.requests
    assert len(sent) == 4
    for x, y in zip(a, b, strict=True):
        assert (x.content, x.tool_calls, x.usage_metadata) == (y.content, y.tool_calls, y.usage_metadata)
        assert x.response_metadata["finish_reason"] == y.response_metadata["finish_reason"]
    strip = lambda body: {k: v for k, v in body.items() if k != "stream"}  # noqa: E731 - the SDK also sends stream: false
    assert strip(sent[0]) == strip(sent[2]) and strip(sent[1]) == strip(sent[3])  # the same JSON body


def test_errors_are_the_sdks_after_its_retries():
    task = task_by_id("retail", "0")
    with ScriptedOpenAIServer([task], error_status=429, error_rate=1.0) as server:
        _, lean = _pair(server, task, max_retries=1)
        with pytest.raises(openai.RateLimitError):
            asyncio.run(lean.ainvoke(OPENING))
        assert server.counts["requests"] == 2
    with ScriptedOpenAIServer([task], error_status=503, fail_first=2) as server:
        _, lean = _pair(server, task, max_retries=2)
        assert asyncio.run(lean.bind_tools(TOOLS).ainvoke(OPENING)).tool_calls
        assert server.counts["requests"] == 3
    with ScriptedOpenAIServer([task], error_status=400, fail_first=5) as server:
        _, lean = _pair(server, task, max_retries=3)
        with pytest.raises(openai.BadRequestError):
            asyncio.run(lean.ainvoke(OPENING))
        assert server.counts["requests"] == 1  # a 400 is not retried


def test_unreachable_server_is_a_connection_error():
    lean = LeanChatOpenAI(model="m", base_url="http://127.0.0.1:9/v1", api_key="EMPTY", max_retries=0)
    with pytest.raises(openai.APIConnectionError):
        asyncio.run(lean.ainvoke(OPENING))


def test_openai_compatible_specs_load_the_lean_client(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    model = load_chat_model("openai-compatible:m@http://127.0.0.1:9/v1", "agent")
    assert isinstance(model, LeanChatOpenAI) and isinstance(model, ChatOpenAI)


def test_spliced_body_is_the_payload_langchain_openai_builds():
    """Each message's JSON is cached per message object; the body must still equal the SDK path's payload."""
    import json

    lean = LeanChatOpenAI(
        model="scripted", base_url="http://127.0.0.1:9/v1", api_key="EMPTY", temperature=0.3
    )
    call = {"name": "get_order_details", "args": {"order_id": "#W1"}, "id": "call_1", "type": "tool_call"}
    history = [
        *OPENING,
        AIMessage(content="", tool_calls=[call]),
        ToolMessage(content='{"status": "pending"}', tool_call_id="call_1"),
        AIMessage(content=[{"type": "text", "text": "Your order is pending ✓"}]),
        HumanMessage(content=[{"type": "text", "text": "cancel it"}], name="yusuf"),
    ]
    sent: list[bytes] = []

    async def capture(body, options):
        sent.append(body)
        raise openai.APIConnectionError(request=None)  # stop before any network

    lean._post = capture  # type: ignore[method-assign]
    for upto in (3, len(history), len(history)):  # later calls reuse the cached JSON of earlier messages
        with pytest.raises(openai.APIConnectionError):
            asyncio.run(lean.bind_tools(TOOLS).ainvoke(history[:upto]))
        expected = lean.bind_tools(TOOLS)
        payload = lean._get_request_payload(history[:upto], **expected.kwargs)
        payload.pop("stream", None)
        assert json.loads(sent[-1]) == json.loads(json.dumps(payload))
    assert len(lean._message_json) == len(history)


def test_a_slow_answer_past_the_timeout_is_the_sdks_timeout_error():
    task = task_by_id("retail", "0")
    with ScriptedOpenAIServer([task], latency_s=1.0) as server:
        _, lean = _pair(server, task, max_retries=0, timeout=0.2)
        with pytest.raises(openai.APITimeoutError):
            asyncio.run(lean.ainvoke(OPENING))


def test_connections_close_with_the_event_loop(recwarn):
    """asyncio.run closes the loop's sessions: nothing left open, no 'Unclosed client session'."""
    import gc

    from writ import lean_openai

    task = task_by_id("retail", "0")
    with ScriptedOpenAIServer([task]) as server:
        _, lean = _pair(server, task)
        for _ in range(2):
            assert asyncio.run(lean.bind_tools(TOOLS).ainvoke(OPENING)).tool_calls
            assert len(lean_openai._sessions) == 0
    gc.collect()
    assert not [w for w in recwarn.list if issubclass(w.category, ResourceWarning)]
