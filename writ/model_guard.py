"""Every model call of a batch run, made safe: rate-limited, retried, and checked before use.

`GuardedChatModel` wraps a role's chat model. Before each call it waits for the provider's rate
limiter; a 429, a 5xx, a timeout or a dropped connection is retried after an exponential
backoff (the provider's Retry-After wins); a reply the dialogue cannot use (tool-call arguments
that are not JSON, a tool that was not offered, an empty message) is asked for again, so such
faults never reach a trajectory. When the retries run out the call raises `DialogueFailed`
with the reason, and the runner records the dialogue as `failed: <reason>`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field, PrivateAttr

from writ.chat_format import message_text
from writ.failures import (
    EMPTY_REPLY,
    MALFORMED,
    MALFORMED_TOOL_CALL,
    UNKNOWN_TOOL,
    DialogueFailed,
    ModelReplyError,
    classify,
)
from writ.retry import Backoff


class RetryCounter:
    """Model-call retries by reason, across all dialogues of a process (shown in the run summary)."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, reason: str) -> None:
        with self._lock:
            self._counts[reason] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


def tool_names(tools: Sequence[Any]) -> tuple[str, ...]:
    """Names of tools given to bind_tools: OpenAI schemas read directly, anything else converted."""
    names = []
    for tool in tools:
        if isinstance(tool, dict) and isinstance(tool.get("function"), dict) and "name" in tool["function"]:
            names.append(str(tool["function"]["name"]))
        else:
            names.append(convert_to_openai_tool(tool)["function"]["name"])
    return tuple(names)


B = TypeVar("B")


def bind_once(
    cache: dict[tuple[tuple[str, ...], str], B],
    tools: Sequence[Any],
    tool_choice: str | None,
    kwargs: dict[str, Any],
    make: Callable[[tuple[str, ...], dict[str, Any]], B],
) -> B:
    """The wrapper bound to these tools, made once: a dialogue binds the same tools every turn,
    so the bound copy (and its serialization) is reused. `make(names, kwargs)` builds it."""
    names = tool_names(tools)
    if tool_choice is not None:
        kwargs["tool_choice"] = tool_choice
    key = (names, repr(sorted(kwargs.items())))
    bound = cache.get(key)
    if bound is None:
        bound = cache[key] = make(names, kwargs)
    return bound


def check_reply(reply: AIMessage, tool_names: frozenset[str] | None) -> None:
    """Raise `ModelReplyError` for a reply the dialogue cannot use as it is."""
    if reply.invalid_tool_calls:
        bad = reply.invalid_tool_calls[0]
        raise ModelReplyError(MALFORMED_TOOL_CALL, f"{bad.get('name') or '?'} arguments {str(bad.get('args'))[:80]!r}")
    if tool_names is not None:
        unknown = [c["name"] for c in reply.tool_calls if c["name"] not in tool_names]
        if unknown:
            raise ModelReplyError(UNKNOWN_TOOL, f"'{unknown[0]}' was not offered")
    if not reply.tool_calls and not message_text(reply).strip():
        raise ModelReplyError(EMPTY_REPLY, "no text and no tool call")


class GuardedChatModel(BaseChatModel):
    """A role's model behind a rate limiter, retries with backoff and a reply check."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    inner: Any
    """the chat model, or its tool-bound runnable."""
    role: str = "agent"
    retries: int = 4
    """further attempts per call after the first, for transient errors and unusable replies alike."""
    backoff: Backoff = Field(default_factory=Backoff)
    limiter: Any = None
    """a langchain `BaseRateLimiter` shared by every model of the same provider, or None."""
    tool_names: frozenset[str] | None = None
    """the tools offered (set by bind_tools); a call to any other is an unusable reply."""
    counter: RetryCounter | None = None

    _bound: dict[tuple[Any, ...], GuardedChatModel] = PrivateAttr(default_factory=dict)

    @property
    def _llm_type(self) -> str:
        return "writ-guarded"

    def __repr__(self) -> str:
        # Callbacks serialize the model once per instance, through repr: keep it one short line,
        # not the inner model's whole task.
        return f"GuardedChatModel(role={self.role!r}, inner={type(self.inner).__name__}, retries={self.retries})"

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        return bind_once(
            self._bound,
            tools,
            tool_choice,
            kwargs,
            lambda names, kw: self.model_copy(update={"inner": self.inner.bind_tools(tools, **kw), "tool_names": frozenset(names)}),
        )

    # ainvoke/invoke go straight to the inner model: the guard adds no LangChain run of its own
    # (no second callback run per call, half the per-call overhead at high concurrency), and the
    # caller's config (callbacks, tracing, tags) reaches the real model unchanged.
    async def ainvoke(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, *, stop: list[str] | None = None, **kwargs: Any
    ) -> AIMessage:
        extra = {"stop": stop} if stop else {}
        for attempt in range(self.retries + 1):
            if self.limiter is not None:
                await self.limiter.aacquire()
            try:
                return self._checked(await self.inner.ainvoke(input, config, **extra, **kwargs))
            except Exception as exc:
                await asyncio.sleep(self._after_failure(exc, attempt))
        raise AssertionError("unreachable: the last attempt raises")

    def invoke(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, *, stop: list[str] | None = None, **kwargs: Any
    ) -> AIMessage:
        extra = {"stop": stop} if stop else {}
        for attempt in range(self.retries + 1):
            if self.limiter is not None:
                self.limiter.acquire()
            try:
                return self._checked(self.inner.invoke(input, config, **extra, **kwargs))
            except Exception as exc:
                time.sleep(self._after_failure(exc, attempt))
        raise AssertionError("unreachable: the last attempt raises")

    def _checked(self, reply: BaseMessage) -> AIMessage:
        message = reply if isinstance(reply, AIMessage) else AIMessage(content=reply.content)
        check_reply(message, self.tool_names)
        return message

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        extra = {"stop": stop} if stop else {}
        for attempt in range(self.retries + 1):
            if self.limiter is not None:
                await self.limiter.aacquire()
            try:
                reply = await self.inner.ainvoke(messages, **extra)
                return self._accept(reply)
            except Exception as exc:
                await asyncio.sleep(self._after_failure(exc, attempt))
        raise AssertionError("unreachable: the last attempt raises")

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        extra = {"stop": stop} if stop else {}
        for attempt in range(self.retries + 1):
            if self.limiter is not None:
                self.limiter.acquire()
            try:
                reply = self.inner.invoke(messages, **extra)
                return self._accept(reply)
            except Exception as exc:
                time.sleep(self._after_failure(exc, attempt))
        raise AssertionError("unreachable: the last attempt raises")

    def _accept(self, reply: BaseMessage) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._checked(reply))])

    def _after_failure(self, exc: Exception, attempt: int) -> float:
        """Seconds to wait before the next attempt; raises when this failure is final."""
        failure = classify(exc)
        if isinstance(exc, DialogueFailed):
            raise exc
        worth_retrying = failure.retryable or failure.reason in MALFORMED
        if not worth_retrying or attempt >= self.retries:
            raise DialogueFailed(failure.reason, f"{self.role}: {failure.detail}", attempts=attempt + 1) from exc
        if self.counter is not None:
            self.counter.add(failure.reason)
        # An unusable reply is asked for again at once; only provider errors wait.
        return 0.0 if failure.reason in MALFORMED else self.backoff.delay(attempt, failure.retry_after)
