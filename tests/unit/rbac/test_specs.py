"""StackStorm role-file vocabulary, and the stream check that runs on every delivery."""

import pytest

from apps.core.exceptions import InvalidInput
from apps.rbac.authorization import Grants, can_see_event
from apps.rbac.specs import GrantSpec, normalize_permission, parse_grants, parse_resource_uid


@pytest.mark.parametrize(
    ("name", "ours"),
    [
        ("action_execute", "action_execute"),
        ("sensor_type_list", "sensor_list"),
        ("trigger_view", "trigger_type_view"),
        ("key_value_pair_view", "key_view"),
        ("webhook_send", "webhook_execute"),
        ("execution_stop", "execution_modify"),
        ("rule_enforcement_list", "rule_enforcement_list"),
    ],
)
def test_stackstorm_permission_names_map_to_ours(name, ours):
    assert normalize_permission(name) == ours


def test_an_unknown_permission_type_is_refused_by_name():
    with pytest.raises(InvalidInput, match="'pack_dance'"):
        normalize_permission("pack_dance")


@pytest.mark.parametrize(
    ("uid", "scope"),
    [
        ("pack:chatops", ("chatops", "")),
        ("action:chatops:post_message", ("", "chatops.post_message")),
        ("key_value_pair:system:api_token", ("", "api_token")),
        ("webhook:deploy", ("", "deploy")),
        (None, ("", "")),
    ],
)
def test_resource_uids_become_a_pack_or_a_resource_scope(uid, scope):
    assert parse_resource_uid(uid) == scope


def test_a_resource_uid_round_trips():
    [grant] = parse_grants(
        [{"resource_uid": "action:chatops:post", "permission_types": ["action_execute"]}]
    )

    assert grant == GrantSpec("action_execute", "", "chatops.post")
    assert grant.resource_uid == "action:chatops:post"


@pytest.mark.parametrize("uid", ["chatops", "pack:", 7])
def test_a_malformed_resource_uid_is_refused(uid):
    with pytest.raises(InvalidInput):
        parse_resource_uid(uid)


EXECUTION_EVENT = {"type": "execution.succeeded", "audience": [7], "action_ref": "ops.deploy"}


@pytest.mark.parametrize(
    ("grants", "sees"),
    [
        (Grants(user_id=7), True),  # the owner
        (Grants(user_id=8), False),  # someone else
        (Grants(user_id=8, is_admin=True), True),
        (Grants(user_id=8, packs={"execution_view": {"*"}}), True),
        (Grants(user_id=8, packs={"execution_view": {"ops"}}), True),
        (Grants(user_id=8, packs={"execution_view": {"dev"}}), False),
        (Grants(user_id=8, refs={"execution_all": {"ops.deploy"}}), True),
        (Grants(user_id=8, packs={"stream_view": {"*"}}), True),
        (Grants(user_id=8, packs={"action_view": {"*"}}), False),
    ],
)
def test_stream_events_reach_owners_and_holders_of_a_covering_grant(grants, sees):
    assert can_see_event(grants, EXECUTION_EVENT) is sees


def test_trigger_instance_events_need_a_grant_on_their_trigger_type():
    event = {"type": "trigger_instance.created", "trigger_type": "ops.alert", "audience": []}

    assert can_see_event(Grants(user_id=1, packs={"trigger_instance_view": {"ops"}}), event)
    assert not can_see_event(Grants(user_id=1, packs={"trigger_type_view": {"ops"}}), event)


def test_inquiry_events_reach_the_asked_and_holders_of_inquiry_view():
    event = {"type": "inquiry.created", "action_ref": "core.ask", "audience": [7, 9]}

    assert can_see_event(Grants(user_id=9), event)  # asked (or the workflow's owner)
    assert can_see_event(Grants(user_id=1, packs={"inquiry_view": {"*"}}), event)
    assert not can_see_event(Grants(user_id=1, packs={"execution_view": {"dev"}}), event)
    assert not can_see_event(Grants(user_id=1), event)
