from django.urls import re_path
from rest_framework.routers import SimpleRouter

from server.apps.authentication.api import views

# "/?": the clients always add the slash, and a POST without it must not be redirected. DRF puts the value into
# its URL patterns as it is; the stubs only know the boolean form.
router = SimpleRouter(trailing_slash="/?")  # type: ignore[arg-type]
router.register("account", views.AccountViewSet, basename="account")

urlpatterns = [
    re_path(r"^auth/login/?$", views.LoginView.as_view(), name="auth-login"),
    re_path(r"^auth/logout/?$", views.LogoutView.as_view(), name="auth-logout"),
    re_path(r"^auth/token/?$", views.TokenView.as_view(), name="auth-token"),
    re_path(r"^auth/user-info/?$", views.UserInfoView.as_view(), name="auth-user-info"),
    re_path(r"^auth/api-jwt-auth/?$", views.JWTAuthView.as_view(), name="auth-jwt-auth"),
    re_path(r"^auth/api-jwt-refresh/?$", views.JWTRefreshView.as_view(), name="auth-jwt-refresh"),
    re_path(r"^auth/api-jwt-verify/?$", views.JWTVerifyView.as_view(), name="auth-jwt-verify"),
    *router.urls,
]
