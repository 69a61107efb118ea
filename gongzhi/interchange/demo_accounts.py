"""The demo logins: staff on the demo places and two residents with accounts, created idempotently through the people
services (running it again changes nothing). All share one password, printed by ``seed_demo``."""

from __future__ import annotations

from dataclasses import dataclass

from gongzhi.people import services
from gongzhi.people.models import Consent, Resident, Role, User
from gongzhi.places.models import Place

from .demo import CAIHE, DEMO_RESIDENT_PHONES, DISTRICT, JIUBAO, JIUBAO_COMMUNITY

DEMO_PASSWORD = "gongzhi2026"

# phone, display name, role, place code
STAFF_LOGINS: tuple[tuple[str, str, str, str], ...] = (
    ("13900000001", "上城区管理员", Role.ADMIN, DISTRICT),
    ("13900000002", "九堡街道社区教育中心", Role.STREET_STAFF, JIUBAO),
    ("13900000003", "采荷街道社区教育中心", Role.STREET_STAFF, CAIHE),
    ("13900000004", "九堡社区工作者", Role.COMMUNITY_WORKER, JIUBAO_COMMUNITY),
    ("13900000005", "九堡街道讲师", Role.TEACHER, JIUBAO),
)
ROLE_ENGLISH = {
    Role.ADMIN: "district admin",
    Role.STREET_STAFF: "street education-centre staff",
    Role.COMMUNITY_WORKER: "community worker",
    Role.TEACHER: "teacher",
    Role.RESOURCE_PARTNER: "resource partner",
    "resident": "resident",
}


@dataclass(frozen=True)
class DemoLogin:
    phone: str
    password: str
    role: str  # a Role value, or "resident"
    role_label: str  # Chinese
    place_code: str
    place_name: str

    @property
    def role_english(self) -> str:
        return ROLE_ENGLISH.get(self.role, self.role)


def demo_accounts_ensure(*, password: str = DEMO_PASSWORD) -> list[DemoLogin]:
    """Create the demo logins that do not exist yet; the list of all of them. Needs the demo places imported."""
    codes = [code for *_, code in STAFF_LOGINS]
    places = {p.code: p for p in Place.objects.filter(code__in=[*codes, JIUBAO_COMMUNITY])}
    missing = sorted(set(codes) - set(places))
    if missing:
        raise LookupError(f"demo places missing: {', '.join(missing)} (import the demo files first)")
    logins: list[DemoLogin] = []
    for phone, display_name, role, code in STAFF_LOGINS:
        user = services.user_for_grant(phone=phone, display_name=display_name)
        services.role_grant(actor=None, user=user, place=places[code], role=role)
        if not user.has_usable_password():
            services.user_password_set(user=user, password=password)
        logins.append(DemoLogin(phone, password, role, str(Role(role).label), code, places[code].name))

    version = Consent.CURRENT_VERSION
    for phone in DEMO_RESIDENT_PHONES:
        resident = Resident.objects.filter(phone=phone).select_related("community").order_by("ref").first()
        if resident is None:
            # The demo files normally carry these phones; with a tiny demo, take a resident of 九堡社区 with a phone.
            candidate = (
                Resident.objects.filter(community_id=JIUBAO_COMMUNITY, user__isnull=True, left_on__isnull=True)
                .exclude(phone="")
                .exclude(phone__in=DEMO_RESIDENT_PHONES)
                .order_by("ref")
                .first()
            )
            if candidate is None:
                continue
            resident = services.resident_update(actor=None, resident=candidate, phone=phone)
        if not User.objects.filter(phone=phone).exists():
            services.account_claim(phone=phone, password=password)
        resident = Resident.objects.select_related("community").get(pk=resident.pk)
        services.consent_give(resident=resident, purpose=Consent.Purpose.PLATFORM, version=version)
        logins.append(DemoLogin(phone, password, "resident", "居民", resident.community_id, resident.community.name))
    return logins
