"""Forms of the organisation pages: the organisation itself, invitations and members' roles."""

from __future__ import annotations

from django import forms

from server.apps.core.forms import DashboardForm, FormMixinBase
from server.apps.org.roles import MEMBER, ROLE_CHOICES


class OrgForm(DashboardForm):
    """Creating (home page) or renaming an organisation. Renaming keeps the slug."""

    id_prefix = "org"

    name = forms.CharField(
        max_length=100,
        label="Name",
        widget=forms.TextInput(attrs={"placeholder": "e.g. Acme Water Monitoring", "autocomplete": "organization"}),
    )
    about = forms.CharField(
        required=False,
        label="About",
        help_text="Optional: what this organisation monitors.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Give the organisation a name.")
        return name


class RoleChoicesMixin(FormMixinBase):
    """A ``role`` field offering only the roles the acting user may hand out (``roles``: role codes)."""

    def limit_roles(self, roles: list[str]) -> None:
        role = self.fields["role"]
        assert isinstance(role, forms.ChoiceField)
        role.choices = [(code, label) for code, label in ROLE_CHOICES if code in roles]


class InvitationForm(RoleChoicesMixin, DashboardForm):
    id_prefix = "invite"

    email = forms.EmailField(
        label="E-mail address",
        widget=forms.EmailInput(attrs={"placeholder": "colleague@example.com", "autocomplete": "off"}),
    )
    role = forms.ChoiceField(label="Role", choices=ROLE_CHOICES, initial=MEMBER)

    def __init__(self, *args, roles: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.limit_roles(roles)


class MemberRoleForm(RoleChoicesMixin, DashboardForm):
    id_prefix = "member"

    role = forms.ChoiceField(label="Role", choices=ROLE_CHOICES)

    def __init__(self, *args, roles: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.limit_roles(roles)
