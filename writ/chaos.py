"""Fault injection for any chat model: the failures real providers produce, on demand.

`ChaosChatModel` wraps a BaseChatModel (scripted or a real LLM) and, per call and at the
configured rates, answers with tool-call arguments that are not JSON, a call to a tool that
does not exist, an empty reply, or raises a 429-style rate-limit error instead of answering.
`writ synthesize --chaos P` puts it under every agent and user model, which is how the runner's
retries and failure records are shown to hold (a run must finish whatever the faults).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.tool import invalid_tool_call, tool_call
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from pydantic import ConfigDict, PrivateAttr

from writ.errors import WritError
from writ.model_guard import bind_once

BAD_JSON = "bad_json"
UNKNOWN_TOOL = "unknown_tool"
EMPTY = "empty"
RATE_LIMIT = "rate_limit"
KINDS = (BAD_JSON, UNKNOWN_TOOL, EMPTY, RATE_LIMIT)
MALFORMED_KINDS = (BAD_JSON, UNKNOWN_TOOL, EMPTY)


class InjectedRateLimitError(Exception):
    """Raised in place of a reply, shaped like a provider's HTTP 429 (status_code, retry_after)."""

    status_code = 429

    def __init__(self, retry_after: float | None = None) -> None:
        super().__init__("injected rate limit (HTTP 429): too many requests")
        self.retry_after = retry_after


@dataclass(frozen=True)
class ChaosConfig:
    """Per-call probability of each fault; they are exclusive, so the total is their sum."""

    bad_json: float = 0.0
    unknown_tool: float = 0.0
    empty: float = 0.0
    rate_limit: float = 0.0

    @property
    def total(self) -> float:
        return self.bad_json + self.unknown_tool + self.empty + self.rate_limit

    @classmethod
    def parse(cls, text: str) -> ChaosConfig:
        """`P` (two thirds malformed replies split evenly, one third rate limits) or `kind=P,...`.

        Kinds: bad_json, unknown_tool, empty, rate_limit, and `malformed` for the first three evenly.
        So `--chaos 0.15` is 10% malformed replies and 5% 429s.
        """
        text = text.strip()
        try:
            if "=" not in text:
                p = float(text)
                config = cls(bad_json=p * 2 / 9, unknown_tool=p * 2 / 9, empty=p * 2 / 9, rate_limit=p / 3)
            else:
                rates = dict.fromkeys(KINDS, 0.0)
                for part in text.split(","):
                    kind, _, value = part.partition("=")
                    kind = kind.strip()
                    if kind == "malformed":
                        for k in MALFORMED_KINDS:
                            rates[k] += float(value) / 3
                    elif kind in rates:
                        rates[kind] += float(value)
                    else:
                        raise WritError(f"--chaos '{text}': unknown fault '{kind}' (known: malformed, {', '.join(KINDS)})")
                config = cls(**rates)
        except ValueError:
            raise WritError(f"--chaos '{text}': expected a probability like 0.15 or kind=P,... e.g. malformed=0.1,rate_limit=0.05") from None
        if min(config.bad_json, config.unknown_tool, config.empty, config.rate_limit) < 0 or config.total > 1:
            raise WritError(f"--chaos '{text}': probabilities must be at least 0 and add up to at most 1")
        return config

    def draw(self, rng: random.Random) -> str | None:
        """The fault for one call, or None for an honest reply."""
        u = rng.random()
        for kind in (RATE_LIMIT, BAD_JSON, UNKNOWN_TOOL, EMPTY):
            u -= getattr(self, kind)
            if u < 0:
                return kind
        return None

    def describe(self) -> dict[str, float]:
        return {k: round(getattr(self, k), 6) for k in KINDS}


class ChaosChatModel(BaseChatModel):
    """Any chat model (or tool-bound runnable) with faults injected into its replies."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    inner: Any
    """the model whose honest replies are passed through or corrupted."""
    config: ChaosConfig
    role: str = "agent"
    seed: str = "0"
    tool_names: tuple[str, ...] = ()
    _rng: random.Random = PrivateAttr()
    _injected: dict[str, int] = PrivateAttr()
    _bound: dict[tuple[tuple[str, ...], str], ChaosChatModel] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any) -> None:
        self._rng = random.Random(f"chaos:{self.seed}:{self.role}")
        self._injected = dict.fromkeys(KINDS, 0)

    @property
    def injected(self) -> dict[str, int]:
        """Faults injected so far by this model and its tool-bound copies, by kind."""
        return self._injected

    @property
    def _llm_type(self) -> str:
        return "writ-chaos"

    def __repr__(self) -> str:  # callbacks serialize through repr: not the inner model's whole task
        return f"ChaosChatModel(role={self.role!r}, inner={type(self.inner).__name__}, p={self.config.total:g})"

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        def make(names: tuple[str, ...], kw: dict[str, Any]) -> ChaosChatModel:
            copy = ChaosChatModel(
                inner=self.inner.bind_tools(tools, **kw), config=self.config, role=self.role, seed=self.seed, tool_names=names
            )
            copy._rng = self._rng  # one fault stream per dialogue and role, bound or not
            copy._injected = self._injected
            return copy

        return bind_once(self._bound, tools, tool_choice, kwargs, make)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        fault = self._draw()
        reply = await self.inner.ainvoke(messages, **({"stop": stop} if stop else {}))
        return self._result(reply, fault)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        fault = self._draw()
        reply = self.inner.invoke(messages, **({"stop": stop} if stop else {}))
        return self._result(reply, fault)

    def _draw(self) -> str | None:
        """This call's fault; a rate limit is raised before the inner model is asked at all."""
        fault = self.config.draw(self._rng)
        if fault is not None:
            self._injected[fault] += 1
        if fault == RATE_LIMIT:
            raise InjectedRateLimitError()
        return fault

    def _result(self, reply: BaseMessage, fault: str | None) -> ChatResult:
        message = reply if isinstance(reply, AIMessage) else AIMessage(content=reply.content)
        if fault is not None:
            message = self._corrupt(message, fault)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _corrupt(self, reply: AIMessage, fault: str) -> AIMessage:
        usage = reply.usage_metadata
        if fault == EMPTY or not self.tool_names:  # a user simulator has no tools: its bad reply is an empty one
            return AIMessage(content="", usage_metadata=usage)
        call_id = f"chaos_{self._rng.randrange(10**8)}"
        if fault == BAD_JSON:
            name = reply.tool_calls[0]["name"] if reply.tool_calls else self._rng.choice(self.tool_names)
            bad = invalid_tool_call(name=name, args='{"id": "#W00', id=call_id, error="injected: not JSON")
            return AIMessage(content="", invalid_tool_calls=[bad], usage_metadata=usage)
        unknown = tool_call(name=f"{self._rng.choice(self.tool_names)}_v2", args={}, id=call_id)
        return AIMessage(content="", tool_calls=[unknown], usage_metadata=usage)
