"""Arbitrary params to every crm.activity.* method: a result or a documented 4xx, never a 500."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.core import METHODS, CallContext, RestError
from sandbox.dispatch import invoke
from sandbox.testing import RunningSandbox

CRM_METHODS = sorted(name for name in METHODS if name.startswith("crm.activity."))
PARAM_NAMES = [
    "id",
    "fields",
    "filter",
    "order",
    "select",
    "start",
    "ownerTypeId",
    "ownerId",
    "deadline",
    "value",
    "colorId",
    "responsibleId",
    "pingOffsets",
    "parentActivityId",
    "activityId",
    "entityTypeId",
    "entityId",
    "sourceEntityTypeId",
    "sourceEntityId",
    "targetEntityTypeId",
    "targetEntityId",
    "layout",
    "code",
    "title",
    "type",
    "TYPE_ID",
]
FIELD_NAMES = [
    "OWNER_TYPE_ID",
    "OWNER_ID",
    "TYPE_ID",
    "SUBJECT",
    "RESPONSIBLE_ID",
    "COMMUNICATIONS",
    "START_TIME",
]
SCALARS = (
    st.none() | st.booleans() | st.integers(-3, 5) | st.sampled_from(["", "1", "2", "Y", "x", "2025-01-01"])
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from([*FIELD_NAMES, "type", "blocks", ">ID", "%SUBJECT"]), inner, max_size=4
        )
    ),
    max_leaves=10,
)
PARAMS = st.dictionaries(st.sampled_from(PARAM_NAMES), JSON, max_size=6)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from(CRM_METHODS), params=PARAMS, user_id=st.sampled_from([1, 3]))
def test_no_params_make_a_crm_method_crash(
    sandbox: RunningSandbox, method: str, params: dict[str, Any], user_id: int
) -> None:
    state, portal = sandbox.state, sandbox.portal
    with state.lock:
        ctx = CallContext(sandbox=state, portal=portal, user=portal.users[user_id], app=sandbox.app)
        try:
            invoke(ctx, method, params)
        except RestError as error:
            assert error.status < 500, (method, params, error.body(), state.errors[-1:])
