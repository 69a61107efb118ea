"""Recompute every points balance from the entries and report the differences found."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from gongzhi.learning.services import points_balance_rebuild


class Command(BaseCommand):
    help = "Recompute points balances from the ledger entries and report differences."

    def handle(self, *args: Any, **options: Any) -> None:
        differences = points_balance_rebuild()
        for resident_id, stored, computed in differences:
            self.stdout.write(f"{resident_id}: stored {stored} -> computed {computed}")
        self.stdout.write(self.style.SUCCESS(f"{len(differences)} balance(s) corrected"))
