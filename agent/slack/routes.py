"""Mount the bot on the service's ASGI app (HTTP mode); Socket Mode needs no route."""

from __future__ import annotations

from slack_bolt.adapter.starlette import SlackRequestHandler
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from agent.slack.bot import SleuthSlackBot


def slack_routes(bot: SleuthSlackBot) -> list[Route]:
    handler = SlackRequestHandler(bot.app)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    return [Route("/slack/events", events, methods=["POST"])]
