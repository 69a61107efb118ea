from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from . import codes


class Level(models.TextChoices):
    PROVINCE = "province", _("省")
    CITY = "city", _("市")
    DISTRICT = "district", _("区县")
    STREET = "street", _("街道/乡镇")
    COMMUNITY = "community", _("社区/村")


class Place(models.Model):
    """A node of the hierarchy, keyed by its 12-digit code (the key is the code itself, not a UUID: it is national,
    stable, and makes subtree filters on any table a plain prefix match on the foreign key column)."""

    code = models.CharField(_("区划代码"), max_length=12, primary_key=True)
    name = models.CharField(_("名称"), max_length=100)
    level = models.CharField(_("层级"), max_length=10, choices=Level.choices, db_index=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("区划")
        verbose_name_plural = _("区划")
        constraints = [
            models.CheckConstraint(condition=models.Q(level__in=Level.values), name="place_level_valid"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def prefix(self) -> str:
        return self.code[: codes.PREFIX_LENGTH[self.level]]

    def covers(self, code: str) -> bool:
        return code.startswith(self.prefix)

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        try:
            codes.validate_code(self.code)
        except codes.CodeError as exc:
            raise ValidationError({"code": [str(exc)]}) from exc
        expected_level = codes.level_of(self.code)
        if self.level != expected_level:
            errors.setdefault("level", []).append(
                str(_("层级与区划代码不符：代码 %(code)s 应为 %(level)s"))
                % {"code": self.code, "level": Level(expected_level).label}
            )
        expected_parent = codes.parent_code_of(self.code)
        if expected_parent is None and self.parent_id:
            errors.setdefault("parent", []).append(str(_("省级区划没有上级")))
        if expected_parent is not None and self.parent_id != expected_parent:
            errors.setdefault("parent", []).append(
                str(_("上级区划代码应为 %(parent)s（代码需带上级前缀）")) % {"parent": expected_parent}
            )
        if errors:
            raise ValidationError(errors)


class Population(models.Model):
    """The official population of a community for a year (METHOD.md N(c,p) when given)."""

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="populations", verbose_name=_("区划"))
    year = models.PositiveSmallIntegerField(_("年份"))
    population = models.PositiveIntegerField(_("人口"))

    class Meta:
        ordering = ["place", "year"]
        verbose_name = _("人口")
        verbose_name_plural = _("人口")
        constraints = [
            models.UniqueConstraint(fields=["place", "year"], name="population_place_year_unique"),
            models.CheckConstraint(condition=models.Q(year__gte=1949, year__lte=2200), name="population_year_range"),
        ]

    def __str__(self) -> str:
        return f"{self.place_id} {self.year}: {self.population}"
