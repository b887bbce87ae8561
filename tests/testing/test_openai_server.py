"""The local OpenAI-compatible server, over real HTTP, and the dialogue graph driven through ChatOpenAI."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import urllib.error
import urllib.request

import pytest
from dialogue_fixtures import enrich, task_by_id

from writ.graphs.dialogue import DialogueContext, arun_dialogue
from writ.models import load_chat_model
from writ.registry import get_domain
from writ.scripted.cues import GREETING
from writ.testing.openai_server import ScriptedOpenAIServer


def post(url, body, headers=None):
    request = urllib.request.Request(url + "/chat/completions", data=json.dumps(body).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        request.add_header(k, v)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_chat_completions_answer_with_tool_calls_and_usage_over_http():
    task = task_by_id("retail", "0")
    tools = [s.openai_schema() for s in get_domain("retail").tools()]
    with ScriptedOpenAIServer([task]) as server:
        with urllib.request.urlopen(server.base_url + "/models", timeout=10) as response:
            assert json.loads(response.read())["data"][0]["id"] == "scripted"
        messages = [
            {"role": "system", "content": "policy"},
            {"role": "assistant", "content": GREETING},
            {"role": "user", "content": "Hi, I'm Yusuf Rossi, zip 19122."},
        ]
        status, body = post(server.base_url, {"model": "agent/0", "messages": messages, "tools": tools})
        assert status == 200
        message = body["choices"][0]["message"]
        assert body["choices"][0]["finish_reason"] == "tool_calls"
        call = message["tool_calls"][0]
        assert call["type"] == "function" and call["function"]["name"] == "find_user_id_by_name_zip"
        assert json.loads(call["function"]["arguments"]) == {"first_name": "Yusuf", "last_name": "Rossi", "zip": "19122"}
        assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"] > 0
        # the reply only uses tools the request offered
        status, body = post(server.base_url, {"model": "agent/0", "messages": messages, "tools": tools[:1]})
        assert status == 400 and "was not offered" in body["error"]["message"]
        status, body = post(server.base_url, {"model": "x", "messages": messages}, {"X-Writ-Role": "user", "X-Writ-Task-Id": "nope"})
        assert status == 404
        assert server.counts["agent"] == 2


def test_injected_failures_and_latency():
    task = task_by_id("retail", "0")
    with ScriptedOpenAIServer([task], fail_first=1, error_status=503) as server:
        status, body = post(server.base_url, {"model": "user/0", "messages": [{"role": "user", "content": GREETING}]})
        assert status == 503 and body["error"]["message"] == "injected failure"
        status, body = post(server.base_url, {"model": "user/0", "messages": [{"role": "user", "content": GREETING}]})
        assert status == 200 and body["choices"][0]["message"]["content"].startswith("Hi!")
    with ScriptedOpenAIServer([task], error_rate=1.0) as server:
        assert post(server.base_url, {"model": "user/0", "messages": []})[0] == 500
    with ScriptedOpenAIServer([task], latency_s=0.2) as server:
        started = time.perf_counter()
        assert post(server.base_url, {"model": "user/0", "messages": [{"role": "user", "content": GREETING}]})[0] == 200
        assert time.perf_counter() - started >= 0.2


def test_stop_releases_the_port():
    server = ScriptedOpenAIServer([])
    url = server.start()
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    server.stop()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_chat_openai_drives_the_dialogue_graph_to_a_verified_trajectory(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    tasks = [task_by_id("retail", "0"), enrich(task_by_id("airline", "20"), reveal="one_per_turn", phrasing="verbose", correction=True)]
    with ScriptedOpenAIServer(tasks) as server:
        spec = f"openai-compatible:scripted@{server.base_url}"
        context = DialogueContext(agent_model=spec, user_model=spec)

        async def go():
            return [await arun_dialogue(t, context) for t in tasks]

        trajectories = asyncio.run(go())
        agent_requests = [r for r in server.requests if r["_role"] == "agent"]
    for t in trajectories:
        assert t.reward == 1.0, t.verdict
        assert t.models["agent"] == spec
        assert t.usage["input_tokens"] > 0 and t.usage["output_tokens"] > 0
        assert t.usage["agent_input_tokens"] + t.usage["user_input_tokens"] == t.usage["input_tokens"]
    # tool schemas went over HTTP with every agent request, and parallel calls came back in one reply
    assert all({s["function"]["name"] for s in r["tools"]} == {s.name for s in get_domain(r["_task_id"] == "0" and "retail" or "airline").tools()} for r in agent_requests)
    assert any(len(m.get("tool_calls") or []) >= 2 for m in trajectories[0].messages)
    # earlier tool calls travelled back to the server as tool_calls JSON with their results
    last = [r for r in agent_requests if r["_task_id"] == "0"][-1]["messages"]
    assert any(m["role"] == "assistant" and m.get("tool_calls") for m in last) and any(m["role"] == "tool" for m in last)


def test_malformed_tool_call_json_over_http_becomes_an_error_result(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    task = task_by_id("retail", "0")
    broken = {"n": 0}

    def corrupt(role, body, reply):
        if role == "agent" and reply.get("tool_calls") and broken["n"] == 0:
            broken["n"] += 1
            call = dict(reply["tool_calls"][0])
            call["function"] = {"name": call["function"]["name"], "arguments": '{"first_name": "Yusuf",'}
            return {**reply, "tool_calls": [call]}
        return reply

    with ScriptedOpenAIServer([task], reply_hook=corrupt) as server:
        spec = f"openai-compatible:scripted@{server.base_url}"
        t = asyncio.run(arun_dialogue(task, DialogueContext(agent_model=spec, user_model="scripted")))
    errors = [m for m in t.messages if m["role"] == "tool" and "not a valid JSON object" in m["content"]]
    assert len(errors) == 1 and t.verdict["termination"] == "user_stop"
    assert t.metrics["writes"] == 1  # the agent went on after the error


def test_load_chat_model_sends_routing_headers():
    task = task_by_id("retail", "0")
    model = load_chat_model("openai-compatible:m@http://127.0.0.1:9/v1", "agent", task=task)
    assert model.default_headers == {"X-Writ-Role": "agent", "X-Writ-Task-Id": "0"}


def test_memo_answers_a_repeated_request_from_memory_and_only_a_repeat():
    task = task_by_id("retail", "0")
    tools = [s.openai_schema() for s in get_domain("retail").tools()]
    messages = [
        {"role": "system", "content": "policy"},
        {"role": "assistant", "content": GREETING},
        {"role": "user", "content": "Hi, I'm Yusuf Rossi, zip 19122."},
    ]
    with ScriptedOpenAIServer([task], memo=True) as server:
        first = post(server.base_url, {"model": "agent/0", "messages": messages, "tools": tools})
        again = post(server.base_url, {"model": "agent/0", "messages": messages, "tools": tools})
        other = post(server.base_url, {"model": "agent/0", "messages": messages[:2], "tools": tools})
        assert first[0] == again[0] == other[0] == 200
        assert again[1]["choices"] == first[1]["choices"] and again[1]["usage"] == first[1]["usage"]
        assert again[1]["id"] != first[1]["id"]
        assert other[1]["choices"] != first[1]["choices"]
        assert server.counts["requests"] == 3 and server.counts["agent"] == 2  # the repeat was not recomputed
