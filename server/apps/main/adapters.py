"""django-allauth adapters: accounts made through signup or a social login get the same username and slug rules
as ``account_create``."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter

from server.apps.authentication.lockout import login_failure_record, login_lockout_check, login_success_record

# Private helpers of the accounts service, reused so there is one rule for usernames and slugs.
from server.apps.authentication.services import _unique_slug, _unique_username


class AccountAdapter(DefaultAccountAdapter):
    def get_login_redirect_url(self, request) -> str:
        # A visitor who followed an invitation link goes back to it after signing up or in, even when a detour
        # (another address to verify first) lost the link's ?next=.
        from server.apps.org.views import pending_invitation_url

        return pending_invitation_url(request) or super().get_login_redirect_url(request)

    def authenticate(self, request, **credentials):
        # The login lockout the API's login endpoints share: while locked, RateLimitedError, which the limits
        # middleware answers with the 429 page (core/limits.py).
        email = str(credentials.get("email") or credentials.get("username") or "")
        login_lockout_check(email=email)
        user = super().authenticate(request, **credentials)
        if user is None:
            login_failure_record(email=email)
        else:
            login_success_record(email=email)
        return user

    def populate_username(self, request, user) -> None:
        # allauth calls this for every new account, whether from the signup form or a social login.
        if not user.username:
            user.username = _unique_username(user.email.split("@")[0])
        if not user.slug:
            user.slug = _unique_slug(user.username)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        if not user.name:
            full_name = data.get("name") or " ".join(filter(None, [data.get("first_name"), data.get("last_name")]))
            user.name = full_name[:150]
        return user
