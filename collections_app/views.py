from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .selectors import loan_detail_for_user, loan_list_for_user


@login_required
def home(request: HttpRequest) -> HttpResponse:
    page = Paginator(loan_list_for_user(request.user), 50).get_page(request.GET.get("page"))
    return render(request, "collections_app/home.html", {"page": page})


@login_required
def loan_detail(request: HttpRequest, loan_ref: str) -> HttpResponse:
    loan = loan_detail_for_user(request.user, loan_ref)
    return render(request, "collections_app/loan_detail.html", {"loan": loan, "borrower": loan.borrower})
