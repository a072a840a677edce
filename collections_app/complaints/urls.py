"""Complaint screens, included at /complaints/ (namespace "complaints")."""

from django.urls import path

from . import views

app_name = "complaints"

urlpatterns = [
    path("", views.complaint_list, name="list"),
    path("new/<str:loan_ref>/", views.complaint_create, name="create"),
    path("report/", views.complaint_report, name="report"),
    path("report.csv", views.complaint_report_csv, name="report_csv"),
    path("<int:pk>/", views.complaint_detail, name="detail"),
    path("<int:pk>/transition/", views.complaint_transition_view, name="transition"),
]
