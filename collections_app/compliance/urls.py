"""The compliance pages, included at /compliance/ (namespace "compliance")."""

from django.urls import path

from . import views

app_name = "compliance"

urlpatterns = [
    path("audit/", views.audit_search, name="audit"),
    path("audit.csv", views.audit_csv, name="audit_csv"),
    path("attempts.csv", views.attempts_csv, name="attempts_csv"),
    path("", views.account_list, name="accounts"),
]
