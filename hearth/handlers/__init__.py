"""Platform-neutral use cases. `build_registry()` gathers every feature's registrations."""

from hearth.handlers.registry import Registry


def build_registry() -> Registry:
    """A registry with every feature registered."""
    from hearth.handlers import (
        audit,
        community,
        expertise,
        hotseats,
        jobs_board,
        library,
        lurkers,
        members,
        messages,
        poll_privacy,
        polls,
        preferences,
        privacy,
        questions,
        retention,
        rhythm,
        surveys,
        welcome,
    )

    registry = Registry()
    features = (community, welcome, messages, members, polls, surveys)
    features += (expertise, questions)  # who knows what; every question finds them
    features += (lurkers,)  # from lurker to first question
    features += (preferences, privacy, poll_privacy, audit, retention)  # members in control
    features += (rhythm,)
    features += (library, jobs_board, hotseats)  # the community's rituals
    for feature in features:
        feature.register(registry)
    return registry
