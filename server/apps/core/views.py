"""Shared bases for the dashboard's pages: what ``core/api/viewsets.py`` is to the API.

A page about an object looks it up in ``Model.objects.restrict(user, "view")``, so an object outside the user's scope
is a 404 exactly as in the API. A form on the page posts to its own action URL (:class:`ScopedFormAction`), which
checks the permission the model declares for the action: a visible object the user's role may not change is a 403,
and the page hides the controls the role may not use (``can``). Nothing here decides who may do what; it reads the
models' scope declarations through ``server.apps.core.scoping``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.generic import TemplateView

from server.apps.core.errors import ApplicationError
from server.apps.core.scoping import (
    STAFF_ONLY,
    ability_named,
    permission_for,
    token_scope,
    user_can,
    user_has_org_permission,
)
from server.apps.core.slugs import SlugError

PAGE_SIZE = 25


def paginate(request, queryset, *, per_page: int = PAGE_SIZE, param: str = "page") -> Page:
    """One page of ``queryset`` chosen by ``?<param>=`` (a page out of range shows the last one). Two queries: the
    count and the rows. Pages with several tables give each its own ``param``."""
    return Paginator(queryset, per_page).get_page(request.GET.get(param))


def org_access(user, org) -> tuple[str | None, frozenset[str]]:
    """``user``'s role in ``org`` and the permission keys it holds there, read in one query for a page's controls.

    It reads the same active membership ``scoping.member_org_ids`` filters on (staff hold every key, and their role
    is staff unless they are a member); the writes themselves are still checked through ``restrict()``.
    """
    from server.apps.org.models import OrgMembership
    from server.apps.org.roles import PERMISSION_KEYS, STAFF

    if org is None or user is None or not user.is_authenticated or not user.is_active:
        return None, frozenset()
    membership = (
        OrgMembership.objects.filter(org_id=org.pk, user_id=user.pk, is_active=True)
        .values_list("role", "permissions")
        .order_by("pk")  # the model's ordering would join the org and the account for nothing
        .first()
    )
    role, permissions = membership or (None, {})
    if user.is_staff:
        role, keys = role or STAFF, frozenset(PERMISSION_KEYS)
    else:
        keys = frozenset(key for key, granted in (permissions or {}).items() if granted)
    scope = token_scope(user)
    if scope is not None:
        keys = frozenset(key for key in keys if scope.allows_org_permission(org, key))
    return role, keys


class Abilities:
    """What the user may do in one organisation. Python asks ``can(Device, "change")``; templates read the declared
    abilities by name, ``can.change_device`` (:class:`~server.apps.core.scoping.Ability`, one constant per name in
    the model's app)."""

    do_not_call_in_templates = True  # templates read ``can.<ability>``; calling needs arguments

    def __init__(self, user, role: str | None, keys: frozenset[str]) -> None:
        self._user, self._keys = user, keys
        self.role = role

    @property
    def keys(self) -> frozenset[str]:
        return self._keys

    def __call__(self, model: type[models.Model], action: str) -> bool:
        permission = permission_for(model, action)
        if permission == STAFF_ONLY:
            return bool(self._user.is_staff)
        if permission is None:  # membership is enough, and the page's object is visible: the user is a member
            return True
        return permission in self._keys

    def __getitem__(self, name: str) -> bool:
        ability = ability_named(name)
        return self(ability.model, ability.action)


class ScopedPageMixin(LoginRequiredMixin):
    """Looks up the page's object among those the user may see (404 otherwise) and tells what they may do.

    A subclass sets ``model`` and, when the URL does not name the object by slug, ``object_lookup(value)`` (filter
    keywords; a ``SlugError`` or ``ValueError`` is a 404). ``get_queryset`` may add ``select_related``.
    """

    model: type[models.Model]
    request: HttpRequest
    kwargs: dict[str, Any]
    lookup_url_kwarg = "slug"
    context_object_name = "object"

    def get_queryset(self) -> models.QuerySet:
        # A scoped model's ``objects`` is a ScopedQuerySet manager (core/scoping.py).
        return self.model.objects.restrict(self.request.user, "view")  # type: ignore[attr-defined]

    def object_lookup(self, value: str) -> dict[str, Any]:
        return {"slug": value}

    def get_object(self) -> models.Model:
        value = self.kwargs[self.lookup_url_kwarg]
        try:
            lookup = self.object_lookup(value)
        except (SlugError, ValueError) as exc:
            raise Http404 from exc
        obj = self.get_queryset().filter(**lookup).first()
        if obj is None:
            raise Http404
        return obj

    def get_org(self):
        """The organisation the page's object belongs to (for ``can``)."""
        return getattr(self.object, "org", None)

    @property
    def can(self) -> Abilities:
        if not hasattr(self, "_abilities"):
            role, keys = org_access(self.request.user, self.get_org())
            self._abilities = Abilities(self.request.user, role, keys)
        return self._abilities

    def require(self, obj: models.Model, action: str) -> None:
        """403 unless the user may ``action`` the visible ``obj`` (its model's scope declaration decides)."""
        if not user_can(self.request.user, obj, action):
            raise PermissionDenied("Your role does not allow this.")

    def require_org_permission(self, org, model: type[models.Model], action: str = "add") -> None:
        """403 unless the user holds, in the visible ``org``, what ``model`` declares for ``action`` (for creates,
        which have no object yet)."""
        if not user_has_org_permission(self.request.user, org, permission_for(model, action)):
            raise PermissionDenied("Your role does not allow this.")


if TYPE_CHECKING:  # the base of mixins that find a page's object for ScopedPageMixin, for the type checker
    ScopedPageMixinBase = ScopedPageMixin
else:
    ScopedPageMixinBase = object


class ScopedPageView(ScopedPageMixin, TemplateView):
    """A page about one visible object. ``get_context_data`` gives ``object`` (and ``context_object_name``) and
    ``can``; a subclass adds its tables and its forms with ``kwargs.setdefault(name, Form(...))``, so a failed
    :class:`ScopedFormAction` can show the page again with its bound form."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.object = self.get_object()
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["object"] = self.object
        context[self.context_object_name] = self.object
        context["can"] = self.can
        return context


class ScopedFormAction(ScopedPageView):
    """POST only: one form of a page, at its own URL.

    The user must be allowed ``scope_action`` on the page's object (``require``), or, when ``scope_model`` is set,
    hold what ``scope_model`` declares for ``scope_action`` in the object's organisation (``require_org_permission``:
    creates, claims); otherwise 403. A valid form goes to
    ``form_valid``, which calls the service and returns a redirect (usually to the page). An invalid form, or a
    service's ``ApplicationError``, shows the page again with the bound form as ``form_name`` and its errors.
    """

    http_method_names = ["post"]
    form_class: type | None = None
    form_name = "form"
    scope_action = "change"
    scope_model: type[models.Model] | None = None

    def check_permission(self) -> None:
        if self.scope_model is not None:
            self.require_org_permission(self.get_org(), self.scope_model, self.scope_action)
        else:
            self.require(self.object, self.scope_action)

    def get_form_kwargs(self) -> dict[str, Any]:
        return {"data": self.request.POST, "files": self.request.FILES}

    def get_form(self):
        return self.form_class(**self.get_form_kwargs())

    def post(self, request, *args, **kwargs) -> HttpResponse:
        self.check_permission()
        form = self.get_form()
        self.service_error = None
        if form.is_valid():
            try:
                return self.form_valid(form)
            except ApplicationError as error:
                self.service_error = error
                form.add_service_error(error)
        return self.form_invalid(form)

    def form_valid(self, form) -> HttpResponse:
        raise NotImplementedError

    def form_invalid(self, form) -> HttpResponse:
        # A form with fields shows its errors itself; a bare button's (ButtonForm) can only be said in a message.
        problems = [] if form.fields else form.non_field_errors()
        messages.error(self.request, " ".join(problems) or "Please correct the errors below.")
        return self.render_to_response(self.get_context_data(**{self.form_name: form, "failed_form": self.form_name}))

    def done(self, message: str, url: str) -> HttpResponseRedirect:
        messages.success(self.request, message)
        return HttpResponseRedirect(url)


class StaffPageMixin(LoginRequiredMixin):
    """Pages for platform staff only: to everyone else they do not exist (404), signed in or not."""

    def dispatch(self, request, *args, **kwargs):
        user = request.user
        if not (user.is_authenticated and user.is_active and user.is_staff):
            raise Http404
        return super().dispatch(request, *args, **kwargs)
