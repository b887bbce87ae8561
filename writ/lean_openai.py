"""ChatOpenAI for OpenAI-compatible servers, without the openai SDK's per-request CPU cost.

Profiling `writ synthesize` against a local OpenAI-compatible server showed the batch runner
spending most of its CPU inside the openai SDK, not in WRIT: before every request the SDK walks
the whole request (every message of the dialogue so far and every tool schema) through its
type-driven `transform`, and parses every response into pydantic models, and langchain-openai
then hops to a thread to convert it. At dozens of dialogues in flight that, not the server, caps
throughput. `LeanChatOpenAI` keeps everything langchain-openai does to build the request
(`_get_request_payload`) and to read the answer (`_create_chat_result`), and only replaces the
transport for plain chat-completions calls: JSON to and from a shared aiohttp session, with
the SDK's own error types and retry rule (408/409/429/5xx and connection errors, `max_retries`
times, exponential backoff, Retry-After honoured). Streaming, structured output, the Responses
API, o-series models, a caller's own http_async_client and proxies still go through the SDK
unchanged.

A dialogue resends its whole history on every call, so converting and serializing every message
each time makes a dialogue's client cost grow with the square of its length. Each message is
converted and serialized once (orjson) and its JSON reused while the same message object comes
back; the body is spliced from those pieces into the same JSON object as the payload
langchain-openai builds (test: `tests/test_lean_openai.py`).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import inspect
import random
import re
import ssl
import weakref
from collections import OrderedDict
from collections.abc import AsyncGenerator, Mapping
from typing import Any

import aiohttp
import httpx
import openai
import orjson
import yarl
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatResult
from langchain_openai import ChatOpenAI
from langchain_openai.chat_models.base import _convert_from_v1_to_chat_completions, _convert_message_to_dict
from pydantic import PrivateAttr, SecretStr

# Client-side options the SDK takes beside the JSON body.
_OPTIONS = ("extra_headers", "extra_query", "extra_body", "timeout")
_RETRY_STATUS = {408, 409, 429}
_DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=600.0, connect=10.0)

# One aiohttp session per event loop (a connection belongs to the loop that opened it) and
# endpoint. aiohttp costs about a quarter of httpx's client CPU per request (measured against
# the same local server: 0.34 ms vs 1.3 ms), which at dozens of dialogues in flight is the
# difference between waiting on the model and waiting on the client.
_sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, aiohttp.ClientSession]] = (
    weakref.WeakKeyDictionary()
)
_closers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncGenerator[None, None]] = (
    weakref.WeakKeyDictionary()
)


async def _close_at_shutdown(loop: asyncio.AbstractEventLoop) -> AsyncGenerator[None, None]:
    """Suspended for the loop's life; `asyncio.run` closes it (shutdown_asyncgens), closing the sessions."""
    try:
        yield
    finally:
        await _close(loop)


async def _close(loop: asyncio.AbstractEventLoop) -> None:
    _closers.pop(loop, None)
    for session in list(_sessions.pop(loop, {}).values()):
        await session.close()


async def _session(base_url: str) -> aiohttp.ClientSession:
    loop = asyncio.get_running_loop()
    sessions = _sessions.get(loop)
    if sessions is None:
        for gone in [other for other in _sessions if other.is_closed()]:  # loops closed without asyncio.run
            _sessions.pop(gone, None)
            _closers.pop(gone, None)
        sessions = _sessions[loop] = {}
        closer = _close_at_shutdown(loop)
        await closer.asend(None)  # now registered with the loop, which closes it at shutdown
        _closers[loop] = closer
    session = sessions.get(base_url)
    if session is None or session.closed:
        connector = aiohttp.TCPConnector(limit=0, ssl=_tls(), keepalive_timeout=60)
        session = sessions[base_url] = aiohttp.ClientSession(
            connector=connector, timeout=_DEFAULT_TIMEOUT, trust_env=True
        )
    return session


async def close_sessions() -> None:
    """Close this event loop's connections now; `asyncio.run` does it by itself on exit, a loop
    run by hand and closed without `shutdown_asyncgens` needs this call first."""
    await _close(asyncio.get_running_loop())


@functools.cache
def _tls() -> ssl.SSLContext:
    return httpx.create_ssl_context()  # the certifi bundle the SDK verifies with; ~40 ms to load: once


def _timeout(value: Any) -> aiohttp.ClientTimeout:
    """langchain-openai's `request_timeout` (seconds, an httpx.Timeout, or (connect, read)) for aiohttp."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return aiohttp.ClientTimeout(total=float(value), connect=min(10.0, float(value)))
    if isinstance(value, httpx.Timeout):
        return aiohttp.ClientTimeout(total=None, connect=value.connect, sock_read=value.read)
    if isinstance(value, tuple) and len(value) == 2:
        return aiohttp.ClientTimeout(total=None, connect=value[0], sock_read=value[1])
    return _DEFAULT_TIMEOUT


def _delay(attempt: int, headers: Mapping[str, str] | None) -> float:
    """The openai SDK's schedule: 0.5 s doubling to 8 s, jittered, unless the server says when."""
    if headers is not None:
        value = headers.get("retry-after")
        try:
            if value is not None and 0 <= float(value) <= 60:
                return float(value)
        except ValueError:
            pass
    return min(0.5 * 2**attempt, 8.0) * (1 - 0.25 * random.random())


_JSON_OPTIONS = orjson.OPT_NON_STR_KEYS
MESSAGE_CACHE = 8192
"""messages whose JSON one client keeps (a dialogue has tens; a client shared by many dialogues more)."""


class LeanChatOpenAI(ChatOpenAI):
    """A ChatOpenAI whose plain chat-completions calls skip the openai SDK (see the module docstring)."""

    _message_json: OrderedDict[int, tuple[BaseMessage, bytes]] = PrivateAttr(default_factory=OrderedDict)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        payload = self._get_request_payload([], stop=stop, **kwargs)  # everything but the messages
        custom_transport = self.http_async_client is not None or bool(self.openai_proxy)
        o_series = bool(self.model_name and re.match(r"^o\d", self.model_name))  # system role rewritten
        if (
            custom_transport
            or o_series
            or payload.get("stream")
            or "response_format" in payload
            or self._use_responses_api(payload)
        ):
            return await super()._agenerate(messages, stop=stop, run_manager=run_manager, **kwargs)
        payload.pop("stream", None)
        payload.pop("messages", None)
        options = {k: payload.pop(k) for k in _OPTIONS if k in payload}
        rest = orjson.dumps({**payload, **(options.get("extra_body") or {})}, option=_JSON_OPTIONS)
        body = (
            b'{"messages":['
            + b",".join(self._json(m) for m in messages)
            + (b"]}" if rest == b"{}" else b"]," + rest[1:])
        )
        _, headers, content = await self._post(body, options)
        generation_info = {"headers": headers} if self.include_response_headers else None
        return self._create_chat_result(orjson.loads(content), generation_info)

    def _json(self, message: BaseMessage) -> bytes:
        """The message as langchain-openai sends it, serialized once per message object."""
        cache = self._message_json
        hit = cache.get(id(message))
        if hit is not None and hit[0] is message:
            cache.move_to_end(id(message))
            return hit[1]
        converted = _convert_message_to_dict(
            _convert_from_v1_to_chat_completions(message) if isinstance(message, AIMessage) else message
        )
        data = orjson.dumps(converted, option=_JSON_OPTIONS)
        cache[id(message)] = (message, data)  # holding the message keeps its id from being reused
        if len(cache) > MESSAGE_CACHE:
            cache.popitem(last=False)
        return data

    async def _api_key(self) -> str:
        key = self.openai_api_key
        if isinstance(key, SecretStr):
            return key.get_secret_value()
        if callable(key):  # a key provider, sync or async
            value = key()
            return str(await value) if inspect.isawaitable(value) else str(value)
        return "EMPTY"

    async def _post(self, body: bytes, options: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        """POST the body, retrying as the SDK does; (status, headers, content) of the answer."""
        base = str(self.openai_api_base or "https://api.openai.com/v1").rstrip("/")
        target = yarl.URL(f"{base}/chat/completions")
        authorization = f"Bearer {await self._api_key()}"
        if target.user is not None:  # credentials in the URL become Basic auth, as httpx (the SDK) sends them
            pair = f"{target.user}:{target.password or ''}".encode()
            authorization = "Basic " + base64.b64encode(pair).decode("ascii")
            target = target.with_user(None)
        url = str(target)
        headers = {
            "Authorization": authorization,
            "Content-Type": "application/json",
            **(self.default_headers or {}),
            **(options.get("extra_headers") or {}),
        }
        params = {
            k: str(v) for k, v in {**(self.default_query or {}), **(options.get("extra_query") or {})}.items()
        }
        timeout = _timeout(options.get("timeout", self.request_timeout))
        retries = 2 if self.max_retries is None else self.max_retries
        session = await _session(str(target.origin()))
        for attempt in range(retries + 1):
            answer: tuple[int, dict[str, str], bytes] | None = None
            try:
                async with session.post(
                    url, data=body, headers=headers, params=params or None, timeout=timeout
                ) as response:
                    answer = (response.status, dict(response.headers), await response.read())
            except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
                if attempt >= retries:
                    raise openai.APITimeoutError(request=httpx.Request("POST", url)) from exc
            except aiohttp.ClientError as exc:
                if attempt >= retries:
                    raise openai.APIConnectionError(request=httpx.Request("POST", url)) from exc
            else:
                status, got_headers, content = answer
                if status < 400:
                    return answer
                if attempt >= retries or not (status in _RETRY_STATUS or status >= 500):
                    failed = httpx.Response(status, headers=got_headers, content=content, request=httpx.Request("POST", url))
                    raise self.root_async_client._make_status_error_from_response(failed)
            await asyncio.sleep(_delay(attempt, {k.lower(): v for k, v in answer[1].items()} if answer else None))
        raise AssertionError("unreachable")
