"""The desk's pages: worklist, account, call and outcome, notes, holds, notifications, the supervisor's team
views."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("worklist/", views.worklist, name="worklist"),
    path("worklist/refresh/", views.worklist_refresh, name="worklist_refresh"),
    path("loans/<str:loan_ref>/", views.loan_detail, name="loan_detail"),
    path("loans/<str:loan_ref>/phones/<int:phone_id>/reveal/", views.phone_reveal_view, name="phone_reveal"),
    path("search/", views.search, name="search"),
    path("loans/<str:loan_ref>/call/", views.call_start, name="call_start"),
    path("loans/<str:loan_ref>/inbound/", views.inbound_call, name="inbound_call"),
    path("loans/<str:loan_ref>/notes/", views.note_create, name="note_create"),
    path("loans/<str:loan_ref>/holds/", views.hold_place, name="hold_place"),
    path("loans/<str:loan_ref>/holds/<int:restriction_id>/lift/", views.hold_lift_view, name="hold_lift"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/<int:notification_id>/read/", views.notification_read, name="notification_read"),
    path("notifications/read/", views.notifications_read_all, name="notifications_read_all"),
    path("attempts/<int:attempt_id>/", views.attempt_detail, name="attempt_detail"),
    path("team/", views.team, name="team"),
    path("team/reassign/", views.team_reassign, name="team_reassign"),
    path("team/blocked/<str:code>/", views.team_blocked, name="team_blocked"),
    path("team/collectors/<str:username>/", views.collector_attempts, name="collector_attempts"),
]
