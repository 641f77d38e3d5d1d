"""The `/cop` grammar on its own: quotes, numbers, flags, times and time zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hearth.handlers import build_registry
from hearth.handlers.cards import unmarked
from hearth.handlers.commands import Args, UsageError, Word, number, parse, split_words, visible
from hearth.handlers.poll_spec import check, parse_command
from hearth.handlers.schedules import TimeError, format_moment, parse_duration, parse_moment
from hearth.handlers.zones import ZoneError, resolve

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TRICKY = (
    "abc \"“”„'\\ -=:#R@<>|²٣0123456789\u200b\u200d\u2060\ufeff\u00a0\t\n"
    "—–multi anonymous closes every hidden poll close"
)
"""Characters that broke the old parser, or could: quotes of every kind, digits int() takes
but ASCII does not, invisible and odd spaces, dashes that autocorrect makes of `--`."""


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('"Lunch?" "Pizza" Salad', [Word("Lunch?", True), Word("Pizza", True), Word("Salad")]),
        ("“Smart quotes” „low”", [Word("Smart quotes", True), Word("low", True)]),
        ("don't panic", [Word("don't"), Word("panic")]),
        ('"say \\"hi\\""', [Word('say "hi"', True)]),
        ('--closes="2026-12-08 17:00"', [Word("--closes=2026-12-08 17:00")]),
        ('"--multi"', [Word("--multi", True)]),
        ("  ", []),
    ],
)
def test_quotes_group_words(text: str, words: list[Word]) -> None:
    assert split_words(text) == words


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('"unclosed', 'A quote isn\'t closed: “"unclosed” needs a closing " at its end.'),
        ('"Unbalanced "quote', 'Put a space after the closing quote: “"Unbalanced "quote”.'),
        (
            'a"b c"',
            'Quotes go around a whole argument, with a space before them: “a"b c"”.',
        ),
    ],
)
def test_unbalanced_quotes_are_a_usage_error_not_repaired(text: str, message: str) -> None:
    with pytest.raises(UsageError) as raised:
        split_words(text)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("text", "value"),
    [("0", 0), ("42", 42), ("2147483647", 2147483647), ("2147483648", None)],
)
def test_numbers_are_ascii_digits_and_bounded(text: str, value: int | None) -> None:
    assert number(text) == value


@pytest.mark.parametrize("text", ["²", "٣", "1²", "99999999999999999999", "-1", "+1", "1 1", ""])
def test_numbers_int_would_take_or_the_database_could_not_hold_are_refused(text: str) -> None:
    assert number(text) is None
    with pytest.raises(UsageError, match="like `3`"):
        Args(text).one_number("Give the number, like `3`.")


def test_one_number_takes_its_prefix_in_any_case() -> None:
    assert Args("#12").one_number("?") == 12
    assert Args("r7").one_number("?", prefix="R") == 7
    with pytest.raises(UsageError):
        Args("1 2").one_number("?")


def test_invisible_text_is_nothing() -> None:
    assert visible("\u200b \u2060\ufeff\u00a0") == ""
    assert visible("  two\u200b  words ") == "two words"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('"Q" "A" "B" --closes 1d --closes 2d', "`--closes` is given twice; give it once."),
        ('"Q" "A" "B" --multi --multi', "`--multi` is given twice; give it once."),
        ('"Q" "A" "B" --anon --anonymous', "`--anonymous` is given twice; give it once."),
        ('"Q" "A" "B" --multi=yes', "`--multi` takes no value; write just `--multi`."),
        ('"Q" "A" "B" --closes --multi', "`--closes` needs a value, like `--closes 3d`."),
    ],
)
def test_poll_flags_are_given_once_with_their_values(text: str, message: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse_command(text)
    assert str(raised.value) == message


def test_a_quoted_flag_is_an_option_and_autocorrected_dashes_are_flags() -> None:
    spec = parse_command('"Q" "--multi" "B" —hidden --closes 2026-12-08 17:00')
    assert (spec.options, spec.multi, spec.hidden, spec.closes) == (
        ("--multi", "B"),
        False,
        True,
        "2026-12-08 17:00",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('"Q" "A" ""', "Option 2 is empty"),
        ('"Q" "A" "\u200b\u200b"', "Option 2 is empty"),
        ('"Q" "A" " "', "Option 2 is empty"),
        ('"Q" "A"', "A poll needs at least two options."),
        ('"Q" "A" "a"', "Each option must be different."),
        ('"\u200b" "A" "B"', "Give the question and at least two options"),
    ],
)
def test_empty_invisible_single_and_repeated_options_are_refused(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        check(parse_command(text))


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        ("17:00", "UTC", datetime(2026, 12, 1, 17, 0, tzinfo=UTC)),  # later today
        ("08:30", "UTC", datetime(2026, 12, 2, 8, 30, tzinfo=UTC)),  # passed: tomorrow
        ("at 9:00", "Asia/Tokyo", datetime(2026, 12, 2, 0, 0, tzinfo=UTC)),  # 18:00 there now
        ("2026-12-08", "UTC", datetime(2026, 12, 8, 23, 59, tzinfo=UTC)),
        ("2026-12-08T17:00", "Europe/Paris", datetime(2026, 12, 8, 16, 0, tzinfo=UTC)),
        ("3d", "UTC", NOW + timedelta(days=3)),
    ],
)
def test_moments(text: str, zone: str, expected: datetime) -> None:
    assert parse_moment(text, zone, NOW) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("9999-12-31T23:00", "9999 is too far away; pick a time within a year from now."),
        ("0001-01-01", "1 has already passed."),
        ("2026-02-30", "“2026-02-30” is not a date."),
        ("25:00", "“25:00” is not a time of day."),
        ("2025-06-01 10:00", "Sun 1 Jun 2025 10:00 UTC has already passed."),
        ("2027-12-31", "That is more than a year away; pick something sooner."),
        ("0m", "Give a time after now, like 3d or 17:00."),
        ("²d", "“²d” is not a time"),
        ("٣d", "“٣d” is not a time"),
    ],
)
def test_impossible_moments_say_why(text: str, message: str) -> None:
    with pytest.raises(TimeError) as raised:
        parse_moment(text, "America/New_York" if text.startswith("9999") else "UTC", NOW)
    assert unmarked(str(raised.value)).startswith(message)  # what was typed: marked as such


def test_durations_take_ascii_digits_only() -> None:
    assert parse_duration("90m") == timedelta(minutes=90)
    assert parse_duration("٣d") is None


def test_dates_show_the_year_when_it_is_not_this_year() -> None:
    assert format_moment(NOW + timedelta(days=7), "UTC", now=NOW) == "Tue 8 Dec 09:00 UTC"
    assert format_moment(NOW + timedelta(days=40), "UTC", now=NOW) == "Sun 10 Jan 2027 09:00 UTC"
    assert format_moment(NOW - timedelta(days=400), "UTC", now=NOW) == "Mon 27 Oct 2025 09:00 UTC"


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("utc", "UTC"),
        ("UTC", "UTC"),
        ("europe/london", "Europe/London"),
        (" America/New_York ", "America/New_York"),
        ("AMERICA/ARGENTINA/BUENOS_AIRES", "America/Argentina/Buenos_Aires"),
    ],
)
def test_time_zones_are_iana_names_in_any_case(text: str, zone: str) -> None:
    assert resolve(text) == zone


def test_time_zone_abbreviations_are_refused_with_a_hint() -> None:
    with pytest.raises(ZoneError) as raised:
        resolve("EST")
    assert unmarked(str(raised.value)) == (
        "“EST” is an abbreviation, and those mean different things in different places; give "
        "the zone by its place name, like America/New_York, or UTC."
    )
    with pytest.raises(ZoneError, match="isn't a time zone I know"):
        resolve("Mars/Olympus")


@settings(max_examples=400, deadline=None, database=None)
@given(st.text(alphabet=st.sampled_from(TRICKY) | st.characters(), max_size=80))
def test_arbitrary_text_is_parsed_or_refused_with_a_usage_error(text: str) -> None:
    registry = build_registry()
    for typed in (text, f"poll {text}", f"poll close {text}"):
        try:
            command, args = parse(registry, typed)
            args.tokens  # noqa: B018 - splitting is what is tested
            args.one_text()
            if command.name == "poll":
                check(parse_command(args.text))
        except UsageError:
            pass


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(alphabet=st.sampled_from(TRICKY) | st.characters(), max_size=40))
def test_arbitrary_times_are_a_moment_or_a_time_error(text: str) -> None:
    for zone in ("UTC", "Pacific/Kiritimati", "Etc/GMT+12"):
        try:
            moment = parse_moment(text, zone, NOW)
        except TimeError:
            continue
        assert NOW < moment <= NOW + timedelta(days=366)
