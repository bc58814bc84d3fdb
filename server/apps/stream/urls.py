from django.urls import path

from server.apps.stream import views

app_name = "stream"
urlpatterns = [
    path("org/<slug:org_slug>/stream/<slug:stream_slug>/", views.StreamDetailView.as_view(), name="detail"),
    # The same name from the slug alone (reverse("stream:detail", args=[slug])): a redirect to the page above.
    path("stream/<slug:stream_slug>/", views.StreamShortcutView.as_view(), name="detail"),
    path("org/<slug:org_slug>/stream/<slug:stream_slug>/series.json", views.StreamSeriesView.as_view(), name="series"),
    path("org/<slug:org_slug>/stream/<slug:stream_slug>/table/", views.StreamTableView.as_view(), name="table"),
    path("org/<slug:org_slug>/stream/<slug:stream_slug>/data.csv", views.StreamCsvView.as_view(), name="csv"),
]
