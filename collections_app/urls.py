from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("loans/<str:loan_ref>/", views.loan_detail, name="loan_detail"),
]
