"""What Hearth asks of a Slack workspace: the events it subscribes to and the scopes it needs.

`manifests/slack/manifest.yaml` must declare exactly these (a test checks it).
"""

from __future__ import annotations

BOT_EVENTS: dict[str, str] = {
    "member_joined_channel": "welcome newcomers",
    "member_left_channel": "keep the day's welcome post right",
    "message.channels": "remember the community's messages (public channels)",
    "message.groups": "remember the community's messages (private channels)",
    "message.im": "answer members who write to Hearth directly",
    "reaction_added": "notice reactions to messages",
    "user_change": "keep names, time zones and deactivations up to date",
    "team_join": "notice new and returning accounts in the workspace",
    "app_home_opened": "show members their settings on Hearth's Home tab",
}

BOT_SCOPES: dict[str, str] = {
    "channels:history": "message.channels events",
    "groups:history": "message.groups events",
    "im:history": "message.im events",
    "channels:read": "member_joined_channel / member_left_channel in public channels",
    "groups:read": "member_joined_channel / member_left_channel in private channels",
    "channels:join": "conversations.join when a channel becomes a community",
    "chat:write": "chat.postMessage, chat.update, chat.postEphemeral",
    "im:write": "conversations.open for welcome DMs",
    "files:write": "files.getUploadURLExternal / completeUploadExternal: my-data, poll exports",
    "users:read": "users.info (names, time zones) and user_change",
    "reactions:read": "reaction_added events",
    "commands": "the /cop slash command",
}

SLASH_COMMAND = "/cop"
