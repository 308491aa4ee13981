"""Receive webhooks: authenticate, rate-limit, and turn the request into a trigger instance."""

import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from functools import partial

from django.conf import settings

from apps.core.cache import ContentCache
from apps.core.exceptions import AttuneError, InvalidInput, NotFound, PayloadTooLarge
from apps.core.services import redis_client
from apps.rbac.services import may_send_webhook
from apps.rules import engine
from apps.rules.models import Rule
from apps.triggers.choices import TriggerSource
from apps.triggers.models import TriggerInstance, trigger_key
from apps.triggers.services import dispatch_trigger
from apps.webhooks.models import Webhook

logger = logging.getLogger(__name__)

WEBHOOK_TRIGGER = "core.st2.webhook"
GENERIC_WEBHOOK = "st2"
HOP_HEADER = "X-Attune-Hop"
SIGNATURE_HEADER = "X-Hub-Signature-256"
# Never copied into the payload: they are credentials.
HIDDEN_HEADERS = {"authorization", "x-api-key", "cookie", "proxy-authorization"}


class Unauthenticated(AttuneError):
    code = "not_authenticated"
    status_code = 401


class RateLimited(AttuneError):
    code = "rate_limited"
    status_code = 429

    def __init__(self, detail: str, retry_after: int):
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after)}


class HopLimitExceeded(AttuneError):
    code = "hop_limit"
    status_code = 508


@dataclass(frozen=True)
class WebhookConfig:
    name: str
    hmac_secret: str
    rate_limit_per_minute: int
    owner_ids: frozenset = frozenset()  # owners of the rules listening on it
    is_public: bool = False  # a rule nobody owns listens on it


@dataclass(frozen=True)
class WebhookRequest:
    """What the view hands over: the raw request, reduced to plain data."""

    body: bytes
    content_type: str
    headers: dict
    form: dict
    user: object = None  # who sent it with an API key or token (None: unauthenticated)


_webhooks = ContentCache()


def load_webhook(name: str) -> WebhookConfig | None:
    """The webhook's settings, or None when no rule listens on it."""
    owners = []
    if name != GENERIC_WEBHOOK:
        key = trigger_key(WEBHOOK_TRIGGER, {"url": name})
        owners = list(Rule.objects.filter(trigger_key=key).values_list("owner_id", flat=True))
        if not owners:
            return None
    row = Webhook.objects.filter(name=name).first()
    return WebhookConfig(
        name=name,
        hmac_secret=row.hmac_secret if row else "",
        rate_limit_per_minute=(row and row.rate_limit_per_minute)
        or settings.ATTUNE_WEBHOOK_RATE_LIMIT_PER_MINUTE,
        owner_ids=frozenset(owner for owner in owners if owner is not None),
        is_public=None in owners,
    )


def receive_webhook(name: str, request: WebhookRequest) -> TriggerInstance:
    """Check the request and dispatch it as a trigger instance (committed when this returns).

    Its caches (the webhook's, the trigger type's, the rules') read the versions once when the
    caller runs it inside `one_read_of_versions()`, as the API view does.
    """
    config = _webhooks.get(name, load_webhook)
    if config is None:
        raise NotFound(f"no webhook named {name!r}: no rule listens on it")
    authenticate(config, request)
    if request.user is not None and not may_send_webhook(
        request.user, name, config.owner_ids, config.is_public
    ):
        # As if it did not exist: a caller who may not send to it learns nothing about it.
        raise NotFound(f"no webhook named {name!r}: no rule listens on it")
    check_size(request.body)
    check_rate(config)
    hop = check_hops(request.headers)
    body = parse_body(request)
    if name == GENERIC_WEBHOOK:
        return dispatch_generic(body, hop)
    payload = {"headers": visible_headers(request.headers), "body": body}
    return dispatch_webhook(
        WEBHOOK_TRIGGER, payload, parameters={"url": name}, source_detail=name, hop=hop
    )


def dispatch_webhook(
    trigger_ref: str, payload, *, parameters: dict | None = None, source_detail: str, hop: int
) -> TriggerInstance:
    """Record the webhook's trigger instance and, when its trigger has few rules, enforce them
    in the same transaction: the actions are requested by the time the 202 leaves, without the
    hop through the rules engine process (which takes the instances of busier triggers)."""
    rules = engine.rules_for_inline(trigger_key(trigger_ref, parameters))
    return dispatch_trigger(
        trigger_ref,
        payload,
        source=TriggerSource.WEBHOOK,
        parameters=parameters,
        source_detail=source_detail,
        note=f"hop {hop}" if hop else "",
        enforce_now=None if rules is None else partial(engine.enforce_inline, rules=rules),
    )


def authenticate(config: WebhookConfig, request: WebhookRequest) -> None:
    if request.user is not None:
        return
    signature = request.headers.get(SIGNATURE_HEADER.lower(), "")
    if (
        config.hmac_secret
        and signature
        and signature_matches(config.hmac_secret, request.body, signature)
    ):
        return
    raise Unauthenticated(
        "send an API key (X-API-Key) or sign the body with the webhook's secret "
        f"({SIGNATURE_HEADER})"
    )


def signature_matches(secret: str, body: bytes, signature: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.strip())


def check_size(body: bytes) -> None:
    limit = settings.ATTUNE_WEBHOOK_MAX_BYTES
    if len(body) > limit:
        raise PayloadTooLarge(f"body is {len(body)} bytes; webhooks accept at most {limit}")


def check_rate(config: WebhookConfig) -> None:
    """Fixed one-minute windows counted in Redis, shared by every web process."""
    now = time.time()
    window = int(now // 60)
    key = f"{settings.ATTUNE_REDIS_PREFIX}attune:webhook-rate:{config.name}:{window}"
    pipeline = redis_client().pipeline()
    pipeline.incr(key)
    pipeline.expire(key, 120)
    count, _ = pipeline.execute()
    if count > config.rate_limit_per_minute:
        retry_after = max(1, int(60 - now % 60) + 1)
        raise RateLimited(
            f"webhook {config.name!r} accepts {config.rate_limit_per_minute} calls a minute",
            retry_after,
        )


def check_hops(headers: dict) -> int:
    """Return how many webhook hops led here; refuse chains longer than the limit (loops)."""
    raw = headers.get(HOP_HEADER.lower(), "0")
    try:
        hop = int(raw)
    except ValueError as exc:
        raise InvalidInput(f"{HOP_HEADER} must be an integer, got {raw!r}") from exc
    limit = settings.ATTUNE_WEBHOOK_MAX_HOPS
    if hop > limit:
        raise HopLimitExceeded(
            f"webhook chain is {hop} hops long, over the limit of {limit} (a loop?)"
        )
    return hop


def parse_body(request: WebhookRequest):
    content_type = request.content_type.split(";")[0].strip().lower()
    if content_type == "application/json" or content_type.endswith("+json"):
        if not request.body.strip():
            return {}
        try:
            return json.loads(request.body)
        except ValueError as exc:
            raise InvalidInput(f"body is not valid JSON: {exc}") from exc
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return request.form
    return request.body.decode("utf-8", errors="replace")


def visible_headers(headers: dict) -> dict:
    return {k: v for k, v in headers.items() if k.lower() not in HIDDEN_HEADERS}


def dispatch_generic(body, hop: int) -> TriggerInstance:
    """`POST /api/v1/webhooks/st2` with {"trigger": ref, "payload": {...}}: any trigger type."""
    if not isinstance(body, dict) or not isinstance(body.get("trigger"), str):
        raise InvalidInput('send {"trigger": "<trigger type ref>", "payload": {...}}')
    return dispatch_webhook(
        body["trigger"], body.get("payload", {}), source_detail=GENERIC_WEBHOOK, hop=hop
    )
