"""Permissions of this part (django-rules), loaded by gongzhi/learning/rules.py."""

from __future__ import annotations
