"""The desk's URLs: each area mounts its own (names and paths are part of the product's contract)."""

from django.urls import include, path

urlpatterns = [
    path("", include("collections_app.desk.urls")),
    path("plans/", include("collections_app.plans.urls")),
    path("complaints/", include("collections_app.complaints.urls")),
    path("compliance/", include("collections_app.compliance.urls")),
    path("accounts/", include("collections_app.staff.urls")),
]
