"""The Slack bot (slack_bolt): slash command, mentions, threads, buttons, feedback."""
