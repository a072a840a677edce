"""The second-factor pages of staff sign-in and the user's own settings (mounted under accounts/, next to sign-in
and sign-out)."""

from django.urls import path

from . import views

app_name = "staff"

urlpatterns = [
    path("second-factor/", views.second_factor_verify_view, name="verify"),
    path("second-factor/enrol/", views.second_factor_enrol_view, name="enrol"),
    path("settings/", views.settings_view, name="settings"),
]
