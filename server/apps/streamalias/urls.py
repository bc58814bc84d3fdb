from django.urls import path

from server.apps.streamalias import views

app_name = "streamalias"
ALIAS = "org/<slug:org_slug>/alias/<str:alias_slug>/"
urlpatterns = [
    path("org/<slug:org_slug>/aliases/", views.OrgAliasListView.as_view(), name="list"),
    path("org/<slug:org_slug>/aliases/new/", views.AliasCreateView.as_view(), name="create"),
    path(ALIAS, views.AliasDetailView.as_view(), name="detail"),
    path(f"{ALIAS}series.json", views.AliasSeriesView.as_view(), name="series"),
    path(f"{ALIAS}taps/", views.AliasTapCreateView.as_view(), name="tap-create"),
]
