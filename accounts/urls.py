from django.contrib import admin
from django.urls import path

from accounts import api, views
from accounts.throttles import throttled_admin_login
from securemyspot.api import route

urlpatterns = [
    # Ahead of the admin's own routes (securemyspot/urls.py includes these first): operators'
    # sign-in attempts are throttled per address and username.
    path("admin/login/", throttled_admin_login(admin.site.login), name="admin-login"),
    route("sign-up", api.sign_up, name="sign-up"),
    route("sign-in", api.sign_in, name="sign-in"),
    route("sign-out", api.sign_out, name="sign-out"),
    route("change-pw", api.change_password, name="change-password"),
    route("me", api.me, name="me"),
    route("resend-verification", api.resend_verification, name="resend-verification"),
    path("account/verify-email/<str:token>/", views.verify_email, name="verify-email"),
]
