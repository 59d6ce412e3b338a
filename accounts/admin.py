from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.http import HttpRequest

from accounts.models import AuthToken, User, normalize_email


class _NormalizedEmailMixin:
    # Normalised before the uniqueness check, so a case variant of a taken email is reported
    # on the form instead of failing in the database.
    def clean_email(self) -> str:
        return normalize_email(self.cleaned_data["email"])


class UserCreationForm(_NormalizedEmailMixin, AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserChangeForm(_NormalizedEmailMixin, DjangoUserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Important dates", {"fields": ("last_login", "date_joined", "email_verified_at")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "usable_password", "password1", "password2"),
            },
        ),
    )
    list_display = (
        "email",
        "is_active",
        "is_staff",
        "date_joined",
        "last_login",
        "email_verified_at",
    )
    list_filter = ("is_staff", "is_active")
    search_fields = ("email",)
    ordering = ("email",)

    def save_model(self, request: HttpRequest, obj: User, form, change: bool) -> None:
        # A confirmation is of one address: a new one is unconfirmed until its owner opens a
        # link sent to it (the old address's links confirm nothing: they name that address).
        if change and "email" in form.changed_data and "email_verified_at" not in form.changed_data:
            obj.email_verified_at = None
        super().save_model(request, obj, form, change)


@admin.register(AuthToken)
class AuthTokenAdmin(admin.ModelAdmin):
    """Signed-in devices, for looking up; deleting one signs that device out."""

    list_display = ("user", "created_at", "last_used_at")
    list_select_related = ("user",)
    search_fields = ("user__email",)
    ordering = ("-last_used_at",)
    fields = ("user", "created_at", "last_used_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuthToken | None = None) -> bool:
        return False
