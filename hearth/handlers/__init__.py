"""Platform-neutral use cases. `build_registry()` gathers every feature's registrations."""

from hearth.handlers.registry import Registry


def build_registry() -> Registry:
    """A registry with every feature registered."""
    from hearth.handlers import community, members, messages, polls, surveys, welcome

    registry = Registry()
    for feature in (community, welcome, messages, members, polls, surveys):
        feature.register(registry)
    return registry
