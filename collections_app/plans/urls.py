from django.urls import path

from . import views

app_name = "plans"

urlpatterns = [
    path("loans/<str:loan_ref>/promise/", views.promise_create, name="promise_create"),
    path("loans/<str:loan_ref>/propose/", views.plan_propose, name="plan_propose"),
    path("promises/<int:pk>/cancel/", views.promise_cancel, name="promise_cancel"),
    path("approvals/", views.approvals, name="approvals"),
    path("reports/", views.reports, name="reports"),
    path("<int:pk>/", views.plan_detail, name="plan_detail"),
    path("<int:pk>/approve/", views.plan_approve, name="plan_approve"),
    path("<int:pk>/decline/", views.plan_decline, name="plan_decline"),
    path("<int:pk>/cancel/", views.plan_cancel, name="plan_cancel"),
]
