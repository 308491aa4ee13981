"""How each resource type is scoped: its pack, its ref, its owners, and whether it is public.

Public content (in a system pack, or in a pack registered without an owner, i.e. by the
installation itself) is readable and executable by everyone. Paths use Django's `__` lookups;
the same paths are walked on loaded objects, so one table serves querysets and single checks.
"""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q


@dataclass(frozen=True)
class Resource:
    ref_path: str
    pack_path: str | None = None  # None: the pack is the first part of the ref (`pack.name`)
    owner_paths: tuple = ()
    pack_public_path: str | None = None  # the pack whose publicity the resource shares

    def ref_of(self, obj) -> str:
        return str(walk(obj, self.ref_path) or "")

    def pack_of(self, obj) -> str:
        if self.pack_path is None:
            return self.ref_of(obj).split(".", 1)[0]
        return walk(obj, self.pack_path) or ""

    def is_owner(self, obj, user_id) -> bool:
        return any(walk(obj, path) == user_id for path in self.owner_paths)

    def is_public(self, obj) -> bool:
        if self.pack_public_path is None:
            return False
        pack = obj if self.pack_public_path == "" else walk(obj, self.pack_public_path)
        return pack is None or pack.is_system or pack.owner_id is None

    def owner_q(self, user_id) -> Q:
        q = Q(pk__in=[])
        for path in self.owner_paths:
            q |= Q(**{path: user_id})
        return q

    def public_q(self) -> Q:
        if self.pack_public_path is None:
            return Q(pk__in=[])
        prefix = f"{self.pack_public_path}__" if self.pack_public_path else ""
        q = Q(**{f"{prefix}is_system": True}) | Q(**{f"{prefix}owner_id": None})
        return q if not prefix else q | Q(**{f"{self.pack_public_path}__isnull": True})

    def scope_q(self, packs, refs) -> Q:
        q = Q(**{f"{self.ref_path}__in": sorted(refs)}) if refs else Q(pk__in=[])
        for pack in sorted(packs):
            if self.pack_path is None:
                q |= Q(**{f"{self.ref_path}__startswith": f"{pack}."})
            else:
                q |= Q(**{self.pack_path: pack})
        return q


def walk(obj, path: str):
    """Follow a `a__b__c` path through loaded objects (None stops the walk)."""
    for part in path.split("__"):
        if obj is None:
            return None
        obj = getattr(obj, part)
    return obj


class RuleResource(Resource):
    """A rule is public when nobody owns it and its pack is public."""

    def is_public(self, obj) -> bool:
        return obj.owner_id is None and super().is_public(obj)

    def public_q(self) -> Q:
        return Q(owner_id=None) & super().public_q()


class TriggerInstanceResource(Resource):
    """A trigger instance belongs to the owner of its trigger type's pack and to the owners of
    the rules that evaluated it. Instances of a shared pack's trigger types are public; those
    of system trigger types (webhooks, timers, action triggers) are not: they carry what their
    rules' owners set up (a webhook's payload, say)."""

    def is_public(self, obj) -> bool:
        pack = walk(obj, "trigger_type__pack")
        return pack is not None and pack.owner_id is None and not pack.is_system

    def public_q(self) -> Q:
        return Q(
            trigger_type__pack__isnull=False,
            trigger_type__pack__owner_id=None,
            trigger_type__pack__is_system=False,
        )

    def is_owner(self, obj, user_id) -> bool:
        if super().is_owner(obj, user_id):
            return True
        return obj.enforcements.filter(rule__owner_id=user_id).exists()

    def owner_q(self, user_id) -> Q:
        from apps.rules.models import RuleEnforcement

        enforced = RuleEnforcement.objects.filter(
            trigger_instance=OuterRef("pk"), rule__owner_id=user_id
        )
        return super().owner_q(user_id) | Q(Exists(enforced))


RESOURCES = {
    "pack": Resource("ref", "ref", ("owner_id",), ""),
    "action": Resource("ref", "pack__ref", ("pack__owner_id",), "pack"),
    "sensor": Resource("ref", "pack__ref", ("pack__owner_id",), "pack"),
    "policy": Resource("ref", "pack__ref", ("pack__owner_id",), "pack"),
    "trigger_type": Resource("ref", "pack__ref", ("pack__owner_id",), "pack"),
    "rule": RuleResource("ref", "pack__ref", ("owner_id", "pack__owner_id"), "pack"),
    "execution": Resource("action_ref", None, ("created_by_id",)),
    "rule_enforcement": Resource("rule_ref", None, ("rule__owner_id",)),
    "trigger_instance": TriggerInstanceResource(
        "trigger_ref", None, ("trigger_type__pack__owner_id",), "trigger_type__pack"
    ),
}
