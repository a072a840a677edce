from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("loans/<str:loan_ref>/", views.loan_detail, name="loan_detail"),
    path("plans/", include("collections_app.plans.urls")),
    path("complaints/", include("collections_app.complaints.urls")),
]
