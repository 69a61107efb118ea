"""议 deliberate: a resident's issue → a topic in a class → discussion and proposals → a vote or consensus → a published
decision → milestones and progress → closure with satisfaction (民事民议、民决、民治)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gongzhi.activities.models import Activity
from gongzhi.core.models import BaseModel
from gongzhi.learning.models import Course
from gongzhi.organizations.models import Organization
from gongzhi.people.models import Resident
from gongzhi.places.models import Place


class IssueStatus(models.TextChoices):
    OPEN = "open", _("已提出")
    DISCUSSING = "discussing", _("议事中")
    DECIDED = "decided", _("已决策")
    IMPLEMENTING = "implementing", _("落实中")
    CLOSED = "closed", _("已办结")
    REJECTED = "rejected", _("不予立项")


# The legal moves of an issue; anything else is refused.
ISSUE_TRANSITIONS: dict[str, tuple[str, ...]] = {
    IssueStatus.OPEN: (IssueStatus.DISCUSSING, IssueStatus.REJECTED),
    IssueStatus.DISCUSSING: (IssueStatus.DECIDED, IssueStatus.REJECTED),
    IssueStatus.DECIDED: (IssueStatus.IMPLEMENTING,),
    IssueStatus.IMPLEMENTING: (IssueStatus.CLOSED,),
    IssueStatus.CLOSED: (),
    IssueStatus.REJECTED: (),
}


class IssueCategory(models.TextChoices):
    ESTATE = "estate", _("小区改造与物业")
    ENVIRONMENT = "environment", _("环境卫生")
    SAFETY = "safety", _("平安与交通")
    ELDERLY = "elderly", _("养老助老")
    CHILDREN = "children", _("儿童与家庭")
    SERVICES = "services", _("便民服务")
    OTHER = "other", _("其他")


class Issue(BaseModel):
    ref = models.CharField(_("编号"), max_length=64, unique=True)
    community = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="issues", verbose_name=_("社区"))
    title = models.CharField(_("议题"), max_length=200)
    description = models.TextField(_("说明"), blank=True)
    category = models.CharField(_("类别"), max_length=20, choices=IssueCategory.choices, default=IssueCategory.OTHER)
    raised_by = models.ForeignKey(
        Resident,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="raised_issues",
        verbose_name=_("提出人"),
    )
    raised_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    raised_on = models.DateField(_("提出日期"))
    status = models.CharField(_("状态"), max_length=14, choices=IssueStatus.choices, default=IssueStatus.OPEN)
    discussed_on = models.DateField(_("进入议事日期"), null=True, blank=True)
    decided_on = models.DateField(_("决策日期"), null=True, blank=True)
    implemented_on = models.DateField(_("开始落实日期"), null=True, blank=True)
    closed_on = models.DateField(_("办结日期"), null=True, blank=True)
    rejected_reason = models.CharField(_("不予立项理由"), max_length=300, blank=True)

    class Meta:
        ordering = ["-raised_on", "-created_at"]
        verbose_name = _("议题")
        verbose_name_plural = _("议题")
        indexes = [
            models.Index(fields=["community", "status"], name="issue_community_status"),
            models.Index(fields=["community", "raised_on"], name="issue_community_raised"),
            models.Index(fields=["status", "closed_on"], name="issue_status_closed"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=IssueStatus.values), name="issue_status_valid"),
        ]

    def __str__(self) -> str:
        return self.title


class IssueStatusChange(BaseModel):
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=14, choices=IssueStatus.choices, blank=True)
    to_status = models.CharField(max_length=14, choices=IssueStatus.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(_("理由"), max_length=300, blank=True)

    class Meta:
        ordering = ["issue", "created_at"]


class IssuePhoto(BaseModel):
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(_("照片"), upload_to="issues/%Y/%m/")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["issue", "created_at"]


class IssueTopic(BaseModel):
    """议题进课堂: the issue brought into a learning community or a course as a topic."""

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="topics")
    organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="issue_topics",
        verbose_name=_("学习共同体"),
    )
    course = models.ForeignKey(
        Course, null=True, blank=True, on_delete=models.CASCADE, related_name="issue_topics", verbose_name=_("课程")
    )
    note = models.CharField(_("说明"), max_length=300, blank=True)

    class Meta:
        ordering = ["issue", "created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(organization__isnull=False) | models.Q(course__isnull=False), name="topic_has_target"
            ),
        ]


class IssueSession(BaseModel):
    """An activity held for the issue (an expert session, a deliberation meeting): its attendance is the issue's
    deliberation attendance."""

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="sessions")
    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="issue_links")
    purpose = models.CharField(_("用途"), max_length=100, blank=True)

    class Meta:
        ordering = ["issue", "created_at"]
        constraints = [models.UniqueConstraint(fields=["issue", "activity"], name="issue_session_unique")]


class IssueActionKind(models.TextChoices):
    RAISE = "raise", _("提出")
    COMMENT = "comment", _("评论")
    PROPOSE = "propose", _("提出方案")
    VOTE = "vote", _("投票")


class IssueAction(BaseModel):
    """Who took part in an issue and how (METHOD.md issue_actions.csv): written by the services at every raise,
    comment, proposal and vote, and by imports. Never what someone voted for."""

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="actions")
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="issue_actions")
    action = models.CharField(max_length=10, choices=IssueActionKind.choices)
    at = models.DateTimeField()

    class Meta:
        ordering = ["issue", "at"]
        indexes = [
            models.Index(fields=["resident", "at"], name="issue_action_resident"),
            models.Index(fields=["issue", "action"], name="issue_action_kind"),
            models.Index(fields=["at"], name="issue_action_at"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["issue", "resident", "action", "at"], name="issue_action_unique"),
        ]


class Comment(BaseModel):
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(Resident, null=True, blank=True, on_delete=models.SET_NULL, related_name="comments")
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(_("内容"))
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_reason = models.CharField(_("隐藏理由"), max_length=300, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["issue", "created_at"]
        indexes = [models.Index(fields=["issue", "created_at"], name="comment_issue_time")]


class CommentReport(BaseModel):
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(_("举报理由"), max_length=300)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["comment", "reporter"], name="comment_report_once")]


class Proposal(BaseModel):
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="proposals")
    title = models.CharField(_("方案"), max_length=200)
    description = models.TextField(_("说明"), blank=True)
    proposed_by = models.ForeignKey(
        Resident, null=True, blank=True, on_delete=models.SET_NULL, related_name="proposals"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["issue", "created_at"]


class Eligibility(models.TextChoices):
    COMMUNITY = "community", _("本社区居民")
    COUNCIL = "council", _("议事会成员")


class Ballot(BaseModel):
    """A vote on an issue's proposals. Online votes and paper tallies entered by staff count alike."""

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="ballots")
    title = models.CharField(_("表决事项"), max_length=200)
    eligibility = models.CharField(_("表决资格"), max_length=10, choices=Eligibility.choices)
    council = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ballots",
        verbose_name=_("议事会"),
    )
    opens_at = models.DateTimeField(_("开始时间"))
    closes_at = models.DateTimeField(_("截止时间"))
    quorum = models.PositiveIntegerField(_("最低参与人数"), default=0)
    secret = models.BooleanField(_("无记名投票"), default=False)
    proposals = models.ManyToManyField(Proposal, related_name="ballots", verbose_name=_("候选方案"))

    class Meta:
        ordering = ["issue", "opens_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(closes_at__gt=models.F("opens_at")), name="ballot_window"),
            models.CheckConstraint(
                condition=~models.Q(eligibility="council") | models.Q(council__isnull=False),
                name="ballot_council_named",
            ),
        ]


class BallotParticipation(BaseModel):
    """That someone voted (online or on paper) — one per person and ballot, enforced by the database."""

    ballot = models.ForeignKey(Ballot, on_delete=models.CASCADE, related_name="participations")
    voter = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="ballot_participations")
    source = models.CharField(max_length=10, choices=[("online", _("线上")), ("paper", _("纸质"))])

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ballot", "voter"], name="ballot_one_vote_per_person")]


class Vote(BaseModel):
    """What was chosen. In a secret ballot ``voter`` is empty: the participation row says who voted, this says what,
    and nothing links them; the receipt lets a voter check their vote is counted."""

    ballot = models.ForeignKey(Ballot, on_delete=models.CASCADE, related_name="votes")
    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="votes")
    voter = models.ForeignKey(Resident, null=True, blank=True, on_delete=models.SET_NULL, related_name="votes")
    receipt = models.CharField(max_length=32, unique=True)

    class Meta:
        indexes = [models.Index(fields=["ballot", "proposal"], name="vote_ballot_proposal")]


class PaperTally(BaseModel):
    """Paper votes counted at a meeting and entered by staff, with the meeting (its attendance) as evidence."""

    ballot = models.ForeignKey(Ballot, on_delete=models.CASCADE, related_name="paper_tallies")
    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="paper_tallies")
    count = models.PositiveIntegerField(_("票数"))
    meeting = models.ForeignKey(
        Activity,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="paper_tallies",
        verbose_name=_("会议"),
    )
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ballot", "proposal", "meeting"], name="paper_tally_once"),
        ]


class DecisionMethod(models.TextChoices):
    VOTE = "vote", _("投票表决")
    CONSENSUS = "consensus", _("会议协商一致")


class Decision(BaseModel):
    issue = models.OneToOneField(Issue, on_delete=models.CASCADE, related_name="decision")
    method = models.CharField(_("决策方式"), max_length=10, choices=DecisionMethod.choices)
    text = models.TextField(_("决定内容"))
    result = models.TextField(_("表决结果"), blank=True)
    body = models.CharField(_("决策主体"), max_length=100)
    decided_on = models.DateField(_("决策日期"))
    ballot = models.ForeignKey(Ballot, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    adopted = models.ForeignKey(Proposal, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    meeting = models.ForeignKey(Activity, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    published_at = models.DateTimeField(null=True, blank=True)


class Milestone(BaseModel):
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="milestones")
    title = models.CharField(_("节点"), max_length=200)
    responsible = models.CharField(_("责任方"), max_length=100)
    due_on = models.DateField(_("计划完成日期"))
    done_on = models.DateField(_("实际完成日期"), null=True, blank=True)

    class Meta:
        ordering = ["issue", "due_on", "created_at"]


class ProgressUpdate(BaseModel):
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="progress_updates")
    milestone = models.ForeignKey(
        Milestone, null=True, blank=True, on_delete=models.SET_NULL, related_name="progress_updates"
    )
    body = models.TextField(_("进展"))
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["issue", "-created_at"]


class SatisfactionRating(BaseModel):
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="ratings")
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="issue_ratings")
    score = models.PositiveSmallIntegerField(_("满意度"))
    comment = models.CharField(_("意见"), max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issue", "resident"], name="rating_once"),
            models.CheckConstraint(condition=models.Q(score__gte=1, score__lte=5), name="rating_range"),
        ]
