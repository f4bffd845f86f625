"""Mount the bot on the service's ASGI app (HTTP mode); Socket Mode needs no route.

The bolt app is synchronous: it runs in a worker thread, never on the event loop, so a slow
Slack API (or a slow listener) cannot stall alarm intake.
"""

from __future__ import annotations

import anyio
import anyio.to_thread
from slack_bolt import BoltRequest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agent.slack.bot import SleuthSlackBot

MAX_BODY_BYTES = 64 * 1024


def slack_routes(bot: SleuthSlackBot, *, concurrency: int = 8) -> list[Route]:
    limiter: list[anyio.CapacityLimiter] = []  # made inside the running loop

    async def events(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return JSONResponse({"error": f"body larger than {MAX_BODY_BYTES} bytes"}, status_code=413)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            return JSONResponse({"error": f"body is not UTF-8 (byte {exc.start})"}, status_code=400)
        try:
            bolt_request = BoltRequest(
                body=text, query=dict(request.query_params), headers=dict(request.headers)
            )
        except ValueError as exc:  # a payload field that is not JSON
            return JSONResponse({"error": f"unreadable Slack request: {exc}"}, status_code=400)
        if not limiter:
            limiter.append(anyio.CapacityLimiter(concurrency))
        reply = await anyio.to_thread.run_sync(bot.app.dispatch, bolt_request, limiter=limiter[0])
        return Response(
            status_code=reply.status, content=reply.body, headers=reply.first_headers_without_set_cookie()
        )

    return [Route("/slack/events", events, methods=["POST"])]
