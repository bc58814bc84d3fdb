"""The organisation page (projects, members and roles, invitations, settings) and the invitation accept page.

Every form of the organisation page posts to its own URL (``ScopedFormAction``), which checks the permission the
model declares, calls the service and comes back to the page.
"""

from __future__ import annotations

from urllib.parse import urlencode

from allauth.account.adapter import get_adapter
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views import View

from server.apps.core.errors import ApplicationError
from server.apps.core.forms import ButtonForm
from server.apps.core.scoping import STAFF_ONLY
from server.apps.core.views import ScopedFormAction, ScopedPageView, paginate
from server.apps.device.selectors import device_list
from server.apps.org import selectors
from server.apps.org.forms import InvitationForm, MemberRoleForm, OrgForm
from server.apps.org.models import Invitation, Org, OrgMembership
from server.apps.org.roles import ROLE_CHOICES, permission_to_grant
from server.apps.org.services import (
    invitation_accept,
    invitation_cancel,
    invitation_create,
    org_member_remove,
    org_member_role_update,
    org_update,
)
from server.apps.project.forms import ProjectForm
from server.apps.project.models import Project
from server.apps.project.selectors import project_list_for_org

ROLE_NAMES = dict(ROLE_CHOICES)
# The session remembers the invitation a visitor followed, so that after signing up (or in) they come back to it.
PENDING_INVITATION = "org_pending_invitation"


def org_url(org: Org, anchor: str = "") -> str:
    return reverse("org:detail", kwargs={"org_slug": org.slug}) + (f"#{anchor}" if anchor else "")


class OrgDetailView(ScopedPageView):
    """``/org/<slug>/``: the projects with their device counts, the members and their roles, pending invitations,
    and the organisation's settings; each part's controls show only for roles that may use them."""

    model = Org
    lookup_url_kwarg = "org_slug"
    context_object_name = "org"
    template_name = "org/detail.html"

    def get_org(self) -> Org:
        return self.object

    def grantable_roles(self) -> list[str]:
        """The roles the user may give or take away here (``roles.permission_to_grant``)."""
        keys = self.can.keys
        return [
            code
            for code, _ in ROLE_CHOICES
            if (needed := permission_to_grant(code)) in keys or (needed == STAFF_ONLY and self.request.user.is_staff)
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        org, user, can, request = self.object, self.request.user, self.can, self.request
        roles = self.grantable_roles()
        members = paginate(request, selectors.org_active_member_list(user=user, org=org), param="members")
        for membership in members:
            membership.role_name = ROLE_NAMES.get(membership.role, membership.role)
            membership.manageable = can(OrgMembership, "change") and membership.role in roles
        context.update(
            projects=paginate(request, project_list_for_org(user=user, org=org), param="projects"),
            members=members,
            device_count=device_list(user=user).filter(org=org).count(),
            role_choices=[(code, label) for code, label in ROLE_CHOICES if code in roles],
            my_role_name=ROLE_NAMES.get(can.role, ""),
        )
        if can(Invitation, "view"):
            invitations = paginate(request, selectors.invitation_pending_list(user=user, org=org), param="invitations")
            for invitation in invitations:
                invitation.role_name = ROLE_NAMES.get(invitation.role, invitation.role)
            context["invitations"] = invitations
        if can(Invitation, "add"):
            context.setdefault("invite_form", InvitationForm(roles=roles))
        if can(Org, "change"):
            context.setdefault("org_form", OrgForm(initial={"name": org.name, "about": org.about}))
        if can(Project, "add"):
            context.setdefault("project_form", ProjectForm())
        return context


class OrgFormAction(ScopedFormAction, OrgDetailView):
    """A form of the organisation page; on errors the page comes back with the form and its messages."""


class OrgUpdateView(OrgFormAction):
    form_class = OrgForm
    form_name = "org_form"
    scope_action = "change"

    def form_valid(self, form):
        org = org_update(org=self.object, **form.cleaned_data)
        return self.done(f"Saved. The organisation's address stays /org/{org.slug}/.", org_url(org))


class InvitationCreateView(OrgFormAction):
    form_class = InvitationForm
    form_name = "invite_form"
    scope_model = Invitation
    scope_action = "add"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "roles": self.grantable_roles()}

    def form_valid(self, form):
        invitation = invitation_create(org=self.object, sent_by=self.request.user, **form.cleaned_data)
        message = f"Invitation sent to {invitation.email} as {ROLE_NAMES[invitation.role].lower()}."
        return self.done(message, org_url(self.object, "invitations"))


class OrgItemAction(OrgFormAction):
    """A one-button action on a row of the organisation page (a member, an invitation): errors come back as a
    message on the page rather than on a form."""

    def get_item(self):
        raise NotImplementedError

    def check_permission(self) -> None:
        self.item = self.get_item()
        self.require(self.item, self.scope_action)

    def form_invalid(self, form):
        errors = [str(error) for field_errors in form.errors.values() for error in field_errors]
        if self.service_error is not None:
            errors = [self.service_error.message, *(e for e in errors if e != self.service_error.message)]
        messages.error(self.request, " ".join(errors) or "That did not work.")
        return HttpResponseRedirect(org_url(self.object, self.anchor))


class MemberItemAction(OrgItemAction):
    anchor = "members"

    def get_item(self) -> OrgMembership:
        membership = (
            selectors.org_active_member_list(user=self.request.user, org=self.object)
            .filter(user__slug=self.kwargs["user_slug"])
            .first()
        )
        if membership is None:
            raise Http404
        return membership


class MemberRoleUpdateView(MemberItemAction):
    form_class = MemberRoleForm
    scope_action = "change"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "roles": self.grantable_roles()}

    def form_valid(self, form):
        membership = org_member_role_update(
            membership=self.item, role=form.cleaned_data["role"], changed_by=self.request.user
        )
        name = membership.user.get_full_name()
        return self.done(f"{name} is now {ROLE_NAMES[membership.role].lower()}.", org_url(self.object, "members"))


class MemberRemoveView(MemberItemAction):
    form_class = ButtonForm
    scope_action = "delete"

    def form_valid(self, form):
        membership = org_member_remove(membership=self.item, removed_by=self.request.user)
        name = membership.user.get_full_name()
        if membership.user_id == self.request.user.pk:
            return self.done(f"You left {self.object.name}.", reverse("main:home"))
        return self.done(f"{name} was removed from {self.object.name}.", org_url(self.object, "members"))


class InvitationCancelView(OrgItemAction):
    form_class = ButtonForm
    scope_action = "delete"
    anchor = "invitations"

    def get_item(self) -> Invitation:
        invitation = (
            selectors.invitation_pending_list(user=self.request.user, org=self.object)
            .filter(pk=self.kwargs["invitation_id"])
            .first()
        )
        if invitation is None:
            raise Http404
        return invitation

    def form_valid(self, form):
        invitation_cancel(invitation=self.item)
        return self.done(f"The invitation of {self.item.email} was withdrawn.", org_url(self.object, "invitations"))


# Accepting an invitation ------------------------------------------------------------------------------------------


def accept_url(invitation: Invitation) -> str:
    return reverse("org:invitation-accept", kwargs={"org_slug": invitation.org.slug, "invitation_id": invitation.pk})


def pending_invitation_url(request) -> str | None:
    """Where a visitor who followed an invitation link goes after signing up or in: back to the invitation."""
    return request.session.get(PENDING_INVITATION)


class InvitationAcceptView(View):
    """``/org/<slug>/invitation/<id>/accept/``, the link the invitation e-mail carries.

    * A visitor is offered to sign up (the invited address prefilled) or to sign in, and comes back here after.
      The link reached its address, so signing up with that address needs no second verification.
    * The invitee, signed in, sees the organisation and role and accepts with a button (POST).
    * Anyone else signed in gets a 404 that names nothing: the invitation is not for them.
    """

    template_name = "org/invitation_accept.html"

    def get(self, request, org_slug: str, invitation_id):
        if not request.user.is_authenticated:
            return self.offer_account(request, org_slug, invitation_id)
        invitation = self.invitee_invitation(request, org_slug, invitation_id)
        if invitation is None:
            return self.not_for_you(request)
        if invitation.accepted:
            request.session.pop(PENDING_INVITATION, None)
            if selectors.org_membership_of(org=invitation.org, user=request.user) is None:
                return self.not_for_you(request)
            messages.info(request, f"You are already a member of {invitation.org.name}.")
            return HttpResponseRedirect(org_url(invitation.org))
        return render(request, self.template_name, {"invitation": invitation, "role_name": ROLE_NAMES[invitation.role]})

    def post(self, request, org_slug: str, invitation_id):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        invitation = self.invitee_invitation(request, org_slug, invitation_id)
        if invitation is None:
            return self.not_for_you(request)
        request.session.pop(PENDING_INVITATION, None)
        try:
            membership = invitation_accept(invitation=invitation, user=request.user)
        except ApplicationError as error:
            messages.error(request, error.message)
            if selectors.org_membership_of(org=invitation.org, user=request.user) is None:
                return HttpResponseRedirect(reverse("main:home"))
        else:
            role = ROLE_NAMES[membership.role].lower()
            messages.success(request, f"Welcome to {invitation.org.name}. You joined as {role}.")
        return HttpResponseRedirect(org_url(invitation.org))

    @staticmethod
    def invitee_invitation(request, org_slug: str, invitation_id) -> Invitation | None:
        invitation = selectors.invitation_for_invitee(user=request.user, invitation_id=invitation_id)
        if invitation is None or invitation.org.slug != org_slug:
            return None
        return invitation

    def offer_account(self, request, org_slug: str, invitation_id):
        invitation = selectors.invitation_by_link(org_slug=org_slug, invitation_id=invitation_id)
        if invitation is None or invitation.accepted:
            raise Http404
        here = accept_url(invitation)
        request.session[PENDING_INVITATION] = here
        get_adapter(request).stash_verified_email(request, invitation.email)
        context = {
            "invitation": invitation,
            "role_name": ROLE_NAMES[invitation.role],
            "signup_url": f"{reverse('account_signup')}?{urlencode({'email': invitation.email, 'next': here})}",
            "login_url": f"{reverse('account_login')}?{urlencode({'next': here})}",
        }
        return render(request, "org/invitation_signup.html", context)

    def not_for_you(self, request):
        request.session.pop(PENDING_INVITATION, None)
        return render(request, "org/invitation_not_found.html", status=404)
