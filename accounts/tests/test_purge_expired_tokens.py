from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuthToken
from accounts.services import issue_token, purge_expired_tokens
from accounts.tasks import purge_expired_tokens as purge_expired_tokens_task
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def token_idle_for(idle: timedelta) -> AuthToken:
    issue_token(user=UserFactory())
    token = AuthToken.objects.latest("pk")
    AuthToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - idle)
    return token


def test_purge_task_deletes_expired_tokens_only(settings):
    timeout = timedelta(seconds=settings.AUTH_TOKEN_IDLE_TIMEOUT_SECONDS)
    expired = token_idle_for(timeout + timedelta(minutes=1))
    live = token_idle_for(timeout - timedelta(minutes=1))

    deleted = purge_expired_tokens_task.apply().get()

    assert deleted == 1
    assert not AuthToken.objects.filter(pk=expired.pk).exists()
    assert AuthToken.objects.filter(pk=live.pk).exists()


def test_purge_counts_expiry_from_the_time_given(settings):
    token_idle_for(timedelta(0))
    a_day_later = timezone.now() + timedelta(seconds=settings.AUTH_TOKEN_IDLE_TIMEOUT_SECONDS + 1)

    assert purge_expired_tokens(now=a_day_later) == 1
    assert not AuthToken.objects.exists()


def test_purge_is_safe_to_run_twice(settings):
    token_idle_for(timedelta(days=2))

    purge_expired_tokens()

    assert purge_expired_tokens() == 0
