from django.urls import path

from server.apps.desiredstate import views
from server.apps.desiredstate.tabs import DESIRED_STATE_TAB

app_name = "desiredstate"
ROLLOUT = "org/<slug:org_slug>/desiredstate/<int:desired_state_id>/"
urlpatterns = [
    path(ROLLOUT, views.RolloutView.as_view(), name="campaign"),
    path(f"{ROLLOUT}status.json", views.RolloutStatusView.as_view(), name="campaign-status"),
    path(f"{ROLLOUT}cancel/", views.RolloutCancelView.as_view(), name="cancel"),
    path(f"{DESIRED_STATE_TAB.route}refresh/", views.InventoryRefreshView.as_view(), name="refresh"),
]
