"""`manage.py run_rules_engine`: the rules engine (one or more per deployment)."""

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Match committed trigger instances against their rules until stopped (SIGTERM/Ctrl-C)."

    def handle(self, *args, **options):
        # The engine loop is worker-side code; this command is only its entry point, as
        # `celery -A attune` is for the workers.
        from workers.rules import RulesEngine

        RulesEngine().run()
