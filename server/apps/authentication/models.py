"""Accounts: the platform's users, who log in by e-mail."""

from __future__ import annotations

from typing import ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.db import models
from django.utils import timezone


class AccountManager(BaseUserManager):
    """Creation goes through ``account_create`` in services; these two exist for Django's own commands."""

    def create_user(self, email: str, password: str | None = None, **extra):
        from server.apps.authentication.services import account_create

        return account_create(email=email, password=password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        from server.apps.authentication.services import account_create

        # `manage.py createsuperuser` comes here: whoever runs it holds the machine, so the address counts as verified.
        extra.update(is_staff=True, is_superuser=True, email_verified=True)
        return account_create(email=email, password=password, **extra)


class Account(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(unique=True)
    username = models.CharField(max_length=150, unique=True, validators=[UnicodeUsernameValidator()])
    slug = models.SlugField(max_length=160, unique=True)
    name = models.CharField(max_length=150, blank=True)
    tagline = models.CharField(max_length=200, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Part of every JWT; logout and a password change bump it, so every token issued before stops working.
    token_generation = models.PositiveIntegerField(default=0, editable=False)

    objects = AccountManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []  # username is derived from the e-mail when not given

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.name or self.username

    def get_short_name(self) -> str:
        return self.username
