"""LangChain messages <-> OpenAI chat dicts, and the user simulator's view of a dialogue.

Graph state holds LangChain messages (Studio renders them, every provider accepts them);
trajectories, the scripted policies and the test server speak OpenAI chat format. Tool-call
arguments that were not valid JSON are kept verbatim so the record shows what the model sent.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from writ.trajectory import Message


def message_text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    parts = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
    return "".join(parts)


def openai_tool_calls(message: AIMessage) -> list[dict[str, Any]]:
    calls = [
        {
            "id": call.get("id") or f"call_{i}",
            "type": "function",
            "function": {"name": call["name"], "arguments": json.dumps(call.get("args", {}))},
        }
        for i, call in enumerate(message.tool_calls)
    ]
    for i, bad in enumerate(message.invalid_tool_calls):
        calls.append(
            {
                "id": bad.get("id") or f"invalid_{i}",
                "type": "function",
                "function": {"name": bad.get("name") or "", "arguments": bad.get("args") or ""},
            }
        )
    return calls


def to_openai(messages: Sequence[BaseMessage]) -> list[Message]:
    out: list[Message] = []
    for m in messages:
        if isinstance(m, SystemMessage):
            out.append({"role": "system", "content": message_text(m)})
        elif isinstance(m, HumanMessage):
            out.append({"role": "user", "content": message_text(m)})
        elif isinstance(m, AIMessage):
            entry: Message = {"role": "assistant", "content": message_text(m) or None}
            calls = openai_tool_calls(m)
            if calls:
                entry["tool_calls"] = calls
            out.append(entry)
        elif isinstance(m, ToolMessage):
            out.append({"role": "tool", "tool_call_id": m.tool_call_id, "content": message_text(m)})
    return out


def ai_message(reply: Message) -> AIMessage:
    """An OpenAI-format assistant reply as an AIMessage; arguments that do not parse stay invalid calls."""
    tool_calls: list[dict[str, Any]] = []
    invalid: list[dict[str, Any]] = []
    for call in reply.get("tool_calls") or []:
        fn = call.get("function", {})
        raw = fn.get("arguments")
        try:
            args = raw if isinstance(raw, dict) else json.loads(raw or "{}")
            if not isinstance(args, dict):
                raise ValueError("arguments are not a JSON object")
            tool_calls.append({"name": fn.get("name", ""), "args": args, "id": call.get("id"), "type": "tool_call"})
        except (ValueError, TypeError):
            invalid.append(
                {
                    "name": fn.get("name"),
                    "args": raw if isinstance(raw, str) else json.dumps(raw),
                    "id": call.get("id"),
                    "error": "arguments are not a JSON object",
                    "type": "invalid_tool_call",
                }
            )
    return AIMessage(content=reply.get("content") or "", tool_calls=tool_calls, invalid_tool_calls=invalid)


def user_view(system_prompt: str, messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """The dialogue as the user simulator sees it: agent texts as 'user' turns, its own as 'assistant'.

    Tool calls and results are the agent's business and stay hidden, as in τ²-bench.
    """
    view: list[BaseMessage] = [SystemMessage(content=system_prompt)]
    _extend_user_view(view, messages)
    return view


def _extend_user_view(view: list[BaseMessage], messages: Sequence[BaseMessage]) -> None:
    for m in messages:
        if isinstance(m, AIMessage):
            text = message_text(m)
            if text.strip():
                view.append(HumanMessage(content=text))
        elif isinstance(m, HumanMessage):
            view.append(AIMessage(content=message_text(m)))


class UserView:
    """`user_view` for one dialogue, extended turn by turn instead of rebuilt.

    A dialogue only appends messages, so the view of the first n is kept and only the new ones
    are converted; the view's messages stay the same objects from turn to turn, which lets a
    client reuse their serialized JSON (`writ.lean_openai`). A history that is not an extension
    of the last one seen is converted afresh.
    """

    def __init__(self, system_prompt: str) -> None:
        self._seen: list[BaseMessage] = []
        self._view: list[BaseMessage] = [SystemMessage(content=system_prompt)]

    def __call__(self, messages: Sequence[BaseMessage]) -> list[BaseMessage]:
        seen = self._seen
        if len(messages) < len(seen) or not all(a is b for a, b in zip(seen, messages, strict=False)):
            self._seen, self._view = [], self._view[:1]
        _extend_user_view(self._view, messages[len(self._seen) :])
        self._seen = list(messages)
        return list(self._view)
