from django.urls import path

from server.apps.org import views

app_name = "org"
urlpatterns = [
    path("org/<slug:org_slug>/", views.OrgDetailView.as_view(), name="detail"),
    path("org/<slug:org_slug>/edit/", views.OrgUpdateView.as_view(), name="edit"),
    path("org/<slug:org_slug>/invitations/", views.InvitationCreateView.as_view(), name="invite"),
    path(
        "org/<slug:org_slug>/invitations/<uuid:invitation_id>/cancel/",
        views.InvitationCancelView.as_view(),
        name="invitation-cancel",
    ),
    path(
        "org/<slug:org_slug>/invitation/<uuid:invitation_id>/accept/",
        views.InvitationAcceptView.as_view(),
        name="invitation-accept",
    ),
    path(
        "org/<slug:org_slug>/members/<slug:user_slug>/role/", views.MemberRoleUpdateView.as_view(), name="member-role"
    ),
    path(
        "org/<slug:org_slug>/members/<slug:user_slug>/remove/", views.MemberRemoveView.as_view(), name="member-remove"
    ),
]
