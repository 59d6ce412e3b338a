from datetime import timedelta

from securemyspot.leases import backoff, time_boxed


def test_backoff_doubles_from_the_start_up_to_the_maximum():
    waits = [
        backoff(n, start=timedelta(minutes=1), maximum=timedelta(minutes=5)) for n in range(1, 6)
    ]

    assert waits == [timedelta(minutes=m) for m in (1, 2, 4, 5, 5)]


def test_a_time_boxed_batch_takes_everything_while_there_is_time():
    pending = [1, 2, 3]

    assert list(time_boxed(pending, seconds=60)) == [1, 2, 3]
    assert pending == []


def test_a_time_boxed_batch_out_of_time_leaves_the_rest_in_order():
    pending = [1, 2, 3]

    assert list(time_boxed(pending, seconds=0)) == [1]
    assert pending == [2, 3]
