from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from writ.chat_format import UserView, ai_message, to_openai, user_view


def test_round_trip_keeps_tool_calls_and_malformed_arguments():
    reply = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "a", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}},
            {"id": "b", "type": "function", "function": {"name": "g", "arguments": '{"x": '}},
        ],
    }
    message = ai_message(reply)
    assert message.tool_calls[0]["args"] == {"x": 1} and message.invalid_tool_calls[0]["args"] == '{"x": '
    out = to_openai([SystemMessage(content="s"), message, ToolMessage(content="r", tool_call_id="a")])
    assert out[1] == {"role": "assistant", "content": None, "tool_calls": reply["tool_calls"]}
    assert out[2] == {"role": "tool", "tool_call_id": "a", "content": "r"}


def test_user_view_flips_roles_and_hides_tools():
    messages = [
        SystemMessage(content="agent policy"),
        AIMessage(content="Hi! How can I help?"),
        HumanMessage(content="Cancel my order."),
        AIMessage(content="", tool_calls=[{"name": "f", "args": {}, "id": "1", "type": "tool_call"}]),
        ToolMessage(content="secret", tool_call_id="1"),
        AIMessage(content="Done."),
    ]
    view = user_view("you are a customer", messages)
    assert [(type(m).__name__, m.content) for m in view] == [
        ("SystemMessage", "you are a customer"),
        ("HumanMessage", "Hi! How can I help?"),
        ("AIMessage", "Cancel my order."),
        ("HumanMessage", "Done."),
    ]


def test_user_view_kept_turn_by_turn_equals_the_view_rebuilt():
    history = [
        SystemMessage(content="agent policy"),
        AIMessage(content="Hi! How can I help?"),
        HumanMessage(content="Cancel my order."),
        AIMessage(content="", tool_calls=[{"name": "f", "args": {}, "id": "1", "type": "tool_call"}]),
        ToolMessage(content="secret", tool_call_id="1"),
        AIMessage(content="Done."),
        HumanMessage(content="Thanks ###STOP###"),
    ]
    shown = lambda view: [(type(m).__name__, m.content) for m in view]  # noqa: E731
    kept = UserView("you are a customer")
    earlier: list = []
    for n in range(1, len(history) + 1):
        view = kept(history[:n])
        assert shown(view) == shown(user_view("you are a customer", history[:n]))
        assert all(
            a is b for a, b in zip(earlier, view, strict=False)
        )  # the same message objects turn after turn
        earlier = view
    # a history that does not extend the last one (another branch) is converted afresh
    other = [history[0], AIMessage(content="Something else entirely.")]
    assert shown(kept(other)) == shown(user_view("you are a customer", other))
