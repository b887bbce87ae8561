"""A local OpenAI-compatible chat server whose replies come from the scripted policies.

It lets the LLM code path run for real without a key: `ChatOpenAI(base_url=...)` sends the
dialogue, the bound tool schemas and earlier tool calls over HTTP; the server rebuilds the
scripted agent or user for the request's task and answers with `tool_calls` JSON (several per
reply when the agent reads in parallel) and a `usage` block. Routing: the `X-Writ-Task-Id` and
`X-Writ-Role` headers that `writ.models.load_chat_model` sends, or a model name `ROLE/TASK_ID`.
Latency, error and reply-rewriting hooks make it usable for throughput and failure tests;
`agent_policy` swaps the oracle for another scripted agent (e.g. the careless one). With
`memo=True` a request identical to an earlier one (same role, task and body bytes) is answered
from memory, so benchmarks that replay the same dialogues measure the client, not this server's
CPU (which shares the client's cores, unlike a real provider's).

    with ScriptedOpenAIServer(tasks) as server:
        spec = f"openai-compatible:scripted@{server.base_url}"
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from writ.scripted.agent import AgentPolicy
from writ.scripted.user import UserPolicy, view_from_openai
from writ.task import WritTask
from writ.trajectory import Message

ReplyHook = Callable[[str, dict[str, Any], Message], Message]
"""(role, request body, scripted reply) -> reply actually sent; e.g. to corrupt tool-call JSON."""


class ScriptedOpenAIServer:
    """`/v1/chat/completions` and `/v1/models` on 127.0.0.1 at a free port, in a background thread."""

    def __init__(
        self,
        tasks: Mapping[str, WritTask] | Iterable[WritTask] = (),
        *,
        latency_s: float = 0.0,
        error_rate: float = 0.0,
        error_status: int = 500,
        fail_first: int = 0,
        seed: int = 0,
        reply_hook: ReplyHook | None = None,
        agent_policy: Callable[[WritTask], AgentPolicy] = AgentPolicy,
        memo: bool = False,
    ) -> None:
        self.tasks: dict[str, WritTask] = dict(tasks) if isinstance(tasks, Mapping) else {t.id: t for t in tasks}
        self.latency_s = latency_s
        self.error_rate = error_rate
        self.error_status = error_status
        self.fail_first = fail_first
        self.reply_hook = reply_hook
        self.agent_policy = agent_policy
        self.memo: dict[bytes, tuple[int, dict[str, Any]]] | None = {} if memo else None
        """answers by request digest, when memo is on (replies are deterministic)."""
        self.requests: list[dict[str, Any]] = []
        """every chat request body received, in order (role and task id added)."""
        self.counts = {"requests": 0, "errors": 0, "agent": 0, "user": 0}
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._agents: dict[str, AgentPolicy] = {}
        self._users: dict[str, UserPolicy] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("server not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> str:
        server = _QuietServer(("127.0.0.1", 0), _handler(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="writ-openai-server", daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> ScriptedOpenAIServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def add(self, tasks: Iterable[WritTask]) -> None:
        with self._lock:
            for task in tasks:
                self.tasks[task.id] = task

    # -- answering ------------------------------------------------------------------------------

    def _inject_error(self) -> bool:
        with self._lock:
            self.counts["requests"] += 1
            if self.counts["requests"] <= self.fail_first:
                self.counts["errors"] += 1
                return True
            if self.error_rate and self._rng.random() < self.error_rate:
                self.counts["errors"] += 1
                return True
        return False

    def complete(self, body: dict[str, Any], headers: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        """Status and JSON body for one chat completion request."""
        model = str(body.get("model", ""))
        headers = {k.lower(): v for k, v in headers.items()}
        role = headers.get("x-writ-role") or (model.split("/", 1)[0] if "/" in model else "")
        task_id = headers.get("x-writ-task-id") or (model.split("/", 1)[1] if "/" in model else "")
        if body.get("stream"):
            return 400, _error("streaming is not supported by this test server", "invalid_request_error")
        if role not in ("agent", "user"):
            return 400, _error(f"unknown role '{role}' (send X-Writ-Role: agent|user)", "invalid_request_error")
        task = self.tasks.get(task_id)
        if task is None:
            return 404, _error(f"unknown task '{task_id}'", "invalid_request_error")
        messages = body.get("messages")
        if not isinstance(messages, list):
            return 400, _error("messages must be a list", "invalid_request_error")
        with self._lock:
            self.requests.append({**body, "_role": role, "_task_id": task_id})
            self.counts[role] += 1
        reply: Message
        if role == "agent":
            reply = self._agent(task).reply(messages, body.get("tools"))
            offered = {t.get("function", {}).get("name") for t in body.get("tools") or []}
            for call in reply.get("tool_calls") or []:
                if call["function"]["name"] not in offered:
                    return 400, _error(f"tool '{call['function']['name']}' was not offered", "invalid_request_error")
        else:
            reply = {"role": "assistant", "content": self._user(task).reply(view_from_openai(messages))}
        if self.reply_hook is not None:
            reply = self.reply_hook(role, body, reply)
        message: dict[str, Any] = {"role": "assistant", "content": reply.get("content")}
        if reply.get("tool_calls"):
            message["tool_calls"] = reply["tool_calls"]
        prompt_tokens = _tokens(json.dumps(messages)) + _tokens(json.dumps(body.get("tools") or []))
        completion_tokens = _tokens(json.dumps(message))
        return 200, {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }


    def _agent(self, task: WritTask) -> AgentPolicy:
        with self._lock:
            policy = self._agents.get(task.id)
            if policy is None:
                policy = self._agents[task.id] = self.agent_policy(task)
        return policy

    def _user(self, task: WritTask) -> UserPolicy:
        with self._lock:
            policy = self._users.get(task.id)
            if policy is None:
                policy = self._users[task.id] = UserPolicy(task)
        return policy


class _QuietServer(ThreadingHTTPServer):
    """Clients that drop kept-alive connections when their event loop closes are not errors."""

    # hundreds of dialogues connect at once in the concurrency benchmark; the default listen
    # backlog of 5 drops their SYNs and each dropped one costs the client a 1 s retransmit
    request_queue_size = 1024

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def _digest(role: str, task_id: str, raw: bytes) -> bytes:
    return hashlib.blake2b(b"%s\0%s\0%s" % (role.encode(), task_id.encode(), raw), digest_size=16).digest()


def _tokens(text: str) -> int:
    """About four characters per token: a stand-in count so usage accounting can be exercised."""
    return max(1, len(text) // 4)


def _error(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def _handler(server: ScriptedOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # header and body go out as separate writes

        def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read results, not logs
            return

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "/v1/models":
                self._send(200, {"object": "list", "data": [{"id": "scripted", "object": "model", "owned_by": "writ"}]})
            else:
                self._send(404, _error(f"no route {self.path}", "not_found"))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send(404, _error(f"no route {self.path}", "not_found"))
                return
            if server.latency_s:
                time.sleep(server.latency_s)
            if server._inject_error():
                self._send(server.error_status, _error("injected failure", "server_error"))
                return
            key = b""
            if server.memo is not None:
                key = _digest(self.headers.get("X-Writ-Role", ""), self.headers.get("X-Writ-Task-Id", ""), raw)
                answered = server.memo.get(key)
                if answered is not None:
                    status, payload = answered
                    self._send(status, {**payload, "id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "created": int(time.time())})
                    return
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError as exc:
                self._send(400, _error(f"body is not JSON: {exc.msg}", "invalid_request_error"))
                return
            try:
                status, payload = server.complete(body, {k: v for k, v in self.headers.items()})
            except Exception as exc:  # a policy bug must surface as an HTTP error, not a hung client
                status, payload = 500, _error(f"{type(exc).__name__}: {exc}", "server_error")
            if server.memo is not None and status == 200 and server.reply_hook is None:
                server.memo[key] = (status, payload)
            self._send(status, payload)

    return Handler
