"""Who may do what with ballots, decisions and their follow-up (``deliberation.<verb>_<model>``).

- Staff roles covering the issue's community open ballots, enter paper votes, audit ballots, publish decisions and
  manage milestones, progress and closure.
- Residents of the community (and, for a council ballot, the council's current members) see its ballots and vote —
  whether a particular person may vote is decided by ``services.decisions.vote_cast`` (eligibility, window, once).
- Residents of the community rate a closed issue.
"""

from __future__ import annotations

from typing import Any

import rules

from .issues import is_logged_in, lives_there, manages


def _member_org_ids(user: Any) -> frozenset[Any]:
    """The organisations the user is currently a member of (read once per request, cached on the user)."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_gongzhi_member_orgs", None)
    if cached is None:
        from gongzhi.organizations.models import Membership

        cached = frozenset(
            Membership.objects.filter(resident__user_id=user.pk, left_on__isnull=True).values_list(
                "organization_id", flat=True
            )
        )
        user._gongzhi_member_orgs = cached
    return cached


@rules.predicate
def sits_on_council(user: Any, ballot: Any) -> bool:
    council_id = getattr(ballot, "council_id", None)
    return council_id is not None and council_id in _member_org_ids(user)


rules.add_perm("deliberation.add_ballot", manages)  # object: the issue
rules.add_perm("deliberation.view_ballot", manages | lives_there | sits_on_council)  # object: the ballot
rules.add_perm("deliberation.vote_ballot", is_logged_in & (lives_there | sits_on_council))  # object: the ballot
rules.add_perm("deliberation.enter_paper_votes", manages)  # object: the ballot
rules.add_perm("deliberation.audit_ballot", manages)  # object: the ballot
rules.add_perm("deliberation.publish_decision", manages)  # object: the issue
rules.add_perm("deliberation.manage_milestone", manages)  # object: the issue (milestones, progress, closure)
rules.add_perm("deliberation.rate_issue", lives_there)  # object: the issue
