"""The dialogue graph: a simulated user, an agent and the domain's tools, until done; then verify.

    START -> setup -> user <-> agent <-> tools
                       |        |         |
                       +--------+---------+--> verify -> END

`setup` opens the task's environment and writes the agent's system prompt and greeting; `user`
and `agent` are chat models chosen per role by the run's context (scripted offline policies or
real LLMs, the same graph either way); `tools` executes every tool call of the agent's last
message; `verify` scores the finished dialogue exactly as τ²-bench would. The graph is compiled
without a checkpointer (the LangGraph dev server refuses one); runners attach their own.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Sequence
from functools import cache
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AnyMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from writ.chat_format import UserView, message_text, to_openai
from writ.domain import Domain, ToolKind
from writ.environment import environments
from writ.graphs.dialogue_context import DialogueContext
from writ.graphs.dialogue_prompts import (
    agent_system_prompt,
    tau2_agent_system_prompt,
    tau2_user_system_prompt,
    user_system_prompt,
)
from writ.graphs.dialogue_state import DialogueInput, DialogueOutput, DialogueState
from writ.models import load_chat_model, redact, spec_with_base_url
from writ.registry import get_domain
from writ.scripted.cues import GREETING, STOP_TOKEN, is_stop
from writ.task import WritTask
from writ.trajectory import (
    AGENT_ERROR,
    AGENT_STOP,
    MAX_TURNS,
    TOO_MANY_ERRORS,
    USER_ERROR,
    USER_STOP,
    Trajectory,
)
from writ.verifier import Verifier

# Models live beside the environment, per dialogue handle: cheap to reuse across turns, never checkpointed.
_models: dict[str, dict[str, BaseChatModel]] = {}
_user_views: dict[str, UserView] = {}


@cache
def _verifier(domain_name: str) -> Verifier:
    return Verifier(get_domain(domain_name))


def _task(state: DialogueState | dict[str, Any]) -> WritTask:
    task = state["task"]
    return task if isinstance(task, WritTask) else WritTask.model_validate(task)


def _context(runtime: Runtime[DialogueContext]) -> DialogueContext:
    return runtime.context if runtime.context is not None else DialogueContext()


def _model(runtime: Runtime[DialogueContext], handle: str, role: Literal["agent", "user"], task: WritTask) -> BaseChatModel:
    cached = _models.setdefault(handle, {})
    if role not in cached:
        ctx = _context(runtime)
        if ctx.model_factory is not None:
            cached[role] = ctx.model_factory(role, task)
        else:
            spec, base_url = (ctx.agent_model, ctx.agent_base_url) if role == "agent" else (ctx.user_model, ctx.user_base_url)
            temperature = ctx.agent_temperature if role == "agent" else ctx.user_temperature
            model = load_chat_model(spec, role, base_url=base_url, task=task, temperature=temperature)
            cached[role] = ctx.model_wrapper(role, task, model) if ctx.model_wrapper is not None else model
    return cached[role]


def tool_schemas(domain: Domain) -> list[dict[str, Any]]:
    return [spec.openai_schema() for spec in domain.tools()]


def _usage(role: str, message: BaseMessage) -> dict[str, int]:
    meta = getattr(message, "usage_metadata", None)
    if not meta:
        return {}
    return {f"{role}_input_tokens": int(meta.get("input_tokens", 0)), f"{role}_output_tokens": int(meta.get("output_tokens", 0))}


def going_in_circles(messages: Sequence[AnyMessage], repeats: int) -> bool:
    """The agent's last text is the `repeats`-th identical one since its last tool call.

    Nothing has changed in between (no tool was called), so the user's answers are not moving
    the agent: the dialogue would only burn turns until the limit.
    """
    last = messages[-1] if messages else None
    if repeats <= 0 or not isinstance(last, AIMessage) or last.tool_calls:
        return False
    text = message_text(last)
    said = 0
    for m in reversed(messages):
        if isinstance(m, AIMessage):
            if m.tool_calls or m.invalid_tool_calls:
                break
            said += message_text(m) == text
    return said >= repeats


def _limit(state: DialogueState, ctx: DialogueContext, turns: int) -> dict[str, Any]:
    """The turn limit, recorded as the termination reason when reached."""
    return {"termination": MAX_TURNS} if turns >= ctx.max_turns and not state.get("termination") else {}


# -- nodes ---------------------------------------------------------------------------------------


async def setup(state: DialogueState, runtime: Runtime[DialogueContext]) -> dict[str, Any]:
    """Open the task's environment; start the transcript with the policy prompt and the greeting."""
    task = _task(state)
    ctx = _context(runtime)
    if ctx.domain and ctx.domain != task.writ.domain:
        raise ValueError(f"task {task.id} is a {task.writ.domain} task, the context says {ctx.domain}")
    domain = get_domain(task.writ.domain)
    handle = state.get("env") or environments.open(domain, task)
    prompt = tau2_agent_system_prompt if ctx.agent_prompt == "tau2" else agent_system_prompt
    return {
        "task": task,
        "env": handle,
        "messages": [SystemMessage(content=prompt(domain.policy)), AIMessage(content=GREETING)],
        "turns": 0,
        "tool_calls": 0,
        "tool_errors": 0,
        "termination": None,
        "usage": {},
    }


async def user(state: DialogueState, runtime: Runtime[DialogueContext]) -> dict[str, Any]:
    """The simulated user answers the agent's last message, seeing only the texts, roles flipped."""
    if going_in_circles(state["messages"], _context(runtime).max_repeats):
        return {"termination": USER_ERROR}
    task = _task(state)
    model = _model(runtime, state["env"], "user", task)
    view = _user_views.get(state["env"])
    if view is None:
        prompt = tau2_user_system_prompt(task) if _context(runtime).user_prompt == "tau2" else user_system_prompt(task)
        view = _user_views[state["env"]] = UserView(prompt)
    reply = await model.ainvoke(view(state["messages"]))
    text = message_text(reply)
    turns = state.get("turns", 0) + 1
    update: dict[str, Any] = {"messages": [HumanMessage(content=text)], "turns": turns, "usage": _usage("user", reply)}
    if is_stop(text):
        update["termination"] = USER_STOP
    else:
        update.update(_limit(state, _context(runtime), turns))
    return update


async def agent(state: DialogueState, runtime: Runtime[DialogueContext]) -> dict[str, Any]:
    """The agent, with the domain's tools bound, answers or calls tools."""
    task = _task(state)
    domain = get_domain(task.writ.domain)
    model = _model(runtime, state["env"], "agent", task)
    reply = await model.bind_tools(tool_schemas(domain)).ainvoke(state["messages"])
    if not isinstance(reply, AIMessage):
        reply = AIMessage(content=message_text(reply))
    turns = state.get("turns", 0) + 1
    update: dict[str, Any] = {"messages": [reply], "turns": turns, "usage": _usage("agent", reply)}
    if STOP_TOKEN in message_text(reply) and not reply.tool_calls:
        update["termination"] = AGENT_STOP
    else:
        update.update(_limit(state, _context(runtime), turns))
    return update


async def tools(state: DialogueState, runtime: Runtime[DialogueContext]) -> dict[str, Any]:
    """Run every tool call of the agent's last message; failures become error tool messages."""
    task = _task(state)
    domain = get_domain(task.writ.domain)
    env = environments.get(state["env"], domain, task, replay=_replay(state["messages"][:-1]))
    last = state["messages"][-1]
    assert isinstance(last, AIMessage)
    results: list[ToolMessage] = []
    errors = 0
    for i, call in enumerate(last.tool_calls):
        call_id = call.get("id") or f"call_missing_{i}"
        try:
            result = env.call(call["name"], call.get("args") or {}, call_id)
            content, failed = result.content, result.error
        except Exception as exc:  # a native domain's tool raising must not end the run
            content, failed = f"Error: {type(exc).__name__}: {exc}", True
        errors += failed
        results.append(
            ToolMessage(content=content, tool_call_id=call_id, name=call["name"], status="error" if failed else "success")
        )
    for i, bad in enumerate(last.invalid_tool_calls):
        errors += 1
        name = bad.get("name") or "?"
        results.append(
            ToolMessage(
                content=f"Error: the arguments of {name} are not a valid JSON object: {bad.get('args')!r}",
                tool_call_id=bad.get("id") or f"invalid_{i}",
                name=name,
                status="error",
            )
        )
    total_errors = state.get("tool_errors", 0) + errors
    update: dict[str, Any] = {
        "messages": results,
        "tool_calls": state.get("tool_calls", 0) + len(results),
        "tool_errors": total_errors,
    }
    if total_errors >= _context(runtime).max_errors:
        update["termination"] = TOO_MANY_ERRORS
    return update


async def verify(state: DialogueState, runtime: Runtime[DialogueContext]) -> dict[str, Any]:
    """Score the dialogue as τ²-bench does and release its environment."""
    task = _task(state)
    termination = state.get("termination") or USER_STOP
    environments.close(state["env"])
    _models.pop(state["env"], None)
    _user_views.pop(state["env"], None)
    try:
        verdict = _verifier(task.writ.domain).verify(task.task, to_openai(state["messages"]), termination).to_dict()
    except Exception as exc:  # e.g. a native tool that raises during the replay: unverifiable, so not kept
        verdict = {"reward": 0.0, "reason": f"verifier_error: {type(exc).__name__}: {exc}"}
    return {"reward": verdict["reward"], "verdict": {**verdict, "termination": termination}, "termination": termination}


def _replay(messages: Sequence[AnyMessage]) -> list[tuple[str, dict[str, Any]]]:
    answered = {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
    return [
        (call["name"], call.get("args") or {})
        for m in messages
        if isinstance(m, AIMessage)
        for call in m.tool_calls
        if call.get("id") in answered
    ]


# -- routers -------------------------------------------------------------------------------------


async def after_agent(state: DialogueState) -> Literal["tools", "user", "verify"]:
    if state.get("termination"):
        return "verify"
    last = state["messages"][-1]
    if isinstance(last, AIMessage) and (last.tool_calls or last.invalid_tool_calls):
        return "tools"
    return "user"


async def after_tools(state: DialogueState) -> Literal["agent", "verify"]:
    return "verify" if state.get("termination") else "agent"


async def after_user(state: DialogueState) -> Literal["agent", "verify"]:
    return "verify" if state.get("termination") else "agent"


builder = StateGraph(DialogueState, context_schema=DialogueContext, input_schema=DialogueInput, output_schema=DialogueOutput)
builder.add_node("setup", setup)
builder.add_node("user", user)
builder.add_node("agent", agent)
builder.add_node("tools", tools)
builder.add_node("verify", verify)

# Every dialogue starts by opening its environment; the agent's greeting is already in place.
builder.add_edge(START, "setup")
# The user speaks first, answering the greeting.
builder.add_edge("setup", "user")
# The user's stop/transfer token, giving up on an agent repeating itself, or the turn limit ends
# the dialogue (verified, then END); else the agent answers.
builder.add_conditional_edges("user", after_user)
# Tool calls (valid or malformed) go to the tools; plain text goes back to the user; a stop or limit to verify.
builder.add_conditional_edges("agent", after_agent)
# Tool results go back to the agent, unless too many tool errors end the dialogue.
builder.add_conditional_edges("tools", after_tools)
# A verified dialogue is finished.
builder.add_edge("verify", END)

# The turn limit (context.max_turns) ends dialogues; the recursion limit is only a backstop for
# runs started elsewhere (Studio, the dev server) whose default of 25 steps is one short dialogue.
graph = builder.compile(name="dialogue").with_config(recursion_limit=1000)


# -- running one task ------------------------------------------------------------------------------


async def arun_dialogue(task: WritTask, context: DialogueContext | None = None) -> Trajectory:
    """Simulate and verify one task; the trajectories.jsonl line for it."""
    context = context or DialogueContext()
    started = time.perf_counter()
    handle = environments.open(get_domain(task.writ.domain), task)
    try:
        final = await graph.ainvoke(
            {"task": task, "env": handle},
            context=context,
            config={"recursion_limit": 4 * context.max_turns + 20},
        )
    finally:  # a model error mid-dialogue must not leak the environment or the clients
        environments.close(handle)
        _models.pop(handle, None)
        _user_views.pop(handle, None)
    return build_trajectory(task, final, context, time.perf_counter() - started)


def run_dialogue(task: WritTask, context: DialogueContext | None = None) -> Trajectory:
    return asyncio.run(arun_dialogue(task, context))


def build_trajectory(task: WritTask, final: dict[str, Any], context: DialogueContext, seconds: float) -> Trajectory:
    domain = get_domain(task.writ.domain)
    messages = to_openai(final["messages"])
    kinds = {spec.name: spec.kind for spec in domain.tools()}
    calls = [c["function"]["name"] for m in messages for c in m.get("tool_calls") or []]
    usage = dict(final.get("usage") or {})
    if usage:
        usage["input_tokens"] = sum(v for k, v in usage.items() if k.endswith("_input_tokens"))
        usage["output_tokens"] = sum(v for k, v in usage.items() if k.endswith("_output_tokens"))
    models = _model_names(context)
    metrics: dict[str, Any] = {
        "turns": int(final.get("turns", 0)),
        "user_turns": sum(1 for m in messages if m["role"] == "user"),
        "tool_calls": len(calls),
        "reads": sum(1 for c in calls if kinds.get(c) == ToolKind.READ),
        "writes": sum(1 for c in calls if kinds.get(c) == ToolKind.WRITE),
        "tool_errors": int(final.get("tool_errors", 0)),
        "termination": final.get("termination"),
        "seconds": round(seconds, 4),
        "task": dict(task.writ.metrics),
    }
    return Trajectory(
        id=trajectory_id(task, models),
        task_id=task.id,
        domain=task.writ.domain,
        reward=float(final.get("reward") or 0.0),
        verdict=dict(final.get("verdict") or {}),
        messages=messages,
        tools=tool_schemas(domain),
        models=models,
        usage=usage,
        metrics=metrics,
    )


def _model_names(context: DialogueContext) -> dict[str, str]:
    """As the run config names them, without credentials a base URL may carry."""
    return {
        "agent": "custom" if context.model_factory else redact(spec_with_base_url(context.agent_model, context.agent_base_url)),
        "user": "custom" if context.model_factory else redact(spec_with_base_url(context.user_model, context.user_base_url)),
    }


def trajectory_id(task: WritTask, models: dict[str, str]) -> str:
    """Stable per task and model pair, so a retried dialogue's line supersedes its failed one."""
    digest = hashlib.sha1(f"{task.id}|{models['agent']}|{models['user']}".encode()).hexdigest()[:10]
    return f"{task.id}-{digest}"


def failed_trajectory(task: WritTask, context: DialogueContext, reason: str, detail: str = "", attempts: int = 1) -> Trajectory:
    """The line for a dialogue that never finished (provider errors, unusable replies, timeout).

    Reward 0 and verdict reason `failed: <reason>`, so the report counts it as a run failure and
    the exports leave it out; a rerun keeps it unless asked to retry failed dialogues.
    """
    domain = get_domain(task.writ.domain)
    models = _model_names(context)
    role = detail.split(":", 1)[0] if detail.startswith(("agent:", "user:")) else ""
    termination = AGENT_ERROR if role == "agent" else USER_ERROR if role == "user" else "error"
    verdict = {"reward": 0.0, "reason": f"failed: {reason}", "detail": detail, "attempts": attempts, "termination": termination}
    return Trajectory(
        id=trajectory_id(task, models),
        task_id=task.id,
        domain=task.writ.domain,
        reward=0.0,
        verdict=verdict,
        messages=[],
        tools=tool_schemas(domain),
        models=models,
        usage={},
        metrics={"termination": termination, "failed": reason, "attempts": attempts, "task": dict(task.writ.metrics)},
    )
