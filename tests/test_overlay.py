"""Copy-on-access views: isolation from the shared parsed database, and outcome comparison that
agrees with comparing whole databases the way τ²-bench hashes them."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from writ.domain import Outcome
from writ.gold import gold_calls
from writ.overlay import CopyOnAccess, canonical_json
from writ.tau2_tasks import tau2_tasks
from writ.variants import KINDS, Breaker, spread
from writ.verifier import Verifier


class Order(BaseModel):
    status: str
    items: list[str]


def _base() -> dict[str, Order]:
    return {"a": Order(status="pending", items=["x"]), "b": Order(status="delivered", items=["y", "z"])}


# --- CopyOnAccess --------------------------------------------------------------------------


def test_access_by_key_copies_once_and_leaves_base_alone():
    base = _base()
    view = CopyOnAccess(base)
    first = view["a"]
    assert first is not base["a"] and first == base["a"]
    first.status = "cancelled"
    first.items.append("w")
    assert view["a"] is first  # the same private copy on every later access
    assert base["a"] == Order(status="pending", items=["x"])
    assert view.touched() == {"a"}
    assert view.current_json("a") == canonical_json(first) != canonical_json(base["a"])


def test_iteration_shares_base_records_without_touching():
    base = _base()
    view = CopyOnAccess(base)
    assert list(view) == ["a", "b"]
    assert all(v is base[k] for k, v in view.items())
    assert [v is base[k] for k, v in zip(view, view.values(), strict=True)] == [True, True]
    assert view.touched() == set()
    copied = view["b"]
    assert dict(view.items())["b"] is copied  # once copied, iteration hands out the copy
    assert dict(view.items())["a"] is base["a"]


def test_get_and_contains():
    view = CopyOnAccess(_base())
    assert "a" in view and "q" not in view and 3 not in view
    assert view.get("q") is None
    assert view.touched() == set()  # a miss copies nothing
    with pytest.raises(KeyError):
        view["q"]


def test_set_adds_after_base_keys_in_insertion_order():
    base = _base()
    view = CopyOnAccess(base)
    view["d"] = Order(status="new", items=[])
    view["c"] = Order(status="new", items=[])
    view["a"] = Order(status="replaced", items=[])  # replacing keeps its place
    assert list(view) == ["a", "b", "d", "c"]
    assert len(view) == 4
    assert "c" in view and "c" not in base
    assert base["a"].status == "pending" and view["a"].status == "replaced"
    assert view.touched() == {"a", "c", "d"}


def test_delete_base_key_hides_it_and_re_adding_restores_its_place():
    base = _base()
    view = CopyOnAccess(base)
    del view["a"]
    assert "a" not in view and list(view) == ["b"] and len(view) == 1
    assert view.current_json("a") is None and "a" in view.touched()
    assert "a" in base
    with pytest.raises(KeyError):
        view["a"]
    with pytest.raises(KeyError):
        del view["a"]
    view["a"] = Order(status="again", items=[])
    assert list(view) == ["a", "b"] and len(view) == 2 and view["a"].status == "again"


def test_delete_missing_key_raises():
    view = CopyOnAccess(_base())
    with pytest.raises(KeyError):
        del view["q"]
    assert len(view) == 2


def test_add_then_delete_a_new_key_keeps_length_right():
    view = CopyOnAccess(_base())
    view["c"] = Order(status="new", items=[])
    del view["c"]
    assert "c" not in view and list(view) == ["a", "b"]
    assert len(view) == 2 == len(list(view))
    assert view.current_json("c") is None


def test_pop_and_clear_follow_mapping_semantics():
    base = _base()
    view = CopyOnAccess(base)
    assert view.pop("a").status == "pending"
    assert list(view) == ["b"]
    view.clear()
    assert len(view) == 0 and list(view) == []
    assert list(base) == ["a", "b"]


def test_snapshot_restore_round_trip_and_token_reuse():
    base = _base()
    view = CopyOnAccess(base)
    view["a"].status = "cancelled"
    view["c"] = Order(status="new", items=[])
    del view["b"]
    token = view.snapshot()
    expected = {k: view.current_json(k) for k in ("a", "b", "c")}

    for _ in range(2):  # a token can be restored more than once: restore must not alias it
        view["a"].items.append("mutated")
        view["b"] = Order(status="back", items=[])
        del view["c"]
        view["e"] = Order(status="later", items=[])
        view.restore(token)
        assert {k: view.current_json(k) for k in ("a", "b", "c")} == expected
        assert list(view) == ["a", "c"] and len(view) == 2 and "e" not in view
    assert base["a"].status == "pending" and "b" in base


# --- Tau2State over τ²'s real databases -----------------------------------------------------

DOMAINS = ("retail", "airline")
VARIANTS_PER_KIND = 8


@pytest.fixture(scope="module")
def runs(request):
    """For each domain: the base JSON before, the gold and broken-variant end states, and the
    base JSON after every gold action of every base-split task ran through `Tau2State`s."""
    out = {}
    for name in DOMAINS:
        domain = request.getfixturevalue(name)
        before = canonical_json(domain.base_db)
        tasks = tau2_tasks(name, "base")
        verifier = Verifier(domain)
        gold = {}
        for task in tasks:
            state = domain.new_state()
            for tool, arguments in gold_calls(task):
                state.call(tool, arguments)
            gold[task.id] = state
        breaker = Breaker(domain, tasks)
        broken = []
        for kind in KINDS:
            if kind == "missing_communicate":
                continue  # same calls as gold: nothing new for the database
            built = [(t, breaker.variant(t, kind)) for t in spread(tasks, 3 * VARIANTS_PER_KIND)]
            for task, messages in [(t, m) for t, m in built if m is not None][:VARIANTS_PER_KIND]:
                state, mismatch = verifier.replay(task, messages)
                assert mismatch is None, mismatch
                broken.append((kind, task, state))
        out[name] = {
            "domain": domain,
            "before": before,
            "after": canonical_json(domain.base_db),
            "tasks": tasks,
            "gold": gold,
            "gold_json": {t.id: domain.full_json(gold[t.id]) for t in tasks},
            "broken": broken,
        }
    return out


@pytest.mark.parametrize("name", DOMAINS)
def test_gold_runs_leave_the_shared_base_unchanged(runs, name):
    run = runs[name]
    assert len(run["gold"]) == {"retail": 114, "airline": 50}[name]
    assert run["after"] == run["before"]
    fresh = run["domain"]._db_loader()  # and the base still equals the database on disk
    assert canonical_json(fresh) == run["after"]


@pytest.mark.parametrize("name", DOMAINS)
def test_same_outcome_agrees_with_full_database_on_gold_runs(runs, name):
    domain = runs[name]["domain"]
    base_json = domain.full_json(domain.new_state())
    changed = 0
    for task in runs[name]["tasks"]:
        state = runs[name]["gold"][task.id]
        full_equal = runs[name]["gold_json"][task.id] == base_json
        assert domain.same_outcome(state.outcome(), Outcome()) == full_equal, task.id
        assert domain.same_outcome(state.outcome(), state.outcome())
        changed += not full_equal
    assert changed > len(runs[name]["tasks"]) // 2  # most gold runs really change the database


@pytest.mark.parametrize("name", DOMAINS)
def test_same_outcome_agrees_with_full_database_on_broken_variants(runs, name):
    domain = runs[name]["domain"]
    disagreements, differing = [], 0
    for kind, task, state in runs[name]["broken"]:
        gold = runs[name]["gold"][task.id]
        full_equal = domain.full_json(state) == runs[name]["gold_json"][task.id]
        fast_equal = domain.same_outcome(state.outcome(), gold.outcome())
        if fast_equal != full_equal:
            disagreements.append((kind, task.id, fast_equal, full_equal))
        differing += not full_equal
    assert disagreements == []
    assert differing >= len(runs[name]["broken"]) - 2  # the variants do break the database


def test_state_snapshot_restore_matches_full_database(retail):
    task = tau2_tasks("retail", "base")[0]
    state = retail.new_state()
    calls = gold_calls(task)
    token = state.snapshot()
    before = retail.full_json(state)
    for tool, arguments in calls:
        state.call(tool, arguments)
    after = retail.full_json(state)
    assert after != before
    state.restore(token)
    assert retail.full_json(state) == before
    for tool, arguments in calls:
        state.call(tool, arguments)
    assert retail.full_json(state) == after


def test_record_peeks_without_touching(retail):
    state = retail.new_state()
    order = state.record("orders", "#W2378156")
    assert order is retail.base_db.orders["#W2378156"]
    assert state.outcome().records == {}


# --- read tools share records uncopied: none of a shipped domain's may change them ----------


def _all_records(domain) -> str:
    return canonical_json(domain.base_db)


def _exercise_reads(domain_name: str) -> None:
    """Compose and simulate a few tasks (scripted models), then call every single-id read tool on many keys."""
    from writ.composer.config import ComposeConfig
    from writ.domain import ToolKind
    from writ.graphs.composer import compose_one
    from writ.graphs.dialogue import run_dialogue
    from writ.registry import get_domain
    from writ.task import WritTask

    domain = get_domain(domain_name)
    config = ComposeConfig(domain=domain_name, n=4, seed=3)
    for index in range(4):
        task = compose_one(config, index)
        if isinstance(task, WritTask):
            assert run_dialogue(task).reward == 1.0
    state = domain.new_state()
    collections = {name: view for name, view in state._collections.items()}
    for spec in domain.tools():
        required = spec.parameters.get("required", [])
        if spec.kind != ToolKind.READ or len(required) != 1 or not required[0].endswith("_id"):
            continue
        keys = list(collections.get(required[0][: -len("_id")] + "s", {}))[:40] or ["nope"]
        for key in keys:
            state.call(spec.name, {required[0]: key})


@pytest.mark.parametrize("domain_name", ["retail", "airline", "clinic"])
def test_no_read_tool_changes_the_shared_database(domain_name):
    from writ.registry import get_domain

    domain = get_domain(domain_name)
    before = _all_records(domain)
    _exercise_reads(domain_name)
    assert _all_records(domain) == before


def test_a_read_tool_sees_shared_records_and_touches_nothing():
    from writ.registry import get_domain

    domain = get_domain("retail")
    state = domain.new_state()
    order_id = next(iter(domain.base_db.orders))
    assert not state.call("get_order_details", {"order_id": order_id}).error
    assert state.outcome().records == {}  # a read leaves nothing to compare
    view = state._collections["orders"]
    assert view.read_only is False  # back to copying once the read returns
    assert view[order_id] is not domain.base_db.orders[order_id]


def test_the_shared_database_check_catches_a_read_that_writes():
    """The guard above is not vacuous: a read that mutated a shared record would change the hash."""
    from writ.registry import get_domain

    domain = get_domain("retail")
    before = _all_records(domain)
    order_id = next(iter(domain.base_db.orders))
    state = domain.new_state()
    view = state._collections["orders"]
    view.read_only = True
    shared = view[order_id]
    original = shared.status
    shared.status = "mutated by a misbehaving read"
    try:
        assert _all_records(domain) != before
    finally:
        shared.status = original
        view.read_only = False
    assert _all_records(domain) == before
